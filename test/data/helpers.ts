// Shared helpers for the data tests: where the shared real data is, temporary folders, and synthetic
// BraTS-like cases written with writeNifti.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNiftiHeader, writeNifti, type NiftiDatatype } from '../../src/data/nifti.ts';
import { mulberry32 } from '../../src/data/rng.ts';

/** /work/shared/data, resolved from this file (test/data → ../../../shared/data). */
export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data', import.meta.url));
export const BRATS_DEV = path.join(SHARED_DATA, 'brats18-dev');
export const NIFTI_EDGE = path.join(SHARED_DATA, 'nifti-edge');
export const HAS_BRATS = fs.existsSync(BRATS_DEV);
export const HAS_EDGE = fs.existsSync(NIFTI_EDGE);
export const SKIP_NOTE = `(skipped: shared data not found at ${SHARED_DATA})`;

// In CI the real data must be there: a missing folder fails every file that uses it, with this message,
// instead of passing with its real-file tests skipped. Elsewhere they skip and say so.
if ((!HAS_BRATS || !HAS_EDGE) && process.env.CI === 'true')
  throw new Error(
    `the shared real data is missing: ${!HAS_BRATS ? BRATS_DEV : NIFTI_EDGE} ` +
      `(CI=true: tests on real files must run; put ../shared/data beside the checkout)`,
  );
if (!HAS_BRATS || !HAS_EDGE) console.warn(`data tests: ${SHARED_DATA} is missing; tests on real files are skipped`);

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `dawngrad-${tag}-`));
}

/** A gl-matrix affine from row-major rows. */
export function affineFromRows(rows: number[][]): Float64Array {
  const m = new Float64Array(16);
  for (let c = 0; c < 4; c++) for (let r = 0; r < 3; r++) m[4 * c + r] = rows[r][c]; // gl-matrix is column-major
  m[15] = 1;
  return m;
}

export interface SynthCaseOptions {
  /** File grid [X, Y, Z]. */
  shape: [number, number, number];
  /** Voxel-to-world affine (default LPS, 1 mm). */
  affine?: Float64Array;
  layout?: 'brats2018' | 'brats2023';
  datatype?: NiftiDatatype;
  seed?: number;
  /** Modality files to leave out. */
  omit?: string[];
  /** Label used for enhancing tumour (4, or 3 in 2023 data). */
  enhancingLabel?: number;
  withSeg?: boolean;
}

/**
 * Writes one synthetic case: an ellipsoid "brain" with positive noisy intensities (background 0) and a
 * ball of tumour (oedema shell, enhancing ring, necrotic centre) off-centre, so some slices are
 * tumour-free. Returns the case folder and the canonical-free truth (file-grid seg).
 */
export async function writeSyntheticCase(
  root: string,
  id: string,
  o: SynthCaseOptions,
): Promise<{ dir: string; seg: Uint8Array }> {
  const [X, Y, Z] = o.shape;
  const dir = path.join(root, id);
  fs.mkdirSync(dir, { recursive: true });
  const affine =
    o.affine ??
    affineFromRows([
      [-1, 0, 0, 0],
      [0, -1, 0, 0],
      [0, 0, 1, 0],
    ]);
  const like = createNiftiHeader([X, Y, Z], affine);
  const rand = mulberry32(o.seed ?? 1);
  const n = X * Y * Z;
  const seg = new Uint8Array(n);
  const brain = new Uint8Array(n);
  const [bx, by, bz] = [X / 2, Y / 2, Z / 2];
  const [tx, ty, tz] = [X * 0.6, Y * 0.45, Z * 0.6];
  const tr = Math.min(X, Y, Z) * 0.22;
  const enh = o.enhancingLabel ?? (o.layout === 'brats2023' ? 3 : 4);
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < Y; y++)
      for (let x = 0; x < X; x++) {
        const i = x + X * (y + Y * z);
        const e = ((x - bx) / (X * 0.45)) ** 2 + ((y - by) / (Y * 0.45)) ** 2 + ((z - bz) / (Z * 0.45)) ** 2;
        if (e <= 1) brain[i] = 1;
        const d = Math.hypot(x - tx, y - ty, z - tz);
        if (brain[i] && d < tr) seg[i] = d < tr * 0.35 ? 1 : d < tr * 0.6 ? enh : 2;
      }
  const sep = o.layout === 'brats2023' ? '-' : '_';
  const names: Record<string, string> =
    o.layout === 'brats2023'
      ? { t1: 't1n', t1c: 't1c', t2: 't2w', flair: 't2f' }
      : { t1: 't1', t1c: 't1ce', t2: 't2', flair: 'flair' };
  const dt = o.datatype ?? 'int16';
  for (const [m, suffix] of Object.entries(names)) {
    if (o.omit?.includes(m)) continue;
    const v = new Float32Array(n);
    const gain = 100 + 50 * Object.keys(names).indexOf(m);
    for (let i = 0; i < n; i++) if (brain[i]) v[i] = Math.round(gain * (1 + rand()) + 200 * seg[i]);
    await writeNifti(path.join(dir, `${id}${sep}${suffix}.nii.gz`), v, { like, datatype: dt, level: 1 });
  }
  if (o.withSeg ?? true)
    await writeNifti(path.join(dir, `${id}${sep}seg.nii.gz`), seg, { like, datatype: 'uint8', level: 1 });
  return { dir, seg };
}

/** Index of the first difference between two arrays (or -1 when equal and the same length); fast on big volumes. */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  return -1;
}

/**
 * A NIfTI-2 single file (vox_offset 544) holding int16 voxels, in either byte order, with an sform
 * (`srow`: 12 numbers), a voxel size (default 1 mm) and scaling (default slope 1, intercept 0).
 */
export function nifti2Bytes(
  shape: [number, number, number],
  data: ArrayLike<number>,
  le: boolean,
  o: { srow: readonly number[]; voxelSize?: readonly number[]; slope?: number; inter?: number },
): Buffer {
  const b = Buffer.alloc(544 + data.length * 2);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  dv.setInt32(0, 540, le);
  b.set([0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a], 4);
  dv.setInt16(12, 4, le);
  dv.setInt16(14, 16, le);
  [3, ...shape, 1, 1, 1, 1].forEach((d, i) => dv.setBigInt64(16 + 8 * i, BigInt(d), le));
  [1, ...(o.voxelSize ?? [1, 1, 1]), 0, 0, 0, 0].forEach((p, i) => dv.setFloat64(104 + 8 * i, p, le));
  dv.setBigInt64(168, 544n, le);
  dv.setFloat64(176, o.slope ?? 1, le); // scl_slope
  dv.setFloat64(184, o.inter ?? 0, le); // scl_inter
  dv.setInt32(348, 1, le); // sform_code
  o.srow.forEach((v, i) => dv.setFloat64(400 + 8 * i, v, le));
  dv.setInt32(500, 2, le);
  for (let i = 0; i < data.length; i++) dv.setInt16(544 + 2 * i, data[i], le);
  return b;
}
