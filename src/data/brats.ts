// BraTS case discovery and loading.
//
// Layouts found under a folder (at any depth up to `maxDepth`, e.g. HGG/ and LGG/ sub-folders):
//   BraTS 2017–2021  <case>/<case>_{t1,t1ce,t2,flair,seg}.nii.gz
//   BraTS 2023+      <case>/<case>-{t1n,t1c,t2w,t2f,seg}.nii.gz
// (.nii or .nii.gz). Modality names are normalised to t1, t1c, t2, flair.
//
// The labels and the tumour regions they make up: regions.ts.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { readNifti, type NiftiVolume, NiftiError } from './nifti.ts';
import { toCanonical, fromCanonical, type OrientationTransform, type Shape3 } from './orientation.ts';

export type Modality = 't1' | 't1c' | 't2' | 'flair';
export const MODALITIES: readonly Modality[] = ['t1', 't1c', 't2', 'flair'];
export const DEFAULT_MODALITIES: readonly Modality[] = ['t1c', 't2', 'flair'];

export type Layout = 'brats2018' | 'brats2023';

const SUFFIXES: Record<string, { kind: Modality | 'seg' }> = {
  t1: { kind: 't1' },
  t1ce: { kind: 't1c' },
  t1gd: { kind: 't1c' },
  t2: { kind: 't2' },
  flair: { kind: 'flair' },
  t1n: { kind: 't1' },
  t1c: { kind: 't1c' },
  t2w: { kind: 't2' },
  t2f: { kind: 'flair' },
  seg: { kind: 'seg' },
};

/** Normalises a modality name (t1, t1n, t1ce, t1c, t1gd, t2, t2w, flair, t2f, any case) or returns null. */
export function normaliseModality(name: string): Modality | null {
  const k = SUFFIXES[name.toLowerCase()]?.kind;
  return k && k !== 'seg' ? k : null;
}

/** Normalises a list of modality names (aliases such as t1ce or t2f allowed); unknown names are an error. */
export function normaliseModalities(names: readonly string[]): Modality[] {
  return names.map((n) => {
    const m = normaliseModality(n);
    if (!m) throw new Error(`unknown modality '${n}'; known: ${MODALITIES.join(', ')} (or t1n, t1ce, t1gd, t2w, t2f)`);
    return m;
  });
}

const FILE_RE = /^(.+?)([_-])(t1|t1ce|t1gd|t2|flair|t1n|t1c|t2w|t2f|seg)\.nii(\.gz)?$/i;

export interface BratsCase {
  /** The case folder's name, e.g. Brats18_2013_11_1. */
  id: string;
  dir: string;
  /** Path of the case folder's parent relative to the searched root ('' at the top; 'HGG', 'LGG', ...). */
  group: string;
  layout: Layout;
  files: Partial<Record<Modality, string>>;
  seg: string | null;
  /** Files in the case folder that are not recognised. */
  other: string[];
  /** Things wrong with the folder itself (duplicate modality files, mixed layouts). */
  problems: string[];
}

/**
 * Parses a folder's listing into cases: normally one (id = the folder's name), or one per file-name
 * prefix when the folder holds several cases' files side by side (id = the prefix). Empty when the folder
 * holds no BraTS-named volume.
 */
function casesFromListing(dir: string, group: string, names: string[]): BratsCase[] {
  const byPrefix = new Map<string, Array<{ name: string; sep: string; suffix: string }>>();
  const other: string[] = [];
  for (const name of [...names].sort()) {
    const m = FILE_RE.exec(name);
    if (!m) {
      other.push(name);
      continue;
    }
    if (!byPrefix.has(m[1])) byPrefix.set(m[1], []);
    byPrefix.get(m[1])!.push({ name, sep: m[2], suffix: m[3].toLowerCase() });
  }
  const single = byPrefix.size === 1;
  return [...byPrefix.entries()].map(([prefix, list]) => {
    const files: Partial<Record<Modality, string>> = {};
    let seg: string | null = null;
    const problems: string[] = [];
    const layouts = new Set<Layout>();
    for (const { name, sep, suffix } of list) {
      const kind = SUFFIXES[suffix].kind;
      layouts.add(sep === '-' ? 'brats2023' : 'brats2018');
      const p = path.join(dir, name);
      if (kind === 'seg') {
        if (seg) problems.push(`two segmentation files: ${path.basename(seg)} and ${name}`);
        else seg = p;
      } else {
        const prev = files[kind];
        if (prev) problems.push(`two ${kind} files: ${path.basename(prev)} and ${name}`);
        else files[kind] = p;
      }
    }
    if (layouts.size > 1) problems.push('mixes BraTS 2018 (<case>_t1ce) and BraTS 2023 (<case>-t1c) file names');
    const layout: Layout = layouts.has('brats2023') ? 'brats2023' : 'brats2018';
    return {
      id: single ? path.basename(dir) : prefix,
      dir,
      group,
      layout,
      files,
      seg,
      other: single ? other : [],
      problems,
    };
  });
}

/**
 * Finds BraTS cases under `root` (a folder of case folders, possibly grouped one or more levels deep, or a
 * single case folder). Sorted by id. Unreadable folders are skipped.
 */
export async function findCases(root: string, opts: { maxDepth?: number } = {}): Promise<BratsCase[]> {
  const maxDepth = opts.maxDepth ?? 3;
  const out: BratsCase[] = [];
  const visit = async (dir: string, depth: number): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (depth === 0)
        throw new Error(`${dir}: cannot read folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      return;
    }
    const names = entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name);
    const rel = path.relative(root, path.dirname(dir));
    const cs = casesFromListing(dir, depth === 0 ? '' : rel.split(path.sep).join('/'), names);
    if (cs.length) {
      out.push(...cs);
      return;
    }
    if (depth >= maxDepth) return;
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.')) continue;
      const sub = path.join(dir, e.name);
      // follow symbolic links to folders (datasets are often linked in)
      const isDir =
        e.isDirectory() ||
        (e.isSymbolicLink() &&
          (await fsp.stat(sub).then(
            (st) => st.isDirectory(),
            () => false,
          )));
      if (isDir) await visit(sub, depth + 1);
    }
  };
  await visit(root, 0);
  out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const seen = new Map<string, BratsCase>();
  for (const c of out) {
    const d = seen.get(c.id);
    if (d) c.problems.push(`case id ${c.id} also found at ${d.dir}`);
    else seen.set(c.id, c);
  }
  return out;
}

export interface LoadedCase {
  id: string;
  modalities: Modality[];
  /** One canonical (LPS) volume per modality, x fastest: index = x + X*(y + Y*z). */
  images: Float32Array[];
  /** Canonical label map (raw BraTS labels), or null when the case has no segmentation. */
  seg: Uint8Array | null;
  /** Canonical grid [X, Y, Z]; z is the axial axis. */
  shape: Shape3;
  voxelSize: Shape3;
  /** Canonical voxel-to-world affine. */
  affine: Float64Array;
  /** The first modality's volume as read (file grid and header), for writing results back. */
  reference: NiftiVolume;
  /** File grid → canonical grid; fromCanonical(labels, transform) maps back. */
  transform: OrientationTransform;
  /** Source files, in `modalities` order, then the segmentation if any. */
  files: string[];
}

export interface LoadCaseOptions {
  modalities?: readonly Modality[];
  /** Fail when the case has no segmentation (default false: seg is null). */
  requireSeg?: boolean;
}

/** Largest difference between two affines' entries that still counts as "the same grid" (mm). */
const AFFINE_TOLERANCE = 1e-3;

function sameGrid(a: NiftiVolume, b: NiftiVolume): string | null {
  if (a.shape.some((d, i) => d !== b.shape[i]))
    return `shape ${b.shape.join('×')} differs from ${a.shape.join('×')} of ${path.basename(a.path)}`;
  for (let i = 0; i < 16; i++)
    if (Math.abs(a.affine[i] - b.affine[i]) > AFFINE_TOLERANCE * Math.max(1, Math.abs(a.affine[i])))
      return `voxel-to-world affine differs from that of ${path.basename(a.path)}`;
  return null;
}

/** Converts a label volume to Uint8, insisting on integer labels 0..255. */
export function toLabels(file: string, data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!(v >= 0 && v <= 255 && Number.isInteger(v)))
      throw new NiftiError(file, `segmentation voxel ${i} = ${v} is not an integer label in 0..255`);
    out[i] = v;
  }
  return out;
}

/**
 * Loads a case's modalities (and segmentation when present) into canonical orientation. All volumes must
 * share one grid (shape and affine); anything else is an error naming the file.
 */
export async function loadCase(c: string | BratsCase, opts: LoadCaseOptions = {}): Promise<LoadedCase> {
  let bc: BratsCase;
  if (typeof c === 'string') {
    const found = await findCases(c, { maxDepth: 0 });
    if (found.length === 0)
      throw new Error(`${c}: no BraTS volumes (<case>_t1ce.nii.gz, <case>-t1c.nii.gz, ...) in this folder`);
    bc = found[0];
  } else bc = c;
  const modalities = normaliseModalities(opts.modalities ?? DEFAULT_MODALITIES);
  if (modalities.length === 0) throw new Error(`${bc.dir}: no modalities requested`);
  const missing = modalities.filter((m) => !bc.files[m]);
  if (missing.length) throw new Error(`${bc.dir}: case ${bc.id} has no ${missing.join(', ')} volume`);
  if (opts.requireSeg && !bc.seg) throw new Error(`${bc.dir}: case ${bc.id} has no segmentation (<case>_seg.nii.gz)`);

  const files = modalities.map((m) => bc.files[m]!);
  let reference: NiftiVolume | null = null;
  let transform: OrientationTransform | null = null;
  let affine: Float64Array | null = null;
  let voxelSize: Shape3 | null = null;
  const images: Float32Array[] = [];
  for (const f of files) {
    const v = await readNifti(f);
    if (!reference) reference = v;
    else {
      const why = sameGrid(reference, v);
      if (why) throw new NiftiError(f, why);
    }
    const cv = toCanonical(v);
    transform ??= cv.transform;
    affine ??= cv.affine;
    voxelSize ??= cv.voxelSize;
    images.push(cv.data);
  }
  let seg: Uint8Array | null = null;
  if (bc.seg) {
    files.push(bc.seg);
    const v = await readNifti(bc.seg);
    const why = sameGrid(reference!, v);
    if (why) throw new NiftiError(bc.seg, why);
    seg = toCanonical({ ...v, data: toLabels(bc.seg, v.data) }).data;
  }
  return {
    id: bc.id,
    modalities,
    images,
    seg,
    shape: transform!.shape,
    voxelSize: voxelSize!,
    affine: affine!,
    reference: reference!,
    transform: transform!,
    files,
  };
}

/** Maps a canonical label volume back to the case's file grid (for writeNifti with `reference`). */
export function labelsToFileGrid(labels: Uint8Array, c: Pick<LoadedCase, 'transform'>): Uint8Array {
  return fromCanonical(labels, c.transform);
}
