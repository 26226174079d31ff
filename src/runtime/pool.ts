// Buffer pool with size classes and a memory ledger.
//
// A buffer freed while the current command encoder may still use it goes to `recycled`: GPU commands
// recorded later in the same encoder may reuse it at once (a queue runs commands in order, so the new
// writer comes after the old readers), but an upload may not (queue.writeBuffer runs before the
// unsubmitted commands). After the submit, recycled buffers join the free lists.
// Size classes step by 1/4 octave above 4 KiB (at most 25% waste); small buffers round to 256 bytes.
import { fmtBytes } from '../device/bytes.ts';

export type MemoryCategory = 'parameters' | 'optimizer' | 'activations' | 'gradients' | 'scratch';
export const CATEGORIES: MemoryCategory[] = ['parameters', 'optimizer', 'activations', 'gradients', 'scratch'];

export interface PooledBuffer {
  readonly id: number;
  readonly buffer: GPUBuffer;
  /** Size class in bytes (>= the bytes asked for). */
  readonly size: number;
  /** Bytes asked for by the current owner. */
  used: number;
  category: MemoryCategory;
  /**
   * How many recorded commands may have written this buffer (dispatches binding it read_write,
   * copies and uploads into it). Grows monotonically, across owners; caches of values derived from a
   * buffer (Storage.derived) compare it to know whether they are stale.
   */
  writes: number;
}

export interface MemoryReport {
  /** Bytes held by live tensors (sum of their size classes). */
  liveBytes: number;
  byCategory: Record<MemoryCategory, number>;
  /** Bytes idle in the pool, ready for reuse. */
  pooledBytes: number;
  /** Bytes freed but waiting for the submit that last used them. */
  pendingBytes: number;
  /** Highest liveBytes seen. */
  highWaterBytes: number;
  /** GPU buffers created since the engine opened (a steady training loop stops creating them). */
  buffersCreated: number;
  liveBuffers: number;
}

/**
 * What to do when out of memory: the last sentence of every GpuOutOfMemoryError message. A command
 * line may replace it with one that names its own flags (src/cli/run.ts).
 */
export const OOM_ADVICE = 'Use a smaller batch or input size, or a narrower model.';

/** The facts of an out-of-memory error: the engine's own limit refused a buffer, or the device did. */
export type OutOfMemoryFacts =
  | {
      kind: 'limit';
      /** The op (or allocation) that asked. */
      what: string;
      /** Bytes of the buffer asked for (its size class). */
      requestedBytes: number;
      limitBytes: number;
      /** Bytes held by live tensors, and by category (categories holding none are left out). */
      liveBytes: number;
      byCategory: Partial<Record<MemoryCategory, number>>;
      /** Bytes freed but waiting for the GPU. */
      pendingBytes: number;
    }
  | {
      kind: 'device';
      /** The device's message, with the ops of the batch that ran out. */
      message: string;
    };

/**
 * Out of GPU memory: the engine's memory limit would be exceeded, or the device itself refused an
 * allocation. The message lists what holds the memory and ends with OOM_ADVICE; `facts` holds the same
 * as data.
 */
export class GpuOutOfMemoryError extends Error {
  override name = 'GpuOutOfMemoryError';
  constructor(readonly facts: OutOfMemoryFacts) {
    super(`${describeOutOfMemory(facts)}. ${OOM_ADVICE}`);
  }
}

function describeOutOfMemory(f: OutOfMemoryFacts): string {
  if (f.kind === 'device') return `the GPU ran out of memory: ${f.message}`;
  const parts = CATEGORIES.filter((c) => (f.byCategory[c] ?? 0) > 0).map((c) => `${c} ${fmtBytes(f.byCategory[c]!)}`);
  return (
    `${f.what}: out of GPU memory: a new ${fmtBytes(f.requestedBytes)} ` +
    `buffer would exceed the engine's limit of ${fmtBytes(f.limitBytes)} ` +
    `(in use: ${fmtBytes(f.liveBytes)}${parts.length ? ` — ${parts.join(', ')}` : ''}; ` +
    `waiting for the GPU: ${fmtBytes(f.pendingBytes)})`
  );
}

export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  if (bytes <= 4096) return Math.ceil(bytes / 256) * 256;
  const octave = 2 ** Math.floor(Math.log2(bytes));
  const step = octave / 4;
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  private free = new Map<number, PooledBuffer[]>();
  private recycled = new Map<number, PooledBuffer[]>();
  private pending = new Set<PooledBuffer>();
  private nextId = 1;
  private live = new Set<PooledBuffer>();
  private pooledBytes = 0;
  private pendingBytes = 0;
  private liveBytes = 0;
  private highWater = 0;
  private created = 0;
  private byCategory: Record<MemoryCategory, number> = {
    parameters: 0,
    optimizer: 0,
    activations: 0,
    gradients: 0,
    scratch: 0,
  };

  constructor(
    private device: GPUDevice,
    private maxBufferSize: number,
    /** Idle bytes kept for reuse; beyond this the oldest idle buffers are destroyed. */
    private maxPooledBytes = 2 ** 31,
    /** Most bytes of buffers in existence (live + idle + pending); idle ones are destroyed first. */
    readonly memoryLimit = Infinity,
  ) {}

  /** Bytes of every pooled buffer in existence. */
  get allocatedBytes(): number {
    return this.liveBytes + this.pooledBytes + this.pendingBytes;
  }

  acquire(bytes: number, category: MemoryCategory, what: string, gpuWritten = true): PooledBuffer {
    let size = sizeClass(Math.max(bytes, 4));
    if (size > this.maxBufferSize) size = Math.ceil(bytes / 4) * 4;
    if (bytes > this.maxBufferSize) {
      throw new RangeError(
        `${what}: needs a buffer of ${fmtBytes(bytes)}, above this adapter's ` +
          `largest storage binding of ${fmtBytes(this.maxBufferSize)}. ` +
          'Use a smaller batch or input size.',
      );
    }
    // Lists are sorted by descending id, so pop() hands out the lowest id: a step that allocates and
    // frees in the same order then gets the same buffers every time, and its bind groups are reused.
    let pb = gpuWritten ? this.recycled.get(size)?.pop() : undefined;
    if (pb) {
      this.pendingBytes -= pb.size;
      this.pending.delete(pb);
    } else if ((pb = this.free.get(size)?.pop())) {
      this.pooledBytes -= pb.size;
    } else {
      if (this.allocatedBytes + size > this.memoryLimit) {
        this.trim(Math.max(0, this.memoryLimit - size - this.liveBytes - this.pendingBytes));
        if (this.allocatedBytes + size > this.memoryLimit) throw this.outOfMemory(what, size);
      }
      const buffer = this.device.createBuffer({
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        label: what,
      });
      this.created++;
      pb = { id: this.nextId++, buffer, size, used: bytes, category, writes: 0 };
    }
    pb.used = bytes;
    pb.category = category;
    this.live.add(pb);
    this.liveBytes += pb.size;
    this.byCategory[category] += pb.size;
    if (this.liveBytes > this.highWater) this.highWater = this.liveBytes;
    return pb;
  }

  private outOfMemory(what: string, size: number): GpuOutOfMemoryError {
    const byCategory: Partial<Record<MemoryCategory, number>> = {};
    for (const c of CATEGORIES) if (this.byCategory[c] > 0) byCategory[c] = this.byCategory[c];
    return new GpuOutOfMemoryError({
      kind: 'limit',
      what,
      requestedBytes: size,
      limitBytes: this.memoryLimit,
      liveBytes: this.liveBytes,
      byCategory,
      pendingBytes: this.pendingBytes,
    });
  }

  /** Give a buffer back; it becomes reusable after the next submit. */
  release(pb: PooledBuffer): void {
    if (!this.live.delete(pb)) return;
    this.liveBytes -= pb.size;
    this.byCategory[pb.category] -= pb.size;
    this.pending.add(pb);
    this.pendingBytes += pb.size;
    let list = this.recycled.get(pb.size);
    if (!list) this.recycled.set(pb.size, (list = []));
    insertById(list, pb);
  }

  /** Move a live buffer to another category (e.g. a tensor that becomes a gradient). */
  recategorize(pb: PooledBuffer, category: MemoryCategory): void {
    if (!this.live.has(pb) || pb.category === category) return;
    this.byCategory[pb.category] -= pb.size;
    this.byCategory[category] += pb.size;
    pb.category = category;
  }

  /** Called after each queue submit: pending buffers become reusable. */
  onSubmitted(): void {
    for (const pb of this.pending) {
      let list = this.free.get(pb.size);
      if (!list) this.free.set(pb.size, (list = []));
      insertById(list, pb);
      this.pooledBytes += pb.size;
    }
    this.pending.clear();
    this.pendingBytes = 0;
    this.recycled.clear();
    if (this.pooledBytes > this.maxPooledBytes) this.trim(this.maxPooledBytes / 2);
  }

  /** Destroy idle buffers until at most `keepBytes` stay pooled (largest first). */
  trim(keepBytes = 0): void {
    const sizes = [...this.free.keys()].sort((a, b) => b - a);
    for (const s of sizes) {
      const list = this.free.get(s)!;
      while (list.length && this.pooledBytes > keepBytes) {
        list.pop()!.buffer.destroy();
        this.pooledBytes -= s;
      }
    }
  }

  report(): MemoryReport {
    return {
      liveBytes: this.liveBytes,
      byCategory: { ...this.byCategory },
      pooledBytes: this.pooledBytes,
      pendingBytes: this.pendingBytes,
      highWaterBytes: this.highWater,
      buffersCreated: this.created,
      liveBuffers: this.live.size,
    };
  }

  destroyAll(): void {
    for (const pb of this.live) pb.buffer.destroy();
    for (const pb of this.pending) pb.buffer.destroy();
    for (const list of this.free.values()) for (const pb of list) pb.buffer.destroy();
    this.live.clear();
    this.pending.clear();
    this.recycled.clear();
    this.free.clear();
  }
}

/** Insert keeping the list sorted by descending id (the lowest id last, taken first by pop()). */
function insertById(list: PooledBuffer[], pb: PooledBuffer): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].id > pb.id) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, pb);
}
