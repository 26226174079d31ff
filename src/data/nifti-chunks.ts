// Sequential reading of a file's (decompressed) bytes from a stream of chunks, with bounded buffering:
// the part of NIfTI reading that is the same wherever the bytes come from (Node's fs and zlib in
// nifti-bytes.ts, a browser's fetched bytes and DecompressionStream in nifti-bytes-browser.ts).
import { NiftiError } from './nifti-types.ts';

/** The largest expansion a deflate stream can achieve (used to reject impossibly short .gz files early). */
const MAX_DEFLATE_RATIO = 1032;
export const GZIP_MAGIC = [0x1f, 0x8b];

export const isGzip = (head: Uint8Array) => head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];

/** Sequential reader over a file's (decompressed) bytes. Always call close(). */
export class ChunkReader {
  private queue: Buffer[] = [];
  private queued = 0;
  private done = false;
  /** Bytes consumed so far (position in the decompressed stream). */
  position = 0;

  constructor(
    readonly file: string,
    readonly compressed: boolean,
    readonly fileSize: number,
    private readonly it: AsyncIterator<Uint8Array>,
    private readonly onClose: () => void,
  ) {}

  /** Upper bound on the number of bytes this file can yield. */
  get maxBytes(): number {
    return this.compressed ? this.fileSize * MAX_DEFLATE_RATIO : this.fileSize;
  }

  private async pull(): Promise<boolean> {
    if (this.done) return false;
    let r: IteratorResult<Uint8Array>;
    try {
      r = await this.it.next();
    } catch (e) {
      throw this.streamError(e as NodeJS.ErrnoException);
    }
    if (r.done) {
      this.done = true;
      return false;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    this.queue.push(b);
    this.queued += b.length;
    return true;
  }

  private streamError(e: NodeJS.ErrnoException): NiftiError {
    const at = this.position + this.queued;
    if (!this.compressed) return new NiftiError(this.file, `read error after ${at} bytes (${e.code ?? e.message})`);
    if (e.code === 'Z_BUF_ERROR' || /unexpected end|incomplete|truncat/i.test(e.message))
      return new NiftiError(
        this.file,
        `gzip data is truncated (unexpected end of file after ${at} decompressed bytes)`,
      );
    return new NiftiError(this.file, `gzip data is corrupt after ${at} decompressed bytes (${e.message})`);
  }

  /** Exactly n bytes, or fewer if the stream ends first (the caller decides whether that is an error). */
  async read(n: number): Promise<Buffer> {
    while (this.queued < n && (await this.pull()));
    const take = Math.min(n, this.queued);
    const out = Buffer.allocUnsafe(take);
    let filled = 0;
    while (filled < take) {
      const b = this.queue[0];
      const k = Math.min(b.length, take - filled);
      b.copy(out, filled, 0, k);
      filled += k;
      if (k === b.length) this.queue.shift();
      else this.queue[0] = b.subarray(k);
    }
    this.queued -= take;
    this.position += take;
    return out;
  }

  /** Feeds the next n bytes to sink in chunks; returns how many there were (< n if the stream ended). */
  async forEach(n: number, sink: (chunk: Buffer) => void): Promise<number> {
    let left = n;
    while (left > 0) {
      if (this.queue.length === 0 && !(await this.pull())) break;
      const b = this.queue[0];
      const k = Math.min(b.length, left);
      if (k === b.length) this.queue.shift();
      else this.queue[0] = b.subarray(k);
      this.queued -= k;
      this.position += k;
      left -= k;
      sink(b.subarray(0, k));
    }
    return n - left;
  }

  close(): void {
    this.onClose();
  }
}
