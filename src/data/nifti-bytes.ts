// NIfTI byte sources: sequential reading of a plain or gzipped file, with bounded buffering.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import zlib from 'node:zlib';
import { NiftiError } from './nifti-types.ts';

// ---------------------------------------------------------------------------------------------------
// Byte sources: sequential reading of a plain or gzipped file, with bounded buffering.

const GZIP_MAGIC = [0x1f, 0x8b];
/** The largest expansion a deflate stream can achieve (used to reject impossibly short .gz files early). */
const MAX_DEFLATE_RATIO = 1032;

async function peekBytes(file: string, n: number): Promise<{ head: Buffer; size: number }> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    throw new NiftiError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NiftiError(file, 'is not a regular file');
    const head = Buffer.alloc(Math.min(n, st.size));
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return { head: head.subarray(0, bytesRead), size: st.size };
  } finally {
    await fh.close();
  }
}

/** Sequential reader over a file's (decompressed) bytes. Always call close(). */
export class ByteReader {
  private readonly it: AsyncIterator<Buffer>;
  private readonly streams: NodeJS.ReadableStream[];
  private queue: Buffer[] = [];
  private queued = 0;
  private done = false;
  /** Bytes consumed so far (position in the decompressed stream). */
  position = 0;

  private constructor(
    readonly file: string,
    readonly compressed: boolean,
    readonly fileSize: number,
  ) {
    const raw = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    if (compressed) {
      const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
      raw.on('error', (e) => gunzip.destroy(e));
      raw.pipe(gunzip);
      this.streams = [raw, gunzip];
      this.it = gunzip[Symbol.asyncIterator]();
    } else {
      this.streams = [raw];
      this.it = raw[Symbol.asyncIterator]();
    }
  }

  static async open(file: string): Promise<ByteReader> {
    const { head, size } = await peekBytes(file, 2);
    const gz = head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
    return new ByteReader(file, gz, size);
  }

  /** Upper bound on the number of bytes this file can yield. */
  get maxBytes(): number {
    return this.compressed ? this.fileSize * MAX_DEFLATE_RATIO : this.fileSize;
  }

  private async pull(): Promise<boolean> {
    if (this.done) return false;
    let r: IteratorResult<Buffer>;
    try {
      r = await this.it.next();
    } catch (e) {
      throw this.streamError(e as NodeJS.ErrnoException);
    }
    if (r.done) {
      this.done = true;
      return false;
    }
    this.queue.push(r.value);
    this.queued += r.value.length;
    return true;
  }

  private streamError(e: NodeJS.ErrnoException): NiftiError {
    const at = this.position + this.queued;
    if (!this.compressed) return new NiftiError(this.file, `read error after ${at} bytes (${e.code ?? e.message})`);
    if (e.code === 'Z_BUF_ERROR' || /unexpected end/i.test(e.message))
      return new NiftiError(this.file, `gzip data is truncated (unexpected end of file after ${at} decompressed bytes)`);
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
    for (const s of this.streams) {
      // A stream closed before it was ever read has no error listener yet (the async iterator adds one on its
      // first next()): if its file vanishes before the deferred open runs, the ENOENT would otherwise be an
      // uncaught exception after readNifti has already returned. Errors after close() are of no interest.
      s.on('error', () => {});
      (s as unknown as { destroy(): void }).destroy();
    }
  }
}
