// Launcher for shaders/elementwise/map.wgsl: out[view] = expr(inputs[views]) over a logical shape.
// Below the tensor layer: it takes buffers and strides, so autograd and ops can both use it.
import { grid1d } from './grid.ts';
import { coalesce, contiguousStrides } from './strides.ts';
import { defineUniforms } from './uniforms.ts';
import type { PooledBuffer } from './pool.ts';
import type { Runtime } from './runtime.ts';

/** A strided window of a buffer, in elements. */
export interface View {
  buffer: PooledBuffer;
  offset: number;
  strides: readonly number[];
}

export const MAX_RANK = 8;
// Threads in a vec4 map's grid: the policy's threads.map (runtime/policy.ts); a grid-stride loop
// covers the rest. On CPU adapters fewer, longer threads are faster; GPUs want a thread per vec4.
const OFFSET_FIELDS = ['y', 'z', 'w'];

/** elementwise/map.wgsl's uniforms. */
export const MAP_PARAMS = defineUniforms('MapParams', {
  count: { type: 'u32', doc: 'number of output elements' },
  rank: { type: 'u32', doc: 'logical rank, <= 8' },
  grid_x: { type: 'u32', doc: 'threads along x (workgroups_x * 256)' },
  p0: { type: 'f32', doc: 'scalar parameters of the op (slope, exponent, clamp bounds, ...)' },
  p1: 'f32',
  offsets: { type: 'vec4u', doc: 'element offsets of out, in0, in1, in2' },
  shape: { type: { vec4u: 2 }, doc: 'logical shape, innermost last (INDEXING 1: innermost first)' },
  strides: { type: { vec4u: 8 }, doc: '[out, in0, in1, in2] x 2 vec4 (8 dims each), ordered as shape' },
});

/** elementwise/map_vec4.wgsl's uniforms. */
export const MAP_VEC4_PARAMS = defineUniforms('MapVec4Params', {
  count4: { type: 'u32', doc: 'number of vec4s in the output' },
  grid_x: { type: 'u32', doc: 'threads along x' },
  stride: { type: 'u32', doc: 'threads in the whole grid' },
  p0: 'f32',
  p1: 'f32',
  offsets4: { type: 'vec4u', doc: 'vec4 offsets of out, in0, in1, in2' },
});

/**
 * Record `out = expr(names...)`. `names` are the WGSL names of the inputs as `expr` uses them.
 * p0/p1 are the op's scalar parameters (the expression reads them as P.p0 / P.p1 via `p0`, `p1`).
 */
export function launchMap(
  rt: Runtime,
  op: string,
  expr: string,
  names: readonly string[],
  inputs: readonly View[],
  out: View,
  shape: readonly number[],
  p0 = 0,
  p1 = 0,
): void {
  let count = 1;
  for (const d of shape) count *= d;
  if (count === 0) return;
  if (inputs.length > 3) throw new Error(`${op}: map kernel takes at most 3 inputs`);
  const c = coalesce(shape, [out.strides, ...inputs.map((v) => v.strides)]);
  if (c.shape.length > MAX_RANK)
    throw new Error(`${op}: rank ${c.shape.length} after merging axes exceeds ${MAX_RANK}`);
  const dense = contiguousStrides(c.shape);
  const strided = !c.strides.every((st) => st.every((s, i) => s === dense[i]));
  const expression = expr.replace(/\bp([01])\b/g, 'P.p$1');
  const args = names.map((n) => `${n}: f32`).join(', ');
  const all = [out, ...inputs];
  if (!strided && count % 4 === 0 && all.every((v) => v.offset % 4 === 0)) {
    // Dense and aligned: four elements per thread.
    const bindings = names
      .map((n, i) => `@group(0) @binding(${i + 2}) var<storage, read> ${n}_buf: array<vec4f>;`)
      .join('\n');
    const loads = names.map((n, i) => `  let ${n}4 = ${n}_buf[i + P.offsets4.${OFFSET_FIELDS[i]}];`).join('\n');
    const call = (c: string) => `apply(${names.map((n) => `${n}4.${c}`).join(', ')})`;
    const kernel = rt.kernels.get(
      'elementwise/map_vec4',
      {
        BINDINGS: bindings,
        LOADS: loads,
        ARGS: args,
        EXPR: expression,
        CALL_X: call('x'),
        CALL_Y: call('y'),
        CALL_Z: call('z'),
        CALL_W: call('w'),
      },
      op,
    );
    const g = grid1d(Math.min(count / 4, rt.policy.threads.map));
    const threads = g.workgroups[0] * g.workgroups[1] * 256;
    const u = MAP_VEC4_PARAMS.pack({
      count4: count / 4,
      grid_x: g.gridX,
      stride: threads,
      p0,
      p1,
      offsets4: all.map((v) => v.offset / 4),
    });
    rt.dispatch(kernel, [out.buffer, ...inputs.map((v) => v.buffer)], u, g.workgroups, op, {
      bytes: 4 * count * (inputs.length + 1),
      shape: `[${shape.join(',')}]`,
    });
    return;
  }
  const bindings = names
    .map((n, i) => `@group(0) @binding(${i + 2}) var<storage, read> ${n}_buf: array<f32>;`)
    .join('\n');
  const call = names.map((n, i) => `${n}_buf[o.${OFFSET_FIELDS[i]}]`).join(', ');
  const rank = c.shape.length;
  const maxDim = rt.report.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  // A 3-D grid when the merged rank is at most 3 and every axis fits the grid's limits.
  const grid3 =
    strided &&
    rank <= 3 &&
    Math.ceil(c.shape[rank - 1] / 256) <= maxDim &&
    (c.shape[rank - 2] ?? 1) <= maxDim &&
    (c.shape[rank - 3] ?? 1) <= maxDim;
  const indexing = !strided ? 0 : grid3 ? 1 : 2;
  const kernel = rt.kernels.get(
    'elementwise/map',
    { BINDINGS: bindings, ARGS: args, CALL: call, EXPR: expression, INDEXING: indexing },
    op,
  );
  const g = grid1d(count);
  // INDEXING 1 lists axes innermost first (x, y, z); the others outermost first.
  const order = (v: number[]) => (indexing === 1 ? [...v].reverse() : v);
  const padded = (v: readonly number[], fill: number) => [...v, ...new Array<number>(8 - v.length).fill(fill)];
  const u = MAP_PARAMS.pack({
    count,
    rank,
    grid_x: g.gridX,
    p0,
    p1,
    offsets: [out.offset, ...inputs.map((v) => v.offset)],
    shape: padded(order(c.shape), 1),
    strides: [0, 1, 2, 3].flatMap((k) => padded(c.strides[k] ? order(c.strides[k]) : [], 0)),
  });
  const workgroups: [number, number, number] =
    indexing === 1
      ? [Math.ceil(c.shape[rank - 1] / 256), c.shape[rank - 2] ?? 1, c.shape[rank - 3] ?? 1]
      : [g.workgroups[0], g.workgroups[1], 1];
  rt.dispatch(kernel, [out.buffer, ...inputs.map((v) => v.buffer)], u, workgroups, op, {
    bytes: 4 * count * (inputs.length + 1),
    shape: `[${shape.join(',')}]`,
  });
}
