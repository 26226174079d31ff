// Inference with a trained segmentor (eval mode: batch norm uses the running statistics):
// probabilities and BRATS labels for every slice of a case, and 3-D scores.
import type { BratsCase, LoadedCase } from '../data/brats.ts';
import type { CaseSlices, Dataset } from '../data/dataset-types.ts';
import { readNiftiHeader } from '../data/nifti.ts';
import { canonicalTransform, fromCanonical, type Shape3 } from '../data/orientation.ts';
import { preprocessCase, uncropVolume } from '../data/preprocess.ts';
import { configNormalisation, type TrainConfig } from './config.ts';
import type { Engine } from '../tensor/engine.ts';
import type { Segmentor } from './model.ts';
import { labelsFromProbabilities, regionFromLabels, scoreMasks, REGIONS, type CaseScores } from './metrics.ts';
import { hd95, type Vec3 } from './distance.ts';

/** A batch of 0 slices would never advance through a case (an endless loop that once ended in a crash). */
function checkBatch(fn: string, batch: number): void {
  if (!Number.isInteger(batch) || batch < 1) {
    throw new RangeError(`${fn}: batch must be an integer ≥ 1, got ${batch}`);
  }
}

/** Planes [n, C, size, size] mirrored left-right and/or up-down (its own inverse), as a copy. */
export function flipPlanes(src: Float32Array, planes: number, size: number, lr: boolean, ud: boolean): Float32Array {
  const out = new Float32Array(src.length);
  for (let p = 0; p < planes; p++) {
    const o = p * size * size;
    for (let y = 0; y < size; y++) {
      const sy = ud ? size - 1 - y : y;
      for (let x = 0; x < size; x++) out[o + y * size + x] = src[o + sy * size + (lr ? size - 1 - x : x)];
    }
  }
  return out;
}

/** Test-time augmentation: the mirrorings whose predictions are averaged (identity first). */
const TTA_FLIPS: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

/**
 * Class probabilities [Z, K, S, S] and BRATS labels [Z, S, S] for every slice of a case. With `tta`
 * each batch also runs mirrored left-right, up-down and both, and the four probability maps, mirrored
 * back, are averaged.
 */
export async function predictSlices(
  engine: Engine,
  S: Segmentor,
  cs: Pick<CaseSlices, 'image' | 'shape'>,
  batch: number,
  opts: { tta?: boolean } = {},
): Promise<{ prob: Float32Array; labels: Uint8Array }> {
  checkBatch('predictSlices', batch);
  const { Z, M, K, S: size } = cs.shape;
  const plane = size * size;
  const prob = new Float32Array(Z * K * plane);
  const wasTraining = S.training;
  const flips = opts.tta ? TTA_FLIPS : TTA_FLIPS.slice(0, 1);
  S.eval();
  try {
    for (let z0 = 0; z0 < Z; z0 += batch) {
      const n = Math.min(batch, Z - z0);
      const input = cs.image.subarray(z0 * M * plane, (z0 + n) * M * plane);
      const sum = new Float32Array(n * K * plane);
      for (const [lr, ud] of flips) {
        const x = engine.tensor(lr || ud ? flipPlanes(input, n * M, size, lr, ud) : input, [n, M, size, size]);
        // tidy: the forward's intermediates go back to the pool now, not at the end of the run
        const p = engine.tidy(() => engine.noGrad(() => S.forward(x)));
        const got = await p.toArray();
        const back = lr || ud ? flipPlanes(got, n * K, size, lr, ud) : got;
        for (let i = 0; i < sum.length; i++) sum[i] += back[i];
        x.dispose();
        p.dispose();
      }
      if (flips.length > 1) for (let i = 0; i < sum.length; i++) sum[i] /= flips.length;
      prob.set(sum, z0 * K * plane);
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
export function scoreCase(
  caseId: string,
  predicted: Uint8Array,
  truth: Uint8Array,
  classes: number,
  label3Enhancing = false,
  grid?: { shape: Vec3; spacing: Vec3 },
): CaseScores {
  const regions = classes === 1 ? (['whole'] as const) : REGIONS;
  const out: CaseScores = { case: caseId, regions: {} };
  for (const r of regions) {
    const p = regionFromLabels(predicted, r, label3Enhancing);
    const t = regionFromLabels(truth, r, label3Enhancing);
    out.regions[r] = { ...scoreMasks(p, t), ...(grid ? { hd95: hd95(p, t, grid.shape, grid.spacing) } : {}) };
  }
  return out;
}

/**
 * Post-processing of BRATS labels in a case's grid [X, Y, Z] (x fastest), in place:
 *  - tumour components (6-connected, any non-zero label) under `minComponent` voxels become background;
 *  - when the whole enhancing tumour (label 4) has fewer than `minEnhancing` voxels it becomes label 1
 *    (core): BraTS scores an empty enhancing region with an empty prediction as Dice 1, so a few
 *    spurious enhancing voxels in a case without enhancement cost the whole region.
 * Returns how many voxels each rule changed.
 */
export function postprocessLabels(
  labels: Uint8Array,
  shape: readonly [number, number, number],
  rules: { minComponent: number; minEnhancing: number },
): { component: number; enhancing: number } {
  const [X, Y, Z] = shape;
  if (labels.length !== X * Y * Z)
    throw new RangeError(`postprocessLabels: ${labels.length} labels for a ${shape.join('×')} grid`);
  let component = 0;
  if (rules.minComponent > 1) {
    const seen = new Uint8Array(labels.length);
    const stack = new Int32Array(labels.length);
    const members: number[] = [];
    for (let start = 0; start < labels.length; start++) {
      if (!labels[start] || seen[start]) continue;
      let top = 0;
      stack[top++] = start;
      seen[start] = 1;
      members.length = 0;
      while (top > 0) {
        const i = stack[--top];
        members.push(i);
        const x = i % X;
        const y = Math.floor(i / X) % Y;
        const z = Math.floor(i / (X * Y));
        const visit = (j: number) => {
          if (labels[j] && !seen[j]) {
            seen[j] = 1;
            stack[top++] = j;
          }
        };
        if (x > 0) visit(i - 1);
        if (x < X - 1) visit(i + 1);
        if (y > 0) visit(i - X);
        if (y < Y - 1) visit(i + X);
        if (z > 0) visit(i - X * Y);
        if (z < Z - 1) visit(i + X * Y);
      }
      if (members.length < rules.minComponent) {
        for (const i of members) labels[i] = 0;
        component += members.length;
      }
    }
  }
  let enhancing = 0;
  if (rules.minEnhancing > 0) {
    for (let i = 0; i < labels.length; i++) if (labels[i] === 4) enhancing++;
    if (enhancing >= rules.minEnhancing) enhancing = 0;
    else for (let i = 0; i < labels.length; i++) if (labels[i] === 4) labels[i] = 1;
  }
  return { component, enhancing };
}

/**
 * The extent that holds each of these cases whole, for whole-volume inference: square planes of the
 * largest in-plane size (canonical orientation) rounded up to a multiple of 16 (the segmentor halves
 * it four times), and the most slices. Cases smaller than that are zero-padded around their centre.
 */
export async function wholeExtent(
  cases: readonly BratsCase[],
): Promise<{ cropShape: [number, number, number]; cropSize: number }> {
  const shapes: Shape3[] = [];
  for (const c of cases) {
    const file = Object.values(c.files)[0];
    if (!file) continue;
    const h = await readNiftiHeader(file);
    shapes.push(canonicalTransform(h.affine, h.shape).shape);
  }
  return extentHolding(shapes);
}

/** The whole-volume extent (see wholeExtent) for canonical grids [X, Y, Z]. */
export function extentHolding(shapes: readonly Shape3[]): { cropShape: [number, number, number]; cropSize: number } {
  let plane = 16;
  let slices = 1;
  for (const [X, Y, Z] of shapes) {
    plane = Math.max(plane, Math.ceil(Math.max(X, Y) / 16) * 16);
    slices = Math.max(slices, Z);
  }
  return { cropShape: [plane, plane, slices], cropSize: plane };
}

export interface CaseInference {
  /** Mirror-averaged predictions (test-time augmentation). */
  tta: boolean;
  /** Post-processing rules (postprocessLabels), or null for none. */
  postprocess: { minComponent: number; minEnhancing: number } | null;
}

/**
 * One case's predicted BRATS labels in its own grid, as `segan eval` scores them and `segan predict`
 * writes them: every slice of the dataset's extent, mirrored predictions averaged when asked, put back
 * into the case's grid, post-processed when asked.
 */
export async function predictCase(
  engine: Engine,
  S: Segmentor,
  ds: Dataset,
  caseId: string,
  batch: number,
  how: CaseInference,
): Promise<{ labels: Uint8Array; shape: [number, number, number]; changed: { component: number; enhancing: number } }> {
  const cs = ds.caseSlices(caseId);
  const { labels } = await predictSlices(engine, S, cs, batch, { tta: how.tta });
  const grid = ds.putBack(caseId, labels);
  const header = await ds.referenceHeader(caseId);
  const changed = how.postprocess
    ? postprocessLabels(grid, header.shape, how.postprocess)
    : { component: 0, enhancing: 0 };
  return { labels: grid, shape: header.shape, changed };
}

/**
 * predictCase for a case already in memory, with no dataset and no disk cache (the browser's path:
 * src/web/app.ts): the same preprocessing (preprocessCase at the whole extent), the same slices, the
 * same way back into the case's grid and the same post-processing, so it gives `segan predict`'s labels.
 */
export async function predictLoadedCase(
  engine: Engine,
  S: Segmentor,
  c: LoadedCase,
  config: Pick<TrainConfig, 'model' | 'normalise'>,
  batch: number,
  how: CaseInference,
): Promise<{ labels: Uint8Array; shape: [number, number, number]; changed: { component: number; enhancing: number } }> {
  const { cropShape, cropSize } = extentHolding([c.shape]);
  const p = preprocessCase(c, { cropShape, normalise: configNormalisation(config) });
  const classes = config.model.classes;
  const shape = { Z: cropShape[2], M: c.images.length, K: classes === 1 ? 1 : 3, S: cropSize };
  const { labels } = await predictSlices(engine, S, { image: p.image, shape }, batch, { tta: how.tta });
  const grid = fromCanonical(uncropVolume(labels, p.canonicalShape, p.cropOffset, p.cropShape), c.transform);
  const fileShape = [...c.reference.shape] as [number, number, number];
  const changed = how.postprocess
    ? postprocessLabels(grid, fileShape, how.postprocess)
    : { component: 0, enhancing: 0 };
  return { labels: grid, shape: fileShape, changed };
}
