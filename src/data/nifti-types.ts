// NIfTI types, constants, datatype codes, NiftiError and read counters.

/** Largest number of voxels in one 3-D volume that readNifti accepts by default (2^28: 1 GiB as float32). */
export const MAX_VOXELS = 2 ** 28;
/** Largest header (including extensions) that readNifti accepts. */
export const MAX_HEADER_BYTES = 16 * 2 ** 20;

export type NiftiDatatype = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

/** NIfTI datatype codes we read and write, with their byte sizes. */
export type TypedArray =
  Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** Each datatype's NIfTI code, bytes per voxel and typed array. */
export const DATATYPES: Record<
  NiftiDatatype,
  { code: number; bytes: number; array: new (buf: ArrayBuffer, offset: number, length: number) => TypedArray }
> = {
  uint8: { code: 2, bytes: 1, array: Uint8Array },
  int16: { code: 4, bytes: 2, array: Int16Array },
  int32: { code: 8, bytes: 4, array: Int32Array },
  float32: { code: 16, bytes: 4, array: Float32Array },
  float64: { code: 64, bytes: 8, array: Float64Array },
  int8: { code: 256, bytes: 1, array: Int8Array },
  uint16: { code: 512, bytes: 2, array: Uint16Array },
  uint32: { code: 768, bytes: 4, array: Uint32Array },
};

export const UNSUPPORTED_DATATYPES: Record<number, string> = {
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

export function datatypeFromCode(code: number): NiftiDatatype | null {
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
