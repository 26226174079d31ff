// The 95 % Hausdorff distance between two binary 3-D masks, in millimetres, as BraTS reports it.
//
// Definition (medpy's hd95, which the BraTS tooling follows): the surface of a mask is its voxels with
// at least one of their 6 neighbours outside the mask (or outside the volume); d(a, B) is the distance
// from surface voxel a of A to the nearest surface voxel of B, in mm (voxel spacing from the header);
// hd95 = the 95th percentile (linear interpolation) of all d(a, B) and d(b, A) together.
// Empty masks (BraTS's convention): both empty → 0; exactly one empty → EMPTY_HD95 (373.13 mm, the
// diagonal of the 240×240×155 BraTS volume at 1 mm).
//
// Distances come from an exact Euclidean distance transform (Felzenszwalb & Huttenlocher's lower
// envelope of parabolas, one pass per axis, anisotropic spacing as per-axis weights), computed only
// over the bounding box of both masks: every source and every query lies inside it, and the
// transform's distances do not depend on the domain around them.
export const EMPTY_HD95 = 373.13;

export type Vec3 = readonly [number, number, number];

/** Surface voxels (6-neighbourhood; the volume's border counts as outside) of mask, inside a box. */
function surface(mask: Uint8Array, shape: Vec3, box: Box): Uint8Array {
  const [X, Y, Z] = shape;
  const [bx, by, bz] = box.size;
  const out = new Uint8Array(bx * by * bz);
  for (let z = 0; z < bz; z++)
    for (let y = 0; y < by; y++)
      for (let x = 0; x < bx; x++) {
        const gx = box.x0 + x;
        const gy = box.y0 + y;
        const gz = box.z0 + z;
        const i = gx + X * (gy + Y * gz);
        if (!mask[i]) continue;
        const inside = (dx: number, dy: number, dz: number) => {
          const nx = gx + dx;
          const ny = gy + dy;
          const nz = gz + dz;
          return nx >= 0 && nx < X && ny >= 0 && ny < Y && nz >= 0 && nz < Z && mask[nx + X * (ny + Y * nz)] !== 0;
        };
        if (!(
          inside(1, 0, 0) &&
          inside(-1, 0, 0) &&
          inside(0, 1, 0) &&
          inside(0, -1, 0) &&
          inside(0, 0, 1) &&
          inside(0, 0, -1)
        ))
          out[x + bx * (y + by * z)] = 1;
      }
  return out;
}

interface Box {
  x0: number;
  y0: number;
  z0: number;
  size: [number, number, number];
}

/** The smallest box holding every non-zero voxel of the masks (null: all empty). */
function boundingBox(masks: Uint8Array[], shape: Vec3): Box | null {
  const [X, Y, Z] = shape;
  let lo = [X, Y, Z];
  let hi = [-1, -1, -1];
  for (const m of masks) {
    for (let z = 0, i = 0; z < Z; z++)
      for (let y = 0; y < Y; y++)
        for (let x = 0; x < X; x++, i++) {
          if (!m[i]) continue;
          lo = [Math.min(lo[0], x), Math.min(lo[1], y), Math.min(lo[2], z)];
          hi = [Math.max(hi[0], x), Math.max(hi[1], y), Math.max(hi[2], z)];
        }
  }
  if (hi[0] < 0) return null;
  return { x0: lo[0], y0: lo[1], z0: lo[2], size: [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1] };
}

/**
 * One axis of the squared distance transform, in place: f[i] ← min_j f[j] + (w·(i − j))² along lines
 * of n elements spaced `stride` apart (Felzenszwalb & Huttenlocher, 2012).
 */
function edt1d(
  f: Float64Array,
  start: number,
  n: number,
  stride: number,
  w: number,
  v: Int32Array,
  zs: Float64Array,
  tmp: Float64Array,
): void {
  for (let i = 0; i < n; i++) tmp[i] = f[start + i * stride];
  const w2 = w * w;
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (tmp[q] === Infinity) continue;
    let s = -Infinity;
    while (k >= 0) {
      const p = v[k];
      s = (tmp[q] + w2 * q * q - (tmp[p] + w2 * p * p)) / (2 * w2 * (q - p));
      if (s <= zs[k]) k--;
      else break;
    }
    k++;
    v[k] = q;
    zs[k] = k === 0 ? -Infinity : s;
    zs[k + 1] = Infinity;
  }
  if (k < 0) return; // no source on this line: stays Infinity
  let j = 0;
  for (let q = 0; q < n; q++) {
    while (zs[j + 1] < q) j++;
    const d = q - v[j];
    f[start + q * stride] = w2 * d * d + tmp[v[j]];
  }
}

/** Squared Euclidean distance (mm²) from every voxel of a box to the nearest source voxel. */
function squaredDistances(sources: Uint8Array, size: Vec3, spacing: Vec3): Float64Array {
  const [X, Y, Z] = size;
  const f = new Float64Array(X * Y * Z);
  for (let i = 0; i < f.length; i++) f[i] = sources[i] ? 0 : Infinity;
  const m = Math.max(X, Y, Z);
  const v = new Int32Array(m);
  const zs = new Float64Array(m + 1);
  const tmp = new Float64Array(m);
  for (let z = 0; z < Z; z++) for (let y = 0; y < Y; y++) edt1d(f, X * (y + Y * z), X, 1, spacing[0], v, zs, tmp);
  for (let z = 0; z < Z; z++) for (let x = 0; x < X; x++) edt1d(f, x + X * Y * z, Y, X, spacing[1], v, zs, tmp);
  for (let y = 0; y < Y; y++) for (let x = 0; x < X; x++) edt1d(f, x + X * y, Z, X * Y, spacing[2], v, zs, tmp);
  return f;
}

/** The p-th percentile (0..100) with linear interpolation between order statistics (numpy's default). */
export function percentile(values: Float64Array | number[], p: number): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return NaN;
  const r = (p / 100) * (s.length - 1);
  const lo = Math.floor(r);
  const hi = Math.ceil(r);
  return s[lo] + (s[hi] - s[lo]) * (r - lo);
}

/** Distances (mm) from each surface voxel of `from` to the nearest surface voxel of `to` (both in a box). */
function directed(from: Uint8Array, toSquared: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < from.length; i++) if (from[i]) out.push(Math.sqrt(toSquared[i]));
  return out;
}

/** hd95 in mm between masks a and b (0/1 per voxel, x fastest) of a volume `shape` with voxel `spacing`. */
export function hd95(a: Uint8Array, b: Uint8Array, shape: Vec3, spacing: Vec3): number {
  const n = shape[0] * shape[1] * shape[2];
  if (a.length !== n || b.length !== n)
    throw new RangeError(`hd95: masks of ${a.length} and ${b.length} voxels for a ${shape.join('×')} volume`);
  const emptyA = !a.some((v) => v !== 0);
  const emptyB = !b.some((v) => v !== 0);
  if (emptyA && emptyB) return 0;
  if (emptyA || emptyB) return EMPTY_HD95;
  const box = boundingBox([a, b], shape)!;
  const sa = surface(a, shape, box);
  const sb = surface(b, shape, box);
  const d = [
    ...directed(sa, squaredDistances(sb, box.size, spacing)),
    ...directed(sb, squaredDistances(sa, box.size, spacing)),
  ];
  return percentile(d, 95);
}
