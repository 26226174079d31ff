// NIfTI-1 / NIfTI-2 reading and writing for MRI volumes (pure CPU; no GPU, no segan imports).
//
// Reading: .nii, .nii.gz and .hdr/.img pairs (either part may be gzipped), NIfTI-1 and NIfTI-2, little-
// and big-endian. Header fields are parsed by nifti-reader-js; everything that touches the voxel data
// (decompression, bounds, conversion, scaling) is done here so that corrupt input fails with a clear
// error that names the file instead of crashing, hanging or allocating without bound:
//   - gzip is decompressed as a stream and only as far as the requested volume; a truncated or corrupt
//     stream is an error; nothing is buffered beyond the header and one 1 MiB conversion block;
//   - the header's dims are checked (dim[0] in 1..7, every used dim >= 1, products are safe integers) and a
//     volume has at most `maxVoxels` voxels (default MAX_VOXELS = 2^28, i.e. a 1 GiB Float32Array);
//   - the header (with extensions) is at most MAX_HEADER_BYTES; a file that ends before the data the header
//     declares is an error, checked before the output is allocated where the file size allows it.
// Voxel values come back as a Float32Array (x fastest, then y, then z: index = x + X*(y + Y*z)) with
// scl_slope / scl_inter applied (a slope of 0 or NaN means "no scaling", as the standard says). Float64
// and 32-bit integer data beyond 2^24 therefore lose precision; that is fine for MR intensities and labels.
//
// Writing: NIfTI-1, little-endian, .nii.gz (or .nii), geometry copied from a reference header, written to a
// temporary file in the same folder and renamed into place.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { mat4 } from 'gl-matrix';
import { NIFTI1, NIFTI2 } from 'nifti-reader-js';

/** Largest number of voxels in one 3-D volume that readNifti accepts by default (2^28: 1 GiB as float32). */
export const MAX_VOXELS = 2 ** 28;
/** Largest header (including extensions) that readNifti accepts. */
export const MAX_HEADER_BYTES = 16 * 2 ** 20;

export type NiftiDatatype = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

/** NIfTI datatype codes we read and write, with their byte sizes. */
export const DATATYPES: Record<NiftiDatatype, { code: number; bytes: number }> = {
  uint8: { code: 2, bytes: 1 },
  int16: { code: 4, bytes: 2 },
  int32: { code: 8, bytes: 4 },
  float32: { code: 16, bytes: 4 },
  float64: { code: 64, bytes: 8 },
  int8: { code: 256, bytes: 1 },
  uint16: { code: 512, bytes: 2 },
  uint32: { code: 768, bytes: 4 },
};

const UNSUPPORTED_DATATYPES: Record<number, string> = {
  0: 'NONE/unknown',
  1: 'binary (1 bit)',
  32: 'complex64',
  128: 'RGB24',
  1024: 'int64',
  1280: 'uint64',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'RGBA32',
};

function datatypeFromCode(code: number): NiftiDatatype | null {
  for (const [name, d] of Object.entries(DATATYPES)) if (d.code === code) return name as NiftiDatatype;
  return null;
}

/** An error about one file: the message starts with the file's path. */
export class NiftiError extends Error {
  constructor(
    readonly file: string,
    what: string,
  ) {
    super(`${file}: ${what}`);
    this.name = 'NiftiError';
  }
}

export type AffineSource = 'sform' | 'qform' | 'pixdim';

/** Everything about a NIfTI file except its voxels. */
export interface NiftiHeader {
  /** The file that was asked for. */
  path: string;
  /** The file holding the header (the .hdr of a pair, else `path`). */
  headerPath: string;
  /** The file holding the voxels (the .img of a pair, else `path`). */
  imagePath: string;
  version: 1 | 2;
  littleEndian: boolean;
  /** True for a .hdr/.img pair (magic ni1 / ni2). */
  pair: boolean;
  /** Whether the image file is gzip-compressed. */
  compressed: boolean;
  datatype: NiftiDatatype;
  datatypeCode: number;
  bitpix: number;
  /** dim[1..dim[0]] as stored. */
  dims: number[];
  /** The three spatial dims [X, Y, Z] (1 where the file has fewer than three). */
  shape: [number, number, number];
  /** Number of 3-D volumes (product of dim[4..dim[0]]). */
  frames: number;
  /** pixdim[0..7] as stored (pixdim[0] is qfac). */
  pixdim: number[];
  /** |pixdim[1..3]| (1 where missing, zero or not finite). */
  voxelSize: [number, number, number];
  xyztUnits: number;
  dimInfo: number;
  intentCode: number;
  description: string;
  /** scl_slope / scl_inter as stored; `scaled` says whether they are applied (slope finite and non-zero). */
  sclSlope: number;
  sclInter: number;
  scaled: boolean;
  qformCode: number;
  sformCode: number;
  /** quatern_b, quatern_c, quatern_d */
  quatern: [number, number, number];
  /** qoffset_x, qoffset_y, qoffset_z */
  qoffset: [number, number, number];
  /** srow_x, srow_y, srow_z (12 numbers, row-major). */
  srow: number[];
  /** Voxel (i, j, k) to world (x, y, z) in mm, a gl-matrix mat4 (column-major Float64Array). */
  affine: Float64Array;
  affineSource: AffineSource;
  /** Byte offset of the voxels in the image file. */
  voxOffset: number;
  /** The header bytes as stored: [0, vox_offset) of a single file (extensions included), the .hdr of a pair. */
  rawHeader: Uint8Array;
  /** Things that are odd but readable (bitpix disagreeing with the datatype, zero voxel sizes, ...). */
  warnings: string[];
}

export interface NiftiVolume extends NiftiHeader {
  /** Scaled voxel values, x fastest: index = x + X*(y + Y*z). */
  data: Float32Array;
  /** Which 3-D volume of a 4-D/5-D file this is (0 for 3-D files). */
  frame: number;
}

export interface ReadNiftiOptions {
  /**
   * Which 3-D volume to read from a file with more than one (4-D/5-D). Without it such a file is an
   * error: a modality must be a single 3-D volume.
   */
  frame?: number;
  /** Most voxels one 3-D volume may have (default MAX_VOXELS). */
  maxVoxels?: number;
}

/** How many NIfTI volumes this process has read (readNifti calls that returned); for tests and logs. */
export const niftiStats = { reads: 0, headerReads: 0 };

// ---------------------------------------------------------------------------------------------------
// Byte sources: sequential reading of a plain or gzipped file, with bounded buffering.

const GZIP_MAGIC = [0x1f, 0x8b];
/** The largest expansion a deflate stream can achieve (used to reject impossibly short .gz files early). */
const MAX_DEFLATE_RATIO = 1032;

async function peekBytes(file: string, n: number): Promise<{ head: Buffer; size: number }> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    throw new NiftiError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NiftiError(file, 'is not a regular file');
    const head = Buffer.alloc(Math.min(n, st.size));
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return { head: head.subarray(0, bytesRead), size: st.size };
  } finally {
    await fh.close();
  }
}

/** Sequential reader over a file's (decompressed) bytes. Always call close(). */
class ByteReader {
  private readonly it: AsyncIterator<Buffer>;
  private readonly streams: NodeJS.ReadableStream[];
  private queue: Buffer[] = [];
  private queued = 0;
  private done = false;
  /** Bytes consumed so far (position in the decompressed stream). */
  position = 0;

  private constructor(
    readonly file: string,
    readonly compressed: boolean,
    readonly fileSize: number,
  ) {
    const raw = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    if (compressed) {
      const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
      raw.on('error', (e) => gunzip.destroy(e));
      raw.pipe(gunzip);
      this.streams = [raw, gunzip];
      this.it = gunzip[Symbol.asyncIterator]();
    } else {
      this.streams = [raw];
      this.it = raw[Symbol.asyncIterator]();
    }
  }

  static async open(file: string): Promise<ByteReader> {
    const { head, size } = await peekBytes(file, 2);
    const gz = head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
    return new ByteReader(file, gz, size);
  }

  /** Upper bound on the number of bytes this file can yield. */
  get maxBytes(): number {
    return this.compressed ? this.fileSize * MAX_DEFLATE_RATIO : this.fileSize;
  }

  private async pull(): Promise<boolean> {
    if (this.done) return false;
    let r: IteratorResult<Buffer>;
    try {
      r = await this.it.next();
    } catch (e) {
      throw this.streamError(e as NodeJS.ErrnoException);
    }
    if (r.done) {
      this.done = true;
      return false;
    }
    this.queue.push(r.value);
    this.queued += r.value.length;
    return true;
  }

  private streamError(e: NodeJS.ErrnoException): NiftiError {
    const at = this.position + this.queued;
    if (!this.compressed) return new NiftiError(this.file, `read error after ${at} bytes (${e.code ?? e.message})`);
    if (e.code === 'Z_BUF_ERROR' || /unexpected end/i.test(e.message))
      return new NiftiError(this.file, `gzip data is truncated (unexpected end of file after ${at} decompressed bytes)`);
    return new NiftiError(this.file, `gzip data is corrupt after ${at} decompressed bytes (${e.message})`);
  }

  /** Exactly n bytes, or fewer if the stream ends first (the caller decides whether that is an error). */
  async read(n: number): Promise<Buffer> {
    while (this.queued < n && (await this.pull()));
    const take = Math.min(n, this.queued);
    const out = Buffer.allocUnsafe(take);
    let filled = 0;
    while (filled < take) {
      const b = this.queue[0];
      const k = Math.min(b.length, take - filled);
      b.copy(out, filled, 0, k);
      filled += k;
      if (k === b.length) this.queue.shift();
      else this.queue[0] = b.subarray(k);
    }
    this.queued -= take;
    this.position += take;
    return out;
  }

  /** Feeds the next n bytes to sink in chunks; returns how many there were (< n if the stream ended). */
  async forEach(n: number, sink: (chunk: Buffer) => void): Promise<number> {
    let left = n;
    while (left > 0) {
      if (this.queue.length === 0 && !(await this.pull())) break;
      const b = this.queue[0];
      const k = Math.min(b.length, left);
      if (k === b.length) this.queue.shift();
      else this.queue[0] = b.subarray(k);
      this.queued -= k;
      this.position += k;
      left -= k;
      sink(b.subarray(0, k));
    }
    return n - left;
  }

  close(): void {
    for (const s of this.streams) {
      // A stream closed before it was ever read has no error listener yet (the async iterator adds one on its
      // first next()): if its file vanishes before the deferred open runs, the ENOENT would otherwise be an
      // uncaught exception after readNifti has already returned. Errors after close() are of no interest.
      s.on('error', () => {});
      (s as unknown as { destroy(): void }).destroy();
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Header parsing.

const NIFTI1_SIZE = 348;
const NIFTI2_SIZE = 540;

function sliceArrayBuffer(b: Buffer, start = 0, end = b.length): ArrayBuffer {
  const out = new ArrayBuffer(end - start);
  new Uint8Array(out).set(b.subarray(start, end));
  return out;
}

function ascii(b: Uint8Array): string {
  return Array.from(b, (c) => (c >= 32 && c < 127 ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');
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
      `not a NIfTI file: the header size field is ${le} (little-endian) / ${be} (big-endian), expected 348 (NIfTI-1) or 540 (NIfTI-2); first bytes "${ascii(head.subarray(0, 8))}"`,
    );
  const size = version === 1 ? NIFTI1_SIZE : NIFTI2_SIZE;
  if (head.length < size) throw new NiftiError(file, `truncated NIfTI-${version} header: ${head.length} of ${size} bytes`);
  let pair: boolean;
  if (version === 1) {
    const m = head.subarray(344, 348);
    const s = ascii(m);
    if (s === 'n+1\\x00') pair = false;
    else if (s === 'ni1\\x00') pair = true;
    else if (m.every((c) => c === 0))
      throw new NiftiError(file, 'an Analyze 7.5 header (no NIfTI magic); Analyze files are not supported, convert them to NIfTI');
    else throw new NiftiError(file, `wrong NIfTI-1 magic "${s}" (expected "n+1\\x00" or "ni1\\x00")`);
  } else {
    const s = ascii(head.subarray(4, 12));
    if (s === 'n+2\\x00\\x0d\\x0a\\x1a\\x0a') pair = false;
    else if (s === 'ni2\\x00\\x0d\\x0a\\x1a\\x0a') pair = true;
    else throw new NiftiError(file, `wrong NIfTI-2 magic "${s}" (expected "n+2\\x00\\x0d\\x0a\\x1a\\x0a"; a damaged one suggests a text-mode transfer)`);
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
    r[0][0] * xd, r[1][0] * xd, r[2][0] * xd, 0,
    r[0][1] * yd, r[1][1] * yd, r[2][1] * yd, 0,
    r[0][2] * zd, r[1][2] * zd, r[2][2] * zd, 0,
    off[0], off[1], off[2], 1,
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
  if (!Number.isInteger(ndim) || ndim < 1 || ndim > 7) throw new NiftiError(f, `invalid dim[0] = ${h.dims[0]} (must be 1..7)`);
  const dims: number[] = [];
  for (let i = 1; i <= ndim; i++) {
    const d = Number(h.dims[i]);
    if (!Number.isSafeInteger(d) || d < 1) throw new NiftiError(f, `invalid dim[${i}] = ${h.dims[i]} (must be a positive integer)`);
    if (d > 2 ** 31 - 1) throw new NiftiError(f, `dim[${i}] = ${d} is absurdly large`);
    dims.push(d);
  }
  const shape: [number, number, number] = [dims[0] ?? 1, dims[1] ?? 1, dims[2] ?? 1];
  const voxels = shape[0] * shape[1] * shape[2];
  if (voxels > maxVoxels)
    throw new NiftiError(f, `volume of ${shape.join('×')} = ${voxels} voxels exceeds the limit of ${maxVoxels} voxels (corrupt header?)`);
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
      `unsupported datatype ${code}${name ? ` (${name})` : ' (not a NIfTI datatype code)'}; supported: ${Object.keys(DATATYPES).join(', ')}`,
    );
  }
  const bytes = DATATYPES[datatype].bytes;
  if (Number(h.numBitsPerVoxel) !== bytes * 8)
    warnings.push(`bitpix ${h.numBitsPerVoxel} disagrees with datatype ${datatype} (${bytes * 8} bits); using the datatype`);

  const voxOffset = Number(h.vox_offset);
  if (!Number.isFinite(voxOffset) || voxOffset < 0 || !Number.isInteger(voxOffset))
    throw new NiftiError(f, `invalid vox_offset ${h.vox_offset}`);
  if (!p.pair && voxOffset < p.size) throw new NiftiError(f, `vox_offset ${voxOffset} lies inside the ${p.size}-byte header`);
  if (voxOffset > MAX_HEADER_BYTES) throw new NiftiError(f, `vox_offset ${voxOffset} exceeds the ${MAX_HEADER_BYTES}-byte header limit (corrupt header?)`);

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

async function openNifti(file: string, maxVoxels: number): Promise<Opened> {
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
    const size = first.length === 4 && (first.readInt32LE(0) === NIFTI2_SIZE || first.readInt32BE(0) === NIFTI2_SIZE) ? NIFTI2_SIZE : NIFTI1_SIZE;
    const head = Buffer.concat([first, await reader.read(first.length === 4 ? size - 4 : 0)]);
    const p = parseFixedHeader(headerPath, head);
    if (!p.pair) {
      // Single file: the header, its extensions, then the voxels.
      const header = buildHeader(p, { path: file, headerPath, imagePath: headerPath, compressed: reader.compressed }, head, maxVoxels);
      const more = await reader.read(header.voxOffset - head.length);
      if (more.length < header.voxOffset - head.length)
        throw new NiftiError(
          headerPath,
          `file ends inside the header/extensions (vox_offset ${header.voxOffset}, only ${head.length + more.length} bytes${reader.compressed ? ' after decompression' : ''})`,
        );
      header.rawHeader = new Uint8Array(Buffer.concat([head, more]));
      return { header, reader };
    }
    // Pair: header from the .hdr, voxels from the .img at vox_offset.
    reader.close();
    const rawHeader = new Uint8Array(head.subarray(0, p.size));
    const img = m && m[1].toLowerCase() === 'img' ? file : await findCompanion(headerPath, 'img');
    if (!img) throw new NiftiError(headerPath, 'a .hdr/.img pair header (magic ni1/ni2), but no matching .img or .img.gz was found');
    reader = await ByteReader.open(img);
    const header = buildHeader(p, { path: file, headerPath, imagePath: img, compressed: reader.compressed }, rawHeader, maxVoxels);
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

// ---------------------------------------------------------------------------------------------------
// Voxel conversion.

type TypedArray = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

function viewAs(dt: NiftiDatatype, buf: ArrayBuffer, n: number): TypedArray {
  switch (dt) {
    case 'uint8':
      return new Uint8Array(buf, 0, n);
    case 'int8':
      return new Int8Array(buf, 0, n);
    case 'int16':
      return new Int16Array(buf, 0, n);
    case 'uint16':
      return new Uint16Array(buf, 0, n);
    case 'int32':
      return new Int32Array(buf, 0, n);
    case 'uint32':
      return new Uint32Array(buf, 0, n);
    case 'float32':
      return new Float32Array(buf, 0, n);
    case 'float64':
      return new Float64Array(buf, 0, n);
  }
}

const HOST_LE = os.endianness() === 'LE';

/** Converts a stream of raw voxel bytes into Float32 values, scaling as it goes. */
class VoxelConverter {
  private readonly scratch: ArrayBuffer;
  private readonly bytes: Uint8Array;
  private fill = 0;
  count = 0;

  constructor(
    private readonly out: Float32Array,
    private readonly dt: NiftiDatatype,
    private readonly swap: boolean,
    private readonly slope: number,
    private readonly inter: number,
    private readonly scaled: boolean,
  ) {
    this.scratch = new ArrayBuffer(1 << 20); // a multiple of 8: whole voxels only
    this.bytes = new Uint8Array(this.scratch);
  }

  push = (chunk: Uint8Array): void => {
    let off = 0;
    while (off < chunk.length) {
      const k = Math.min(chunk.length - off, this.bytes.length - this.fill);
      this.bytes.set(chunk.subarray(off, off + k), this.fill);
      this.fill += k;
      off += k;
      if (this.fill === this.bytes.length) this.flush();
    }
  };

  flush(): void {
    const bpv = DATATYPES[this.dt].bytes;
    const n = Math.floor(this.fill / bpv);
    if (n === 0) return;
    const b = Buffer.from(this.scratch, 0, n * bpv);
    if (this.swap) {
      if (bpv === 2) b.swap16();
      else if (bpv === 4) b.swap32();
      else if (bpv === 8) b.swap64();
    }
    const src = viewAs(this.dt, this.scratch, n);
    const out = this.out;
    const base = this.count;
    if (this.scaled) {
      const s = this.slope;
      const c = Number.isFinite(this.inter) ? this.inter : 0;
      for (let i = 0; i < n; i++) out[base + i] = src[i] * s + c;
    } else {
      out.set(src, base);
    }
    this.count += n;
    const rest = this.fill - n * bpv;
    if (rest > 0) this.bytes.copyWithin(0, n * bpv, this.fill);
    this.fill = rest;
  }
}

/**
 * Reads a NIfTI volume: .nii, .nii.gz, or a .hdr/.img pair (pass either file; either may be .gz).
 * Throws NiftiError (message starting with the file's path) on anything unreadable.
 */
export async function readNifti(file: string, opts: ReadNiftiOptions = {}): Promise<NiftiVolume> {
  const maxVoxels = opts.maxVoxels ?? MAX_VOXELS;
  const { header, reader } = await openNifti(file, maxVoxels);
  try {
    const f = header.imagePath;
    if (header.frames > 1 && opts.frame === undefined)
      throw new NiftiError(
        header.path,
        `has ${header.frames} volumes (dims ${header.dims.join('×')}); a modality must be one 3-D volume (pass { frame } to read one of them)`,
      );
    const frame = opts.frame ?? 0;
    if (!Number.isInteger(frame) || frame < 0 || frame >= header.frames)
      throw new NiftiError(header.path, `frame ${opts.frame} out of range (the file has ${header.frames})`);
    const voxels = header.shape[0] * header.shape[1] * header.shape[2];
    const bpv = DATATYPES[header.datatype].bytes;
    const frameBytes = voxels * bpv;
    const skip = frame * frameBytes;
    const needed = header.voxOffset + skip + frameBytes; // bytes of the image file up to the end of this frame
    const declared = header.voxOffset + header.frames * frameBytes;
    if (needed > reader.maxBytes)
      throw new NiftiError(
        f,
        `truncated: the header declares ${header.dims.join('×')} ${header.datatype} (${declared} bytes with the header) but the file has only ${reader.fileSize}${reader.compressed ? ' compressed' : ''} bytes`,
      );
    if (!reader.compressed && reader.fileSize > declared)
      header.warnings.push(`${reader.fileSize - declared} bytes after the image data (dims may be wrong)`);
    if (skip > 0) {
      const got = await reader.forEach(skip, () => {});
      if (got < skip) throw truncated(header, reader, declared);
    }
    const data = new Float32Array(voxels);
    const conv = new VoxelConverter(data, header.datatype, header.littleEndian !== HOST_LE, header.sclSlope, header.sclInter, header.scaled);
    const got = await reader.forEach(frameBytes, conv.push);
    conv.flush();
    if (got < frameBytes || conv.count !== voxels) throw truncated(header, reader, declared);
    if (header.datatype === 'float32' || header.datatype === 'float64') {
      for (let i = 0; i < voxels; i++) {
        if (!Number.isFinite(data[i])) {
          header.warnings.push(`non-finite voxel values (first at index ${i})`);
          break;
        }
      }
    }
    niftiStats.reads++;
    return { ...header, data, frame };
  } finally {
    reader.close();
  }
}

function truncated(h: NiftiHeader, r: ByteReader, declared: number): NiftiError {
  return new NiftiError(
    h.imagePath,
    `truncated: the header declares ${h.dims.join('×')} ${h.datatype} (${declared} bytes with the header) but the ${r.compressed ? 'decompressed data ends' : 'file ends'} after ${r.position} bytes`,
  );
}

/**
 * A header for a new 3-D volume with the given grid and voxel-to-world affine (gl-matrix mat4), usable as
 * `like` in writeNifti: NIfTI-1, sform_code 2 (aligned) holding the affine, no qform, units mm.
 */
export function createNiftiHeader(shape: [number, number, number], affine: ArrayLike<number>, opts: { description?: string; path?: string } = {}): NiftiHeader {
  if (affine.length !== 16) throw new Error('createNiftiHeader: the affine must be a 4x4 (16-element, column-major) matrix');
  const a = Float64Array.from(affine);
  const voxelSize = [0, 1, 2].map((c) => Math.hypot(a[c * 4], a[c * 4 + 1], a[c * 4 + 2]) || 1) as [number, number, number];
  const srow = [0, 1, 2].flatMap((r) => [0, 1, 2, 3].map((c) => a[c * 4 + r]));
  return {
    path: opts.path ?? '(new volume)',
    headerPath: opts.path ?? '(new volume)',
    imagePath: opts.path ?? '(new volume)',
    version: 1,
    littleEndian: true,
    pair: false,
    compressed: false,
    datatype: 'float32',
    datatypeCode: DATATYPES.float32.code,
    bitpix: 32,
    dims: [...shape],
    shape: [...shape] as [number, number, number],
    frames: 1,
    pixdim: [1, ...voxelSize, 0, 0, 0, 0],
    voxelSize,
    xyztUnits: 2,
    dimInfo: 0,
    intentCode: 0,
    description: opts.description ?? '',
    sclSlope: 1,
    sclInter: 0,
    scaled: false,
    qformCode: 0,
    sformCode: 2,
    quatern: [0, 0, 0],
    qoffset: [a[12], a[13], a[14]],
    srow,
    affine: a,
    affineSource: 'sform',
    voxOffset: 352,
    rawHeader: new Uint8Array(0),
    warnings: [],
  };
}

// ---------------------------------------------------------------------------------------------------
// Writing.

type WritableArray = TypedArray | ArrayLike<number>;

export interface WriteNiftiOptions {
  /** Reference whose geometry (dims, pixdim, qform/sform, units) the file gets. */
  like: NiftiHeader;
  /** Datatype on disk; default: from the array type (Float32Array → float32, Uint8Array → uint8, ...). */
  datatype?: NiftiDatatype;
  /** descrip field (80 bytes); default: the reference's. */
  description?: string;
  /** gzip level 1..9 for .nii.gz (default 6). */
  level?: number;
}

function inferDatatype(a: WritableArray): NiftiDatatype {
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return 'uint8';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint32Array) return 'uint32';
  if (a instanceof Float64Array) return 'float64';
  return 'float32';
}

const INT_RANGES: Partial<Record<NiftiDatatype, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
};

function encodeVoxels(file: string, src: ArrayLike<number>, dt: NiftiDatatype): Uint8Array {
  const n = src.length;
  const buf = new ArrayBuffer(n * DATATYPES[dt].bytes);
  const out = viewAs(dt, buf, n);
  const range = INT_RANGES[dt];
  if (range) {
    const [lo, hi] = range;
    for (let i = 0; i < n; i++) {
      const v = Math.round(src[i]);
      if (!(v >= lo && v <= hi)) throw new NiftiError(file, `voxel ${i} = ${src[i]} does not fit datatype ${dt} [${lo}, ${hi}]`);
      out[i] = v;
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = src[i];
  }
  const bytes = Buffer.from(buf);
  if (!HOST_LE) {
    const b = DATATYPES[dt].bytes;
    if (b === 2) bytes.swap16();
    else if (b === 4) bytes.swap32();
    else if (b === 8) bytes.swap64();
  }
  return bytes;
}

/** A 352-byte little-endian NIfTI-1 header with `like`'s geometry, for a 3-D volume of `dt`. */
export function niftiHeaderBytes(like: NiftiHeader, dt: NiftiDatatype, description?: string): Uint8Array {
  const buf = new Uint8Array(352);
  const dv = new DataView(buf.buffer);
  const fresh = !(like.version === 1 && like.littleEndian && like.rawHeader.length >= NIFTI1_SIZE);
  if (!fresh) {
    // Same format: start from the stored bytes so every field we do not model survives unchanged.
    buf.set(like.rawHeader.subarray(0, NIFTI1_SIZE));
  } else {
    dv.setInt8(39, like.dimInfo & 0xff);
    dv.setInt16(68, like.intentCode, true);
    for (let i = 0; i < 8; i++) dv.setFloat32(76 + 4 * i, like.pixdim[i] ?? 0, true);
    dv.setUint8(123, like.xyztUnits & 0xff);
    dv.setInt16(252, like.qformCode, true);
    dv.setInt16(254, like.sformCode, true);
    like.quatern.forEach((v, i) => dv.setFloat32(256 + 4 * i, v, true));
    like.qoffset.forEach((v, i) => dv.setFloat32(268 + 4 * i, v, true));
    like.srow.forEach((v, i) => dv.setFloat32(280 + 4 * i, v, true));
  }
  dv.setInt32(0, NIFTI1_SIZE, true);
  const dims = [3, like.shape[0], like.shape[1], like.shape[2], 1, 1, 1, 1];
  for (let i = 0; i < 8; i++) {
    if (dims[i] > 32767) throw new NiftiError(like.path, `dim ${dims[i]} does not fit a NIfTI-1 header`);
    dv.setInt16(40 + 2 * i, dims[i], true);
  }
  dv.setInt16(70, DATATYPES[dt].code, true);
  dv.setInt16(72, DATATYPES[dt].bytes * 8, true);
  dv.setFloat32(108, 352, true); // vox_offset
  dv.setFloat32(112, 1, true); // scl_slope
  dv.setFloat32(116, 0, true); // scl_inter
  dv.setFloat32(124, 0, true); // cal_max
  dv.setFloat32(128, 0, true); // cal_min
  if (description !== undefined || fresh) {
    const d = Buffer.from((description ?? like.description).slice(0, 79), 'latin1');
    buf.fill(0, 148, 228);
    buf.set(d, 148);
  }
  buf.set([0x6e, 0x2b, 0x31, 0x00], 344); // "n+1\0"
  buf.fill(0, 348, 352); // no extensions
  return buf;
}

/**
 * Writes a 3-D volume as little-endian NIfTI-1 (.nii.gz, or .nii) with the geometry of `opts.like`.
 * `volume` is the voxel array (or an object with one in `data`) in the reference's own grid
 * (x fastest); use fromCanonical first for data in canonical orientation. The file appears atomically
 * (temporary file in the same folder, then rename).
 */
export async function writeNifti(file: string, volume: WritableArray | { data: WritableArray }, opts: WriteNiftiOptions): Promise<void> {
  const data: WritableArray = 'data' in volume && !ArrayBuffer.isView(volume) ? volume.data : (volume as WritableArray);
  const gz = /\.nii\.gz$/i.test(file);
  if (!gz && !/\.nii$/i.test(file)) throw new NiftiError(file, 'writeNifti writes .nii.gz or .nii files only');
  const like = opts.like;
  const n = like.shape[0] * like.shape[1] * like.shape[2];
  if (data.length !== n)
    throw new NiftiError(file, `volume has ${data.length} voxels but the reference ${like.path} is ${like.shape.join('×')} = ${n}`);
  const dt = opts.datatype ?? inferDatatype(data);
  if (!(dt in DATATYPES)) throw new NiftiError(file, `unsupported datatype '${dt}'; supported: ${Object.keys(DATATYPES).join(', ')}`);
  const header = niftiHeaderBytes(like, dt, opts.description);
  const voxels = encodeVoxels(file, data, dt);
  let payload: Uint8Array = Buffer.concat([header, voxels]);
  if (gz) payload = await promisify(zlib.gzip)(payload, { level: opts.level ?? 6 });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await fsp.writeFile(tmp, payload);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw new NiftiError(file, `cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
