// Losses built from the ops above.
//
// l1Loss with reduction 'mean' or 'sum' is absDiffSum(a, b, scale) = scale · Σ|a − b|, fused: |a − b|
// in one elementwise map, then one sum reduction that applies the scale; its backward is one map per
// input that needs a gradient, sign(a − b)·g·scale (and its negation for b). Composed from sub, abs,
// mean and a scalar multiply it recorded 5–6 dispatches forward and 4–5 backward, and SegAN's
// multi-scale loss (src/segan/losses.ts) takes 24 of them per D+G step, weights folded into the scale.
// Measured on lavapipe the fused forward is faster but forward + backward is not: the backward maps
// read the 0-d gradient through a stride-0 view and miss the vec4 path (docs/kernels/elementwise.md).
import { record } from '../autograd/graph.ts';
import { launchMap } from '../runtime/map.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { fmtShape, sameShape, ShapeError } from '../tensor/shape.ts';
import { sub, unary } from './elementwise.ts';
import { launchReduce, planReduce } from './reduce.ts';
import { assertTensor, dense, output, sameEngine } from './util.ts';

export type Reduction = 'mean' | 'sum' | 'none';

function checkPair(op: string, a: Tensor, b: Tensor): void {
  assertTensor(a, op, 'input');
  assertTensor(b, op, 'target');
  if (!sameShape(a.shape, b.shape))
    throw new ShapeError(`${op}: input ${fmtShape(a.shape)} and target ${fmtShape(b.shape)} must have the same shape`);
}

// scale · Σ|a − b| as a scalar (shape []), differentiable in a and b: l1Loss's 'sum' (scale 1) and
// 'mean' (scale 1/n), and a weighted term of a sum of L1 losses without a separate multiply.
export function absDiffSum(a: Tensor, b: Tensor, scale: number): Tensor {
  const op = 'l1Loss';
  checkPair('absDiffSum', a, b);
  if (typeof scale !== 'number') throw new TypeError(`absDiffSum: scale must be a number, got ${String(scale)}`);
  const e = sameEngine(op, a, b);
  const total = e.noGrad(() =>
    e.tidy(() => {
      const d = output(e, a.shape, op);
      launchMap(e.runtime, op, 'abs(a - b)', ['a', 'b'], [dense(a, op), dense(b, op)], dense(d, op), a.shape);
      const y = output(e, [], op);
      launchReduce(
        e.runtime,
        'sum',
        d.buffer(op),
        planReduce(
          a.shape,
          a.shape.map((_, i) => i),
        ),
        y.buffer(op),
        scale,
        op,
      );
      return y;
    }),
  );
  // d/da = sign(a − b)·g·scale, d/db = −sign(a − b)·g·scale (sign(0) = 0, as PyTorch)
  return record(total, op, [a, b], (g, needs) => {
    const gView = { buffer: g.buffer(op), offset: 0, strides: a.shape.map(() => 0) };
    return [0, 1].map((k) => {
      if (!needs[k]) return null;
      const grad = output(e, a.shape, `${op}.backward`);
      const expr = k === 0 ? 'sign(a - b) * (g * p0)' : '-(sign(a - b) * (g * p0))';
      launchMap(
        e.runtime,
        `${op}.backward`,
        expr,
        ['a', 'b', 'g'],
        [dense(a, op), dense(b, op), gView],
        dense(grad, op),
        a.shape,
        scale,
      );
      return grad;
    });
  });
}

// Mean (or sum, or elementwise) absolute difference, as torch.nn.functional.l1_loss.
export function l1Loss(a: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  checkPair('l1Loss', a, target);
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none')
    throw new TypeError(`l1Loss: reduction must be 'mean', 'sum' or 'none', got '${String(reduction)}'`);
  if (reduction === 'none') return a.engine.tidy(() => unary('abs', sub(a, target)));
  return absDiffSum(a, target, reduction === 'sum' ? 1 : a.size ? 1 / a.size : NaN);
}
