// SegAN's losses.
//   masked(x, m)      each image channel times the label map: x ∘ m, m: [N, 1, H, W] (broadcast)
//   multiScaleL1      ℓ = (1/L) Σ_i w_i · mean|f_i(x∘S(x)) − f_i(x∘y)| over the critic's L scales
//   diceLoss          soft Dice, 1 − mean over samples and classes of 2Σpy / (Σp² + Σy²)
import { l1Loss, mul, slice } from '../ops/index.ts';
import type { Tensor } from '../tensor/tensor.ts';

export { diceLoss } from '../ops/index.ts';

/** x ∘ m[:, k]: the image masked by class k of a label / probability map [N, K, H, W]. */
export function maskedBy(x: Tensor, labels: Tensor, k: number): Tensor {
  const m = labels.shape[1] === 1 ? labels : slice(labels, 1, k, k + 1);
  return mul(x, m);
}

export function multiScaleL1(fa: Tensor[], fb: Tensor[], weights: readonly number[]): Tensor {
  if (fa.length !== fb.length) throw new Error(`multiScaleL1: ${fa.length} and ${fb.length} feature maps`);
  if (weights.length !== fa.length) throw new Error(`multiScaleL1: ${weights.length} weights for ${fa.length} scales`);
  let total: Tensor | null = null;
  fa.forEach((a, i) => {
    const term = mul(l1Loss(a, fb[i]), weights[i] / fa.length);
    total = total ? total.add(term) : term;
  });
  return total!;
}
