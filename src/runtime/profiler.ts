// Kernel profiler: GPU timestamp queries around every dispatch (adapter feature 'timestamp-query').
// Only in profiling mode does each dispatch get a compute pass of its own (timestamps are written at
// pass boundaries); normal runs keep one pass per batch. Timestamps are resolved into a buffer at
// each submit and read back at the next sync point, so a step still has no readback of its own.
// The records become a per-kernel table (profileTable, shown by `segan profile` and DAWNGRAD_PROFILE=1)
// and a Chrome trace (chromeTrace).
import { writeFileSync } from 'node:fs';
export interface DispatchCost {
  /** Floating-point operations of this dispatch (for GFLOP/s). */
  flops?: number;
  /** Bytes read and written (for GB/s). */
  bytes?: number;
  /** A short description of the shapes, e.g. "[8,64,80,80]". */
  shape?: string;
}

export interface KernelRecord {
  op: string;
  kernel: string;
  shape: string;
  startNs: number;
  ns: number;
  flops: number;
  bytes: number;
}

interface Pending {
  op: string;
  kernel: string;
  cost: DispatchCost;
}

export class Profiler {
  readonly querySet: GPUQuerySet;
  private resolveBuffer: GPUBuffer;
  private entries: Pending[] = [];
  private reads: Promise<void>[] = [];
  readonly records: KernelRecord[] = [];

  constructor(
    private device: GPUDevice,
    readonly capacity = 2048,
  ) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * capacity, label: 'profiler' });
    this.resolveBuffer = device.createBuffer({
      size: 16 * capacity,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      label: 'profiler.resolve',
    });
  }

  get full(): boolean {
    return this.entries.length >= this.capacity;
  }

  /** A compute pass that timestamps its start and end, for the next dispatch. */
  beginPass(encoder: GPUCommandEncoder, op: string, kernel: string, cost: DispatchCost = {}): GPUComputePassEncoder {
    const i = this.entries.length;
    this.entries.push({ op, kernel, cost });
    return encoder.beginComputePass({
      timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    });
  }

  /** Before finishing an encoder: resolve this batch's timestamps into a readable buffer. */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    const n = this.entries.length;
    if (n === 0) return null;
    const entries = this.entries;
    this.entries = [];
    const staging = this.device.createBuffer({
      size: 16 * n,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      label: 'profiler.read',
    });
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, staging, 0, 16 * n);
    // After the submit: map and record (awaited at the next sync point).
    return () => {
      this.reads.push(
        staging.mapAsync(GPUMapMode.READ).then(() => {
          const t = new BigUint64Array(staging.getMappedRange().slice(0));
          staging.unmap();
          staging.destroy();
          entries.forEach((e, i) => {
            const start = Number(t[2 * i]);
            const end = Number(t[2 * i + 1]);
            this.records.push({
              op: e.op,
              kernel: e.kernel,
              shape: e.cost.shape ?? '',
              startNs: start,
              ns: Math.max(0, end - start),
              flops: e.cost.flops ?? 0,
              bytes: e.cost.bytes ?? 0,
            });
          });
        }),
      );
    };
  }

  /** Wait for every resolved batch to be read. */
  async drain(): Promise<void> {
    const r = this.reads;
    this.reads = [];
    await Promise.all(r);
  }

  take(): KernelRecord[] {
    return this.records.splice(0, this.records.length);
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
  }
}

export interface KernelSummary {
  kernel: string;
  op: string;
  shape: string;
  calls: number;
  ms: number;
  share: number;
  gflops: number;
  gbps: number;
}

/** Aggregate records by (op, kernel, shape), largest total first. */
export function summarizeRecords(records: KernelRecord[]): KernelSummary[] {
  const map = new Map<string, KernelSummary & { flops: number; bytes: number }>();
  let total = 0;
  for (const r of records) {
    total += r.ns;
    const key = `${r.op}|${r.kernel}|${r.shape}`;
    let s = map.get(key);
    if (!s)
      map.set(
        key,
        (s = {
          kernel: r.kernel,
          op: r.op,
          shape: r.shape,
          calls: 0,
          ms: 0,
          share: 0,
          gflops: 0,
          gbps: 0,
          flops: 0,
          bytes: 0,
        }),
      );
    s.calls++;
    s.ms += r.ns / 1e6;
    s.flops += r.flops;
    s.bytes += r.bytes;
  }
  const out = [...map.values()].map((s) => ({
    kernel: s.kernel,
    op: s.op,
    shape: s.shape,
    calls: s.calls,
    ms: s.ms,
    share: total ? (s.ms * 1e6) / total : 0,
    gflops: s.ms > 0 && s.flops ? s.flops / (s.ms * 1e6) : 0,
    gbps: s.ms > 0 && s.bytes ? s.bytes / (s.ms * 1e6) : 0,
  }));
  return out.sort((a, b) => b.ms - a.ms);
}

/** Chrome trace events (open in Perfetto / chrome://tracing). */
export function chromeTrace(records: KernelRecord[]): { traceEvents: object[] } {
  const t0 = records.length ? Math.min(...records.map((r) => r.startNs)) : 0;
  return {
    traceEvents: records.map((r) => ({
      name: r.op,
      cat: r.kernel,
      ph: 'X',
      ts: (r.startNs - t0) / 1000,
      dur: r.ns / 1000,
      pid: 1,
      tid: 1,
      args: { kernel: r.kernel, shape: r.shape, flops: r.flops, bytes: r.bytes },
    })),
  };
}

/** The per-kernel table: the `limit` largest rows of summarizeRecords() and a total line. */
export function profileTable(rows: KernelSummary[], totalMs: number, limit = 25): string {
  const head = ['kernel', 'op', 'shapes', 'calls', 'ms', 'share', 'GFLOP/s', 'GB/s'];
  const body = rows
    .slice(0, limit)
    .map((r) => [
      r.kernel,
      r.op,
      r.shape.slice(0, 44),
      String(r.calls),
      r.ms.toFixed(2),
      `${(r.share * 100).toFixed(1)}%`,
      r.gflops ? r.gflops.toFixed(2) : '',
      r.gbps ? r.gbps.toFixed(2) : '',
    ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (r: string[]) => r.map((v, i) => (i < 3 ? v.padEnd(w[i]) : v.padStart(w[i]))).join('  ');
  return [
    line(head),
    w.map((n) => '-'.repeat(n)).join('  '),
    ...body.map(line),
    `total GPU time ${totalMs.toFixed(1)} ms in ${rows.reduce((a, r) => a + r.calls, 0)} dispatches`,
  ].join('\n');
}

/** DAWNGRAD_PROFILE=1's report at the end of a run: the table (20 rows) on stderr, the Chrome trace in `file`. */
export function writeProfileReport(records: KernelRecord[], file: string): void {
  const total = records.reduce((a, r) => a + r.ns, 0) / 1e6;
  process.stderr.write(
    `\ndawngrad profile:\n${profileTable(summarizeRecords(records), total, 20)}\nChrome trace: ${file}\n`,
  );
  writeFileSync(file, JSON.stringify(chromeTrace(records)));
}
