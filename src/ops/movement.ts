// Movement ops: reshape (a view, no copy), permute/transpose, slice and cat (materialised by the map
// kernel with strided views: a permutation of strides, an offset, a window of the output).
import { record } from '../autograd/graph.ts';
import { launchMap, type View } from '../runtime/map.ts';
import {
  checkShape,
  contiguousStrides,
  fmtShape,
  normalizeAxis,
  ShapeError,
  sizeOf,
  type Shape,
} from '../tensor/shape.ts';
import type { Engine } from '../tensor/engine.ts';
import { Tensor } from '../tensor/tensor.ts';
import { assertTensor, dense, output, sameEngine } from './util.ts';

// Same values, new shape (one axis may be -1). Shares the buffer: no GPU work.
export function reshape(x: Tensor, shape: Shape): Tensor {
  assertTensor(x, 'reshape');
  const s = [...shape];
  const free = s.filter((d) => d === -1).length;
  if (free > 1) throw new ShapeError(`reshape: at most one axis may be -1, got ${fmtShape(s)}`);
  if (free === 1) {
    const known = sizeOf(s.filter((d) => d !== -1));
    const i = s.indexOf(-1);
    if (known === 0 || x.size % known !== 0)
      throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
    s[i] = x.size / known;
  }
  checkShape('reshape', s);
  if (sizeOf(s) !== x.size)
    throw new ShapeError(
      `reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)} (${sizeOf(s)} elements)`,
    );
  const y = new Tensor(x.engine, x.storage('reshape').retain(), s, false);
  return record(y, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

// Reorder axes: y.shape[i] = x.shape[dims[i]] (materialised).
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  assertTensor(x, 'permute');
  const e = sameEngine('permute', x);
  if (dims.length !== x.rank)
    throw new ShapeError(`permute: ${dims.length} dims given for a tensor of rank ${x.rank} ${fmtShape(x.shape)}`);
  const d = dims.map((a) => normalizeAxis('permute', a, x.rank));
  if (new Set(d).size !== d.length) throw new ShapeError(`permute: dims [${dims.join(', ')}] are not a permutation`);
  const shape = d.map((a) => x.shape[a]);
  const xs = contiguousStrides(x.shape);
  const y = output(e, shape, 'permute');
  copyView(
    e,
    'permute',
    { buffer: x.buffer('permute'), offset: 0, strides: d.map((a) => xs[a]) },
    dense(y, 'permute'),
    shape,
  );
  const inverse = new Array<number>(d.length);
  d.forEach((a, i) => (inverse[a] = i));
  return record(y, 'permute', [x], (g) => [permute(g, inverse)]);
}

// Swap two axes (default: the last two).
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  assertTensor(x, 'transpose');
  const a = normalizeAxis('transpose', dim0, x.rank);
  const b = normalizeAxis('transpose', dim1, x.rank);
  const dims = [...Array(x.rank).keys()];
  [dims[a], dims[b]] = [dims[b], dims[a]];
  return permute(x, dims);
}

// Elements start..end-1 along `axis` (negative start/end count from the end, like Python).
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  assertTensor(x, 'slice');
  const e = sameEngine('slice', x);
  const ax = normalizeAxis('slice', axis, x.rank);
  const n = x.shape[ax];
  const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end)))
    throw new TypeError(`slice: start and end must be integers`);
  const s = clampIdx(start);
  const t = Math.max(s, clampIdx(end ?? n));
  const shape = [...x.shape];
  shape[ax] = t - s;
  const xs = contiguousStrides(x.shape);
  const y = output(e, shape, 'slice');
  copyView(e, 'slice', { buffer: x.buffer('slice'), offset: s * xs[ax], strides: xs }, dense(y, 'slice'), shape);
  return record(y, 'slice', [x], (g) => {
    const dx = x.engine.zeros(x.shape);
    copyView(e, 'slice.backward', dense(g, 'slice'), { buffer: dx.buffer(), offset: s * xs[ax], strides: xs }, shape);
    return [dx];
  });
}

// Join tensors along `axis`; every other axis must match. Each input is written into its window.
export function cat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0)
    throw new TypeError('cat: expected a non-empty array of tensors');
  tensors.forEach((t, i) => assertTensor(t, 'cat', `tensors[${i}]`));
  const e = sameEngine('cat', ...tensors);
  const first = tensors[0];
  const ax = normalizeAxis('cat', axis, first.rank);
  for (const t of tensors) {
    if (t.rank !== first.rank || t.shape.some((d: number, i: number) => i !== ax && d !== first.shape[i])) {
      throw new ShapeError(`cat: shapes ${fmtShape(first.shape)} and ${fmtShape(t.shape)} differ outside axis ${ax}`);
    }
  }
  const shape = [...first.shape];
  shape[ax] = tensors.reduce((acc, t) => acc + t.shape[ax], 0);
  const ys = contiguousStrides(shape);
  const y = output(e, shape, 'cat');
  const starts: number[] = [];
  let at = 0;
  for (const t of tensors) {
    starts.push(at);
    copyView(e, 'cat', dense(t, 'cat'), { buffer: y.buffer(), offset: at * ys[ax], strides: ys }, t.shape);
    at += t.shape[ax];
  }
  return record(y, 'cat', [...tensors], (g, needs) =>
    tensors.map((t, i) => (needs[i] ? slice(g, ax, starts[i], starts[i] + t.shape[ax]) : null)),
  );
}

/** Copy a strided view of `shape` elements into another (the map kernel with `a` as its expression). */
function copyView(e: Engine, op: string, src: View, dst: View, shape: readonly number[]): void {
  launchMap(e.runtime, op, 'a', ['a'], [src], dst, shape);
}
