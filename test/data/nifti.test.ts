import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  affineRows,
  createNiftiHeader,
  MAX_VOXELS,
  NiftiError,
  readNifti,
  readNiftiHeader,
  writeNifti,
  type NiftiDatatype,
} from '../../src/data/nifti.ts';
import { orientationCode } from '../../src/data/orientation.ts';
import { affineFromRows, HAS_EDGE, NIFTI_EDGE, SKIP_NOTE, tempDir, firstDifference, nifti2Bytes } from './helpers.ts';

const tmp = tempDir('nifti');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// What every file in nifti-edge should do: 'ok', or a regex the error message must match.
const EDGE: Record<string, 'ok' | RegExp> = {
  'nibabel/COPYING.txt': /not a NIfTI file/,
  'nibabel/analyze.hdr': /Analyze 7\.5 header/,
  'nibabel/anatomical.nii': 'ok',
  'nibabel/example4d.nii.gz': /has 2 volumes/,
  'nibabel/example_nifti2.nii.gz': /has 2 volumes/,
  'nibabel/functional.nii': /has 20 volumes/,
  'nibabel/nifti1.hdr': /no matching \.img/,
  'nibabel/nifti2.hdr': /no matching \.img/,
  'nibabel/reoriented_anat_moved.nii': 'ok',
  'nibabel/resampled_anat_moved.nii': 'ok',
  'nibabel/standard.nii.gz': 'ok',
  'nifti-reader-js/5D_small.nii': /has 3 volumes/,
  'nifti-reader-js/5D_zeros.nii.gz': /has 3 volumes/,
  'nifti-reader-js/LICENSE.txt': /not a NIfTI file/,
  'nifti-reader-js/air.hdr.gz': 'ok',
  'nifti-reader-js/air.img.gz': 'ok',
  'nifti-reader-js/air2.hdr.gz': 'ok',
  'nifti-reader-js/air2.img.gz': 'ok',
  'nifti-reader-js/avg152T1_LR_nifti.nii': 'ok',
  'nifti-reader-js/avg152T1_LR_nifti.nii.gz': 'ok',
  'nifti-reader-js/avg152T1_LR_nifti2.nii.gz': 'ok',
  'nifti-reader-js/big.nii.gz': 'ok',
  'nifti-reader-js/little.nii.gz': 'ok',
  'nifti-reader-js/not-nifti.nii': /not a NIfTI file/,
  'nifti-reader-js/with_extension.nii.gz': 'ok',
};

function sum(a: Float32Array): number {
  let s = 0;
  for (const v of a) if (!Number.isNaN(v)) s += v;
  return s;
}

describe(`nifti-edge files ${HAS_EDGE ? '' : SKIP_NOTE}`, () => {
  it.skipIf(!HAS_EDGE)('every file either reads or fails with a clear error naming the file', async () => {
    const files = ['nibabel', 'nifti-reader-js']
      .flatMap((d) => fs.readdirSync(path.join(NIFTI_EDGE, d)).map((f) => `${d}/${f}`))
      .sort();
    expect(files.sort()).toEqual(Object.keys(EDGE).sort()); // the list below covers the whole folder
    const table: string[] = [];
    for (const f of files) {
      const p = path.join(NIFTI_EDGE, f);
      const want = EDGE[f];
      try {
        const v = await readNifti(p);
        const shape = v.shape.join('×').padEnd(11);
        table.push(
          `  ok    ${f.padEnd(42)} NIfTI-${v.version} ${v.littleEndian ? 'LE' : 'BE'} ${v.datatype.padEnd(7)} ` +
            `${shape} ${orientationCode(v.affine)} (${v.affineSource})`,
        );
        expect(want, `${f} read but should fail`).toBe('ok');
        expect(v.data.length).toBe(v.shape[0] * v.shape[1] * v.shape[2]);
      } catch (e) {
        const msg = (e as Error).message;
        table.push(`  error ${f.padEnd(42)} ${msg.slice(p.length + 2)}`);
        expect(e).toBeInstanceOf(NiftiError);
        expect(want, `${f} failed: ${msg}`).not.toBe('ok');
        expect(msg.startsWith(p) || msg.startsWith(p.replace(/\.img\.gz$/, '.hdr.gz'))).toBe(true);
        expect(msg).toMatch(want as RegExp);
      }
    }
    console.log(`nifti-edge:\n${table.join('\n')}`);
  });

  it.skipIf(!HAS_EDGE)('the same image in different encodings reads the same', async () => {
    const e = (f: string) => readNifti(path.join(NIFTI_EDGE, f));
    const big = await e('nifti-reader-js/big.nii.gz'); // big-endian float32, qform only
    const little = await e('nifti-reader-js/little.nii.gz'); // little-endian, dim[0] = 4 with dim[4] = 1
    expect(big.littleEndian).toBe(false);
    expect(little.littleEndian).toBe(true);
    expect(big.affineSource).toBe('qform');
    expect(firstDifference(big.data, little.data)).toBe(-1);
    expect(firstDifference(big.affine, little.affine)).toBe(-1);

    const avg = await e('nifti-reader-js/avg152T1_LR_nifti.nii'); // big-endian uint8, scl_slope 0
    const avgGz = await e('nifti-reader-js/avg152T1_LR_nifti.nii.gz');
    const avg2 = await e('nifti-reader-js/avg152T1_LR_nifti2.nii.gz'); // NIfTI-2 float32
    expect(avg.scaled).toBe(false);
    expect(avg.sclSlope).toBe(0);
    expect(avg2.version).toBe(2);
    expect(firstDifference(avgGz.data, avg.data)).toBe(-1);
    expect(firstDifference(avg2.data, avg.data)).toBe(-1);
    expect(affineRows(avg.affine)).toEqual([
      [-2, 0, 0, 90],
      [0, 2, 0, -126],
      [0, 0, 2, -72],
      [0, 0, 0, 1],
    ]);
    expect(orientationCode(avg.affine)).toBe('LAS');

    const air = await e('nifti-reader-js/air.hdr.gz'); // gzipped .hdr/.img pair, NIfTI-1
    const airImg = await e('nifti-reader-js/air.img.gz');
    const air2 = await e('nifti-reader-js/air2.hdr.gz'); // NIfTI-2 pair
    expect(air.pair && air2.pair).toBe(true);
    expect(air.imagePath.endsWith('air.img.gz')).toBe(true);
    expect(firstDifference(airImg.data, air.data)).toBe(-1);
    expect(firstDifference(air2.data, air.data)).toBe(-1);
    expect(orientationCode(air.affine)).toBe('AIR'); // permuted axes: i → anterior, j → inferior, k → right
  });

  it.skipIf(!HAS_EDGE)('applies scl_slope / scl_inter and reads one frame of a 4-D/5-D file on request', async () => {
    const f = path.join(NIFTI_EDGE, 'nibabel/functional.nii');
    const v = await readNifti(f, { frame: 3 });
    expect(v.scaled).toBe(true);
    expect(v.frames).toBe(20);
    // decode frame 3 by hand
    const buf = fs.readFileSync(f);
    const n = 17 * 21 * 3;
    const off = v.voxOffset + 3 * n * 2;
    for (const i of [0, 1, 100, n - 1]) {
      const raw = buf.readInt16LE(off + 2 * i);
      expect(v.data[i]).toBeCloseTo(raw * v.sclSlope + v.sclInter, 2);
    }
    await expect(readNifti(f, { frame: 20 })).rejects.toThrow(/frame 20 out of range/);
    const five = await readNifti(path.join(NIFTI_EDGE, 'nifti-reader-js/5D_zeros.nii.gz'), { frame: 2 });
    expect(five.shape).toEqual([256, 256, 170]);
    expect(sum(five.data)).toBe(0);
    const ext = await readNiftiHeader(path.join(NIFTI_EDGE, 'nifti-reader-js/with_extension.nii.gz'));
    expect(ext.voxOffset).toBe(736);
    expect(ext.rawHeader.length).toBe(736); // header + extensions kept
  });
});

// ---------------------------------------------------------------------------------------------------
// Writing and round trips.

function synthetic(shape: [number, number, number], f: (i: number) => number): Float32Array {
  const a = new Float32Array(shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < a.length; i++) a[i] = f(i);
  return a;
}

describe('writeNifti → readNifti', () => {
  const shape: [number, number, number] = [7, 5, 4];
  const affine = affineFromRows([
    [0, 0, -1.5, 30],
    [-2, 0, 0, 12],
    [0, 3, 0, -7],
  ]);
  const like = createNiftiHeader(shape, affine);

  for (const dt of ['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'] as NiftiDatatype[]) {
    it(`round-trips ${dt} with the reference geometry`, async () => {
      const signed = dt.startsWith('int') || dt.startsWith('float');
      const data = synthetic(shape, (i) =>
        dt.startsWith('float') ? (i - 40) * 0.25 : signed ? (i % 100) - 50 : i % 200,
      );
      const f = path.join(tmp, `rt-${dt}.nii.gz`);
      await writeNifti(f, data, { like, datatype: dt });
      const v = await readNifti(f);
      expect(v.datatype).toBe(dt);
      expect(v.shape).toEqual(shape);
      expect(firstDifference(v.data, data)).toBe(-1);
      expect(firstDifference(v.affine, affine)).toBe(-1);
      expect(v.voxelSize).toEqual([2, 3, 1.5]);
      expect(orientationCode(v.affine)).toBe('PSL');
    });
  }

  it.skipIf(!HAS_EDGE)(
    'keeps a big-endian reference header’s geometry and fields, writes little-endian NIfTI-1',
    async () => {
      const ref = await readNifti(path.join(NIFTI_EDGE, 'nibabel/anatomical.nii'));
      const f = path.join(tmp, 'anat-copy.nii.gz');
      await writeNifti(f, ref.data, { like: ref, datatype: 'int16' });
      const v = await readNifti(f);
      expect(v.littleEndian).toBe(true);
      expect(v.version).toBe(1);
      expect(firstDifference(v.data, ref.data)).toBe(-1);
      expect(firstDifference(v.affine, ref.affine)).toBe(-1);
      expect([v.qformCode, v.sformCode]).toEqual([ref.qformCode, ref.sformCode]);
      expect(v.quatern).toEqual(ref.quatern);
      expect(v.pixdim).toEqual(ref.pixdim);
      expect(v.xyztUnits).toBe(ref.xyztUnits);
      // plain .nii, reference NIfTI-2 (fresh header path)
      const ref2 = await readNifti(path.join(NIFTI_EDGE, 'nifti-reader-js/air2.hdr.gz'));
      const f2 = path.join(tmp, 'air-copy.nii');
      const labels = new Uint8Array(ref2.data.length).map((_, i) => i % 5);
      await writeNifti(f2, labels, { like: ref2 });
      const v2 = await readNifti(f2);
      expect(v2.datatype).toBe('uint8');
      expect(v2.compressed).toBe(false);
      expect(Array.from(v2.data.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]);
      affineRows(v2.affine)
        .flat()
        .forEach((x, i) => expect(x).toBeCloseTo(affineRows(ref2.affine).flat()[i], 4));
      expect(fs.readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    },
  );

  it('refuses data that does not fit the reference or the datatype', async () => {
    await expect(writeNifti(path.join(tmp, 'x.nii.gz'), new Float32Array(3), { like })).rejects.toThrow(
      /has 3 voxels but the reference/,
    );
    await expect(
      writeNifti(
        path.join(tmp, 'x.nii.gz'),
        synthetic(shape, () => 300),
        { like, datatype: 'uint8' },
      ),
    ).rejects.toThrow(/does not fit datatype uint8/);
    await expect(
      writeNifti(
        path.join(tmp, 'x.mha'),
        synthetic(shape, () => 1),
        { like },
      ),
    ).rejects.toThrow(/\.nii\.gz or \.nii/);
    expect(fs.existsSync(path.join(tmp, 'x.nii.gz'))).toBe(false);
  });

  it('chooses sform when sform_code > 0, else qform, else the pixdim diagonal', async () => {
    const f = path.join(tmp, 'xform.nii');
    const ref = createNiftiHeader(shape, affine);
    await writeNifti(
      f,
      synthetic(shape, (i) => i),
      { like: ref },
    );
    const b = fs.readFileSync(f);
    // qform: identity rotation with qfac -1, offsets (1, 2, 3); pixdim (2, 3, 1.5)
    b.writeInt16LE(1, 252);
    b.writeFloatLE(-1, 76);
    for (const [i, v] of [0, 0, 0, 1, 2, 3].entries()) b.writeFloatLE(v, 256 + 4 * i);
    fs.writeFileSync(f, b);
    expect((await readNiftiHeader(f)).affineSource).toBe('sform');
    expect(Array.from((await readNiftiHeader(f)).affine)).toEqual(Array.from(affine));
    /** Zero one header code (an int16 at `offset`) and read the affine back: its source and its rows. */
    const withoutCode = async (offset: number) => {
      b.writeInt16LE(0, offset);
      fs.writeFileSync(f, b);
      const h = await readNiftiHeader(f);
      return [h.affineSource, affineRows(h.affine)];
    };
    // sform_code 0
    expect(await withoutCode(254)).toEqual([
      'qform',
      [
        [2, 0, 0, 1],
        [0, 3, 0, 2],
        [0, 0, -1.5, 3],
        [0, 0, 0, 1],
      ],
    ]);
    // qform_code 0
    expect(await withoutCode(252)).toEqual([
      'pixdim',
      [
        [2, 0, 0, 0],
        [0, 3, 0, 0],
        [0, 0, 1.5, 0],
        [0, 0, 0, 1],
      ],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------
// NIfTI-2 in both byte orders (built by hand: no such big-endian file in nifti-edge).

describe('NIfTI-2 little- and big-endian', () => {
  it('reads both byte orders identically (scaled, sform)', async () => {
    const shape: [number, number, number] = [4, 3, 2];
    const data = Int16Array.from({ length: 24 }, (_, i) => i * 7 - 50);
    const srow = [0, -1, 0, 5, 1, 0, 0, -3, 0, 0, 2, 9];
    const out: Float32Array[] = [];
    for (const le of [true, false]) {
      const f = path.join(tmp, `n2-${le ? 'le' : 'be'}.nii.gz`);
      fs.writeFileSync(f, zlib.gzipSync(nifti2Bytes(shape, data, le, { srow, slope: 2, inter: -1 })));
      const v = await readNifti(f);
      expect(v.version).toBe(2);
      expect(v.littleEndian).toBe(le);
      expect(v.affineSource).toBe('sform');
      expect(affineRows(v.affine).slice(0, 3).flat()).toEqual(srow);
      expect(
        firstDifference(
          v.data,
          Array.from(data, (x) => x * 2 - 1),
        ),
      ).toBe(-1);
      out.push(v.data);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Corrupt input: clear errors, no crash, no hang, no unbounded allocation.

describe('corrupt input', () => {
  const shape: [number, number, number] = [16, 16, 8];
  const like = createNiftiHeader(
    shape,
    affineFromRows([
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
    ]),
  );
  let plain: Buffer;
  const file = (name: string, bytes: Uint8Array): string => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, bytes);
    return f;
  };
  const patched = (edit: (b: Buffer) => void, gz = false): Buffer => {
    const b = Buffer.from(plain);
    edit(b);
    return gz ? zlib.gzipSync(b) : b;
  };

  it('prepares a valid file', async () => {
    const f = path.join(tmp, 'valid.nii');
    await writeNifti(
      f,
      synthetic(shape, (i) => i % 1000),
      { like, datatype: 'int16' },
    );
    plain = fs.readFileSync(f);
    expect(plain.length).toBe(352 + 16 * 16 * 8 * 2);
  });

  const cases: Array<[string, () => string, RegExp]> = [
    [
      'truncated gzip',
      () => file('trunc.nii.gz', zlib.gzipSync(plain).subarray(0, 300)),
      /gzip data is truncated|truncated/,
    ],
    [
      'gzip with corrupt deflate data',
      () =>
        file(
          'corrupt.nii.gz',
          (() => {
            const g = Buffer.from(zlib.gzipSync(plain));
            for (let i = 20; i < 60; i++) g[i] ^= 0x5a;
            return g;
          })(),
        ),
      /gzip data is corrupt|truncated|not a NIfTI|invalid|wrong/,
    ],
    [
      'truncated plain file',
      () => file('trunc.nii', plain.subarray(0, 1000)),
      /truncated: the header declares 16×16×8 int16/,
    ],
    [
      'dims larger than the data (gz)',
      () =>
        file(
          'dims.nii.gz',
          patched((b) => b.writeInt16LE(64, 42), true),
        ),
      /truncated/,
    ],
    [
      'absurd dims (over the voxel limit)',
      () =>
        file(
          'huge.nii.gz',
          patched((b) => [1, 2, 3].forEach((i) => b.writeInt16LE(32767, 40 + 2 * i)), true),
        ),
      /exceeds the limit of 268435456 voxels/,
    ],
    [
      'negative dim',
      () =>
        file(
          'neg.nii',
          patched((b) => b.writeInt16LE(-5, 44)),
        ),
      /invalid dim\[2\] = -5/,
    ],
    [
      'dim[0] out of range',
      () =>
        file(
          'dim0.nii',
          patched((b) => b.writeInt16LE(9, 40)),
        ),
      /invalid dim\[0\] = 9/,
    ],
    [
      'wrong magic',
      () =>
        file(
          'magic.nii',
          patched((b) => b.write('xx1\0', 344, 'latin1')),
        ),
      /wrong NIfTI-1 magic/,
    ],
    [
      'unsupported datatype',
      () =>
        file(
          'complex.nii',
          patched((b) => b.writeInt16LE(32, 70)),
        ),
      /unsupported datatype 32 \(complex64\)/,
    ],
    [
      'unknown datatype code',
      () =>
        file(
          'dt.nii',
          patched((b) => b.writeInt16LE(12345, 70)),
        ),
      /unsupported datatype 12345 \(not a NIfTI datatype code\)/,
    ],
    [
      'NaN vox_offset',
      () =>
        file(
          'nanoff.nii',
          patched((b) => b.writeFloatLE(NaN, 108)),
        ),
      /invalid vox_offset/,
    ],
    [
      'vox_offset inside the header',
      () =>
        file(
          'smalloff.nii',
          patched((b) => b.writeFloatLE(100, 108)),
        ),
      /inside the 348-byte header/,
    ],
    [
      'enormous vox_offset',
      () =>
        file(
          'bigoff.nii.gz',
          patched((b) => b.writeFloatLE(1e12, 108), true),
        ),
      /header limit/,
    ],
    ['empty file', () => file('empty.nii', new Uint8Array(0)), /not a NIfTI file: only 0 bytes/],
    [
      'gzip of random bytes',
      () => file('random.nii.gz', zlib.gzipSync(Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) & 255)))),
      /not a NIfTI file/,
    ],
    ['header cut short', () => file('short.nii', plain.subarray(0, 200)), /truncated NIfTI-1 header/],
    ['missing file', () => path.join(tmp, 'nope.nii.gz'), /cannot open \(ENOENT\)/],
    ['a folder', () => tmp, /not a regular file|cannot open/],
  ];
  for (const [name, make, re] of cases) {
    it(`${name}: a NiftiError naming the file`, async () => {
      const f = make();
      const err = await readNifti(f).then(
        () => null,
        (e: Error) => e,
      );
      expect(err, `${name} should fail`).toBeInstanceOf(NiftiError);
      expect(err!.message.startsWith(f)).toBe(true);
      expect(err!.message).toMatch(re);
    });
  }

  it('honours a smaller voxel limit', async () => {
    const f = file('ok.nii', plain);
    await expect(readNifti(f, { maxVoxels: 1000 })).rejects.toThrow(/exceeds the limit of 1000 voxels/);
    expect(MAX_VOXELS).toBe(2 ** 28);
    expect((await readNifti(f)).warnings).toEqual([]);
  });
});
