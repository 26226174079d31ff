// Axis orientation: axis codes from an affine, and exact reorientation to one canonical orientation by
// axis permutations and flips only (no resampling, no interpolation).
//
// World coordinates are NIfTI's RAS+ (+x = patient Right, +y = Anterior, +z = Superior). An axis code
// names the direction a voxel axis increases towards, as nibabel's aff2axcodes does: 'L' means "i
// increases towards the patient's Left".
//
// CANONICAL ORIENTATION = LPS: voxel axis 0 (x, fastest in memory) runs to the patient's Left, axis 1 (y)
// to Posterior, axis 2 (z, slowest) to Superior. It is the orientation BraTS (SRI24, written by ITK)
// volumes already have, so those are kept exactly as stored. Axis 2 is the axial axis: an axial slice is
// the contiguous block data[z*X*Y .. (z+1)*X*Y) with index x + X*y inside it; shown with y as the row
// and x as the column it is the usual radiological view (anterior at the top, patient's right on the
// left of the screen).
//
// Oblique affines are assigned to the nearest axes (largest direction cosines first), which is what
// "closest canonical orientation" means; the affine returned by toCanonical stays exact.
import { mat4 } from 'gl-matrix';

export const CANONICAL = 'LPS';

/** Axis (0..2) and sign (+1: towards the first letter of RAS) for each canonical voxel axis. */
const CANONICAL_AXES: ReadonlyArray<{ world: number; sign: 1 | -1 }> = [
  { world: 0, sign: -1 }, // L = -x
  { world: 1, sign: -1 }, // P = -y
  { world: 2, sign: 1 }, // S = +z
];

const CODES = [
  ['R', 'L'],
  ['A', 'P'],
  ['S', 'I'],
];

export type Shape3 = [number, number, number];

/** For each voxel axis i: the world axis it mostly runs along and the sign. */
export function axisAssignment(affine: ArrayLike<number>): Array<{ world: number; sign: 1 | -1 }> {
  // Direction cosines: column i of the 3x3 part (gl-matrix is column-major: m[col*4 + row]).
  const cos: number[][] = [0, 1, 2].map((i) => {
    const c = [affine[i * 4], affine[i * 4 + 1], affine[i * 4 + 2]];
    const n = Math.hypot(c[0], c[1], c[2]) || 1;
    return c.map((v) => v / n);
  });
  const out: Array<{ world: number; sign: 1 | -1 }> = new Array(3);
  const usedVox = new Set<number>();
  const usedWorld = new Set<number>();
  for (let step = 0; step < 3; step++) {
    let best = -1;
    let bi = 0;
    let bw = 0;
    for (let i = 0; i < 3; i++) {
      if (usedVox.has(i)) continue;
      for (let w = 0; w < 3; w++) {
        if (usedWorld.has(w)) continue;
        const a = Math.abs(cos[i][w]);
        if (a > best) [best, bi, bw] = [a, i, w];
      }
    }
    usedVox.add(bi);
    usedWorld.add(bw);
    out[bi] = { world: bw, sign: cos[bi][bw] < 0 ? -1 : 1 };
  }
  return out;
}

/** Axis codes such as 'LPS' or 'RAS' (one letter per voxel axis: the direction it increases towards). */
export function orientationCode(affine: ArrayLike<number>): string {
  return axisAssignment(affine)
    .map(({ world, sign }) => CODES[world][sign > 0 ? 0 : 1])
    .join('');
}

/**
 * How a file's voxel grid maps onto the canonical grid: canonical axis c is source axis perm[c],
 * reversed when flip[c].
 */
export interface OrientationTransform {
  /** The file's grid [X, Y, Z]. */
  sourceShape: Shape3;
  /** The canonical grid. */
  shape: Shape3;
  perm: [number, number, number];
  flip: [boolean, boolean, boolean];
  /** The file's axis codes, e.g. 'LPS'. */
  sourceOrientation: string;
  /** True when the file is already canonical (toCanonical then shares the data). */
  identity: boolean;
}

/** The transform that brings a grid with this affine into canonical orientation. */
export function canonicalTransform(affine: ArrayLike<number>, sourceShape: Shape3): OrientationTransform {
  const assign = axisAssignment(affine);
  const perm = [0, 0, 0] as [number, number, number];
  const flip = [false, false, false] as [boolean, boolean, boolean];
  for (let c = 0; c < 3; c++) {
    const want = CANONICAL_AXES[c];
    const i = assign.findIndex((a) => a.world === want.world);
    perm[c] = i;
    flip[c] = assign[i].sign !== want.sign;
  }
  const shape = perm.map((i) => sourceShape[i]) as Shape3;
  const identity = perm.every((p, c) => p === c) && flip.every((f) => !f);
  return {
    sourceShape: [...sourceShape] as Shape3,
    shape,
    perm,
    flip,
    sourceOrientation: orientationCode(affine),
    identity,
  };
}

/** Canonical voxel index → source voxel index, as a gl-matrix mat4 (homogeneous, column-major). */
export function canonicalToSourceMatrix(t: OrientationTransform): Float64Array {
  const m = new Float64Array(16);
  mat4.identity(m);
  for (let c = 0; c < 3; c++) {
    const i = t.perm[c];
    // column c: unit vector on row i
    for (let r = 0; r < 3; r++) m[c * 4 + r] = 0;
    m[c * 4 + i] = t.flip[c] ? -1 : 1;
  }
  for (let r = 0; r < 3; r++) m[12 + r] = 0;
  for (let c = 0; c < 3; c++) if (t.flip[c]) m[12 + t.perm[c]] = t.shape[c] - 1;
  return m;
}

/** The voxel-to-world affine of the canonical grid (exact: source affine × index permutation). */
export function canonicalAffine(sourceAffine: ArrayLike<number>, t: OrientationTransform): Float64Array {
  const out = new Float64Array(16);
  mat4.multiply(out, sourceAffine as Float64Array, canonicalToSourceMatrix(t));
  return out;
}

type Voxels =
  Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** Source linear index of canonical voxel (0,0,0) and the source strides for canonical x, y, z. */
function walk(t: OrientationTransform): { base: number; strides: [number, number, number] } {
  const [X, Y] = t.sourceShape;
  const srcStride = [1, X, X * Y];
  let base = 0;
  const strides = [0, 0, 0] as [number, number, number];
  for (let c = 0; c < 3; c++) {
    const s = srcStride[t.perm[c]];
    if (t.flip[c]) {
      strides[c] = -s;
      base += (t.shape[c] - 1) * s;
    } else strides[c] = s;
  }
  return { base, strides };
}

function checkLength(n: number, shape: Shape3, what: string): void {
  const want = shape[0] * shape[1] * shape[2];
  if (n !== want) throw new Error(`${what}: ${n} voxels given for a ${shape.join('×')} grid (${want})`);
}

/**
 * Copies between a file-grid and a canonical-grid volume along the transform's walk (canonical voxel o,
 * x fastest, is file voxel s): into `canonical` when `toCanonical`, else into `file`.
 */
function copyAlongWalk(t: OrientationTransform, file: Voxels, canonical: Voxels, toCanonical: boolean): void {
  const { base, strides } = walk(t);
  const [X, Y, Z] = t.shape;
  const [sx, sy, sz] = strides;
  let o = 0;
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < Y; y++) {
      let s = base + z * sz + y * sy;
      if (toCanonical) for (let x = 0; x < X; x++, s += sx) canonical[o++] = file[s];
      else for (let x = 0; x < X; x++, s += sx) file[s] = canonical[o++];
    }
}

/**
 * Reorders a volume from the file grid to the canonical grid (new array of the same type, or `data` itself when
 * identity).
 */
export function reorientToCanonical<T extends Voxels>(data: T, t: OrientationTransform): T {
  checkLength(data.length, t.sourceShape, 'reorientToCanonical');
  if (t.identity) return data;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  copyAlongWalk(t, data, out, true);
  return out;
}

/**
 * Maps a canonical-grid volume (e.g. a predicted label map) back onto the file's own grid, ready for
 * writeNifti with the file's header. Always returns a new array of the same type.
 */
export function fromCanonical<T extends Voxels>(data: T, t: OrientationTransform): T {
  checkLength(data.length, t.shape, 'fromCanonical');
  const out = new (data.constructor as new (n: number) => T)(data.length);
  if (t.identity) {
    out.set(data as never);
    return out;
  }
  copyAlongWalk(t, out, data, false);
  return out;
}

export interface CanonicalVolume<T extends Voxels = Float32Array> {
  /** Voxels in canonical orientation (x fastest); the input array itself when it was already canonical. */
  data: T;
  shape: Shape3;
  /** Canonical voxel-to-world affine (gl-matrix mat4). */
  affine: Float64Array;
  voxelSize: Shape3;
  orientation: string;
  transform: OrientationTransform;
}

/**
 * Brings a volume (anything with data, shape [X, Y, Z], affine and optionally voxelSize — a NiftiVolume
 * works) into canonical LPS orientation by permuting and flipping axes. `transform` maps results back
 * with fromCanonical.
 */
export function toCanonical<T extends Voxels>(v: {
  data: T;
  shape: Shape3;
  affine: ArrayLike<number>;
  voxelSize?: Shape3;
}): CanonicalVolume<T> {
  const t = canonicalTransform(v.affine, v.shape);
  const vs = v.voxelSize ?? ([1, 1, 1] as Shape3);
  const affine = canonicalAffine(v.affine, t);
  return {
    data: reorientToCanonical(v.data, t),
    shape: t.shape,
    affine,
    voxelSize: t.perm.map((i) => vs[i]) as Shape3,
    orientation: orientationCode(affine),
    transform: t,
  };
}
