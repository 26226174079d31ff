// Augmentations of training crops (used by src/data/dataset.ts's batches()): their options, the
// rotated / zoomed sampling matrix and its resampling, and the intensity jitter.
import { mat3 } from 'gl-matrix';

/**
 * Training-time augmentations, each off at its default (0). With all of them off a batch is bitwise
 * what it was without them (the same random draws, the integer crop path).
 *   tumourCrops  share of samples whose crop is centred on a random tumour pixel of the slice (slices
 *                without tumour keep a random crop)
 *   rotate       a random in-plane rotation of up to ±rotate degrees about the crop centre
 *   scale        a random zoom by a factor in [1 − scale, 1 + scale]
 *   intensity    per sample and modality, inside the brain (voxels > 0): gamma exp(±intensity), then
 *                ×(1 ± intensity) and + ±intensity/2 (uniform draws)
 * Rotation and zoom resample once (bilinear for the image, nearest for the labels, 0 outside the slice).
 */
export interface Augment {
  tumourCrops?: number;
  rotate?: number;
  scale?: number;
  intensity?: number;
}

/**
 * The sampling matrix of a rotated / zoomed crop: crop pixel (u, v, 1) → slice point, turning by
 * `degrees` and zooming by `zoom` (> 1 shows a smaller region, magnified) about the crop centre, which
 * lands on slice point (cx, cy); flips as in sampleMatrix.
 */
export function affineSampleMatrix(
  cx: number,
  cy: number,
  size: number,
  degrees: number,
  zoom: number,
  flipX: boolean,
  flipY: boolean,
): Float32Array {
  const m = mat3.create() as Float32Array;
  mat3.fromTranslation(m, [cx, cy]);
  mat3.rotate(m, m, (degrees * Math.PI) / 180);
  mat3.scale(m, m, [(flipX ? -1 : 1) / zoom, (flipY ? -1 : 1) / zoom]);
  mat3.translate(m, m, [-(size - 1) / 2, -(size - 1) / 2]);
  return m;
}

/**
 * Like resample, for any affine: bilinear (image planes) or nearest (label planes) interpolation,
 * 0 where the crop pixel maps outside the slice.
 */
export function resampleAffine(
  src: Float32Array,
  W: number,
  H: number,
  channels: number,
  m: ArrayLike<number>,
  S: number,
  dst: Float32Array,
  dstOffset: number,
  nearest: boolean,
): void {
  for (let ch = 0; ch < channels; ch++) {
    const base = ch * W * H;
    let o = dstOffset + ch * S * S;
    for (let v = 0; v < S; v++)
      for (let u = 0; u < S; u++, o++) {
        const x = m[0] * u + m[3] * v + m[6];
        const y = m[1] * u + m[4] * v + m[7];
        if (nearest) {
          const xi = Math.round(x);
          const yi = Math.round(y);
          dst[o] = xi >= 0 && yi >= 0 && xi < W && yi < H ? src[base + yi * W + xi] : 0;
          continue;
        }
        const x0 = Math.floor(x);
        const y0 = Math.floor(y);
        const fx = x - x0;
        const fy = y - y0;
        const at = (xx: number, yy: number) => (xx >= 0 && yy >= 0 && xx < W && yy < H ? src[base + yy * W + xx] : 0);
        dst[o] =
          (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
          fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
      }
  }
}

/**
 * Per modality plane (planes of `plane` values from `offset`): gamma exp(u·f), gain 1 + u·f and shift
 * u·f/2 (u uniform in [-1, 1) from `uniform`), applied inside the brain only (values > 0).
 */
export function jitterIntensity(
  image: Float32Array,
  offset: number,
  planes: number,
  plane: number,
  f: number,
  uniform: () => number,
): void {
  for (let ch = 0; ch < planes; ch++) {
    const gamma = Math.exp(uniform() * f);
    const gain = 1 + uniform() * f;
    const shift = (uniform() * f) / 2;
    const o = offset + ch * plane;
    for (let i = o; i < o + plane; i++) if (image[i] > 0) image[i] = image[i] ** gamma * gain + shift;
  }
}
