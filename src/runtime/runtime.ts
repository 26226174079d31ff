// The command stream: every op records a dispatch into one open compute pass of one command encoder.
// Nothing is submitted until a sync point: a readback, `flush()`, or the safety cap on queued
// dispatches. Uniform buffers are content-addressed (a training loop's shapes repeat, so after the
// first step no uniform is written) and bind groups are cached by (pipeline, buffers, uniform).
import { beginWait, endWait } from '../device/poll.ts';
import { envValue, parseBytes } from '../device/env.ts';
import { makePolicy, precisionProblem, type KernelPolicy, type PlanName, type Precision } from './policy.ts';

export { parseBytes };
import type { AdapterReport } from '../device/gpu.ts';
import { BufferPool, GpuOutOfMemoryError, OOM_ADVICE, sizeClass, type MemoryCategory, type PooledBuffer } from './pool.ts';
import { KernelCache, type CompiledKernel } from './kernels.ts';
import { Profiler, type DispatchCost } from './profiler.ts';
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

export class GpuError extends Error {
  override name = 'GpuError';
}

const MAX_UNIFORMS = 4096;
const OOM_MARK = '\u0000oom:';

function isOutOfMemory(error: GPUError): boolean {
  const ctor = (globalThis as { GPUOutOfMemoryError?: abstract new (...a: never[]) => GPUError }).GPUOutOfMemoryError;
  return (ctor !== undefined && error instanceof ctor) || error.constructor?.name === 'GPUOutOfMemoryError';
}

function outOfMemoryError(marked: string): GpuOutOfMemoryError {
  return new GpuOutOfMemoryError(`the GPU ran out of memory: ${marked.slice(OOM_MARK.length)}. ${OOM_ADVICE}`);
}
const MAX_BIND_GROUPS = 16384;

export class Runtime implements TuneClock {
  readonly pool: BufferPool;
  readonly kernels: KernelCache;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private queued = 0;
  /** What was recorded since the last wait (a hash of kernels, grid sizes and uniform blocks, and a
   *  count): the key under which the poller remembers how long such a wait takes (src/device/poll.ts). */
  private waitHash = 0x811c9dc5;
  private waitOps = 0;
  /** performance.now() at the first submit since the last wait (0: none yet). */
  private firstSubmitAt = 0;
  private opsInBatch = new Set<string>();
  private scopeChecks: Promise<string | null>[] = [];
  private uncaptured: string | null = null;
  private lostMessage: string | null = null;
  private closed = false;
  private uniforms = new Map<string, { buffer: GPUBuffer; id: number }>();
  private uniformId = 1;
  private retiredUniforms: GPUBuffer[] = [];
  private bindGroups = new Map<string, GPUBindGroup>();
  private staging = new Map<number, GPUBuffer[]>();
  readonly maxQueuedDispatches: number;
  /** Set while profiling (see enableProfiling). */
  profiler: Profiler | null = null;
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
    this.pool = new BufferPool(device, Math.min(report.limits.maxBufferSize ?? 2 ** 28, report.limits.maxStorageBufferBindingSize ?? 2 ** 27), 2 ** 31, memoryLimit);
    this.kernels = new KernelCache(device);
    this.maxQueuedDispatches = opts.maxQueuedDispatches ?? 4096;
    const problem = precisionProblem(report, opts.precision ?? 'f32');
    if (problem) throw new GpuError(problem);
    this.policy = makePolicy(report, opts.plan ?? envValue<PlanName | 'auto'>('DAWNGRAD_PLAN') ?? 'auto', opts.precision ?? 'f32');
    this.tuner = new Tuner(report, opts.tune, opts.tuneCache);
    device.addEventListener('uncapturederror', (ev) => {
      ev.preventDefault();
      const error = (ev as GPUUncapturedErrorEvent).error;
      if (!this.uncaptured) this.uncaptured = isOutOfMemory(error) ? `${OOM_MARK}${error.message}` : error.message;
    });
    void device.lost.then((info) => {
      if (!this.closed) this.lostMessage = `${info.reason ?? 'unknown'}: ${info.message}`;
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Throw if the device is gone or closed; called before recording any work. */
  assertUsable(op: string): void {
    if (this.closed) throw new GpuError(`${op}: the engine is closed`);
    if (this.lostMessage) throw new GpuError(`${op}: the GPU device was lost (${this.lostMessage}). Create a new engine; saved checkpoints are unaffected.`);
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
    pb.writes++;
    this.device.queue.writeBuffer(pb.buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  /**
   * Overwrite a buffer in stream order: after every command recorded so far (e.g. the kernel that
   * initialised a parameter), before every later one. With pending work, the data goes through a
   * staging buffer copied inside the command stream; queue.writeBuffer would jump the queue.
   */
  write(pb: PooledBuffer, data: ArrayBufferView, byteOffset = 0): void {
    if (!this.encoder) {
      this.upload(pb, data, byteOffset);
      return;
    }
    const size = Math.ceil(data.byteLength / 4) * 4;
    if (size === 0) return;
    pb.writes++;
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true, label: 'write.staging' });
    new Uint8Array(staging.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    staging.unmap();
    this.endPass();
    this.openEncoder().copyBufferToBuffer(staging, 0, pb.buffer, byteOffset, size);
    this.retiredUniforms.push(staging); // destroyed after the submit that copies it
  }

  private uniform(words: Uint32Array): { buffer: GPUBuffer; id: number } {
    let key = '';
    for (let i = 0; i < words.length; i++) key += words[i].toString(36) + ',';
    let u = this.uniforms.get(key);
    if (u) {
      this.uniforms.delete(key);
      this.uniforms.set(key, u); // most recently used last
      return u;
    }
    const size = Math.max(16, Math.ceil(words.byteLength / 16) * 16);
    const buffer = this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, mappedAtCreation: true });
    new Uint32Array(buffer.getMappedRange()).set(words);
    buffer.unmap();
    this.stats.uniformWrites++;
    u = { buffer, id: this.uniformId++ };
    this.uniforms.set(key, u);
    if (this.uniforms.size > MAX_UNIFORMS) {
      const [oldKey, old] = this.uniforms.entries().next().value as [string, { buffer: GPUBuffer }];
      this.uniforms.delete(oldKey);
      this.retiredUniforms.push(old.buffer); // destroyed after the submit that may still read it
    }
    return u;
  }

  /**
   * Record one dispatch. Binding 0 is the uniform block (if `params` is given), bindings 1.. are the
   * storage buffers in order.
   */
  dispatch(kernel: CompiledKernel, buffers: PooledBuffer[], params: Uint32Array | null, workgroups: [number, number?, number?], op = kernel.name, cost?: DispatchCost): void {
    this.assertUsable(op);
    const [x, y = 1, z = 1] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxDim = this.report.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    if (x > maxDim || y > maxDim || z > maxDim) {
      throw new GpuError(`${op}: dispatch of ${x}x${y}x${z} workgroups exceeds the limit of ${maxDim} per dimension`);
    }
    const pass = this.openPass(); // first: the encoder's error scope also covers bind group creation
    const u = params ? this.uniform(params) : null;
    let key = `${kernel.id}`;
    if (u) key += `u${u.id}`;
    for (const b of buffers) key += `,${b.id}`;
    let bg = this.bindGroups.get(key);
    if (!bg) {
      const entries: GPUBindGroupEntry[] = [];
      if (u) entries.push({ binding: 0, resource: { buffer: u.buffer } });
      buffers.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b.buffer } }));
      bg = this.device.createBindGroup({ layout: kernel.layout, entries, label: op });
      this.stats.bindGroupsCreated++;
      this.bindGroups.set(key, bg);
      if (this.bindGroups.size > MAX_BIND_GROUPS) this.bindGroups.delete(this.bindGroups.keys().next().value as string);
    }
    if (this.profiler) {
      // Profiling: a pass per dispatch, timestamped at its start and end.
      this.endPass();
      if (this.profiler.full) this.submit();
      const timed = this.profiler.beginPass(this.openEncoder(), op, kernel.name, cost);
      timed.setPipeline(kernel.pipeline);
      timed.setBindGroup(0, bg);
      timed.dispatchWorkgroups(x, y, z);
      timed.end();
    } else {
      pass.setPipeline(kernel.pipeline);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(x, y, z);
    }
    for (const i of kernel.writable) {
      const b = buffers[i] as PooledBuffer | undefined;
      if (b) b.writes++;
    }
    this.opsInBatch.add(op);
    this.noteWork(kernel.id, x, y + 65536 * z, u ? u.id : -1); // shapes live in the uniforms
    this.stats.dispatches++;
    if (++this.queued >= this.maxQueuedDispatches) this.submit();
  }

  /** Copy between buffers (ends the current compute pass; the next dispatch opens a new one). */
  copy(src: PooledBuffer, srcOffset: number, dst: PooledBuffer, dstOffset: number, bytes: number): void {
    this.assertUsable('copy');
    if (bytes === 0) return;
    dst.writes++;
    this.endPass();
    this.openEncoder().copyBufferToBuffer(src.buffer, srcOffset, dst.buffer, dstOffset, bytes);
    this.noteWork(-1, bytes, 0, 0);
  }

  private noteWork(a: number, b: number, c: number, d: number): void {
    let h = this.waitHash;
    h = Math.imul(h ^ a, 0x01000193);
    h = Math.imul(h ^ b, 0x01000193);
    h = Math.imul(h ^ c, 0x01000193);
    h = Math.imul(h ^ d, 0x01000193);
    this.waitHash = h;
    this.waitOps++;
  }

  /** The key under which the next wait's length is remembered: what was recorded since the last wait. */
  get pendingWaitKey(): string {
    return `${this.waitHash >>> 0}:${this.waitOps}`;
  }

  /** Start waiting for everything submitted so far (see src/device/poll.ts). */
  private beginWaitFor(kind: string): void {
    beginWait(kind + this.pendingWaitKey, this.firstSubmitAt || performance.now());
    this.firstSubmitAt = 0;
    this.waitHash = 0x811c9dc5;
    this.waitOps = 0;
  }

  private openEncoder(): GPUCommandEncoder {
    if (!this.encoder) {
      // two scopes per command batch: the device's out-of-memory errors (buffers created while
      // recording) and validation errors; popped in reverse order at submit
      this.device.pushErrorScope('validation');
      this.device.pushErrorScope('out-of-memory');
      this.encoder = this.device.createCommandEncoder();
    }
    return this.encoder;
  }

  private openPass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.openEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Submit the recorded work (no wait). Returns after queue.submit. */
  submit(): void {
    if (!this.encoder) return;
    this.endPass();
    const ops = [...this.opsInBatch];
    const afterSubmit = this.profiler?.resolve(this.encoder);
    if (!this.firstSubmitAt) this.firstSubmitAt = performance.now();
    this.device.queue.submit([this.encoder.finish()]);
    afterSubmit?.();
    this.scopeChecks.push(this.popBatchScopes(ops));
    this.encoder = null;
    this.queued = 0;
    this.opsInBatch.clear();
    this.stats.submits++;
    this.pool.onSubmitted();
    for (const b of this.retiredUniforms) b.destroy();
    this.retiredUniforms.length = 0;
  }

  /** Pop the batch's out-of-memory and validation scopes: the error's message (out of memory marked), or null. */
  private async popBatchScopes(ops: string[]): Promise<string | null> {
    // a lost device may reject the pops: checkErrors then reports the loss itself
    const [oom, validation] = await Promise.all([this.device.popErrorScope().catch(() => null), this.device.popErrorScope().catch(() => null)]);
    const context = `\n(while running ops: ${ops.join(', ')})`;
    if (oom) return `${OOM_MARK}${oom.message}${context}`;
    if (!validation) return null;
    const op = culpritOp(validation.message, ops);
    return `GPU validation error${op ? ` in op '${op}'` : ''}: ${validation.message}${context}`;
  }

  /** Throw any error the GPU reported so far (validation, uncaptured, lost, compile). */
  async checkErrors(): Promise<void> {
    await this.kernels.check();
    if (this.scopeChecks.length) {
      const checks = this.scopeChecks;
      this.scopeChecks = [];
      const msgs = (await Promise.all(checks)).filter((m): m is string => !!m);
      const oom = msgs.find((m) => m.startsWith(OOM_MARK));
      if (oom) throw outOfMemoryError(oom);
      if (msgs.length) throw new GpuError(msgs[0]!);
    }
    if (this.uncaptured) {
      const m = this.uncaptured;
      this.uncaptured = null;
      if (m.startsWith(OOM_MARK)) throw outOfMemoryError(m);
      // outside a batch's scopes (an upload, a buffer): the object's label is the op that made it
      const label = dawnLabels(m)[0];
      throw new GpuError(`GPU error${label ? ` in '${label}'` : ''}: ${m}`);
    }
    if (this.lostMessage) throw new GpuError(`the GPU device was lost (${this.lostMessage})`);
  }

  /** Throw a kernel compile error before submitting; the recorded batch is dropped with it. */
  private async checkKernels(): Promise<void> {
    try {
      await this.kernels.check();
    } catch (e) {
      this.discard();
      throw e;
    }
  }

  /** Drop the recorded, unsubmitted work (after an error made it unusable). */
  private discard(): void {
    if (!this.encoder) return;
    this.endPass();
    this.encoder = null;
    this.queued = 0;
    this.opsInBatch.clear();
    this.waitHash = 0x811c9dc5; // discarded work is not waited for
    this.waitOps = 0;
    // balance the two scopes pushed with the encoder
    void this.device.popErrorScope().catch(() => undefined);
    void this.device.popErrorScope().catch(() => undefined);
    this.pool.onSubmitted(); // nothing will run: pending buffers are free again
  }

  /** Submit everything recorded and wait until the GPU has finished it. */
  async flush(): Promise<void> {
    if (this.closed) return;
    await this.checkKernels();
    this.submit();
    this.beginWaitFor('f');
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
      this.submit();
      this.profiler?.destroy();
      this.profiler = null;
      return true;
    }
    if (!this.report.features.includes('timestamp-query')) return false;
    if (!this.profiler) {
      this.submit();
      this.profiler = new Profiler(this.device);
    }
    return true;
  }

  /** Read `bytes` from a buffer: one copy into a staging buffer, one submit, one map. */
  async read(src: PooledBuffer, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
    this.assertUsable('read');
    await this.checkKernels();
    if (bytes === 0) return new ArrayBuffer(0);
    const size = sizeClass(bytes);
    const list = this.staging.get(size);
    const staging = list?.pop() ?? this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' });
    this.endPass();
    this.openEncoder().copyBufferToBuffer(src.buffer, byteOffset, staging, 0, Math.ceil(bytes / 4) * 4);
    this.submit();
    this.beginWaitFor(`r${bytes}:`);
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, Math.ceil(bytes / 4) * 4);
    } catch (e) {
      endWait();
      await this.checkErrors();
      throw new GpuError(`read: mapping the result failed: ${(e as Error).message}`);
    }
    endWait();
    const out = staging.getMappedRange(0, Math.ceil(bytes / 4) * 4).slice(0, bytes);
    staging.unmap();
    let back = this.staging.get(size);
    if (!back) this.staging.set(size, (back = []));
    back.push(staging);
    await this.checkErrors();
    if (this.tuner.pendingCount) await this.tune();
    return out;
  }

  /** Destroy the device and every buffer. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.encoder && !this.lostMessage) await this.flush().catch(() => undefined);
    } finally {
      this.closed = true;
      this.encoder = null;
      this.pass = null;
      this.pool.destroyAll();
      for (const u of this.uniforms.values()) u.buffer.destroy();
      for (const list of this.staging.values()) for (const b of list) b.destroy();
      this.uniforms.clear();
      this.bindGroups.clear();
      this.staging.clear();
      this.device.destroy();
    }
  }
}

/** The labels of the objects a Dawn message names ([BindGroup "add"], [ComputePipeline "sum.serial"]). */
function dawnLabels(message: string): string[] {
  return [...message.matchAll(/\[\w+ "+([^"\]]+)"+\]/g)].map((m) => m[1]!);
}

/** Which of a batch's ops a validation message is about: the first label that is one of them (a
 *  kernel's label is `op.variant`). Null when the message names none. */
export function culpritOp(message: string, ops: readonly string[]): string | null {
  for (const label of dawnLabels(message)) {
    const op = ops.find((o) => label === o || label.startsWith(`${o}.`));
    if (op) return op;
  }
  return null;
}
