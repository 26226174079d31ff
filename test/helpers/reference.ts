// Float64 CPU references for every op, written independently of the GPU code paths (except the
// elementwise expressions, which come from the op table by design: the table is the spec).
import { jsExpression } from '../../src/ops/optable.ts';

export interface Arr {
  data: Float64Array;
  shape: number[];
}

export const arr = (data: ArrayLike<number>, shape: number[]): Arr => ({
  data: Float64Array.from(data),
  shape: [...shape],
});
export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
export function strides(shape: readonly number[]): number[] {
  const s = new Array(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error('broadcast');
    out.push(Math.max(da, db) === 1 ? 1 : da === 1 ? db : da);
  }
  return out;
}

/** Value of `x` at output index `idx` of a broadcast shape. */
function at(x: Arr, idx: number[]): number {
  const off = idx.length - x.shape.length;
  const st = strides(x.shape);
  let o = 0;
  for (let d = 0; d < x.shape.length; d++) o += (x.shape[d] === 1 ? 0 : idx[d + off]) * st[d];
  return x.data[o];
}

export function unaryRef(expr: string, x: Arr, p0 = 0, p1 = 0): Arr {
  const f = jsExpression(expr);
  return { data: x.data.map((a) => f({ a, p0, p1 })), shape: x.shape };
}

export function binaryRef(expr: string, a: Arr, b: Arr): Arr {
  const f = jsExpression(expr);
  const shape = broadcastShape(a.shape, b.shape);
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    out[i] = f({ a: at(a, idx), b: at(b, idx) });
  }
  return { data: out, shape };
}

export function reduceRef(kind: 'sum' | 'mean' | 'max', x: Arr, axes: number[] | undefined, keepdim: boolean): Arr {
  const rank = x.shape.length;
  const ax = new Set((axes ?? [...Array(rank).keys()]).map((a) => (a < 0 ? a + rank : a)));
  const keptShape = x.shape.map((d, i) => (ax.has(i) ? 1 : d));
  const out = new Float64Array(size(keptShape)).fill(kind === 'max' ? -Infinity : 0);
  const ks = strides(keptShape);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape);
    let o = 0;
    idx.forEach((c, d) => (o += (ax.has(d) ? 0 : c) * ks[d]));
    out[o] = kind === 'max' ? Math.max(out[o], x.data[i]) : out[o] + x.data[i];
  }
  if (kind === 'mean') {
    const n = x.data.length / Math.max(out.length, 1);
    for (let i = 0; i < out.length; i++) out[i] /= n;
  }
  return { data: out, shape: keepdim ? keptShape : x.shape.filter((_, i) => !ax.has(i)) };
}

export function matmulRef(a: Arr, b: Arr): Arr {
  const A = a.shape.length === 1 ? { data: a.data, shape: [1, a.shape[0]] } : a;
  const B = b.shape.length === 1 ? { data: b.data, shape: [b.shape[0], 1] } : b;
  const [M, K] = A.shape.slice(-2);
  const N = B.shape[B.shape.length - 1];
  const batch = broadcastShape(A.shape.slice(0, -2), B.shape.slice(0, -2));
  const nb = size(batch);
  const out = new Float64Array(nb * M * N);
  const aB = { data: new Float64Array(0), shape: A.shape.slice(0, -2) };
  const bB = { data: new Float64Array(0), shape: B.shape.slice(0, -2) };
  for (let z = 0; z < nb; z++) {
    const idx = unravel(z, batch);
    const ai = batchIndex(aB.shape, idx) * M * K;
    const bi = batchIndex(bB.shape, idx) * K * N;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A.data[ai + m * K + k] * B.data[bi + k * N + n];
        out[z * M * N + m * N + n] = s;
      }
  }
  const shape = [...batch];
  if (a.shape.length !== 1) shape.push(M);
  if (b.shape.length !== 1) shape.push(N);
  return { data: out, shape };
}

function batchIndex(shape: number[], idx: number[]): number {
  const off = idx.length - shape.length;
  const st = strides(shape);
  let o = 0;
  for (let d = 0; d < shape.length; d++) o += (shape[d] === 1 ? 0 : idx[d + off]) * st[d];
  return o;
}

export function permuteRef(x: Arr, dims: number[]): Arr {
  const shape = dims.map((d) => x.shape[d]);
  const xs = strides(x.shape);
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    let o = 0;
    idx.forEach((c, d) => (o += c * xs[dims[d]]));
    out[i] = x.data[o];
  }
  return { data: out, shape };
}

export function sliceRef(x: Arr, axis: number, start: number, end: number): Arr {
  const shape = [...x.shape];
  shape[axis] = end - start;
  const xs = strides(x.shape);
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    idx[axis] += start;
    out[i] = x.data[idx.reduce((acc, c, d) => acc + c * xs[d], 0)];
  }
  return { data: out, shape };
}

export function catRef(xs: Arr[], axis: number): Arr {
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((a, x) => a + x.shape[axis], 0);
  const out = new Float64Array(size(shape));
  const os = strides(shape);
  let base = 0;
  for (const x of xs) {
    for (let i = 0; i < x.data.length; i++) {
      const idx = unravel(i, x.shape);
      idx[axis] += base;
      out[idx.reduce((acc, c, d) => acc + c * os[d], 0)] = x.data[i];
    }
    base += x.shape[axis];
  }
  return { data: out, shape };
}
