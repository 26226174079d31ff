// SegAN's losses.
//   masked(x, m)      each image channel times the label map: x ∘ m, m: [N, 1, H, W] (broadcast)
//   multiScaleL1      ℓ = (1/L) Σ_i w_i · mean|f_i(x∘S(x)) − f_i(x∘y)| over the critic's L scales
//                     (times a scale)
//   diceLoss          soft Dice, 1 − mean over samples and classes of 2Σpy / (Σp² + Σy²)
// and the training-time score beside them:
//   hardDice          2|P∩G| / (|P| + |G|) with P = p > 0.5 (the progress line's Dice; no gradient)
import { absDiffSum, gt, mean, mul, slice, sum } from '../ops/index.ts';
import type { Tensor } from '../tensor/tensor.ts';

export { diceLoss } from '../ops/index.ts';

/** x ∘ m[:, k]: the image masked by class k of a label / probability map [N, K, H, W]. */
export function maskedBy(x: Tensor, labels: Tensor, k: number): Tensor {
  const m = labels.shape[1] === 1 ? labels : slice(labels, 1, k, k + 1);
  return mul(x, m);
}

/**
 * scale · (1/L) Σ_i w_i · mean|fa_i − fb_i|. Each term is one fused absDiffSum with its weight, 1/L,
 * 1/n_i and `scale` folded into the reduction's scale (no separate multiply per term).
 */
export function multiScaleL1(fa: Tensor[], fb: Tensor[], weights: readonly number[], scale = 1): Tensor {
  if (fa.length !== fb.length) throw new Error(`multiScaleL1: ${fa.length} and ${fb.length} feature maps`);
  if (weights.length !== fa.length) throw new Error(`multiScaleL1: ${weights.length} weights for ${fa.length} scales`);
  let total: Tensor | null = null;
  fa.forEach((a, i) => {
    const term = absDiffSum(a, fb[i], (scale * weights[i]) / fa.length / a.size);
    total = total ? total.add(term) : term;
  });
  return total!;
}

/** 2|P∩G| / (|P| + |G|) with P = p > 0.5, over the whole batch (1 when both are empty). */
export function hardDice(p: Tensor, y: Tensor): Tensor {
  const hard = gt(p, 0.5);
  const inter = sum(mul(hard, y));
  const denom = sum(hard).add(sum(y));
  return mean(inter.mul(2).add(1e-6).div(denom.add(1e-6)));
}
