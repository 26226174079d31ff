// Soft Dice loss (SegAN's), composed from differentiable ops so that autograd needs no rule of its own.
import type { Tensor } from '../tensor/tensor.ts';
import { fmtShape, sameShape, ShapeError } from '../tensor/shape.ts';
import { add, div, mul, sub } from './elementwise.ts';
import { mean, sum } from './reduce.ts';
import { assertTensor, sameEngine } from './util.ts';

/** Added to the denominator so that empty masks with empty predictions give d = 0, not NaN. */
export const DICE_EPS = 1e-7;

// 1 - mean over samples and channels of d = 2 Σ p·y / (Σ p² + Σ y² + 1e-7), the sums running over
// the axes after the first two: p and y are [N, C, ...] (rank >= 2) of the same shape. Returns a
// scalar (shape []).
export function diceLoss(p: Tensor, y: Tensor): Tensor {
  assertTensor(p, 'diceLoss', 'prediction');
  assertTensor(y, 'diceLoss', 'target');
  const e = sameEngine('diceLoss', p, y);
  if (!sameShape(p.shape, y.shape)) {
    throw new ShapeError(
      `diceLoss: prediction ${fmtShape(p.shape)} and target ${fmtShape(y.shape)} must have the same shape`,
    );
  }
  if (p.rank < 2) {
    throw new ShapeError(
      `diceLoss: prediction ${fmtShape(p.shape)} and target ${fmtShape(y.shape)} must be [N, C, ...] (rank >= 2)`,
    );
  }
  const axes = Array.from({ length: p.rank - 2 }, (_, i) => i + 2);
  const reduce = (t: Tensor) => (axes.length ? sum(t, axes) : t);
  return e.tidy(() => {
    const inter = reduce(mul(p, y));
    const denom = add(add(reduce(mul(p, p)), reduce(mul(y, y))), DICE_EPS);
    const d = div(mul(inter, 2), denom);
    return sub(1, mean(d));
  });
}
