// Optimizer and average state: tensors that live as long as their owner, not as long as a tidy() scope.
import type { Tensor } from '../tensor/tensor.ts';

/** Mark `t` kept and untracked, so that no tidy() frees it; its owner's dispose() does. */
export function stateTensor(t: Tensor): Tensor {
  t.kept = true;
  t.engine.untrack(t);
  return t;
}
