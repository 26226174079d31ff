// Reductions: sum, mean, max over any set of axes (keepdim or not), and their adjoints expand/sumTo.
//
// Planning (pure TS): split the input's axes into kept and reduced ones, merge neighbours that are
// contiguous, and pick kernels by shape and adapter kind only (so results are bitwise repeatable on a
// given adapter; a CPU and a GPU adapter may add in different orders):
//   serial.wgsl      one thread per output, short reduction axes with many outputs; with num_chunks > 1
//                    the first stage of a split reduction (also column sums, outputs fastest)
//   split_vec4.wgsl  first stage of a split reduction over contiguous runs, read as vec4s (GPUs)
//   split_seq.wgsl   the same on CPU adapters: groups of 8 lanes each stream one contiguous stretch
//   tree.wgsl        one workgroup per output (GPUs, and strided axes with many outputs)
// Several reduced axes with a long contiguous innermost run (NCHW per-channel statistics) reduce the
// runs first, then the runs' results. Every split stage is reduced again until one value per output.
import { record } from '../autograd/graph.ts';
import { grid1d } from '../runtime/grid.ts';
import { defineUniforms } from '../runtime/uniforms.ts';
import { launchMap, type View } from '../runtime/map.ts';
import type { PooledBuffer } from '../runtime/pool.ts';
import { coalesce } from '../runtime/strides.ts';
import type { Runtime } from '../runtime/runtime.ts';
import {
  broadcastStrides,
  contiguousStrides,
  fmtShape,
  normalizeAxes,
  ShapeError,
  sizeOf,
  type Shape,
} from '../tensor/shape.ts';
import { Tensor } from '../tensor/tensor.ts';
import { assertTensor, broadcastView, dense, output, sameEngine } from './util.ts';

export type ReduceKind = 'sum' | 'max';

export interface ReducePlan {
  numOut: number;
  redSize: number;
  outShape: number[];
  outStrides: number[];
  redShape: number[];
  redStrides: number[];
}

/** Drop size-1 axes and merge contiguous neighbours; no axis left: shape [1] with stride 0. */
function mergeAxes(shape: number[], strides: number[]): { shape: number[]; strides: number[] } {
  if (shape.every((d) => d === 1)) return { shape: [1], strides: [0] };
  const c = coalesce(shape, [strides]);
  return { shape: c.shape, strides: c.strides[0] };
}

export function planReduce(shape: Shape, axes: number[]): ReducePlan {
  const strides = contiguousStrides(shape);
  const red = new Set(axes);
  const kept = mergeAxes(
    shape.map((d, i) => (red.has(i) ? 1 : d)),
    strides,
  );
  const reduced = mergeAxes(
    shape.map((d, i) => (red.has(i) ? d : 1)),
    strides,
  );
  return {
    numOut: sizeOf(shape.filter((_, i) => !red.has(i))),
    redSize: sizeOf(shape.filter((_, i) => red.has(i))),
    outShape: kept.shape,
    outStrides: kept.strides,
    redShape: reduced.shape,
    redStrides: reduced.strides,
  };
}

/**
 * The kernels' template values per kind: the combine step (scalars and, in the split kernels, vec4s) and its identity.
 */
const COMBINE: Record<ReduceKind, { COMBINE: string; IDENTITY: string }> = {
  sum: { COMBINE: 'a + b', IDENTITY: '0x00000000u' }, // 0.0
  max: { COMBINE: 'max(a, b)', IDENTITY: '0xff800000u' }, // -inf
};

/** Partials per output in a split reduction's first stage. */
const SPLIT_CHUNKS = 8192;
/** Below this many elements a GPU reduces in one tree pass. */
const SPLIT_MIN = 1 << 20;
/** Up to this many elements in all (and axes up to 512), a CPU adapter reduces in one serial pass. */
const SERIAL_MAX_SOFTWARE = 16384;

/**
 * The uniform block every reduction kernel reads (shaders/reduce/params.wgsl); a kernel ignores the fields it does not
 * need.
 */
const REDUCE_PARAMS = defineUniforms('ReduceParams', {
  num_out: { type: 'u32', doc: 'outputs (kept positions)' },
  red_size: { type: 'u32', doc: "elements reduced into each output (or partial's run)" },
  chunk: { type: 'u32', doc: 'tree.wgsl: elements per partial; serial.wgsl: a flag, 1 = column order' },
  num_chunks: { type: 'u32', doc: 'partials per output' },
  out_rank: { type: 'u32', doc: 'kept axes (out_shape / out_strides)' },
  red_rank: { type: 'u32', doc: 'reduced axes (red_shape / red_strides); the split kernels read a contiguous run' },
  grid_x: { type: 'u32', doc: 'threads (or workgroups, tree.wgsl) along x of a folded grid' },
  scale: { type: 'f32', doc: 'multiplies the result (1 / n for a mean)' },
  out_shape: { vec4u: 2 },
  out_strides: { vec4u: 2 },
  red_shape: { vec4u: 2 },
  red_strides: { vec4u: 2 },
});

/** Up to 8 entries, the rest `fill` (1 for shapes, 0 for strides). */
const eight = (v: readonly number[], fill: number) => [...v, ...new Array<number>(8 - v.length).fill(fill)];

function params(p: ReducePlan, chunk: number, numChunks: number, gridX: number, scale: number): Uint32Array {
  return REDUCE_PARAMS.pack({
    num_out: p.numOut,
    red_size: p.redSize,
    chunk,
    num_chunks: numChunks,
    out_rank: p.outShape.length,
    red_rank: p.redShape.length,
    grid_x: gridX,
    scale,
    out_shape: eight(p.outShape, 1),
    out_strides: eight(p.outStrides, 0),
    red_shape: eight(p.redShape, 1),
    red_strides: eight(p.redStrides, 0),
  });
}

/**
 * Record a reduction of `src` by `plan` into `dst` (numOut elements), times `scale`.
 * Kernel by shape only: short axes -> serial; many outputs -> tree (one workgroup each);
 * few outputs with long axes -> split into coalesced partials (serial with num_chunks > 1), then
 * reduce the partials again. The 'tree' / 'split' preference per adapter: CPU adapters avoid
 * barriers (split), GPUs use the tree for the middle regime.
 */
export function launchReduce(
  rt: Runtime,
  kind: ReduceKind,
  src: PooledBuffer,
  plan: ReducePlan,
  dst: PooledBuffer,
  scale: number,
  op: string,
): void {
  if (plan.numOut === 0) return;
  const defines = COMBINE[kind];
  const inner = plan.redShape[plan.redShape.length - 1];
  const innerContiguous = plan.redStrides[plan.redStrides.length - 1] === 1;
  // Several reduced axes with a long contiguous innermost one (per-channel statistics of NCHW:
  // reduce [N, H·W] for each C): first each contiguous run, then the runs' results.
  if (plan.redShape.length > 1 && innerContiguous && inner >= 64) {
    const outer = plan.redSize / inner;
    const rows: ReducePlan = {
      numOut: plan.numOut * outer,
      redSize: inner,
      outShape: [...plan.outShape, ...plan.redShape.slice(0, -1)],
      outStrides: [...plan.outStrides, ...plan.redStrides.slice(0, -1)],
      redShape: [inner],
      redStrides: [1],
    };
    const partials = rt.alloc(rows.numOut * 4, 'scratch', `${op}.rows`);
    launchReduce(rt, kind, src, rows, partials, 1, op);
    launchReduce(rt, kind, partials, contiguousRows(plan.numOut, outer), dst, scale, op);
    rt.release(partials);
    return;
  }
  const serial = rt.kernels.get('reduce/serial', defines, `${op}.serial`);
  const software = rt.policy.plan === 'software';
  // Many outputs whose kept axis is innermost (summing partials [chunks, n] over chunks): one thread per
  // output reads neighbouring addresses, no barriers. On CPU adapters also any small reduction with
  // short axes (the last partials of a split): one dispatch costs less than a chain of tiny ones, and
  // axes of at most 512 keep the error of one sequential sum as small as a further split would.
  const keptContiguous = plan.outStrides[plan.outStrides.length - 1] === 1;
  const small = software && plan.numOut * plan.redSize <= SERIAL_MAX_SOFTWARE && plan.redSize <= 512;
  if (
    plan.redSize <= 32 ||
    small ||
    (plan.numOut >= 4096 && plan.redSize <= 4096) ||
    (keptContiguous && plan.numOut >= 256 && plan.redSize <= 2048)
  ) {
    const g = grid1d(plan.numOut);
    rt.dispatch(serial, [dst, src], params(plan, 0, 1, g.gridX, scale), g.workgroups, op, {
      bytes: 4 * plan.numOut * plan.redSize,
      shape: `${plan.numOut}x${plan.redSize}`,
    });
    return;
  }
  // Contiguous runs that start on vec4 boundaries can be read as vec4s.
  const vec4Rows =
    plan.redShape.length === 1 &&
    innerContiguous &&
    (plan.numOut === 1 || (plan.outStrides.every((s) => s % 4 === 0) && plan.outShape.length <= 8));
  const useTree =
    !(software && vec4Rows) && (plan.numOut >= 256 || (!software && plan.numOut * plan.redSize < SPLIT_MIN));
  if (useTree) {
    const g = grid1d(plan.numOut, 1);
    const tree = rt.kernels.get('reduce/tree', defines, `${op}.tree`);
    rt.dispatch(tree, [dst, src], params(plan, plan.redSize, 1, g.gridX, scale), g.workgroups, op, {
      bytes: 4 * plan.numOut * plan.redSize,
      shape: `${plan.numOut}x${plan.redSize}`,
    });
    return;
  }
  // Split: each output's axis into `chunks` interleaved partials (neighbouring threads read
  // neighbouring elements), about SPLIT_CHUNKS threads in all, then reduce the [numOut, chunks] partials.
  // CPU adapters read vec4 rows with split_seq instead: chunks in groups of 8 lanes, each group one
  // contiguous stretch of at least 128 elements.
  const seq = software && vec4Rows;
  const chunks = seq
    ? 8 * Math.max(1, Math.min(Math.ceil(SPLIT_CHUNKS / 8 / plan.numOut), Math.floor(plan.redSize / 128)))
    : Math.max(2, Math.min(Math.ceil(SPLIT_CHUNKS / plan.numOut), Math.floor(plan.redSize / 16)));
  const partials = rt.alloc(plan.numOut * chunks * 4, 'scratch', `${op}.partials`);
  const g1 = grid1d(plan.numOut * chunks);
  const keptInnermost = plan.outStrides[plan.outStrides.length - 1] === 1 && plan.numOut > 1;
  if (keptInnermost) {
    // Column sums ([R, C] over R): thread w takes output w % numOut, so neighbours read neighbours.
    rt.dispatch(serial, [partials, src], params(plan, 1, chunks, g1.gridX, 1), g1.workgroups, op, {
      bytes: 4 * plan.numOut * plan.redSize,
      shape: `${plan.numOut}x${plan.redSize}`,
    });
    const stage2: ReducePlan = {
      numOut: plan.numOut,
      redSize: chunks,
      outShape: [plan.numOut],
      outStrides: [1],
      redShape: [chunks],
      redStrides: [plan.numOut],
    };
    launchReduce(rt, kind, partials, stage2, dst, scale, op);
    rt.release(partials);
    return;
  }
  if (seq) {
    const k = rt.kernels.get('reduce/split_seq', { ...defines, COMBINE4: defines.COMBINE }, `${op}.splitseq`);
    rt.dispatch(k, [partials, src, src], params(plan, 0, chunks, g1.gridX, 1), g1.workgroups, op, {
      bytes: 4 * plan.numOut * plan.redSize,
      shape: `${plan.numOut}x${plan.redSize}`,
    });
  } else if (vec4Rows) {
    const k = rt.kernels.get('reduce/split_vec4', { ...defines, COMBINE4: defines.COMBINE }, `${op}.split4`);
    rt.dispatch(k, [partials, src, src], params(plan, 0, chunks, g1.gridX, 1), g1.workgroups, op, {
      bytes: 4 * plan.numOut * plan.redSize,
      shape: `${plan.numOut}x${plan.redSize}`,
    });
  } else {
    rt.dispatch(serial, [partials, src], params(plan, 0, chunks, g1.gridX, 1), g1.workgroups, op, {
      bytes: 4 * plan.numOut * plan.redSize,
      shape: `${plan.numOut}x${plan.redSize}`,
    });
  }
  launchReduce(rt, kind, partials, contiguousRows(plan.numOut, chunks), dst, scale, op);
  rt.release(partials); // reused only by commands recorded after both stages
}

/** Plan for reducing a dense [rows, length] buffer along its last axis. */
function contiguousRows(rows: number, length: number): ReducePlan {
  return { numOut: rows, redSize: length, outShape: [rows], outStrides: [length], redShape: [length], redStrides: [1] };
}

function reducedShape(shape: Shape, axes: number[], keepdim: boolean): number[] {
  const red = new Set(axes);
  return keepdim ? shape.map((d, i) => (red.has(i) ? 1 : d)) : shape.filter((_, i) => !red.has(i));
}

function reduce(
  kind: ReduceKind,
  op: string,
  x: Tensor,
  axes: number | readonly number[] | undefined,
  keepdim: boolean,
  mean: boolean,
): { y: Tensor; axes: number[] } {
  assertTensor(x, op);
  const e = sameEngine(op, x);
  const ax = normalizeAxes(op, axes, x.rank);
  const plan = planReduce(x.shape, ax);
  if (kind === 'max' && plan.redSize === 0)
    throw new ShapeError(`${op}: cannot take the max over an empty axis of ${fmtShape(x.shape)}`);
  const y = output(e, reducedShape(x.shape, ax, keepdim), op);
  const scale = mean ? (plan.redSize ? 1 / plan.redSize : NaN) : 1;
  launchReduce(e.runtime, kind, x.buffer(op), plan, y.buffer(op), scale, op);
  return { y, axes: ax };
}

// Sum over `axes` (all when omitted); negative axes count from the end.
export function sum(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  const { y, axes: ax } = reduce('sum', 'sum', x, axes, keepdim, false);
  return record(y, 'sum', [x], (g) => [expand(keepShape(g, x.shape, ax), x.shape)]);
}

// Mean over `axes` (all when omitted).
export function mean(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  const { y, axes: ax } = reduce('sum', 'mean', x, axes, keepdim, true);
  const n = x.size / Math.max(y.size, 1);
  return record(y, 'mean', [x], (g) => [expand(keepShape(g, x.shape, ax), x.shape, 1 / n)]);
}

// Max over `axes`; the gradient is shared equally among tied maxima (like torch.amax).
export function max(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  const { y, axes: ax } = reduce('max', 'max', x, axes, keepdim, false);
  return record(y, 'max', [x], (g) => {
    const e = x.engine;
    const onX = (expr: string, names: string[], args: View[]) => {
      const out = output(e, x.shape, 'max.backward');
      launchMap(e.runtime, 'max.backward', expr, names, args, dense(out, 'max'), x.shape);
      return out;
    };
    const spread = (t: Tensor) => broadcastView(keepShape(t, x.shape, ax), x.shape, 'max');
    // dx = [x == max] · g / (the count of tied maxima in x's reduced slot)
    const mask = onX('select(0.0, 1.0, a == b)', ['a', 'b'], [dense(x, 'max'), spread(y)]);
    const count = sum(mask, ax, true);
    const dx = onX('m * g / c', ['m', 'g', 'c'], [dense(mask, 'max'), spread(g), spread(count)]);
    return [dx];
  });
}

/** `g` (reduced over `axes`) as a view with the reduced axes kept as size 1. */
function keepShape(g: Tensor, shape: Shape, axes: number[]): Tensor {
  const ks = reducedShape(shape, axes, true);
  if (ks.length === g.rank && ks.every((d, i) => d === g.shape[i])) return g;
  return new Tensor(g.engine, g.storage('reshape').retain(), ks, false);
}

// Broadcast `x` to `shape` (materialised), optionally times `scale`. Backward: sumTo.
export function expand(x: Tensor, shape: Shape, scale = 1): Tensor {
  assertTensor(x, 'expand');
  const e = sameEngine('expand', x);
  const target = [...shape];
  const strides = (() => {
    if (x.rank > target.length)
      throw new ShapeError(`expand: cannot expand ${fmtShape(x.shape)} to ${fmtShape(target)}`);
    const off = target.length - x.rank;
    x.shape.forEach((d, i) => {
      if (d !== 1 && d !== target[i + off])
        throw new ShapeError(`expand: cannot expand ${fmtShape(x.shape)} to ${fmtShape(target)}`);
    });
    return broadcastStrides(x.shape, target);
  })();
  const y = output(e, target, 'expand');
  launchMap(
    e.runtime,
    'expand',
    scale === 1 ? 'a' : 'a * p0',
    ['a'],
    [{ buffer: x.buffer('expand'), offset: 0, strides }],
    dense(y, 'expand'),
    target,
    scale,
  );
  return record(y, 'expand', [x], (g) => [scale === 1 ? sumTo(g, x.shape) : sumTo(g, x.shape, scale)]);
}

// Sum `g` over the axes that broadcasting added or stretched, giving a tensor of `shape`.
export function sumTo(g: Tensor, shape: Shape, scale = 1): Tensor {
  const target = [...shape];
  const off = g.rank - target.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < off || (target[i - off] === 1 && g.shape[i] !== 1)) axes.push(i);
  const e = g.engine;
  const y = output(e, target, 'sumTo');
  const plan = planReduce(g.shape, axes);
  launchReduce(e.runtime, 'sum', g.buffer('sumTo'), plan, y.buffer('sumTo'), scale, 'sumTo');
  return record(y, 'sumTo', [g], (gy) => [expand(gy, g.shape, scale)]);
}
