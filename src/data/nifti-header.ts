// NIfTI header parsing, affine construction, .hdr/.img pair discovery and readNiftiHeader.
import fsp from 'node:fs/promises';
import { mat4 } from 'gl-matrix';
import { NIFTI1, NIFTI2 } from 'nifti-reader-js';
import {
  DATATYPES,
  MAX_HEADER_BYTES,
  MAX_VOXELS,
  NiftiError,
  UNSUPPORTED_DATATYPES,
  datatypeFromCode,
  niftiStats,
} from './nifti-types.ts';
import type { AffineSource, NiftiHeader } from './nifti-types.ts';
import { ByteReader } from './nifti-bytes.ts';

// ---------------------------------------------------------------------------------------------------
// Header parsing.

export const NIFTI1_SIZE = 348;
const NIFTI2_SIZE = 540;

function sliceArrayBuffer(b: Buffer, start = 0, end = b.length): ArrayBuffer {
  const out = new ArrayBuffer(end - start);
  new Uint8Array(out).set(b.subarray(start, end));
  return out;
}

function ascii(b: Uint8Array): string {
  return Array.from(b, (c) =>
    c >= 32 && c < 127 ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`,
  ).join('');
}

interface ParsedHeader {
  version: 1 | 2;
  littleEndian: boolean;
  pair: boolean;
  size: number;
  h: NIFTI1 | NIFTI2;
  srow: number[];
}

/** Identifies and parses the fixed-size header in `head` (at least 4 bytes, ideally 540). */
function parseFixedHeader(file: string, head: Buffer): ParsedHeader {
  if (head.length < 4) throw new NiftiError(file, `not a NIfTI file: only ${head.length} bytes`);
  const le = head.readInt32LE(0);
  const be = head.readInt32BE(0);
  let version: 1 | 2;
  let littleEndian: boolean;
  if (le === NIFTI1_SIZE || be === NIFTI1_SIZE) [version, littleEndian] = [1, le === NIFTI1_SIZE];
  else if (le === NIFTI2_SIZE || be === NIFTI2_SIZE) [version, littleEndian] = [2, le === NIFTI2_SIZE];
  else
    throw new NiftiError(
      file,
      `not a NIfTI file: the header size field is ${le} (little-endian) / ${be} (big-endian), ` +
        `expected 348 (NIfTI-1) or 540 (NIfTI-2); first bytes "${ascii(head.subarray(0, 8))}"`,
    );
  const size = version === 1 ? NIFTI1_SIZE : NIFTI2_SIZE;
  if (head.length < size)
    throw new NiftiError(file, `truncated NIfTI-${version} header: ${head.length} of ${size} bytes`);
  let pair: boolean;
  if (version === 1) {
    const m = head.subarray(344, 348);
    const s = ascii(m);
    if (s === 'n+1\\x00') pair = false;
    else if (s === 'ni1\\x00') pair = true;
    else if (m.every((c) => c === 0))
      throw new NiftiError(
        file,
        'an Analyze 7.5 header (no NIfTI magic); Analyze files are not supported, convert them to NIfTI',
      );
    else throw new NiftiError(file, `wrong NIfTI-1 magic "${s}" (expected "n+1\\x00" or "ni1\\x00")`);
  } else {
    const s = ascii(head.subarray(4, 12));
    if (s === 'n+2\\x00\\x0d\\x0a\\x1a\\x0a') pair = false;
    else if (s === 'ni2\\x00\\x0d\\x0a\\x1a\\x0a') pair = true;
    else
      throw new NiftiError(
        file,
        `wrong NIfTI-2 magic "${s}" (expected "n+2\\x00\\x0d\\x0a\\x1a\\x0a"; ` +
          `a damaged one suggests a text-mode transfer)`,
      );
  }
  // nifti-reader-js parses the fields; we hand it exactly the fixed header so it does not walk extensions.
  const h = version === 1 ? new NIFTI1() : new NIFTI2();
  try {
    h.readHeader(sliceArrayBuffer(head, 0, size));
  } catch (e) {
    throw new NiftiError(file, `unreadable NIfTI-${version} header (${(e as Error).message})`);
  }
  if (h.littleEndian !== littleEndian) throw new NiftiError(file, 'inconsistent header byte order');
  const dv = new DataView(head.buffer, head.byteOffset, size);
  const srow: number[] = [];
  for (let i = 0; i < 12; i++)
    srow.push(version === 1 ? dv.getFloat32(280 + 4 * i, littleEndian) : dv.getFloat64(400 + 8 * i, littleEndian));
  return { version, littleEndian, pair, size, h, srow };
}

/** qform (quaternion) to a voxel-to-world matrix, as nifti1_io.c's quatern_to_mat44 does. */
function qformAffine(q: [number, number, number], off: [number, number, number], pixdim: number[]): Float64Array {
  let [b, c, d] = q;
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) {
    const n = 1 / Math.sqrt(b * b + c * c + d * d);
    b *= n;
    c *= n;
    d *= n;
    a = 0;
  } else a = Math.sqrt(a);
  const xd = pixdim[1] > 0 ? pixdim[1] : 1;
  const yd = pixdim[2] > 0 ? pixdim[2] : 1;
  let zd = pixdim[3] > 0 ? pixdim[3] : 1;
  if (pixdim[0] < 0) zd = -zd;
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const m = new Float64Array(16);
  // gl-matrix is column-major: m[col*4 + row]
  mat4.set(
    m,
    r[0][0] * xd,
    r[1][0] * xd,
    r[2][0] * xd,
    0,
    r[0][1] * yd,
    r[1][1] * yd,
    r[2][1] * yd,
    0,
    r[0][2] * zd,
    r[1][2] * zd,
    r[2][2] * zd,
    0,
    off[0],
    off[1],
    off[2],
    1,
  );
  return m;
}

function srowAffine(s: number[]): Float64Array {
  const m = new Float64Array(16);
  mat4.set(m, s[0], s[4], s[8], 0, s[1], s[5], s[9], 0, s[2], s[6], s[10], 0, s[3], s[7], s[11], 1);
  return m;
}

function diagAffine(v: [number, number, number]): Float64Array {
  const m = new Float64Array(16);
  mat4.identity(m);
  m[0] = v[0];
  m[5] = v[1];
  m[10] = v[2];
  return m;
}

function usableAffine(m: Float64Array): boolean {
  if (!m.every(Number.isFinite)) return false;
  return Math.abs(mat4.determinant(m)) > 1e-12;
}

/** Row-major 4x4 view of a gl-matrix affine, for printing and tests. */
export function affineRows(m: ArrayLike<number>): number[][] {
  return [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => m[c * 4 + r]));
}

/** Builds the NiftiHeader from the parsed fields and validates dims and offsets. */
function buildHeader(
  p: ParsedHeader,
  files: { path: string; headerPath: string; imagePath: string; compressed: boolean },
  rawHeader: Uint8Array,
  maxVoxels: number,
): NiftiHeader {
  const { h } = p;
  const f = files.headerPath;
  const warnings: string[] = [];
  const ndim = Number(h.dims[0]);
  if (!Number.isInteger(ndim) || ndim < 1 || ndim > 7)
    throw new NiftiError(f, `invalid dim[0] = ${h.dims[0]} (must be 1..7)`);
  const dims: number[] = [];
  for (let i = 1; i <= ndim; i++) {
    const d = Number(h.dims[i]);
    if (!Number.isSafeInteger(d) || d < 1)
      throw new NiftiError(f, `invalid dim[${i}] = ${h.dims[i]} (must be a positive integer)`);
    if (d > 2 ** 31 - 1) throw new NiftiError(f, `dim[${i}] = ${d} is absurdly large`);
    dims.push(d);
  }
  const shape: [number, number, number] = [dims[0] ?? 1, dims[1] ?? 1, dims[2] ?? 1];
  const voxels = shape[0] * shape[1] * shape[2];
  if (voxels > maxVoxels)
    throw new NiftiError(
      f,
      `volume of ${shape.join('×')} = ${voxels} voxels exceeds the limit of ${maxVoxels} voxels (corrupt header?)`,
    );
  let frames = 1;
  for (let i = 3; i < dims.length; i++) {
    frames *= dims[i];
    if (!Number.isSafeInteger(frames * voxels)) throw new NiftiError(f, `dims ${dims.join('×')} overflow`);
  }
  const code = Number(h.datatypeCode);
  const datatype = datatypeFromCode(code);
  if (!datatype) {
    const name = UNSUPPORTED_DATATYPES[code];
    throw new NiftiError(
      f,
      `unsupported datatype ${code}${name ? ` (${name})` : ' (not a NIfTI datatype code)'}; ` +
        `supported: ${Object.keys(DATATYPES).join(', ')}`,
    );
  }
  const bytes = DATATYPES[datatype].bytes;
  if (Number(h.numBitsPerVoxel) !== bytes * 8)
    warnings.push(
      `bitpix ${h.numBitsPerVoxel} disagrees with datatype ${datatype} (${bytes * 8} bits); using the datatype`,
    );

  const voxOffset = Number(h.vox_offset);
  if (!Number.isFinite(voxOffset) || voxOffset < 0 || !Number.isInteger(voxOffset))
    throw new NiftiError(f, `invalid vox_offset ${h.vox_offset}`);
  if (!p.pair && voxOffset < p.size)
    throw new NiftiError(f, `vox_offset ${voxOffset} lies inside the ${p.size}-byte header`);
  if (voxOffset > MAX_HEADER_BYTES)
    throw new NiftiError(
      f,
      `vox_offset ${voxOffset} exceeds the ${MAX_HEADER_BYTES}-byte header limit (corrupt header?)`,
    );

  const pixdim = Array.from({ length: 8 }, (_, i) => Number(h.pixDims[i] ?? 0));
  const voxelSize = [1, 2, 3].map((i) => {
    const v = Math.abs(pixdim[i]);
    if (i <= ndim && !(Number.isFinite(v) && v > 0)) {
      warnings.push(`pixdim[${i}] = ${pixdim[i]}; using 1`);
      return 1;
    }
    return Number.isFinite(v) && v > 0 ? v : 1;
  }) as [number, number, number];

  const slope = Number(h.scl_slope);
  const inter = Number(h.scl_inter);
  const scaled = Number.isFinite(slope) && slope !== 0 && !(slope === 1 && (inter === 0 || !Number.isFinite(inter)));

  const qformCode = Number(h.qform_code);
  const sformCode = Number(h.sform_code);
  const quatern: [number, number, number] = [Number(h.quatern_b), Number(h.quatern_c), Number(h.quatern_d)];
  const qoffset: [number, number, number] = [Number(h.qoffset_x), Number(h.qoffset_y), Number(h.qoffset_z)];
  let affine: Float64Array | null = null;
  let affineSource: AffineSource = 'pixdim';
  if (sformCode > 0) {
    const a = srowAffine(p.srow);
    if (usableAffine(a)) [affine, affineSource] = [a, 'sform'];
    else warnings.push(`sform (code ${sformCode}) is singular or not finite; ignored`);
  }
  if (!affine && qformCode > 0) {
    const a = qformAffine(quatern, qoffset, pixdim);
    if (usableAffine(a)) [affine, affineSource] = [a, 'qform'];
    else warnings.push(`qform (code ${qformCode}) is not finite; ignored`);
  }
  if (!affine) affine = diagAffine(voxelSize);
  for (let i = 0; i < 16; i++) affine[i] += 0; // no -0 entries

  return {
    path: files.path,
    headerPath: files.headerPath,
    imagePath: files.imagePath,
    version: p.version,
    littleEndian: p.littleEndian,
    pair: p.pair,
    compressed: files.compressed,
    datatype,
    datatypeCode: code,
    bitpix: Number(h.numBitsPerVoxel),
    dims,
    shape,
    frames,
    pixdim,
    voxelSize,
    xyztUnits: Number(h.xyzt_units),
    dimInfo: Number(h.dim_info),
    intentCode: Number(h.intent_code),
    description: String(h.description ?? '').replace(/\0+$/, ''),
    sclSlope: slope,
    sclInter: inter,
    scaled,
    qformCode,
    sformCode,
    quatern,
    qoffset,
    srow: p.srow,
    affine,
    affineSource,
    voxOffset,
    rawHeader,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------------
// File discovery for pairs.

const PAIR_RE = /\.(hdr|img)(\.gz)?$/i;

async function exists(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

async function findCompanion(file: string, want: 'hdr' | 'img'): Promise<string | null> {
  const base = file.replace(PAIR_RE, '');
  const upper = /\.(HDR|IMG)(\.GZ)?$/.test(file);
  const exts = [`.${want}`, `.${want}.gz`];
  for (const e of upper ? [...exts.map((x) => x.toUpperCase()), ...exts] : exts) {
    if (await exists(base + e)) return base + e;
  }
  return null;
}

interface Opened {
  header: NiftiHeader;
  /** A reader positioned at the start of the image data (byte voxOffset of the image file). */
  reader: ByteReader;
}

export async function openNifti(file: string, maxVoxels: number): Promise<Opened> {
  let headerPath = file;
  const m = PAIR_RE.exec(file);
  if (m && m[1].toLowerCase() === 'img') {
    const hdr = await findCompanion(file, 'hdr');
    if (!hdr) throw new NiftiError(file, 'image file of a .hdr/.img pair, but no matching .hdr or .hdr.gz was found');
    headerPath = hdr;
  }
  let reader = await ByteReader.open(headerPath);
  try {
    const first = await reader.read(4);
    const size =
      first.length === 4 && (first.readInt32LE(0) === NIFTI2_SIZE || first.readInt32BE(0) === NIFTI2_SIZE)
        ? NIFTI2_SIZE
        : NIFTI1_SIZE;
    const head = Buffer.concat([first, await reader.read(first.length === 4 ? size - 4 : 0)]);
    const p = parseFixedHeader(headerPath, head);
    if (!p.pair) {
      // Single file: the header, its extensions, then the voxels.
      const header = buildHeader(
        p,
        { path: file, headerPath, imagePath: headerPath, compressed: reader.compressed },
        head,
        maxVoxels,
      );
      const more = await reader.read(header.voxOffset - head.length);
      if (more.length < header.voxOffset - head.length)
        throw new NiftiError(
          headerPath,
          `file ends inside the header/extensions (vox_offset ${header.voxOffset}, ` +
            `only ${head.length + more.length} bytes${reader.compressed ? ' after decompression' : ''})`,
        );
      header.rawHeader = new Uint8Array(Buffer.concat([head, more]));
      return { header, reader };
    }
    // Pair: header from the .hdr, voxels from the .img at vox_offset.
    reader.close();
    const rawHeader = new Uint8Array(head.subarray(0, p.size));
    const img = m && m[1].toLowerCase() === 'img' ? file : await findCompanion(headerPath, 'img');
    if (!img)
      throw new NiftiError(
        headerPath,
        'a .hdr/.img pair header (magic ni1/ni2), but no matching .img or .img.gz was found',
      );
    reader = await ByteReader.open(img);
    const header = buildHeader(
      p,
      { path: file, headerPath, imagePath: img, compressed: reader.compressed },
      rawHeader,
      maxVoxels,
    );
    if (header.voxOffset > 0) {
      const skipped = await reader.read(header.voxOffset);
      if (skipped.length < header.voxOffset)
        throw new NiftiError(img, `file ends before vox_offset ${header.voxOffset} given in ${headerPath}`);
    }
    return { header, reader };
  } catch (e) {
    reader.close();
    throw e;
  }
}

/** Reads only the header of a NIfTI file (cheap: decompresses just the first bytes). */
export async function readNiftiHeader(file: string, opts: { maxVoxels?: number } = {}): Promise<NiftiHeader> {
  const { header, reader } = await openNifti(file, opts.maxVoxels ?? MAX_VOXELS);
  reader.close();
  niftiStats.headerReads++;
  return header;
}
