// Deterministic fuzzing of readNifti: mutated copies of real NIfTI files (the nifti-edge files and a BraTS
// volume cropped to 32×32×16, as NIfTI-1 and NIfTI-2, little- and big-endian, .nii and .nii.gz, and
// .hdr/.img pairs) must either load — with dims consistent with the data that is really in the file — or
// be refused with a NiftiError whose message starts with the file's path. Never another exception type,
// never a crash, never a hang, never an unbounded allocation:
//   - every call must settle within CALL_LIMIT_MS (Promise.race against a timer);
//   - a loaded volume has at most MAX_VOXELS voxels, and the process RSS (sampled every few ms while the
//     loop runs) must stay under RSS_CEILING.
// Mutations: byte flips in the header, in the voxel data and in the gzip stream; truncations of the .nii
// and of the .nii.gz at random lengths; trailing garbage and extra gzip members; header fields set to
// hostile values (sizeof_hdr, magic, dim[0..7] zero/negative/huge, datatype, bitpix, vox_offset,
// scl_slope/scl_inter NaN/±Inf, pixdim, qform/sform). The PRNG is seeded: the same cases every run.
// A small synthetic run always happens; the run over real files is skipped (with a note) without
// /work/shared/data.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createNiftiHeader,
  DATATYPES,
  MAX_VOXELS,
  NiftiError,
  niftiHeaderBytes,
  readNifti,
  writeNifti,
  type NiftiHeader,
  type NiftiVolume,
} from '../../src/data/nifti.ts';
import { mulberry32, randInt } from '../../src/data/rng.ts';
import {
  affineFromRows,
  BRATS_DEV,
  HAS_BRATS,
  HAS_EDGE,
  nifti2Bytes,
  NIFTI_EDGE,
  SHARED_DATA,
  tempDir,
} from './helpers.ts';

/**
 * Seed of the whole run; failures print the case number and mutation. DAWNGRAD_FUZZ_SEED and
 * DAWNGRAD_FUZZ_CASES explore other / more cases (the default run is always the same).
 */
const SEED = Number(process.env.DAWNGRAD_FUZZ_SEED ?? 20240611);
/** Mutated files read from the real inputs (BraTS crop + nifti-edge); the synthetic run adds SYNTH_CASES. */
const REAL_CASES = Number(process.env.DAWNGRAD_FUZZ_CASES ?? 1000);
const SYNTH_CASES = Math.max(50, Math.round(REAL_CASES / 4));
/** Every readNifti call must settle (resolve or reject) within this time. */
const CALL_LIMIT_MS = 2000;
/**
 * Ceiling on the process's resident memory while fuzzing (the vitest worker starts near 100 MiB; the
 * largest input here is 4.6 MB decompressed, 18 MB as float32). RSS only counts pages written: it catches
 * memory growing with the data read, not a large but untouched allocation — hence the second bound.
 */
const RSS_CEILING = 512 * 2 ** 20;
/**
 * Ceiling on ArrayBuffer memory (process.memoryUsage().arrayBuffers, which counts allocations whether
 * touched or not). By design one call may allocate the output for up to MAX_VOXELS voxels (1 GiB as
 * float32) before a gzip stream turns out to be short; nothing may allocate more than that.
 */
const ARRAY_BUFFER_CEILING = 4 * MAX_VOXELS + 64 * 2 ** 20;

const tmp = tempDir('fuzz');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------------
// Inputs.

interface Base {
  name: string;
  /** Decompressed bytes: a whole single-file NIfTI, or the header file of a pair. */
  plain: Buffer;
  /** gzip of `plain` (level 1). */
  gz: Buffer;
  version: 1 | 2;
  le: boolean;
  /** Bytes of header (+ extensions) before the voxels: vox_offset, or the whole .hdr of a pair. */
  hdrLen: number;
  /** gzip of plain[hdrLen:], so a header-only mutation becomes a .nii.gz as two gzip members cheaply. */
  gzTail: Buffer;
  /** Number of 3-D volumes (for the `frame` option). */
  frames: number;
  /** A pair: the original image file's bytes (as stored, .img or .img.gz) and its extension. */
  img?: { bytes: Buffer; ext: '.img' | '.img.gz' };
  /** Relative frequency of this base among the cases. */
  weight: number;
}

const gzip1 = (b: Uint8Array): Buffer => zlib.gzipSync(b, { level: 1 });

function makeBase(name: string, plain: Buffer, weight: number, img?: Base['img']): Base {
  const le1 = plain.readInt32LE(0);
  const be1 = plain.readInt32BE(0);
  const version: 1 | 2 = le1 === 348 || be1 === 348 ? 1 : 2;
  const le = version === 1 ? le1 === 348 : le1 === 540;
  let hdrLen: number;
  let frames = 1;
  if (version === 1) {
    const ndim = le ? plain.readInt16LE(40) : plain.readInt16BE(40);
    for (let i = 4; i <= ndim; i++) frames *= le ? plain.readInt16LE(40 + 2 * i) : plain.readInt16BE(40 + 2 * i);
    hdrLen = img ? plain.length : le ? plain.readFloatLE(108) : plain.readFloatBE(108);
  } else {
    const ndim = Number(le ? plain.readBigInt64LE(16) : plain.readBigInt64BE(16));
    for (let i = 4; i <= ndim; i++)
      frames *= Number(le ? plain.readBigInt64LE(16 + 8 * i) : plain.readBigInt64BE(16 + 8 * i));
    hdrLen = img ? plain.length : Number(le ? plain.readBigInt64LE(168) : plain.readBigInt64BE(168));
  }
  return {
    name,
    plain,
    gz: gzip1(plain),
    version,
    le,
    hdrLen,
    gzTail: gzip1(plain.subarray(hdrLen)),
    frames,
    img,
    weight,
  };
}

const readMaybeGz = (f: string): Buffer => {
  const b = fs.readFileSync(f);
  return b[0] === 0x1f && b[1] === 0x8b ? zlib.gunzipSync(b) : b;
};

/** A crop [x0, x0+X) × [y0, y0+Y) × [z0, z0+Z) of a volume. */
function crop(v: NiftiVolume, at: [number, number, number], size: [number, number, number]): Float32Array {
  const [X, Y] = v.shape;
  const out = new Float32Array(size[0] * size[1] * size[2]);
  let o = 0;
  for (let z = 0; z < size[2]; z++)
    for (let y = 0; y < size[1]; y++)
      for (let x = 0; x < size[0]; x++) out[o++] = v.data[at[0] + x + X * (at[1] + y + Y * (at[2] + z))];
  return out;
}

/** Header like `ref` but with another shape (so niftiHeaderBytes keeps every other field of the real file). */
const reshaped = (ref: NiftiHeader, shape: [number, number, number]): NiftiHeader => ({
  ...ref,
  shape,
  dims: [...shape],
  frames: 1,
});

async function writeAndRead(
  name: string,
  data: Float32Array,
  like: NiftiHeader,
  datatype: 'int16' | 'uint8' | 'float32' | 'float64',
): Promise<Buffer> {
  const f = path.join(tmp, `base-${name}.nii`);
  await writeNifti(f, data, { like, datatype });
  return fs.readFileSync(f);
}

/**
 * BraTS bases: t1 (int16), seg (uint8) and flair (float32) cropped to 32×32×16 around the tumour; t1 also as NIfTI-2
 * LE/BE.
 */
async function bratsBases(): Promise<Base[]> {
  const id = 'Brats18_CBICA_ABM_1';
  const dir = path.join(BRATS_DEV, id);
  const seg = await readNifti(path.join(dir, `${id}_seg.nii.gz`));
  const size: [number, number, number] = [32, 32, 16];
  // centre the crop on the tumour's centroid
  const c = [0, 0, 0];
  let n = 0;
  const [X, Y] = seg.shape;
  for (let i = 0; i < seg.data.length; i++)
    if (seg.data[i] > 0) {
      c[0] += i % X;
      c[1] += Math.floor(i / X) % Y;
      c[2] += Math.floor(i / (X * Y));
      n++;
    }
  const at = [0, 1, 2].map((k) =>
    Math.max(0, Math.min(seg.shape[k] - size[k], Math.round(c[k] / Math.max(1, n) - size[k] / 2))),
  ) as [number, number, number];
  const t1 = await readNifti(path.join(dir, `${id}_t1.nii.gz`));
  const t1c = crop(t1, at, size);
  const segc = crop(seg, at, size);
  const flair = crop(await readNifti(path.join(dir, `${id}_flair.nii.gz`)), at, size);
  const like = reshaped(t1, size);
  return [
    makeBase('brats-t1-int16', await writeAndRead('t1', t1c, like, 'int16'), 6),
    makeBase('brats-seg-uint8', await writeAndRead('seg', segc, reshaped(seg, size), 'uint8'), 3),
    makeBase('brats-flair-float32', await writeAndRead('flair', flair, like, 'float32'), 3),
    makeBase('brats-t1-nifti2-le', nifti2Bytes(size, t1c, true, { srow: like.srow, voxelSize: like.voxelSize }), 3),
    makeBase('brats-t1-nifti2-be', nifti2Bytes(size, t1c, false, { srow: like.srow, voxelSize: like.voxelSize }), 3),
  ];
}

/** nifti-edge bases (the readable ones, and the multi-volume ones read with { frame }). */
function edgeBases(): Base[] {
  const e = (f: string) => path.join(NIFTI_EDGE, f);
  const out: Base[] = [];
  const single: Array<[string, number]> = [
    ['nibabel/anatomical.nii', 2], // NIfTI-1 BE int16
    ['nibabel/reoriented_anat_moved.nii', 1], // BE float32
    ['nibabel/resampled_anat_moved.nii', 2], // BE float32, tiny
    ['nibabel/standard.nii.gz', 2], // LE uint8 4×5×7
    ['nibabel/functional.nii', 2], // 4-D, 20 volumes
    ['nibabel/example_nifti2.nii.gz', 2], // NIfTI-2, 4-D
    ['nifti-reader-js/5D_small.nii', 2], // 5-D uint8
    ['nifti-reader-js/big.nii.gz', 1], // BE float32 64×64×21
    ['nifti-reader-js/little.nii.gz', 1], // LE float32, dim[0] = 4 with dim[4] = 1
    ['nifti-reader-js/with_extension.nii.gz', 0.5], // extensions, vox_offset 736 (4.6 MB decompressed)
    ['nifti-reader-js/avg152T1_LR_nifti.nii', 0.5], // BE uint8, scl_slope 0
  ];
  for (const [f, w] of single) out.push(makeBase(f, readMaybeGz(e(f)), w));
  out.push(
    makeBase('nifti-reader-js/air.hdr.gz (pair)', readMaybeGz(e('nifti-reader-js/air.hdr.gz')), 1, {
      bytes: fs.readFileSync(e('nifti-reader-js/air.img.gz')),
      ext: '.img.gz',
    }),
  );
  out.push(
    makeBase('nifti-reader-js/air2.hdr.gz (pair, NIfTI-2)', readMaybeGz(e('nifti-reader-js/air2.hdr.gz')), 1, {
      bytes: fs.readFileSync(e('nifti-reader-js/air2.img.gz')),
      ext: '.img.gz',
    }),
  );
  return out;
}

/** Synthetic bases (always available): int16 and float64 NIfTI-1, a NIfTI-2 big-endian file, a plain .hdr/.img pair. */
async function syntheticBases(): Promise<Base[]> {
  const shape: [number, number, number] = [20, 16, 12];
  const like = createNiftiHeader(
    shape,
    affineFromRows([
      [-1, 0, 0, 10],
      [0, -1.5, 0, 20],
      [0, 0, 2, -30],
    ]),
  );
  const rand = mulberry32(7);
  const data = Float32Array.from({ length: 20 * 16 * 12 }, () => Math.round(rand() * 2000 - 300));
  const n1 = await writeAndRead('synth-int16', data, like, 'int16');
  // a plain pair: the same header with magic ni1 and vox_offset 0, voxels in a separate .img
  const hdr = Buffer.from(n1.subarray(0, 348));
  hdr.write('ni1\0', 344, 'latin1');
  hdr.writeFloatLE(0, 108);
  return [
    makeBase('synthetic-int16', n1, 3),
    makeBase(
      'synthetic-float64',
      await writeAndRead(
        'synth-f64',
        data.map((v) => v / 7),
        like,
        'float64',
      ),
      2,
    ),
    makeBase('synthetic-nifti2-be', nifti2Bytes(shape, data, false, { srow: like.srow, voxelSize: like.voxelSize }), 2),
    makeBase('synthetic-pair', hdr, 1, { bytes: Buffer.from(n1.subarray(352)), ext: '.img' }),
  ];
}

// ---------------------------------------------------------------------------------------------------
// Mutations.

type Rand = () => number;
const pick = <T>(r: Rand, a: readonly T[]): T => a[randInt(r, a.length)];

interface Field {
  name: string;
  /** Writes one hostile value into b (a copy of the header bytes) in byte order le; returns a label. */
  set: (b: Buffer, le: boolean, r: Rand) => string;
}

const toInt = (v: number | bigint, bits: number): number | bigint => {
  const x = BigInt.asIntN(bits, typeof v === 'bigint' ? v : BigInt(Math.trunc(v)));
  return bits === 64 ? x : Number(x);
};

function writeNum(
  b: Buffer,
  off: number,
  kind: 'i16' | 'i32' | 'i64' | 'f32' | 'f64',
  v: number | bigint,
  le: boolean,
): void {
  if (off + { i16: 2, i32: 4, i64: 8, f32: 4, f64: 8 }[kind] > b.length) return;
  switch (kind) {
    case 'i16':
      return void (le ? b.writeInt16LE(toInt(v, 16) as number, off) : b.writeInt16BE(toInt(v, 16) as number, off));
    case 'i32':
      return void (le ? b.writeInt32LE(toInt(v, 32) as number, off) : b.writeInt32BE(toInt(v, 32) as number, off));
    case 'i64':
      return void (le
        ? b.writeBigInt64LE(toInt(v, 64) as bigint, off)
        : b.writeBigInt64BE(toInt(v, 64) as bigint, off));
    case 'f32':
      return void (le ? b.writeFloatLE(Number(v), off) : b.writeFloatBE(Number(v), off));
    case 'f64':
      return void (le ? b.writeDoubleLE(Number(v), off) : b.writeDoubleBE(Number(v), off));
  }
}

const HOSTILE_FLOATS = [NaN, Infinity, -Infinity, 0, -0, 1e38, -3.4e38, 1e-45, -1, 1e-30];
const DATATYPE_CODES = [
  ...Object.values(DATATYPES).map((d) => d.code),
  0,
  1,
  32,
  128,
  1024,
  1280,
  1536,
  1792,
  2048,
  2304,
  -1,
  3,
  16 | 2,
  32767,
  -32768,
];

function fields(base: Base): Field[] {
  const v1 = base.version === 1;
  const dimKind = v1 ? 'i16' : 'i64';
  const dimOff = (k: number) => (v1 ? 40 + 2 * k : 16 + 8 * k);
  const fl = v1 ? 'f32' : 'f64';
  const len = base.plain.length;
  const ints = (r: Rand) => Math.floor(r() * 65536) - 32768;
  const out: Field[] = [
    {
      name: 'sizeof_hdr',
      set: (b, le, r) => {
        const v = pick(r, [
          0,
          -1,
          347,
          349,
          539,
          541,
          v1 ? 540 : 348,
          0x5c010000,
          0x1c020000,
          ints(r) * 65536 + ints(r),
        ]);
        writeNum(b, 0, 'i32', v, le);
        return `sizeof_hdr=${v}`;
      },
    },
    {
      name: 'magic',
      set: (b, _le, r) => {
        const m = v1
          ? pick(r, [
              'n+1\0',
              'ni1\0',
              'n+2\0',
              '\0\0\0\0',
              'N+1\0',
              'n+1 ',
              '\xff\xff\xff\xff',
              String.fromCharCode(...Array.from({ length: 4 }, () => randInt(r, 256))),
            ])
          : pick(r, [
              'n+2\0\r\n\x1a\n',
              'ni2\0\r\n\x1a\n',
              'n+2\0\n\x1a\n\0',
              'n+1\0\0\0\0\0',
              '\0\0\0\0\0\0\0\0',
              String.fromCharCode(...Array.from({ length: 8 }, () => randInt(r, 256))),
            ]);
        b.write(m, v1 ? 344 : 4, 'latin1');
        return `magic=${JSON.stringify(m)}`;
      },
    },
    {
      name: 'dim',
      set: (b, le, r) => {
        const k = randInt(r, 8);
        const cur = Number(
          v1
            ? le
              ? b.readInt16LE(dimOff(k))
              : b.readInt16BE(dimOff(k))
            : le
              ? b.readBigInt64LE(dimOff(k))
              : b.readBigInt64BE(dimOff(k)),
        );
        const vals: Array<number | bigint> = [
          0,
          -1,
          -32768,
          32767,
          1,
          2,
          3,
          4,
          5,
          7,
          8,
          9,
          cur * 2,
          cur + 1,
          cur - 1,
          ints(r),
        ];
        if (!v1) vals.push(2n ** 31n, 2n ** 53n + 1n, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n, 46341n, 65536n);
        const v = pick(r, vals);
        writeNum(b, dimOff(k), dimKind, v, le);
        return `dim[${k}]=${v}`;
      },
    },
    {
      name: 'dims-huge',
      set: (b, le, r) => {
        // every used dim huge at once (the product overflows 2^31, 2^53 or the voxel limit)
        const v = pick(r, v1 ? [32767, 30000, 1000, 700, 646] : [32767, 1000000, 2 ** 21 + 1, 2 ** 31 - 1]);
        const nd = pick(r, [3, 4, 5, 7]);
        writeNum(b, dimOff(0), dimKind, BigInt(nd), le);
        for (let k = 1; k <= nd; k++) writeNum(b, dimOff(k), dimKind, BigInt(v), le);
        return `dims=${nd}×${v}`;
      },
    },
    {
      name: 'datatype',
      set: (b, le, r) => {
        const v = pick(r, [...DATATYPE_CODES, ints(r)]);
        writeNum(b, v1 ? 70 : 12, 'i16', v, le);
        if (r() < 0.5) {
          const bits = Object.values(DATATYPES).find((d) => d.code === v)?.bytes;
          if (bits) writeNum(b, v1 ? 72 : 14, 'i16', bits * 8, le);
        }
        return `datatype=${v}`;
      },
    },
    {
      name: 'bitpix',
      set: (b, le, r) => {
        const v = pick(r, [0, 1, 7, 8, 16, 24, 32, 64, 128, -8, ints(r)]);
        writeNum(b, v1 ? 72 : 14, 'i16', v, le);
        return `bitpix=${v}`;
      },
    },
    {
      name: 'vox_offset',
      set: (b, le, r) => {
        const h = base.hdrLen;
        const common = [
          -1,
          0,
          h - 1,
          h + 1,
          h + 4,
          h + 3.5,
          len,
          len + 1,
          len * 2,
          16 * 2 ** 20,
          16 * 2 ** 20 + 4,
          1e12,
        ];
        const v = v1
          ? pick(r, [...common, NaN, Infinity, -Infinity, 347, 348, 351, 3.4e38, -3.4e38])
          : pick(r, [...common.filter(Number.isInteger), 539, 540, 2 ** 53 + 2, -(2 ** 62), 2 ** 62]);
        writeNum(b, v1 ? 108 : 168, v1 ? 'f32' : 'i64', v1 ? v : BigInt(v), le);
        return `vox_offset=${v}`;
      },
    },
    {
      name: 'scl',
      set: (b, le, r) => {
        const which = randInt(r, 2);
        const v = pick(r, HOSTILE_FLOATS);
        writeNum(b, (v1 ? 112 : 176) + which * (v1 ? 4 : 8), fl, v, le);
        return `scl_${which ? 'inter' : 'slope'}=${v}`;
      },
    },
    {
      name: 'pixdim',
      set: (b, le, r) => {
        const k = randInt(r, 8);
        const v = pick(r, HOSTILE_FLOATS);
        writeNum(b, (v1 ? 76 : 104) + k * (v1 ? 4 : 8), fl, v, le);
        return `pixdim[${k}]=${v}`;
      },
    },
    {
      name: 'xform',
      set: (b, le, r) => {
        const q = pick(r, [-1, 0, 1, 2, 3, 4, 5, 32767]);
        const s = pick(r, [-1, 0, 1, 2, 3, 4, 5, 32767]);
        writeNum(b, v1 ? 252 : 344, v1 ? 'i16' : 'i32', q, le);
        writeNum(b, v1 ? 254 : 348, v1 ? 'i16' : 'i32', s, le);
        const v = pick(r, HOSTILE_FLOATS);
        const at =
          r() < 0.5
            ? (v1 ? 280 : 400) + randInt(r, 12) * (v1 ? 4 : 8)
            : (v1 ? 256 : 352) + randInt(r, 6) * (v1 ? 4 : 8);
        writeNum(b, at, fl, v, le);
        return `qform_code=${q} sform_code=${s} @${at}=${v}`;
      },
    },
  ];
  return out;
}

interface Case {
  name: string;
  /** File to pass to readNifti (a pair is written as <n>.hdr[.gz] + <n>.img[.gz]). */
  file: string;
  /** Paths an error may name (the file, or the other part of a pair). */
  names: string[];
  opts: { frame?: number };
  /** Decompressed length of the image file when known (a loaded volume must lie within it). */
  available: number | null;
  pair: boolean;
  kind: string;
  base: string;
}

function gunzipLength(b: Buffer): number | null {
  try {
    return zlib.gunzipSync(b, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).length;
  } catch {
    return null;
  }
}

function flipBytes(b: Buffer, r: Rand, lo: number, hi: number, count: number): string[] {
  const at: string[] = [];
  if (hi <= lo) return at;
  for (let k = 0; k < count; k++) {
    const i = lo + randInt(r, hi - lo);
    const x = 1 + randInt(r, 255);
    b[i] ^= x;
    at.push(`${i}^${x}`);
  }
  return at;
}

const KINDS = [
  'header-flip',
  'data-flip',
  'truncate-nii',
  'truncate-gz',
  'gz-flip',
  'field',
  'fields',
  'trailing',
] as const;
const KIND_WEIGHTS = [15, 10, 13, 12, 10, 27, 8, 5];

function pickWeighted<T>(r: Rand, items: readonly T[], weights: readonly number[]): T {
  const total = weights.reduce((a, b) => a + b, 0);
  let x = r() * total;
  for (let i = 0; i < items.length; i++) if ((x -= weights[i]) < 0) return items[i];
  return items[items.length - 1];
}

/** Builds mutated case i of `bases`, writes it under dir and describes it. */
function makeCase(i: number, bases: Base[], r: Rand, dir: string): Case {
  const base = pickWeighted(
    r,
    bases,
    bases.map((b) => b.weight),
  );
  const kind = pickWeighted(r, KINDS, KIND_WEIGHTS);
  const le = r() < 0.9 ? base.le : !base.le; // now and then a field written in the wrong byte order
  const plainHdr = (): Buffer => Buffer.from(base.plain.subarray(0, Math.min(base.hdrLen, base.plain.length)));
  let header: Buffer | null = null; // mutated header (header-only mutations)
  let whole: Buffer | null = null; // mutated whole decompressed file
  let gzBytes: Buffer | null = null; // mutated compressed bytes (written as is)
  let what = '';
  switch (kind) {
    case 'header-flip':
      header = plainHdr();
      what = flipBytes(header, r, 0, Math.min(header.length, base.version === 1 ? 352 : 544), 1 + randInt(r, 4)).join(
        ',',
      );
      break;
    case 'field':
    case 'fields': {
      header = plainHdr();
      const fs_ = fields(base);
      const labels: string[] = [];
      for (let k = kind === 'field' ? 1 : 2 + randInt(r, 2); k > 0; k--) labels.push(pick(r, fs_).set(header, le, r));
      what = labels.join(' ');
      break;
    }
    case 'data-flip':
      if (base.img) {
        gzBytes = Buffer.from(base.img.bytes);
        what = `img ${flipBytes(gzBytes, r, 0, gzBytes.length, 1 + randInt(r, 8)).join(',')}`;
      } else {
        whole = Buffer.from(base.plain);
        what = flipBytes(whole, r, base.hdrLen, whole.length, 1 + randInt(r, 8)).join(',');
      }
      break;
    case 'truncate-nii': {
      const src = base.plain;
      const n =
        r() < 0.4
          ? randInt(r, Math.min(src.length, base.hdrLen + 8) + 1)
          : base.hdrLen + randInt(r, Math.max(1, src.length - base.hdrLen));
      if (base.img && r() < 0.5) {
        // truncate the image file of the pair instead
        const raw = base.img.ext === '.img.gz' ? zlib.gunzipSync(base.img.bytes) : base.img.bytes;
        gzBytes = raw.subarray(0, randInt(r, raw.length));
        what = `img cut at ${gzBytes.length} of ${raw.length}`;
      } else {
        whole = Buffer.from(src.subarray(0, n));
        what = `cut at ${n} of ${src.length}`;
      }
      break;
    }
    case 'truncate-gz': {
      const src = base.img ? base.img.bytes : base.gz;
      gzBytes = Buffer.from(src.subarray(0, randInt(r, src.length)));
      what = `${base.img ? 'img ' : ''}gz cut at ${gzBytes.length} of ${src.length}`;
      break;
    }
    case 'gz-flip': {
      const src = base.img ? base.img.bytes : base.gz;
      gzBytes = Buffer.from(src);
      const where = r();
      const [lo, hi] =
        where < 0.3 ? [0, 10] : where < 0.4 ? [gzBytes.length - 8, gzBytes.length] : [10, gzBytes.length - 8];
      what = `${base.img ? 'img ' : ''}gz ${flipBytes(gzBytes, r, lo, hi, 1 + randInt(r, 3)).join(',')}`;
      break;
    }
    case 'trailing': {
      const junk = Buffer.from(Array.from({ length: 1 + randInt(r, 2000) }, () => randInt(r, 256)));
      const t = randInt(r, 3);
      if (t === 0) {
        whole = Buffer.concat([base.plain, junk]);
        what = `${junk.length} bytes appended`;
      } else {
        const src = base.img ? base.img.bytes : base.gz;
        gzBytes = t === 1 ? Buffer.concat([src, junk]) : Buffer.concat([src, gzip1(junk)]);
        what = `${base.img ? 'img ' : ''}${
          t === 1 ? `${junk.length} junk bytes after the gzip stream` : 'a second gzip member'
        }`;
      }
      break;
    }
  }

  const stem = path.join(dir, `c${String(i).padStart(4, '0')}`);
  const outGz = r() < 0.5;
  let file: string;
  let available: number | null = null;
  const names: string[] = [];
  if (base.img) {
    // pair: header file (maybe mutated, maybe gzipped) + image file (maybe mutated)
    const hdrBytes = header ?? whole ?? base.plain;
    const hdrFile = `${stem}${outGz ? '.hdr.gz' : '.hdr'}`;
    fs.writeFileSync(hdrFile, outGz ? gzip1(hdrBytes) : hdrBytes);
    const imgBytes = gzBytes ?? base.img.bytes;
    const imgFile = `${stem}${imgBytes[0] === 0x1f && imgBytes[1] === 0x8b ? '.img.gz' : '.img'}`;
    fs.writeFileSync(imgFile, imgBytes);
    file = r() < 0.8 ? hdrFile : imgFile;
    names.push(hdrFile, imgFile);
  } else {
    if (gzBytes) {
      file = `${stem}.nii.gz`;
      fs.writeFileSync(file, gzBytes);
      available = gunzipLength(gzBytes);
    } else if (header) {
      // header-only mutation: plain, or gzip as two members (mutated header + the untouched rest)
      file = `${stem}${outGz ? '.nii.gz' : '.nii'}`;
      fs.writeFileSync(
        file,
        outGz
          ? Buffer.concat([gzip1(header), base.gzTail])
          : Buffer.concat([header, base.plain.subarray(header.length)]),
      );
      available = base.plain.length;
    } else {
      file = `${stem}${outGz ? '.nii.gz' : '.nii'}`;
      fs.writeFileSync(file, outGz ? gzip1(whole!) : whole!);
      available = whole!.length;
    }
    names.push(file);
  }
  const opts: { frame?: number } = {};
  const fr = r();
  if (base.frames > 1 ? fr < 0.7 : fr < 0.08) opts.frame = base.frames > 1 ? randInt(r, base.frames) : randInt(r, 2);
  return {
    name: `#${i} ${base.name} ${kind} ${what}${opts.frame !== undefined ? ` {frame: ${opts.frame}}` : ''}`,
    file,
    names,
    opts,
    available,
    pair: !!base.img,
    kind,
    base: base.name,
  };
}

// ---------------------------------------------------------------------------------------------------
// The run.

type Outcome = { ok: true; v: NiftiVolume } | { ok: false; e: unknown } | { timeout: true };

function withTimeout(p: Promise<NiftiVolume>, ms: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ timeout: true }), ms);
  });
  return Promise.race([
    p.then(
      (v): Outcome => ({ ok: true, v }),
      (e): Outcome => ({ ok: false, e }),
    ),
    t,
  ]).finally(() => clearTimeout(timer));
}

/** What is wrong with a loaded volume (empty when it is consistent). */
function checkLoaded(c: Case, v: NiftiVolume): string[] {
  const bad: string[] = [];
  const n = v.shape[0] * v.shape[1] * v.shape[2];
  if (!(v.data instanceof Float32Array)) bad.push('data is not a Float32Array');
  if (v.data.length !== n) bad.push(`data length ${v.data.length} != shape ${v.shape.join('×')}`);
  if (n > MAX_VOXELS) bad.push(`${n} voxels > MAX_VOXELS`);
  if (!(v.dims.length >= 1 && v.dims.length <= 7)) bad.push(`dims ${v.dims}`);
  if (!v.dims.every((d) => Number.isSafeInteger(d) && d >= 1)) bad.push(`dims ${v.dims}`);
  if (![0, 1, 2].every((k) => v.shape[k] === (v.dims[k] ?? 1))) bad.push(`shape ${v.shape} vs dims ${v.dims}`);
  const frames = v.dims.slice(3).reduce((a, b) => a * b, 1);
  if (v.frames !== frames || !(v.frame >= 0 && v.frame < frames))
    bad.push(`frame ${v.frame} of ${v.frames} (dims ${v.dims})`);
  if (frames > 1 && c.opts.frame === undefined) bad.push('a multi-volume file loaded without { frame }');
  const bpv = DATATYPES[v.datatype]?.bytes;
  if (!bpv) bad.push(`datatype ${v.datatype}`);
  else if (c.available !== null && v.voxOffset + (v.frame + 1) * n * bpv > c.available)
    bad.push(`declares ${v.voxOffset} + ${v.frame + 1}×${n}×${bpv} bytes but only ${c.available} are in the file`);
  if (!v.affine.every(Number.isFinite)) bad.push('non-finite affine');
  if (!v.voxelSize.every((s) => Number.isFinite(s) && s > 0)) bad.push(`voxel size ${v.voxelSize}`);
  return bad;
}

/** "not a NIfTI file", "invalid dim[N] = N", ...: the reason with numbers and quoted parts blanked. */
function reason(msg: string): string {
  return msg
    .replace(/\s*\(.*$/, '')
    .replace(/(^|\s)\/\S+/g, '$1<file>')
    .replace(/magic ".*$/, 'magic "…"')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/gi, 'N')
    .replace(/(N×)+N/g, 'N×…')
    .replace(/(int|uint|float)N/g, '$1N')
    .slice(0, 70);
}

interface RunResult {
  loaded: number;
  rejected: number;
  failures: string[];
  maxCallMs: number;
  slowest: string;
  peakRss: number;
  peakArrayBuffers: number;
  totalMs: number;
  byKind: Record<string, [number, number]>;
  byBase: Record<string, [number, number]>;
  reasons: Map<string, number>;
}

async function fuzz(label: string, bases: Base[], count: number, seed: number): Promise<RunResult> {
  const dir = fs.mkdtempSync(path.join(tmp, `${label}-`));
  const r = mulberry32(seed);
  const res: RunResult = {
    loaded: 0,
    rejected: 0,
    failures: [],
    maxCallMs: 0,
    slowest: '',
    peakRss: 0,
    peakArrayBuffers: 0,
    totalMs: 0,
    byKind: {},
    byBase: {},
    reasons: new Map(),
  };
  const sample = () => {
    const m = process.memoryUsage();
    res.peakRss = Math.max(res.peakRss, m.rss);
    res.peakArrayBuffers = Math.max(res.peakArrayBuffers, m.arrayBuffers);
  };
  const sampler = setInterval(sample, 5);
  const t0 = performance.now();
  try {
    // the unmutated bases must load (multi-volume ones with { frame: 0 })
    for (const b of bases) {
      const f = path.join(dir, b.img ? 'base.hdr' : 'base.nii');
      fs.writeFileSync(f, b.plain);
      if (b.img) fs.writeFileSync(path.join(dir, `base${b.img.ext}`), b.img.bytes);
      const v = await readNifti(f, b.frames > 1 ? { frame: 0 } : {}).catch((e: Error) => e);
      if (v instanceof Error) res.failures.push(`base ${b.name} does not load: ${v.message}`);
      for (const p of fs.readdirSync(dir)) fs.rmSync(path.join(dir, p));
    }
    for (let i = 0; i < count; i++) {
      const c = makeCase(i, bases, r, dir);
      const s = performance.now();
      const out = await withTimeout(readNifti(c.file, c.opts), CALL_LIMIT_MS);
      const ms = performance.now() - s;
      sample();
      if (ms > res.maxCallMs) [res.maxCallMs, res.slowest] = [ms, c.name];
      const kindCount = (res.byKind[c.kind] ??= [0, 0]);
      const baseCount = (res.byBase[c.base] ??= [0, 0]);
      if ('timeout' in out) res.failures.push(`${c.name}: no answer within ${CALL_LIMIT_MS} ms`);
      else if (out.ok) {
        res.loaded++;
        kindCount[0]++;
        baseCount[0]++;
        const bad = checkLoaded(c, out.v);
        if (bad.length) res.failures.push(`${c.name}: loaded but ${bad.join('; ')}`);
      } else {
        res.rejected++;
        kindCount[1]++;
        baseCount[1]++;
        const e = out.e as Error;
        if (!(e instanceof NiftiError))
          res.failures.push(
            `${c.name}: threw ${e?.constructor?.name ?? typeof e} instead of NiftiError: ${e?.stack ?? e}`,
          );
        else {
          const named = c.names.find((n) => e.message.startsWith(`${n}: `) && e.file === n);
          if (!named)
            res.failures.push(
              `${c.name}: NiftiError does not start with the file's path (${c.names.join(' or ')}): ${e.message}`,
            );
          else if (e.message.length <= named.length + 4)
            res.failures.push(`${c.name}: NiftiError says nothing: ${e.message}`);
          else {
            const why = reason(e.message.slice(named.length + 2));
            res.reasons.set(why, (res.reasons.get(why) ?? 0) + 1);
          }
        }
      }
      if (res.peakRss > RSS_CEILING || res.peakArrayBuffers > ARRAY_BUFFER_CEILING) {
        res.failures.push(
          `${c.name}: RSS ${(res.peakRss / 2 ** 20).toFixed(0)} MiB ` +
            `(ceiling ${RSS_CEILING / 2 ** 20}), ArrayBuffers ${(res.peakArrayBuffers / 2 ** 20).toFixed(0)} ` +
            `MiB (ceiling ${ARRAY_BUFFER_CEILING / 2 ** 20})`,
        );
        break;
      }
      for (const f of c.names) fs.rmSync(f, { force: true });
    }
  } finally {
    clearInterval(sampler);
    res.totalMs = performance.now() - t0;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return res;
}

function report(label: string, res: RunResult, count: number): string {
  const pad = (s: string, n: number) => s.padEnd(n);
  const lines = [
    `fuzz (${label}): ${count} mutated files: ${res.loaded} loaded, ${res.rejected} ` +
      `rejected with NiftiError, ${res.failures.length} failures; ` +
      `${(res.totalMs / 1000).toFixed(1)} s in all, slowest ` +
      `call ${res.maxCallMs.toFixed(0)} ms (limit ${CALL_LIMIT_MS} ms), ` +
      `peak RSS ${(res.peakRss / 2 ** 20).toFixed(0)} MiB (ceiling ${RSS_CEILING / 2 ** 20} MiB), ` +
      `peak ArrayBuffers ${(res.peakArrayBuffers / 2 ** 20).toFixed(0)} ` +
      `MiB (ceiling ${ARRAY_BUFFER_CEILING / 2 ** 20} MiB); seed ${SEED}`,
    `  slowest: ${res.slowest}`,
    '  by mutation (loaded / rejected):',
    ...Object.entries(res.byKind).map(([k, [l, j]]) => `    ${pad(k, 14)} ${String(l).padStart(4)} / ${j}`),
    '  by input (loaded / rejected):',
    ...Object.entries(res.byBase).map(([k, [l, j]]) => `    ${pad(k, 44)} ${String(l).padStart(4)} / ${j}`),
    '  rejection reasons:',
    ...[...res.reasons.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `    ${String(n).padStart(4)}  ${k}`),
  ];
  if (res.failures.length) lines.push('  FAILURES:', ...res.failures.slice(0, 30).map((f) => `    ${f}`));
  return lines.join('\n');
}

describe('readNifti fuzzing', () => {
  it('synthetic inputs: every mutated file loads consistently or fails with a NiftiError naming it', async () => {
    const bases = await syntheticBases();
    const res = await fuzz('synthetic', bases, SYNTH_CASES, SEED ^ 0x5eed);
    console.log(report('synthetic', res, SYNTH_CASES));
    expect(res.failures).toEqual([]);
    expect(res.loaded + res.rejected).toBe(SYNTH_CASES);
    expect(res.loaded).toBeGreaterThan(0);
    expect(res.rejected).toBeGreaterThan(0);
    expect(res.peakRss).toBeLessThan(RSS_CEILING);
    expect(res.peakArrayBuffers).toBeLessThan(ARRAY_BUFFER_CEILING);
  }, 120_000);

  it(
    'a header declaring the largest allowed volume over a ' +
      'short gzip stream: refused quickly, memory stays bounded',
    async () => {
      // 2^28 uint8 voxels declared (MAX_VOXELS: a 1 GiB Float32Array), 400 kB of incompressible data present:
      // large enough that the up-front "maximal deflate could not hold it" check lets it through.
      const r = mulberry32(SEED);
      const like = createNiftiHeader(
        [1024, 1024, 256],
        affineFromRows([
          [1, 0, 0, 0],
          [0, 1, 0, 0],
          [0, 0, 1, 0],
        ]),
      );
      const hdr = Buffer.from(niftiHeaderBytes(like, 'uint8'));
      const body = Buffer.from(Array.from({ length: 400_000 }, () => randInt(r, 256)));
      const f = path.join(tmp, 'declared-max.nii.gz');
      fs.writeFileSync(f, gzip1(Buffer.concat([hdr, body])));
      const rss0 = process.memoryUsage.rss();
      const s = performance.now();
      const out = await withTimeout(readNifti(f), CALL_LIMIT_MS);
      const ms = performance.now() - s;
      const grew = process.memoryUsage.rss() - rss0;
      console.log(
        `declared 1024×1024×256 uint8 over 400 kB of gzip ` +
          `data: ${'timeout' in out ? 'timeout' : out.ok ? 'loaded' : (out.e as Error).message.slice(f.length + 2)} ` +
          `in ${ms.toFixed(0)} ms, RSS +${(grew / 2 ** 20).toFixed(1)} MiB`,
      );
      expect('timeout' in out).toBe(false);
      expect('ok' in out && !out.ok && out.e instanceof NiftiError).toBe(true);
      const msg = (out as { e: Error }).e.message;
      expect(msg.startsWith(`${f}: `)).toBe(true);
      expect(msg).toMatch(/truncated: the header declares 1024×1024×256 uint8/);
      expect(grew).toBeLessThan(64 * 2 ** 20);
    },
  );

  it.skipIf(!HAS_BRATS || !HAS_EDGE)(
    `real inputs (BraTS crop + nifti-edge): ${REAL_CASES} mutated ` +
      `files${HAS_BRATS && HAS_EDGE ? '' : ` (skipped: shared data not found at ${SHARED_DATA})`}`,
    async () => {
      const bases = [...(await bratsBases()), ...edgeBases()];
      const res = await fuzz('real', bases, REAL_CASES, SEED);
      console.log(report('real files', res, REAL_CASES));
      expect(res.failures).toEqual([]);
      expect(res.loaded + res.rejected).toBe(REAL_CASES);
      expect(res.loaded).toBeGreaterThan(REAL_CASES / 10);
      expect(res.rejected).toBeGreaterThan(REAL_CASES / 10);
      expect(res.peakRss).toBeLessThan(RSS_CEILING);
      expect(res.peakArrayBuffers).toBeLessThan(ARRAY_BUFFER_CEILING);
    },
    300_000,
  );
});
