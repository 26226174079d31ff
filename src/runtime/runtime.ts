// The runtime: one engine's device, memory and command stream, behind one object. The parts live in
// their own files: the command stream and its binding caches (stream.ts, bindings.ts), errors the GPU
// reports (gpu-errors.ts), readback (readback.ts), the buffer pool (pool.ts), kernels (kernels.ts),
// kernel choice and tuning (policy.ts, tuner.ts) and the profiler (profiler.ts). Work is recorded,
// not run, until a sync point: a readback, `flush()`, or the stream's cap on queued dispatches.
import { endWait } from '../device/poll.ts';
import { envValue } from '../device/env.ts';
import type { AdapterReport } from '../device/gpu.ts';
import { DeviceErrors, GpuError } from './gpu-errors.ts';
import { KernelCache, type CompiledKernel } from './kernels.ts';
import { makePolicy, precisionProblem, type KernelPolicy, type PlanName, type Precision } from './policy.ts';
import { BufferPool, type MemoryCategory, type PooledBuffer } from './pool.ts';
import { Profiler, type DispatchCost } from './profiler.ts';
import { Readback } from './readback.ts';
import { CommandStream } from './stream.ts';
import { Tuner, type TuneClock, type TuneMode, type TuneResult } from './tuner.ts';

export interface RuntimeOptions {
  /** Submit automatically after this many queued dispatches (bounds pending memory). */
  maxQueuedDispatches?: number;
  /**
   * Most bytes of tensor buffers the engine may hold (default: no limit but the device's own; also
   * DAWNGRAD_MEMORY_LIMIT, e.g. "6GiB"). Past it, idle pooled buffers are freed, then
   * GpuOutOfMemoryError is thrown before anything is allocated.
   */
  memoryLimit?: number;
  /** Kernel plan: 'auto' (default; also DAWNGRAD_PLAN) gives CPU adapters 'software', others 'hardware'. */
  plan?: PlanName | 'auto';
  /** Autotuning of the tiled kernels (default: DAWNGRAD_TUNE, else on for GPUs, off for CPU adapters). */
  tune?: TuneMode;
  /** 'f16': the conv kernels read float16 operands, accumulate in float32 (needs 'shader-f16'). Default 'f32'. */
  precision?: Precision;
  /** The tuning cache file (default: DAWNGRAD_TUNE_CACHE, else one per adapter under the user cache folder). */
  tuneCache?: string;
}

/** The engine's memory limit: the option, else DAWNGRAD_MEMORY_LIMIT, else none. Throws on bad values. */
export function memoryLimitOf(opts: RuntimeOptions): number {
  const limit = opts.memoryLimit ?? envValue<number>('DAWNGRAD_MEMORY_LIMIT') ?? Infinity;
  if (!(limit > 0)) throw new RangeError(`memoryLimit must be a positive number of bytes, got ${limit}`);
  return limit;
}

export class Runtime implements TuneClock {
  readonly pool: BufferPool;
  readonly kernels: KernelCache;
  private closed = false;
  private readonly errors: DeviceErrors;
  private readonly stream: CommandStream;
  private readonly readback: Readback;
  /** Counters for benchmarks and tests. */
  readonly stats = { dispatches: 0, submits: 0, uniformWrites: 0, bindGroupsCreated: 0 };
  /** Which kernel each family uses (src/runtime/policy.ts); tests and benchmarks may replace it. */
  policy: KernelPolicy;
  /** Tile choices per (kernel family, shape) on this adapter (src/runtime/tuner.ts). */
  readonly tuner: Tuner;

  constructor(
    readonly device: GPUDevice,
    readonly report: AdapterReport,
    opts: RuntimeOptions = {},
  ) {
    // Every buffer is bound whole, so a buffer may not exceed the largest storage binding.
    const memoryLimit = memoryLimitOf(opts);
    this.pool = new BufferPool(
      device,
      Math.min(report.limits.maxBufferSize ?? 2 ** 28, report.limits.maxStorageBufferBindingSize ?? 2 ** 27),
      2 ** 31,
      memoryLimit,
    );
    this.kernels = new KernelCache(device);
    const problem = precisionProblem(report, opts.precision ?? 'f32');
    if (problem) throw new GpuError(problem);
    this.policy = makePolicy(
      report,
      opts.plan ?? envValue<PlanName | 'auto'>('DAWNGRAD_PLAN') ?? 'auto',
      opts.precision ?? 'f32',
    );
    this.tuner = new Tuner(report, opts.tune, opts.tuneCache);
    this.errors = new DeviceErrors(device, () => this.closed);
    this.stream = new CommandStream(device, this.pool, this.errors, this.stats, opts.maxQueuedDispatches ?? 4096);
    this.readback = new Readback(device, this.stream);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Submit automatically after this many queued dispatches (bounds pending memory). */
  get maxQueuedDispatches(): number {
    return this.stream.maxQueuedDispatches;
  }

  /** Set while profiling (see enableProfiling). */
  get profiler(): Profiler | null {
    return this.stream.profiler;
  }

  /** Throw if the device is gone or closed; called before recording any work. */
  assertUsable(op: string): void {
    this.errors.assertUsable(op, this.closed);
  }

  /**
   * A buffer for GPU-written data. It may be one freed earlier in the batch being recorded: commands
   * run in order, so the new writer comes after the old readers.
   */
  alloc(bytes: number, category: MemoryCategory, what: string): PooledBuffer {
    this.assertUsable(what);
    return this.pool.acquire(bytes, category, what, true);
  }

  /** A buffer for data uploaded with writeBuffer, which runs before unsubmitted commands. */
  allocForUpload(bytes: number, category: MemoryCategory, what: string): PooledBuffer {
    this.assertUsable(what);
    return this.pool.acquire(bytes, category, what, false);
  }

  release(pb: PooledBuffer): void {
    this.pool.release(pb);
  }

  /**
   * Upload into a buffer that no recorded-but-unsubmitted command uses (a fresh tensor's): a plain
   * queue.writeBuffer, which runs before that pending work.
   */
  upload(pb: PooledBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.stream.upload(pb, data, byteOffset);
  }

  /**
   * Overwrite a buffer in stream order: after every command recorded so far (e.g. the kernel that
   * initialised a parameter), before every later one (see CommandStream.write).
   */
  write(pb: PooledBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.stream.write(pb, data, byteOffset);
  }

  /**
   * Record one dispatch. Binding 0 is the uniform block (if `params` is given), bindings 1.. are the
   * storage buffers in order.
   */
  dispatch(
    kernel: CompiledKernel,
    buffers: PooledBuffer[],
    params: Uint32Array | null,
    workgroups: [number, number?, number?],
    op = kernel.name,
    cost?: DispatchCost,
  ): void {
    this.assertUsable(op);
    const [x, y = 1, z = 1] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxDim = this.report.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    if (x > maxDim || y > maxDim || z > maxDim) {
      throw new GpuError(`${op}: dispatch of ${x}x${y}x${z} workgroups exceeds the limit of ${maxDim} per dimension`);
    }
    this.stream.dispatch(kernel, buffers, params, x, y, z, op, cost);
  }

  /** Copy between buffers (ends the current compute pass; the next dispatch opens a new one). */
  copy(src: PooledBuffer, srcOffset: number, dst: PooledBuffer, dstOffset: number, bytes: number): void {
    this.assertUsable('copy');
    if (bytes === 0) return;
    dst.writes++;
    this.stream.copy(src.buffer, srcOffset, dst.buffer, dstOffset, bytes);
    this.stream.noteWork(-1, bytes, 0, 0);
  }

  /** The key under which the next wait's length is remembered: what was recorded since the last wait. */
  get pendingWaitKey(): string {
    return this.stream.pendingWaitKey;
  }

  /** Submit the recorded work (no wait). Returns after queue.submit. */
  submit(): void {
    this.stream.submit();
  }

  /** Throw any error the GPU reported so far (validation, uncaptured, lost, compile). */
  async checkErrors(): Promise<void> {
    await this.kernels.check();
    await this.errors.check();
  }

  /** Throw a kernel compile error before submitting; the recorded batch is dropped with it. */
  private async checkKernels(): Promise<void> {
    try {
      await this.kernels.check();
    } catch (e) {
      this.stream.discard();
      throw e;
    }
  }

  /** Submit everything recorded and wait until the GPU has finished it. */
  async flush(): Promise<void> {
    if (this.closed) return;
    await this.checkKernels();
    this.stream.submit();
    this.stream.beginWait('f');
    try {
      await this.device.queue.onSubmittedWorkDone();
    } finally {
      endWait();
    }
    await this.profiler?.drain();
    await this.checkErrors();
    if (this.tuner.pendingCount) await this.tune();
  }

  /**
   * Time the candidates of every tiled-kernel shape used since the last tuning and keep the fastest
   * (src/runtime/tuner.ts). Runs by itself at sync points; `segan tune` calls it up front.
   */
  tune(progress?: (done: number, total: number, r: TuneResult) => void): Promise<TuneResult[]> {
    return this.tuner.tunePending(this, progress);
  }

  /** GPU times in ms of the dispatches fn records (timestamp queries), or null without them. */
  async timeDispatches(fn: () => void): Promise<number[] | null> {
    if (!this.report.features.includes('timestamp-query')) return null;
    const had = this.profiler !== null;
    const earlier = had ? this.profiler!.take() : [];
    this.enableProfiling(true);
    try {
      fn();
      await this.flush();
      return this.profiler!.take().map((r) => r.ns / 1e6);
    } finally {
      if (had) this.profiler!.records.push(...earlier);
      else this.enableProfiling(false);
    }
  }

  /**
   * Time every dispatch with GPU timestamps (needs the adapter feature 'timestamp-query'; returns
   * false without it). Each dispatch then runs in a pass of its own, so use it to study, not to train.
   */
  enableProfiling(on = true): boolean {
    if (!on) {
      this.stream.submit();
      this.profiler?.destroy();
      this.stream.profiler = null;
      return true;
    }
    if (!this.report.features.includes('timestamp-query')) return false;
    if (!this.profiler) {
      this.stream.submit();
      this.stream.profiler = new Profiler(this.device);
    }
    return true;
  }

  /** Read `bytes` from a buffer: one copy into a staging buffer, one submit, one map. */
  async read(src: PooledBuffer, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
    this.assertUsable('read');
    await this.checkKernels();
    if (bytes === 0) return new ArrayBuffer(0);
    const out = await this.readback.read(src.buffer, byteOffset, bytes, () => this.checkErrors());
    await this.checkErrors();
    if (this.tuner.pendingCount) await this.tune();
    return out;
  }

  /** Destroy the device and every buffer. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.stream.hasPending && !this.errors.lostMessage) await this.flush().catch(() => undefined);
    } finally {
      this.closed = true;
      this.stream.close();
      this.pool.destroyAll();
      this.readback.destroy();
      this.device.destroy();
    }
  }
}
