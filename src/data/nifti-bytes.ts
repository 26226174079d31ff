// NIfTI byte sources in Node: a plain or gzipped file read as a stream (fs and zlib). The browser build
// puts nifti-bytes-browser.ts in this file's place.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import zlib from 'node:zlib';
import { NiftiError } from './nifti-types.ts';
import { ChunkReader, isGzip } from './nifti-chunks.ts';

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
export class ByteReader extends ChunkReader {
  static async open(file: string): Promise<ByteReader> {
    const { head, size } = await peekBytes(file, 2);
    const compressed = isGzip(head);
    const raw = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    let streams: NodeJS.ReadableStream[] = [raw];
    let it: AsyncIterator<Uint8Array> = raw[Symbol.asyncIterator]();
    if (compressed) {
      const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
      raw.on('error', (e) => gunzip.destroy(e));
      raw.pipe(gunzip);
      streams = [raw, gunzip];
      it = gunzip[Symbol.asyncIterator]();
    }
    return new ByteReader(file, compressed, size, it, () => {
      for (const s of streams) {
        // A stream closed before it was ever read has no error listener yet (the async iterator adds one on its
        // first next()): if its file vanishes before the deferred open runs, the ENOENT would otherwise be an
        // uncaught exception after readNifti has already returned. Errors after close() are of no interest.
        s.on('error', () => {});
        (s as unknown as { destroy(): void }).destroy();
      }
    });
  }
}
