// Losses built from the ops above (their gradients come from the composed ops).
import type { Tensor } from '../tensor/tensor.ts';
import { fmtShape, sameShape, ShapeError } from '../tensor/shape.ts';
import { abs, sub } from './elementwise.ts';
import { mean, sum } from './reduce.ts';
import { assertTensor } from './util.ts';

export type Reduction = 'mean' | 'sum' | 'none';

/** Mean (or sum, or elementwise) absolute difference, as torch.nn.functional.l1_loss. */
export function l1Loss(a: Tensor, b: Tensor, reduction: Reduction = 'mean'): Tensor {
  assertTensor(a, 'l1Loss', 'input');
  assertTensor(b, 'l1Loss', 'target');
  if (!sameShape(a.shape, b.shape)) throw new ShapeError(`l1Loss: input ${fmtShape(a.shape)} and target ${fmtShape(b.shape)} must have the same shape`);
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') throw new TypeError(`l1Loss: reduction must be 'mean', 'sum' or 'none', got '${String(reduction)}'`);
  return a.engine.tidy(() => {
    const d = abs(sub(a, b));
    return reduction === 'none' ? d : reduction === 'sum' ? sum(d) : mean(d);
  });
}
