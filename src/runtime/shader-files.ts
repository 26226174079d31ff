// Where WGSL text comes from: shaders/<path>.wgsl on disk. The browser build (src/web/build.ts) puts a
// generated module with every shader inlined in this file's place, with the same export.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SHADER_DIR = fileURLToPath(new URL('../../shaders/', import.meta.url));

/** The text of shaders/<path>.wgsl, as written (includes and templates are resolved by kernels.ts). */
export function readShaderFile(path: string): string {
  return readFileSync(`${SHADER_DIR}${path}.wgsl`, 'utf8');
}
