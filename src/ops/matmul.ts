// Batched matrix multiply with NumPy batch broadcasting (torch.matmul semantics, 1-D operands too).
//   forward  C = A · B                      (shaders/matmul/*.wgsl)
//   backward dA = dC · Bᵀ, dB = Aᵀ · dC     (transposes materialised by permute, then the same kernel;
//                                            summed over broadcast batch axes)
// Kernel choice per adapter: lavapipe with subgroups gets subgroup tiles (B rows shared through
// subgroupBroadcast: subgroup_wide.wgsl, 64×256 per workgroup, when N > 128, else subgroup_tile.wgsl,
// 64×64), other CPU adapters register tiles without workgroup memory, GPUs workgroup-memory tiles.
// The choice is the engine's policy (src/runtime/policy.ts); DAWNGRAD_MATMUL=subgroup|subgroup_wide|
// register|workgroup overrides it, and the tests run every kernel the adapter can run by editing it.
import type { MatmulKernel } from '../runtime/policy.ts';
import { record } from '../autograd/graph.ts';
import { launchMap } from '../runtime/map.ts';
import { coalesce } from '../runtime/strides.ts';
import { defineUniforms } from '../runtime/uniforms.ts';
import { broadcastShapes, contiguousStrides, fmtShape, sameShape, ShapeError, sizeOf } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { Engine } from '../tensor/engine.ts';
import { reshape, transpose } from './movement.ts';
import { sumTo } from './reduce.ts';
import { assertTensor, chooseTile, output, sameEngine } from './util.ts';
import { tileTemplate, type TileConfig } from '../runtime/tuner.ts';

export type { MatmulKernel } from '../runtime/policy.ts';

/** The uniform block of every matmul kernel (shaders/matmul/params.wgsl). */
const MATMUL_PARAMS = defineUniforms('MatmulParams', {
  M: 'u32',
  N: { type: 'u32', doc: 'columns of B and C' },
  K: 'u32',
  batch_rank: 'u32',
  batch_shape: { type: 'vec4u', doc: 'broadcast batch shape (rank <= 4 after merging axes)' },
  a_batch_strides: { type: 'vec4u', doc: 'in elements; 0 where A is broadcast' },
  b_batch_strides: 'vec4u',
});

/**
 * 'subgroup' picks subgroup_wide.wgsl (64×256 tiles) above this many columns, subgroup_tile.wgsl (64×64) up to
 * it.
 */
const WIDE_MIN_N = 129;

/** The engine's matmul kernel family (its policy: the plan's choice, or DAWNGRAD_MATMUL). */
export function matmulKernelFor(e: Engine): MatmulKernel {
  return e.runtime.policy.matmul;
}

/**
 * Whether subgroup_tile.wgsl and subgroup_wide.wgsl can run: it needs the 'subgroups' feature and subgroups of 8 or 16
 * lanes that are consecutive invocations, which lavapipe has and WebGPU does not promise elsewhere.
 */
export function subgroupTilesRun(e: Engine): boolean {
  return e.runtime.policy.subgroupTiles;
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  assertTensor(a, 'matmul', 'first input');
  assertTensor(b, 'matmul', 'second input');
  if (a.rank === 0 || b.rank === 0)
    throw new ShapeError(
      `matmul: both inputs need at least one axis, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  // torch.matmul: a 1-D left operand is a row vector, a 1-D right operand a column vector.
  if (a.rank === 1 || b.rank === 1) {
    const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]]) : a;
    const b2 = b.rank === 1 ? reshape(b, [b.shape[0], 1]) : b;
    const c = matmul(a2, b2);
    const shape = c.shape.slice(0, -2);
    if (a.rank !== 1) shape.push(c.shape[c.rank - 2]);
    if (b.rank !== 1) shape.push(c.shape[c.rank - 1]);
    return reshape(c, shape);
  }
  const e = sameEngine('matmul', a, b);
  const [M, K] = a.shape.slice(-2);
  const [K2, N] = b.shape.slice(-2);
  if (K !== K2)
    throw new ShapeError(
      `matmul: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} do not match (inner sizes ${K} and ${K2})`,
    );
  let batch: number[];
  try {
    batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new ShapeError(
      `matmul: batch axes of ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be broadcast together`,
    );
  }
  const c = output(e, [...batch, M, N], 'matmul');
  launchMatmul(e, a, b, c, batch, M, N, K);
  // Sum over batch axes that broadcasting stretched (only when there are any).
  const fit = (t: Tensor, shape: number[]) => (sameShape(t.shape, shape) ? t : sumTo(t, shape));
  return record(c, 'matmul', [a, b], (g, needs) => [
    needs[0] ? fit(matmul(g, transpose(b)), a.shape) : null,
    needs[1] ? fit(matmul(transpose(a), g), b.shape) : null,
  ]);
}

/** Batch strides of an operand whose batch axes broadcast to `batch`. */
function batchStrides(shape: number[], batch: number[], matrixSize: number): number[] {
  const own = shape.slice(0, -2);
  const off = batch.length - own.length;
  const st = contiguousStrides(own).map((s) => s * matrixSize);
  return batch.map((_, i) => (i < off || own[i - off] === 1 ? 0 : st[i - off]));
}

function launchMatmul(
  e: Engine,
  a: Tensor,
  b: Tensor,
  c: Tensor,
  batch: number[],
  M: number,
  N: number,
  K: number,
  forced?: TileConfig,
): void {
  const rt = e.runtime;
  const numBatch = sizeOf(batch);
  if (c.size === 0) return;
  if (K === 0) {
    e.fill(c, 0);
    return;
  }
  const kind = matmulKernelFor(e);
  // register tiles read B as vec4 rows (N % 4 == 0); both subgroup kernels read A and B as vec4 rows
  // (K % 4 == 0 too); workgroup tiles take any size. Other sizes are zero-padded into scratch tensors
  // (and C cropped back for a padded N).
  const Np = kind !== 'workgroup' ? Math.ceil(N / 4) * 4 : N;
  const Kp = kind !== 'register' && kind !== 'workgroup' ? Math.ceil(K / 4) * 4 : K;
  const scratch: Tensor[] = [];
  let aT = a;
  let bT = b;
  let cT = c;
  if (Kp !== K) {
    aT = padAxis(e, a, a.rank - 1, Kp);
    bT = padAxis(e, b, b.rank - 2, Kp);
    scratch.push(aT, bT);
  }
  if (Np !== N) {
    bT = padAxis(e, bT, bT.rank - 1, Np);
    cT = e.empty([...batch, M, Np], { category: 'scratch' }, 'matmul.pad');
    scratch.push(bT, cT);
  }
  const merged = coalesce(batch.length ? batch : [1], [
    batch.length ? contiguousStrides(batch).map((s) => s * M * Np) : [0],
    batch.length ? batchStrides(aT.shape, batch, M * Kp) : [0],
    batch.length ? batchStrides(bT.shape, batch, Kp * Np) : [0],
  ]);
  if (merged.shape.length > 4)
    throw new ShapeError(`matmul: more than 4 independent batch axes (${fmtShape(batch)}); reshape them first`);
  const four = (v: readonly number[], fill: number) => [...v, ...new Array<number>(4 - v.length).fill(fill)];
  const u = MATMUL_PARAMS.pack({
    M,
    N: Np,
    K: Kp,
    batch_rank: merged.shape.length,
    batch_shape: four(merged.shape, 1),
    a_batch_strides: four(merged.strides[1], 0),
    b_batch_strides: four(merged.strides[2], 0),
  });
  const buffers = [cT.buffer(), aT.buffer('matmul'), bT.buffer('matmul')];
  const cost = {
    flops: 2 * numBatch * M * N * K,
    bytes: 4 * (a.size + b.size + c.size),
    shape: `${fmtShape(a.shape)}@${fmtShape(b.shape)}`,
  };
  if (kind === 'subgroup_wide' || (kind === 'subgroup' && Np >= WIDE_MIN_N)) {
    const k = rt.kernels.get('matmul/subgroup_wide', {}, 'matmul');
    rt.dispatch(k, buffers, u, [Math.ceil(Np / 256), Math.ceil(M / 64), numBatch], 'matmul', cost);
  } else if (kind === 'subgroup') {
    const k = rt.kernels.get('matmul/subgroup_tile', {}, 'matmul');
    rt.dispatch(k, buffers, u, [Math.ceil(Np / 64), Math.ceil(M / 64), numBatch], 'matmul', cost);
  } else if (kind === 'register') {
    const k = rt.kernels.get('matmul/register_tile', {}, 'matmul');
    rt.dispatch(k, buffers, u, [Math.ceil(Np / 4 / 2 / 16), Math.ceil(M / 4 / 16), numBatch], 'matmul', cost);
  } else {
    // workgroup tiles: the tile shape per (batch, M, N, K) from the tuner; its bench reruns this
    // matmul on random [batch, M, K] · [batch, K, N] operands
    const key = `${numBatch}x${M}x${N}x${K}`;
    const t = chooseTile(
      e,
      'matmul',
      key,
      M,
      [
        [numBatch, M, K],
        [numBatch, K, N],
      ],
      ([as, bs], tile) => {
        const cs = e.empty([numBatch, M, N], { category: 'scratch' }, 'matmul');
        launchMatmul(e, as, bs, cs, [numBatch], M, N, K, tile);
        return cs;
      },
      forced,
    );
    const k = rt.kernels.get('matmul/workgroup_tile', tileTemplate(t), 'matmul');
    rt.dispatch(
      k,
      buffers,
      u,
      [Math.ceil(N / (t.wgN * t.tn)), Math.ceil(M / (t.wgM * t.tm)), numBatch],
      'matmul',
      cost,
    );
  }
  if (cT !== c) {
    // crop the padded columns: C[..., :, :N] = Cpad[..., :, :N]
    launchMap(
      rt,
      'matmul.crop',
      'a',
      ['a'],
      [{ buffer: cT.buffer(), offset: 0, strides: contiguousStrides(cT.shape) }],
      { buffer: c.buffer(), offset: 0, strides: contiguousStrides(c.shape) },
      c.shape,
    );
  }
  for (const t of scratch) t.dispose(); // reusable by later commands only
}

/** `x` zero-padded along `axis` to `size` (a scratch tensor outside autograd). */
function padAxis(e: Engine, x: Tensor, axis: number, size: number): Tensor {
  const shape = [...x.shape];
  shape[axis] = size;
  const y = e.zeros(shape, { category: 'scratch' });
  launchMap(
    e.runtime,
    'matmul.pad',
    'a',
    ['a'],
    [{ buffer: x.buffer(), offset: 0, strides: contiguousStrides(x.shape) }],
    { buffer: y.buffer(), offset: 0, strides: contiguousStrides(shape) },
    x.shape,
  );
  return y;
}
