// Preprocessing of a loaded BraTS case for the 2-D SegAN pipeline (segan.md §4B):
//   1. per volume, intensity normalisation inside the brain: the brain is the voxels > 0 of that
//      modality (BraTS volumes are skull-stripped with background exactly 0). 'percentile' (the
//      default): their 2nd and 98th percentiles (linear interpolation, as numpy.percentile) map to 0
//      and 1. 'median': 0 stays 0 and MEDIAN_SPAN × their median maps to 1, so the bulk of the brain
//      (healthy tissue) lands near 1/MEDIAN_SPAN whatever the tails hold: MR intensities have no
//      offset, only an arbitrary gain per scan, and the tails (CSF, tumour, resampled rims) vary from
//      site to site. Values are clipped to [0, 1] and the background stays 0;
//   2. a centre crop of 180×180×128 voxels of the canonical (LPS) grid — 180×180 in-plane (x, y) and 128
//      axial slices along z, the canonical axis 2 — zero-padded where a volume is smaller. The crop
//      offset is recorded so predictions can be put back (uncropVolume).
// Output layout is slice-major: image [Z=128, M, Y=180, X=180], label [Z, Y, X].
import type { LoadedCase, Modality } from './brats.ts';
import type { Shape3 } from './orientation.ts';

export const DEFAULT_CROP: Shape3 = [180, 180, 128];
export const DEFAULT_PERCENTILES: [number, number] = [2, 98];
export type Normalisation = 'percentile' | 'median';
export const NORMALISATIONS: readonly Normalisation[] = ['percentile', 'median'];
export const DEFAULT_NORMALISATION: Normalisation = 'percentile';
/** With 'median' normalisation, this many brain medians map to 1. */
export const MEDIAN_SPAN = 3;

export interface PreprocessOptions {
  /** Crop size [X, Y, Z] in the canonical grid (default 180×180×128). */
  cropShape?: Shape3;
  /** Percentiles mapped to 0 and 1 (default [2, 98]) with 'percentile' normalisation. */
  percentiles?: [number, number];
  /** How intensities map to [0, 1] (default 'percentile'; see the top of this file). */
  normalise?: Normalisation;
}

/** k-th smallest (0-based) of a[lo..hi], rearranging a (Hoare/Floyd–Rivest style quickselect). */
function select(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    // median of three as pivot
    const mid = (lo + hi) >>> 1;
    let p = a[mid];
    const x = a[lo];
    const y = a[hi];
    if ((x <= p && p <= y) || (y <= p && p <= x)) {
      /* p */
    } else if ((p <= x && x <= y) || (y <= x && x <= p)) p = x;
    else p = y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

function minFrom(a: Float32Array, from: number): number {
  let m = Infinity;
  for (let i = from; i < a.length; i++) if (a[i] < m) m = a[i];
  return m;
}

/** Percentiles (0..100, linear interpolation like numpy) of `values`; rearranges `values`. */
export function percentiles(values: Float32Array, ps: readonly number[]): number[] {
  const n = values.length;
  if (n === 0) return ps.map(() => NaN);
  return ps.map((p) => {
    if (!(p >= 0 && p <= 100)) throw new Error(`percentile ${p} outside 0..100`);
    const pos = (p / 100) * (n - 1);
    const k = Math.floor(pos);
    const v = select(values, k);
    const f = pos - k;
    return f > 0 && k + 1 < n ? v + f * (minFrom(values, k + 1) - v) : v;
  });
}

export interface NormaliseStats {
  /** Voxels > 0 (the brain) and how they mapped: lowValue → 0, highValue → 1. */
  brainVoxels: number;
  lowValue: number;
  highValue: number;
}

/**
 * Normalisation inside the brain (voxels > 0), [lowValue, highValue] → [0, 1], clipped; everything else
 * (background, NaN) is 0. 'percentile': lowValue, highValue are the percentiles p_low, p_high; 'median':
 * 0 and MEDIAN_SPAN × the median. When the brain is empty the output is all zero; when lowValue ==
 * highValue the brain becomes 1.
 */
export function normaliseIntensity(
  data: Float32Array,
  opts: { percentiles?: [number, number]; normalise?: Normalisation } = {},
): { data: Float32Array; stats: NormaliseStats } {
  const [pl, ph] = opts.percentiles ?? DEFAULT_PERCENTILES;
  const byMedian = (opts.normalise ?? DEFAULT_NORMALISATION) === 'median';
  if (!(pl < ph)) throw new Error(`percentiles [${pl}, ${ph}]: the first must be below the second`);
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] > 0) n++;
  const out = new Float32Array(data.length);
  if (n === 0) return { data: out, stats: { brainVoxels: 0, lowValue: 0, highValue: 0 } };
  const brain = new Float32Array(n);
  for (let i = 0, j = 0; i < data.length; i++) if (data[i] > 0) brain[j++] = data[i];
  const [lo, hi] = byMedian ? [0, MEDIAN_SPAN * percentiles(brain, [50])[0]] : percentiles(brain, [pl, ph]);
  const range = hi - lo;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!(v > 0)) continue;
    if (range > 0) {
      const t = (v - lo) / range;
      out[i] = t < 0 ? 0 : t > 1 ? 1 : t;
    } else out[i] = 1;
  }
  return { data: out, stats: { brainVoxels: n, lowValue: lo, highValue: hi } };
}

/** Offset of a centred crop (negative where the volume is smaller than the crop: zero padding). */
export function centerCropOffset(shape: Shape3, size: Shape3): Shape3 {
  return shape.map((d, i) => Math.floor((d - size[i]) / 2)) as Shape3;
}

type Voxels = Uint8Array | Float32Array;

/**
 * Calls `run(volumeIndex, cropIndex, length)` for every x-run of the box [offset, offset + size) that
 * lies inside a volume [X, Y, Z] (x fastest): the index arithmetic shared by crop and uncrop.
 */
function forEachInsideRun(
  shape: Shape3,
  offset: Shape3,
  size: Shape3,
  run: (volumeIndex: number, cropIndex: number, length: number) => void,
): void {
  const [X, Y, Z] = shape;
  const [cx, cy, cz] = size;
  const [ox, oy, oz] = offset;
  const x0 = Math.max(0, -ox);
  const x1 = Math.min(cx, X - ox);
  if (x1 <= x0) return;
  for (let z = 0; z < cz; z++) {
    const sz = z + oz;
    if (sz < 0 || sz >= Z) continue;
    for (let y = 0; y < cy; y++) {
      const sy = y + oy;
      if (sy < 0 || sy >= Y) continue;
      run(ox + X * (sy + Y * sz) + x0, cx * (y + cy * z) + x0, x1 - x0);
    }
  }
}

/** Copies the box [offset, offset + size) of a volume [X, Y, Z] (x fastest); outside the volume is 0. */
export function cropVolume<T extends Voxels>(data: T, shape: Shape3, offset: Shape3, size: Shape3): T {
  const out = new (data.constructor as new (n: number) => T)(size[0] * size[1] * size[2]);
  forEachInsideRun(shape, offset, size, (v, c, n) => out.set(data.subarray(v, v + n) as never, c));
  return out;
}

/** Inverse of cropVolume: places a crop back into a zero volume of `shape`. */
export function uncropVolume<T extends Voxels>(crop: T, shape: Shape3, offset: Shape3, size: Shape3): T {
  const [cx, cy, cz] = size;
  if (crop.length !== cx * cy * cz)
    throw new Error(`uncropVolume: ${crop.length} voxels given for a ${size.join('×')} crop`);
  const out = new (crop.constructor as new (n: number) => T)(shape[0] * shape[1] * shape[2]);
  forEachInsideRun(shape, offset, size, (v, c, n) => out.set(crop.subarray(c, c + n) as never, v));
  return out;
}

export interface PreprocessedCase {
  id: string;
  modalities: Modality[];
  /** [Z, M, Y, X] float32 in [0, 1], slice-major. */
  image: Float32Array;
  /** [Z, Y, X] raw BraTS labels (zeros when the case has no segmentation). */
  label: Uint8Array;
  hasSeg: boolean;
  /** Crop size [X, Y, Z] and where it starts in the canonical grid. */
  cropShape: Shape3;
  cropOffset: Shape3;
  /** Canonical grid the crop was taken from. */
  canonicalShape: Shape3;
  stats: Array<NormaliseStats & { modality: Modality }>;
}

/** Normalises and crops a loaded case (see the top of this file). */
export function preprocessCase(c: LoadedCase, opts: PreprocessOptions = {}): PreprocessedCase {
  const crop = opts.cropShape ?? DEFAULT_CROP;
  const [cx, cy, cz] = crop;
  const M = c.images.length;
  const offset = centerCropOffset(c.shape, crop);
  const plane = cx * cy;
  const image = new Float32Array(cz * M * plane);
  const stats: PreprocessedCase['stats'] = [];
  c.images.forEach((vol, m) => {
    const { data, stats: s } = normaliseIntensity(vol, { percentiles: opts.percentiles, normalise: opts.normalise });
    stats.push({ modality: c.modalities[m], ...s });
    const cropped = cropVolume(data, c.shape, offset, crop);
    for (let z = 0; z < cz; z++) image.set(cropped.subarray(z * plane, (z + 1) * plane), (z * M + m) * plane);
  });
  const label = c.seg ? cropVolume(c.seg, c.shape, offset, crop) : new Uint8Array(cz * plane);
  return {
    id: c.id,
    modalities: [...c.modalities],
    image,
    label,
    hasSeg: c.seg !== null,
    cropShape: [...crop] as Shape3,
    cropOffset: offset,
    canonicalShape: [...c.shape] as Shape3,
    stats,
  };
}
