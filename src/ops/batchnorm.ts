// Batch normalisation over NCHW, torch.nn.functional.batch_norm semantics, with an optional fused
// ReLU / LeakyReLU. Dedicated kernels (shaders/norm/, see docs/kernels/batchnorm.md):
//   forward   bn_stats_partial  Welford partials per (channel, chunk), read straight from NCHW
//             bn_stats_merge    Chan merge per channel -> mean, invstd; running statistics in place
//                               (eval mode: mean, invstd from the running statistics)
//             bn_normalize      y = act((x − mean)·invstd·γ + β)
//   backward  bn_grad_partial   partial Σdŷ, Σdŷ·x̂ per (channel, chunk), dŷ = dy·act'(y)
//             bn_grad_merge     per channel: dβ = Σdŷ, dγ = Σdŷ·x̂, and the coefficients of dx
//             bn_grad_apply     dx = γ·invstd·(dŷ − Σdŷ/n − x̂·Σdŷ·x̂/n)   (eval: γ·invstd·dŷ)
// Every split is fixed by the shape (and the adapter kind) alone, so results are bitwise repeatable.
import { record } from '../autograd/graph.ts';
import { grid1d } from '../runtime/grid.ts';
import { defineUniforms } from '../runtime/uniforms.ts';
import type { PooledBuffer } from '../runtime/pool.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { fmtShape, ShapeError } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { assertFinite, assertTensor, output, sameEngine } from './util.ts';

export interface BatchNorm2dOptions {
  /** true: normalise with the batch statistics and update the running ones; false: use the running ones. */
  training: boolean;
  /** Weight of the new batch statistics in the running average (default 0.1, as PyTorch). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Fused after the affine step (its derivative is fused into backward). */
  activation?: 'relu' | 'leakyRelu';
  /** LeakyReLU slope (default 0.01, as PyTorch); must be ≥ 0 (backward reads the sign of y). */
  slope?: number;
}

/** How the kernels split an [N, C, H, W] input; depends on the shape and the adapter kind only. */
export interface BatchNormPlan {
  batch: number;
  channels: number;
  /** H·W */
  plane: number;
  /** Elements per unit: 4 (vec4 loads) when H·W is a multiple of 4, else 1. */
  vec: 1 | 4;
  /** Units per (n, c) run: H·W / vec. */
  units: number;
  /** Values per channel, N·H·W. */
  count: number;
  /** Partials per channel in the reductions (chunks = lanesN · lanesU). */
  chunks: number;
  /** Reduction threads along a run (H·W) and along the batch axis. */
  lanesU: number;
  lanesN: number;
  /** Threads per (n, c) run in the elementwise kernels (normalise, dx). */
  runLanes: number;
}

/** Threads to aim for: CPU adapters run few long threads best (8 SIMD lanes x cores), GPUs want many. */
const TARGET_THREADS_CPU = 8192;
const TARGET_THREADS_GPU = 1 << 16;
const MAP_THREADS_GPU = 1 << 22;
/** Fewest units a reduction thread should get, so that its fixed costs stay small. */
const MIN_UNITS_CPU = 32;
const MIN_UNITS_GPU = 4;
/** Units per elementwise thread on CPU adapters (the per-thread divisions and loads amortised). */
const MAP_UNITS_CPU = 8;
/** The merge kernels walk each channel's partials serially: keep the walk short. */
const MAX_CHUNKS = 1024;

export function planBatchNorm(shape: readonly number[], software: boolean): BatchNormPlan {
  const [batch, channels, h, w] = shape;
  const plane = h * w;
  const vec = plane % 4 === 0 && plane > 0 ? 4 : 1;
  const units = plane / vec;
  const perChannel = batch * units;
  const target = software ? TARGET_THREADS_CPU : TARGET_THREADS_GPU;
  const minUnits = software ? MIN_UNITS_CPU : MIN_UNITS_GPU;
  const want = Math.max(
    1,
    Math.min(Math.ceil(target / Math.max(channels, 1)), MAX_CHUNKS, Math.floor(perChannel / minUnits)),
  );
  const lanesU = Math.max(1, Math.min(units, want));
  const lanesN = Math.max(1, Math.min(batch, Math.floor(want / lanesU)));
  const runs = Math.max(1, batch * channels);
  const runLanes = software
    ? Math.max(1, Math.min(units, Math.ceil(TARGET_THREADS_CPU / runs), Math.ceil(units / MAP_UNITS_CPU)))
    : Math.max(1, Math.min(units, Math.ceil(MAP_THREADS_GPU / runs)));
  return {
    batch,
    channels,
    plane,
    vec,
    units,
    count: batch * plane,
    chunks: lanesN * lanesU,
    lanesU,
    lanesN,
    runLanes,
  };
}

const TRAINING = 1;
const RUNNING = 2;
const HAS_WEIGHT = 4;
const HAS_BIAS = 8;
const ACT = { none: 0, relu: 1, leakyRelu: 2 } as const;

interface Fields {
  chunks?: number;
  lanesU?: number;
  lanesN?: number;
  units?: number;
  batch?: number;
  gridX: number;
  flags?: number;
  count?: number;
  eps?: number;
  momentum?: number;
  slope?: number;
}

/** The uniform block shared by shaders/norm/bn_*.wgsl (each reads the fields it needs). */
const BATCHNORM_PARAMS = defineUniforms('BatchNormParams', {
  batch: { type: 'u32', doc: 'N' },
  channels: { type: 'u32', doc: 'C' },
  units: { type: 'u32', doc: 'U = H·W / VEC units per (n, c) run' },
  chunks: { type: 'u32', doc: 'K partials per channel (0: none)' },
  lanes_u: { type: 'u32', doc: 'threads along a run' },
  lanes_n: { type: 'u32', doc: 'threads along the batch axis' },
  grid_x: { type: 'u32', doc: 'threads along x' },
  flags: { type: 'u32', doc: 'bit 0 training, bit 1 running statistics given, bit 2 weight given, bit 3 bias given' },
  count: { type: 'f32', doc: 'n = N·H·W values per channel' },
  eps: 'f32',
  momentum: 'f32',
  slope: { type: 'f32', doc: 'LeakyReLU slope (ACT 2)' },
});

/** A kernel's fields; those it ignores are 0 (fewer distinct uniforms). */
function params(channels: number, f: Fields): Uint32Array {
  return BATCHNORM_PARAMS.pack({
    batch: f.batch ?? 0,
    channels,
    units: f.units ?? 0,
    chunks: f.chunks ?? 0,
    lanes_u: f.lanesU ?? 0,
    lanes_n: f.lanesN ?? 0,
    grid_x: f.gridX,
    flags: f.flags ?? 0,
    count: f.count ?? 0,
    eps: f.eps ?? 0,
    momentum: f.momentum ?? 0,
    slope: f.slope ?? 0,
  });
}

/** The fields of a per-chunk partial-sum pass (bn_stats_partial, bn_grad_partial). */
function partialFields(p: BatchNormPlan, gridX: number): Fields {
  return { batch: p.batch, units: p.units, chunks: p.chunks, lanesU: p.lanesU, lanesN: p.lanesN, gridX };
}

function variant(p: BatchNormPlan, act?: number): Record<string, string | number> {
  const d: Record<string, string | number> = { T: p.vec === 4 ? 'vec4f' : 'f32', VEC: p.vec };
  if (act !== undefined) d.ACT = act;
  return d;
}

function checkPerChannel(op: string, name: string, t: Tensor | null, x: Tensor): void {
  if (t === null) return;
  assertTensor(t, op, name);
  const c = x.shape[1];
  if (t.rank !== 1 || t.shape[0] !== c) {
    throw new ShapeError(
      `${op}: ${name} has shape ${fmtShape(t.shape)}, expected ` +
        `[${c}] (one value per channel of input ${fmtShape(x.shape)})`,
    );
  }
}

// Batch normalisation of an NCHW input (torch.nn.functional.batch_norm), optionally followed by a
// fused ReLU / LeakyReLU. `weight` / `bias` are [C] or null (γ = 1, β = 0). Training mode normalises
// with the batch mean and biased variance and updates `runningMean` / `runningVar` in place (same
// buffers) with the unbiased variance; they may be null there. Eval mode normalises with them.
// Gradients flow to x, weight and bias; the running statistics get none.
export function batchNorm2d(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  opts: BatchNorm2dOptions,
): Tensor {
  const op = 'batchNorm2d';
  assertTensor(x, op);
  if (x.rank !== 4) throw new ShapeError(`${op}: expected an input of shape [N, C, H, W], got ${fmtShape(x.shape)}`);
  if (opts === null || typeof opts !== 'object' || typeof opts.training !== 'boolean') {
    throw new TypeError(`${op}: options must give training: true or false`);
  }
  const training = opts.training;
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  assertFinite(op, 'momentum', momentum);
  assertFinite(op, 'eps', eps);
  if (!Number.isFinite(momentum)) throw new RangeError(`${op}: momentum must be finite, got ${momentum}`);
  if (!Number.isFinite(eps) || eps < 0) throw new RangeError(`${op}: eps must be a finite number >= 0, got ${eps}`);
  const activation = opts.activation;
  if (activation !== undefined && activation !== 'relu' && activation !== 'leakyRelu') {
    throw new TypeError(`${op}: activation must be 'relu' or 'leakyRelu', got '${String(activation)}'`);
  }
  if (opts.slope !== undefined && activation !== 'leakyRelu')
    throw new TypeError(`${op}: slope is only used with activation 'leakyRelu'`);
  const slope = activation === 'leakyRelu' ? (opts.slope ?? 0.01) : 0;
  assertFinite(op, 'slope', slope);
  if (!Number.isFinite(slope) || slope < 0) {
    throw new RangeError(
      `${op}: the fused LeakyReLU needs a finite slope >= 0 (backward reads the sign of the output), got ${slope}`,
    );
  }
  const act = ACT[activation ?? 'none'];
  checkPerChannel(op, 'weight', weight, x);
  checkPerChannel(op, 'bias', bias, x);
  checkPerChannel(op, 'runningMean', runningMean, x);
  checkPerChannel(op, 'runningVar', runningVar, x);
  if ((runningMean === null) !== (runningVar === null))
    throw new TypeError(`${op}: give both runningMean and runningVar, or neither`);
  if (!training && runningMean === null)
    throw new TypeError(`${op}: eval mode (training: false) needs runningMean and runningVar`);
  if (runningMean !== null && runningMean.buffer(op) === runningVar!.buffer(op)) {
    throw new TypeError(`${op}: runningMean and runningVar must be different tensors (both are updated in place)`);
  }
  const [N, C, H, W] = x.shape;
  if (training && N * H * W <= 1) {
    throw new ShapeError(`${op}: expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`);
  }
  const e = sameEngine(op, ...[x, runningMean, runningVar, weight, bias].filter((t): t is Tensor => t !== null));
  const rt = e.runtime;
  const p = planBatchNorm(x.shape, rt.policy.plan === 'software');

  // Per-channel statistics [mean (C), invstd (C)]: read by normalise now and by backward later.
  const stats = e.empty([2, C], {}, `${op}.stats`);
  const running = runningMean !== null ? { mean: runningMean.buffer(op), var: runningVar!.buffer(op) } : null;
  launchStats(rt, p, x.buffer(op), stats.buffer(op), running, training, eps, momentum, op);

  const y = output(e, x.shape, op);
  const flags = (weight ? HAS_WEIGHT : 0) | (bias ? HAS_BIAS : 0);
  const gm = grid1d(p.batch * p.channels * p.runLanes);
  const norm = rt.kernels.get('norm/bn_normalize', variant(p, act), `${op}.normalize`);
  const sb = stats.buffer(op);
  rt.dispatch(
    norm,
    [y.buffer(op), x.buffer(op), sb, weight?.buffer(op) ?? sb, bias?.buffer(op) ?? sb],
    params(C, { batch: N, units: p.units, lanesU: p.runLanes, gridX: gm.gridX, flags, slope }),
    gm.workgroups,
    op,
  );

  // The graph keeps `stats` as a non-differentiable input (so a tidy() cannot free it before backward).
  const inputs: Tensor[] = [x];
  if (weight) inputs.push(weight);
  if (bias) inputs.push(bias);
  inputs.push(stats);
  const out = record(y, op, inputs, (g, needs) => {
    let j = 1;
    const needW = weight ? needs[j++] : false;
    const needB = bias ? needs[j++] : false;
    const { dx, dgamma, dbeta } = batchNormBackward(
      rt,
      p,
      g,
      y,
      x,
      stats,
      weight,
      { training, act, slope, needX: needs[0], needW, needB },
      op,
    );
    const grads: (Tensor | null)[] = [dx];
    if (weight) grads.push(needW ? dgamma : null);
    if (bias) grads.push(needB ? dbeta : null);
    grads.push(null);
    return grads;
  });
  stats.dispose(); // freed now, or once the graph node that holds it is freed
  return out;
}

/** Record the statistics passes: training = partials + merge (+ running update); eval = from running stats. */
function launchStats(
  rt: Runtime,
  p: BatchNormPlan,
  x: PooledBuffer,
  stats: PooledBuffer,
  running: { mean: PooledBuffer; var: PooledBuffer } | null,
  training: boolean,
  eps: number,
  momentum: number,
  op: string,
): void {
  const C = p.channels;
  if (C === 0) return;
  let partials: PooledBuffer | null = null;
  if (training) {
    partials = rt.alloc(C * p.chunks * 16, 'scratch', `${op}.partials`);
    const g = grid1d(C * p.chunks);
    const k = rt.kernels.get('norm/bn_stats_partial', variant(p), `${op}.stats`);
    rt.dispatch(k, [partials, x], params(C, partialFields(p, g.gridX)), g.workgroups, op);
  }
  // Training without running statistics: two scratch buffers stand in (the kernel never touches
  // them; one buffer bound twice as writable storage is a validation error).
  const dummies = running ? null : [rt.alloc(16, 'scratch', `${op}.dummy`), rt.alloc(16, 'scratch', `${op}.dummy`)];
  const gc = grid1d(C, 64);
  const merge = rt.kernels.get('norm/bn_stats_merge', {}, `${op}.merge`);
  const flags = (training ? TRAINING : 0) | (running ? RUNNING : 0);
  rt.dispatch(
    merge,
    [stats, partials ?? x, running?.mean ?? dummies![0], running?.var ?? dummies![1]],
    params(C, { chunks: training ? p.chunks : 0, gridX: gc.gridX, flags, eps, momentum: training ? momentum : 0 }),
    gc.workgroups,
    op,
  );
  if (partials) rt.release(partials);
  if (dummies) for (const d of dummies) rt.release(d);
}

interface BackwardOptions {
  training: boolean;
  act: number;
  slope: number;
  needX: boolean;
  needW: boolean;
  needB: boolean;
}

function batchNormBackward(
  rt: Runtime,
  p: BatchNormPlan,
  g: Tensor,
  y: Tensor,
  x: Tensor,
  stats: Tensor,
  weight: Tensor | null,
  o: BackwardOptions,
  op: string,
): { dx: Tensor | null; dgamma: Tensor; dbeta: Tensor } {
  const e = x.engine;
  const C = p.channels;
  const bop = `${op}.backward`;
  const dgamma = output(e, [C], bop);
  const dbeta = output(e, [C], bop);
  const dx = o.needX ? output(e, x.shape, bop) : null;
  if (C === 0) return { dx, dgamma, dbeta };
  const gb = g.buffer(bop);
  const xb = x.buffer(bop);
  const sb = stats.buffer(bop);
  const yb = o.act === 0 ? gb : y.buffer(bop); // without an activation the y binding is a dummy
  // Σdŷ and Σdŷ·x̂ are needed for dγ, dβ, and for dx in training mode.
  const reduce = o.training || o.needW || o.needB;
  let partials: PooledBuffer | null = null;
  if (reduce && p.count > 0) {
    partials = rt.alloc(C * p.chunks * 8, 'scratch', `${bop}.partials`);
    const gp = grid1d(C * p.chunks);
    const k = rt.kernels.get('norm/bn_grad_partial', variant(p, o.act), `${bop}.partial`);
    rt.dispatch(
      k,
      [partials, gb, yb, xb, sb],
      params(C, { ...partialFields(p, gp.gridX), slope: o.slope }),
      gp.workgroups,
      bop,
    );
  }
  const coef = rt.alloc(C * 16, 'scratch', `${bop}.coef`);
  const gc = grid1d(C, 64);
  const merge = rt.kernels.get('norm/bn_grad_merge', {}, `${bop}.merge`);
  const flags = (o.training ? TRAINING : 0) | (weight ? HAS_WEIGHT : 0);
  rt.dispatch(
    merge,
    [dgamma.buffer(bop), dbeta.buffer(bop), coef, partials ?? sb, sb, weight?.buffer(bop) ?? sb],
    params(C, { chunks: partials ? p.chunks : 0, gridX: gc.gridX, flags, count: p.count }),
    gc.workgroups,
    bop,
  );
  if (partials) rt.release(partials);
  if (dx) {
    const ga = grid1d(p.batch * C * p.runLanes);
    const k = rt.kernels.get('norm/bn_grad_apply', variant(p, o.act), `${bop}.apply`);
    rt.dispatch(
      k,
      [dx.buffer(bop), gb, yb, xb, sb, coef],
      params(C, { batch: p.batch, units: p.units, lanesU: p.runLanes, gridX: ga.gridX, slope: o.slope }),
      ga.workgroups,
      bop,
    );
  }
  rt.release(coef);
  return { dx, dgamma, dbeta };
}
