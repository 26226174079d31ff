// The command stream: every op records a dispatch into one open compute pass of one command encoder.
// Nothing is submitted until a sync point: a readback, `flush()`, or the safety cap on queued
// dispatches. Each batch records inside the error scopes of gpu-errors.ts. The stream also keeps the
// key under which the poller predicts how long the next wait takes (src/device/poll.ts).
import { beginWait } from '../device/poll.ts';
import { Bindings } from './bindings.ts';
import type { DeviceErrors } from './gpu-errors.ts';
import type { CompiledKernel } from './kernels.ts';
import type { BufferPool, PooledBuffer } from './pool.ts';
import type { DispatchCost, Profiler } from './profiler.ts';

export interface StreamStats {
  dispatches: number;
  submits: number;
  uniformWrites: number;
  bindGroupsCreated: number;
}

const FNV_OFFSET = 0x811c9dc5;

export class CommandStream {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private queued = 0;
  private opsInBatch = new Set<string>();
  /** Buffers to destroy after the next submit (evicted uniforms, write staging). */
  private retired: GPUBuffer[] = [];
  private readonly bindings: Bindings;
  /** What was recorded since the last wait (a hash of kernels, grid sizes and uniform blocks, and a
   *  count): the key under which the poller remembers how long such a wait takes. */
  private waitHash = FNV_OFFSET;
  private waitOps = 0;
  /** performance.now() at the first submit since the last wait (0: none yet). */
  private firstSubmitAt = 0;
  /** Set while profiling: each dispatch then gets a timestamped pass of its own. */
  profiler: Profiler | null = null;

  constructor(
    private readonly device: GPUDevice,
    private readonly pool: BufferPool,
    private readonly errors: DeviceErrors,
    private readonly stats: StreamStats,
    /** Submit automatically after this many queued dispatches (bounds pending memory). */
    readonly maxQueuedDispatches: number,
  ) {
    this.bindings = new Bindings(device, stats, (b) => this.retired.push(b));
  }

  /** True while recorded work waits for a submit. */
  get hasPending(): boolean {
    return this.encoder !== null;
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
    const staging = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.COPY_SRC,
      mappedAtCreation: true,
      label: 'write.staging',
    });
    new Uint8Array(staging.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    staging.unmap();
    this.endPass();
    this.openEncoder().copyBufferToBuffer(staging, 0, pb.buffer, byteOffset, size);
    this.retired.push(staging); // destroyed after the submit that copies it
  }

  /**
   * Record one dispatch (the caller checked that the device is usable). Binding 0 is the uniform
   * block (if `params` is given), bindings 1.. are the storage buffers in order.
   */
  dispatch(
    kernel: CompiledKernel,
    buffers: PooledBuffer[],
    params: Uint32Array | null,
    x: number,
    y: number,
    z: number,
    op: string,
    cost?: DispatchCost,
  ): void {
    const pass = this.openPass(); // first: the encoder's error scope also covers bind group creation
    const u = params ? this.bindings.uniform(params) : null;
    const bg = this.bindings.bindGroup(kernel, buffers, u, op);
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
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    this.openEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Mix one recorded command into the wait key. */
  noteWork(a: number, b: number, c: number, d: number): void {
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

  /** Start waiting for everything submitted so far (see src/device/poll.ts); the caller ends it. */
  beginWait(kind: string): void {
    beginWait(kind + this.pendingWaitKey, this.firstSubmitAt || performance.now());
    this.firstSubmitAt = 0;
    this.waitHash = FNV_OFFSET;
    this.waitOps = 0;
  }

  /** The open encoder, or a new one inside a new batch's error scopes. */
  openEncoder(): GPUCommandEncoder {
    if (!this.encoder) {
      this.errors.pushBatchScopes();
      this.encoder = this.device.createCommandEncoder();
    }
    return this.encoder;
  }

  private openPass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.openEncoder().beginComputePass();
    return this.pass;
  }

  endPass(): void {
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
    this.errors.popBatchScopes(ops);
    this.encoder = null;
    this.queued = 0;
    this.opsInBatch.clear();
    this.stats.submits++;
    this.pool.onSubmitted();
    for (const b of this.retired) b.destroy();
    this.retired.length = 0;
  }

  /** Drop the recorded, unsubmitted work (after an error made it unusable). */
  discard(): void {
    if (!this.encoder) return;
    this.endPass();
    this.encoder = null;
    this.queued = 0;
    this.opsInBatch.clear();
    this.waitHash = FNV_OFFSET; // discarded work is not waited for
    this.waitOps = 0;
    this.errors.dropBatchScopes(); // balance the two scopes pushed with the encoder
    this.pool.onSubmitted(); // nothing will run: pending buffers are free again
  }

  /** Forget the recorded work and destroy the cached bindings (the engine is closing). */
  close(): void {
    this.encoder = null;
    this.pass = null;
    this.bindings.destroy();
  }
}
