// Inference with a trained segmentor (eval mode: batch norm uses the running statistics):
// probabilities and BRATS labels for every slice of a case, and 3-D scores.
import type { CaseSlices } from '../data/dataset.ts';
import type { Engine } from '../tensor/engine.ts';
import type { Segmentor } from './model.ts';
import { labelsFromProbabilities, regionFromLabels, scoreMasks, REGIONS, type CaseScores } from './metrics.ts';
import { hd95, type Vec3 } from './distance.ts';

/** A batch of 0 slices would never advance through a case (an endless loop that once ended in a crash). */
function checkBatch(fn: string, batch: number): void {
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`${fn}: batch must be an integer ≥ 1, got ${batch}`);
}

/** Class probabilities [Z, K, S, S] and BRATS labels [Z, S, S] for every slice of a case. */
export async function predictSlices(engine: Engine, S: Segmentor, cs: CaseSlices, batch: number): Promise<{ prob: Float32Array; labels: Uint8Array }> {
  checkBatch('predictSlices', batch);
  const { Z, M, K, S: size } = cs.shape;
  const plane = size * size;
  const prob = new Float32Array(Z * K * plane);
  const wasTraining = S.training;
  S.eval();
  try {
    for (let z0 = 0; z0 < Z; z0 += batch) {
      const n = Math.min(batch, Z - z0);
      const x = engine.tensor(cs.image.subarray(z0 * M * plane, (z0 + n) * M * plane), [n, M, size, size]);
      const p = engine.noGrad(() => S.forward(x));
      prob.set(await p.toArray(), z0 * K * plane);
      x.dispose();
      p.dispose();
    }
  } finally {
    S.train(wasTraining);
  }
  const labels = new Uint8Array(Z * plane);
  for (let z = 0; z < Z; z++) {
    labels.set(labelsFromProbabilities(prob.subarray(z * K * plane, (z + 1) * K * plane), K, plane), z * plane);
  }
  return { prob, labels };
}

/**
 * 3-D Dice / precision / sensitivity of predicted BRATS labels against the truth, per region, and the
 * 95 % Hausdorff distance in mm when the volume's grid is given (shape [X, Y, Z], x fastest, and voxel
 * spacing in mm).
 */
export function scoreCase(caseId: string, predicted: Uint8Array, truth: Uint8Array, classes: number, label3Enhancing = false, grid?: { shape: Vec3; spacing: Vec3 }): CaseScores {
  const regions = classes === 1 ? (['whole'] as const) : REGIONS;
  const out: CaseScores = { case: caseId, regions: {} };
  for (const r of regions) {
    const p = regionFromLabels(predicted, r, label3Enhancing);
    const t = regionFromLabels(truth, r, label3Enhancing);
    out.regions[r] = { ...scoreMasks(p, t), ...(grid ? { hd95: hd95(p, t, grid.shape, grid.spacing) } : {}) };
  }
  return out;
}

