// NIfTI writing: createNiftiHeader, niftiHeaderBytes and writeNifti.
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { DATATYPES, NiftiError } from './nifti-types.ts';
import type { NiftiDatatype, NiftiHeader } from './nifti-types.ts';
import { NIFTI1_SIZE } from './nifti-header.ts';
import { HOST_LE, viewAs } from './nifti-read.ts';
import type { TypedArray } from './nifti-types.ts';

/**
 * A header for a new 3-D volume with the given grid and voxel-to-world affine (gl-matrix mat4), usable as
 * `like` in writeNifti: NIfTI-1, sform_code 2 (aligned) holding the affine, no qform, units mm.
 */
export function createNiftiHeader(
  shape: [number, number, number],
  affine: ArrayLike<number>,
  opts: { description?: string; path?: string } = {},
): NiftiHeader {
  if (affine.length !== 16)
    throw new Error('createNiftiHeader: the affine must be a 4x4 (16-element, column-major) matrix');
  const a = Float64Array.from(affine);
  const voxelSize = [0, 1, 2].map((c) => Math.hypot(a[c * 4], a[c * 4 + 1], a[c * 4 + 2]) || 1) as [
    number,
    number,
    number,
  ];
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
      if (!(v >= lo && v <= hi))
        throw new NiftiError(file, `voxel ${i} = ${src[i]} does not fit datatype ${dt} [${lo}, ${hi}]`);
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
export async function writeNifti(
  file: string,
  volume: WritableArray | { data: WritableArray },
  opts: WriteNiftiOptions,
): Promise<void> {
  const data: WritableArray = 'data' in volume && !ArrayBuffer.isView(volume) ? volume.data : (volume as WritableArray);
  const gz = /\.nii\.gz$/i.test(file);
  if (!gz && !/\.nii$/i.test(file)) throw new NiftiError(file, 'writeNifti writes .nii.gz or .nii files only');
  const like = opts.like;
  const n = like.shape[0] * like.shape[1] * like.shape[2];
  if (data.length !== n)
    throw new NiftiError(
      file,
      `volume has ${data.length} voxels but the reference ${like.path} is ${like.shape.join('×')} = ${n}`,
    );
  const dt = opts.datatype ?? inferDatatype(data);
  if (!(dt in DATATYPES))
    throw new NiftiError(file, `unsupported datatype '${dt}'; supported: ${Object.keys(DATATYPES).join(', ')}`);
  const header = niftiHeaderBytes(like, dt, opts.description);
  const voxels = encodeVoxels(file, data, dt);
  let payload: Uint8Array = Buffer.concat([header, voxels]);
  if (gz) payload = await promisify(zlib.gzip)(payload, { level: opts.level ?? 6 });
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`,
  );
  try {
    await fsp.writeFile(tmp, payload);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw new NiftiError(file, `cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
