// The multi-tensor layout every optimizer kernel shares (shaders/optim/flat.wgsl): parameter k at an
// offset in flat arrays, a chunk table of (tensor label, start, end) runs of at most CHUNK elements, one
// workgroup per chunk, and the uniform header that starts each kernel's uniform block.
import { grid1d } from '../runtime/grid.ts';
import type { PooledBuffer } from '../runtime/pool.ts';
import { defineUniforms, type UniformValues } from '../runtime/uniforms.ts';

/** The first block of every optimizer kernel's uniforms (shaders/optim/flat.wgsl). */
export const FLAT_HEADER = defineUniforms('FlatHeader', {
  chunk_count: 'u32',
  groups_x: 'u32',
  clamp_on: { type: 'u32', doc: '1: clamp the updated parameters to [clamp_lo, clamp_hi] (WGAN weight clipping)' },
  clamp_lo: 'f32',
  clamp_hi: 'f32',
});
export type FlatHeaderValues = UniformValues<(typeof FLAT_HEADER)['spec']>;

/** The buffers and sizes an update kernel binds (see shaders/optim/flat.wgsl). */
export interface FlatUpdate {
  /** Flat parameters, gradients, the skip flag and the chunk table: bindings 1–4 of every update kernel. */
  param: PooledBuffer;
  grad: PooledBuffer;
  skip: PooledBuffer;
  chunks: PooledBuffer;
  /** The flat state arrays in slotNames() order, and the per-parameter step counts. */
  slots: PooledBuffer[];
  steps: PooledBuffer;
  /** The FlatHeader that starts the kernel's uniform block. */
  header: FlatHeaderValues;
  /** The workgroup grid: one workgroup per chunk. */
  workgroups: [number, number];
  /** Flat elements updated (for the profiler's byte counts). */
  elements: number;
}

/** Elements per chunk: one workgroup of the optimizer kernels. */
const CHUNK = 256;

/**
 * The chunk table's words for these (tensor label, first flat element, size) runs: (label, start, end, 0) per chunk.
 */
export function chunkTableWords(runs: readonly (readonly [number, number, number])[]): Uint32Array {
  const words: number[] = [];
  for (const [label, start, size] of runs) {
    for (let s = 0; s < size; s += CHUNK) words.push(label, start + s, start + Math.min(s + CHUNK, size), 0);
  }
  return Uint32Array.from(words.length ? words : [0, 0, 0, 0]);
}

/** The FlatHeader words of a dispatch over `count` chunks, and its workgroup grid. */
export function flatHeader(
  count: number,
  clamp: readonly [number, number] | null,
  maxWorkgroups: number,
): { header: FlatHeaderValues; workgroups: [number, number] } {
  const grid = grid1d(count, 1, maxWorkgroups);
  return {
    header: {
      chunk_count: count,
      groups_x: grid.gridX,
      clamp_on: clamp ? 1 : 0,
      clamp_lo: clamp?.[0] ?? 0,
      clamp_hi: clamp?.[1] ?? 0,
    },
    workgroups: grid.workgroups,
  };
}
