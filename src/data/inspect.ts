// A report on a BraTS data folder: every case, every volume's geometry and values, and every problem.
// Used by `segan inspect`; reads each volume once and keeps none of them.
import path from 'node:path';
import { findCases, MODALITIES, toLabels, type Layout, type Modality } from './brats.ts';
import { readNifti, type NiftiVolume } from './nifti.ts';
import { orientationCode } from './orientation.ts';

export interface VolumeReport {
  kind: Modality | 'seg';
  file: string;
  ok: boolean;
  error?: string;
  shape?: [number, number, number];
  datatype?: string;
  version?: 1 | 2;
  voxelSize?: [number, number, number];
  orientation?: string;
  affineSource?: string;
  /** Header scaling as stored and whether it applies (slope 0 means none). */
  sclSlope?: number;
  scaled?: boolean;
  min?: number;
  max?: number;
  /** Voxels > 0. */
  nonZero?: number;
  /** Segmentation only: voxel count per label. */
  labelCounts?: Record<string, number>;
  warnings?: string[];
}

export interface CaseReport {
  id: string;
  dir: string;
  group: string;
  layout: Layout;
  volumes: VolumeReport[];
  problems: string[];
  notes: string[];
}

export interface InspectReport {
  dataDir: string;
  cases: CaseReport[];
  /** Every problem, prefixed with its case id. */
  problems: string[];
  ok: boolean;
}

/** Labels a BraTS segmentation of this layout may hold. */
export function expectedLabels(layout: Layout): number[] {
  return layout === 'brats2023' ? [0, 1, 2, 3] : [0, 1, 2, 4];
}

const AFFINE_TOLERANCE = 1e-3;

function range(v: NiftiVolume): { min: number; max: number; nonZero: number } {
  let min = Infinity;
  let max = -Infinity;
  let nonZero = 0;
  for (const x of v.data) {
    if (x < min) min = x;
    if (x > max) max = x;
    if (x > 0) nonZero++;
  }
  return { min, max, nonZero };
}

/** Inspects every case under dataDir. `onCase` is called as each case is done (for progress output). */
export async function inspectDataDir(
  dataDir: string,
  opts: { onCase?: (c: CaseReport, i: number, n: number) => void } = {},
): Promise<InspectReport> {
  const found = await findCases(dataDir);
  const cases: CaseReport[] = [];
  const problems: string[] = [];
  if (found.length === 0)
    problems.push(`${dataDir}: no BraTS cases found (expected <case>/<case>_t1ce.nii.gz or <case>/<case>-t1c.nii.gz)`);
  for (const [i, c] of found.entries()) {
    const rep: CaseReport = {
      id: c.id,
      dir: c.dir,
      group: c.group,
      layout: c.layout,
      volumes: [],
      problems: [...c.problems],
      notes: [],
    };
    let first: NiftiVolume | null = null;
    const kinds: Array<Modality | 'seg'> = [...MODALITIES, 'seg'];
    for (const kind of kinds) {
      const file = kind === 'seg' ? c.seg : c.files[kind];
      if (!file) {
        if (kind === 'seg') rep.notes.push('no segmentation');
        else rep.problems.push(`missing ${kind} volume`);
        continue;
      }
      const vr: VolumeReport = { kind, file, ok: false };
      rep.volumes.push(vr);
      let v: NiftiVolume;
      try {
        v = await readNifti(file);
      } catch (e) {
        vr.error = (e as Error).message;
        rep.problems.push(`unreadable ${kind}: ${vr.error}`);
        continue;
      }
      vr.ok = true;
      vr.shape = v.shape;
      vr.datatype = v.datatype;
      vr.version = v.version;
      vr.voxelSize = v.voxelSize;
      vr.orientation = orientationCode(v.affine);
      vr.affineSource = v.affineSource;
      vr.sclSlope = v.sclSlope;
      vr.scaled = v.scaled;
      Object.assign(vr, range(v));
      if (v.warnings.length) {
        vr.warnings = [...v.warnings];
        for (const w of v.warnings) rep.notes.push(`${path.basename(file)}: ${w}`);
      }
      if (!first) first = v;
      else {
        if (v.shape.some((d, k) => d !== first!.shape[k]))
          rep.problems.push(
            `shape mismatch: ${kind} (${path.basename(file)}) ` +
              `is ${v.shape.join('×')}, ${path.basename(first.path)} is ${first.shape.join('×')}`,
          );
        else if (v.affine.some((a, k) => Math.abs(a - first!.affine[k]) > AFFINE_TOLERANCE * Math.max(1, Math.abs(a))))
          rep.problems.push(
            `geometry mismatch: ${kind}'s voxel-to-world affine differs from ${path.basename(first.path)}'s`,
          );
      }
      if (kind === 'seg') {
        try {
          const labels = toLabels(file, v.data);
          const counts = new Array<number>(256).fill(0);
          for (const l of labels) counts[l]++;
          vr.labelCounts = {};
          counts.forEach((n, l) => {
            if (n) vr.labelCounts![l] = n;
          });
          const allowed = expectedLabels(c.layout);
          const odd = Object.keys(vr.labelCounts)
            .map(Number)
            .filter((l) => !allowed.includes(l));
          if (odd.length)
            rep.problems.push(
              `unexpected label(s) ${odd.join(', ')} in seg (${path.basename(file)}; ` +
                `expected ${allowed.join(', ')} for ${c.layout} data)`,
            );
        } catch (e) {
          rep.problems.push(`seg is not a label map: ${(e as Error).message}`);
        }
      } else if (!(vr.max! > 0)) rep.problems.push(`${kind} has no voxel above 0 (empty volume)`);
    }
    if (c.other.length) rep.notes.push(`other files: ${c.other.join(', ')}`);
    for (const p of rep.problems) problems.push(`${c.id}: ${p}`);
    cases.push(rep);
    opts.onCase?.(rep, i, found.length);
  }
  return { dataDir: path.resolve(dataDir), cases, problems, ok: problems.length === 0 };
}
