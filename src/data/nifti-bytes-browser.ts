// NIfTI byte sources in a browser: files the page fetched (provideFile), gunzipped with
// DecompressionStream. The browser build (src/web/build.ts) puts this file where nifti-bytes.ts stands.
import { NiftiError } from './nifti-types.ts';
import { ChunkReader, isGzip } from './nifti-chunks.ts';

const provided = new Map<string, Uint8Array>();

/** Make `bytes` readable as the file `name` (a path as the rest of the code names it). */
export function provideFile(name: string, bytes: Uint8Array): void {
  provided.set(name, bytes);
}

/** Sequential reader over a provided file's (decompressed) bytes. Always call close(). */
export class ByteReader extends ChunkReader {
  static async open(file: string): Promise<ByteReader> {
    const bytes = provided.get(file);
    if (!bytes) throw new NiftiError(file, 'cannot open (the page has not fetched this file)');
    const compressed = isGzip(bytes);
    if (!compressed) {
      let given = false;
      const once: AsyncIterator<Uint8Array> = {
        next: async () => (given ? { done: true, value: undefined } : ((given = true), { done: false, value: bytes })),
      };
      return new ByteReader(file, false, bytes.length, once, () => {});
    }
    const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
    const it: AsyncIterator<Uint8Array> = {
      next: async () => {
        const r = await reader.read();
        return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
      },
    };
    return new ByteReader(file, true, bytes.length, it, () => void reader.cancel().catch(() => {}));
  }
}
