// Training-crop augmentations (Augment in src/data/augment.ts): off by default and then bitwise the
// plain batches; tumour-centred crops; rotation and zoom through one resample (labels stay 0/1);
// intensity changes inside the brain only; every draw reproducible from (seed, epoch).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { affineSampleMatrix, type Augment } from '../../src/data/augment.ts';
import { sampleMatrix } from '../../src/data/crop-sampling.ts';
import { openDataset } from '../../src/data/dataset.ts';
import type { Batch, Dataset } from '../../src/data/dataset-types.ts';
import { writeSyntheticCases } from '../../src/segan/synth-cases.ts';
import { tempDir } from './helpers.ts';

const tmp = tempDir('augment');
let ds: Dataset;
beforeAll(async () => {
  await writeSyntheticCases(path.join(tmp, 'data'), {
    cases: 3,
    seed: 11,
    shape: [64, 64, 24],
    phantom: { tumourSize: 'small' },
  });
  ds = await openDataset(path.join(tmp, 'data'), {
    cacheDir: path.join(tmp, 'cache'),
    cropShape: [56, 56, 16],
    cropSize: 24,
    seed: 2,
    valCases: ['Synth_003'],
  });
}, 60_000);
afterAll(() => {
  ds?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const all = (augment?: Augment, epoch = 0): Batch[] => [...ds.batches('train', 8, { epoch, augment })];
const bits = (bs: Batch[]) =>
  bs
    .map((b) => [Buffer.from(b.image.buffer).toString('base64'), Buffer.from(b.label.buffer).toString('base64')].join())
    .join();
/** Per sample: whether its crop holds tumour (label plane 0). */
const withTumour = (bs: Batch[]) =>
  bs.flatMap((b) =>
    Array.from({ length: b.count }, (_, i) =>
      b.label.subarray(i * ds.K * 576, i * ds.K * 576 + 576).some((v) => v > 0),
    ),
  );

describe('augmentations of training crops', () => {
  it('all off (the default, or zeros) gives bitwise the plain batches', () => {
    expect(bits(all({ tumourCrops: 0, rotate: 0, scale: 0, intensity: 0 }))).toBe(bits(all()));
  });

  it('tumourCrops 1: every crop of a slice with tumour holds tumour; fewer do without it', () => {
    const plain = all();
    const centred = all({ tumourCrops: 1 });
    // slices with tumour anywhere (the crop-independent truth): from the uncropped cache via the label sums
    const slicesWithTumour = centred
      .flatMap((b) => b.samples)
      .map((s) => {
        const cs = ds.caseSlices(s.caseId);
        const plane = ds.S * ds.S;
        return cs.raw.subarray(s.z * plane, (s.z + 1) * plane).some((v) => v > 0);
      });
    const hits = withTumour(centred);
    let missed = 0;
    slicesWithTumour.forEach((has, i) => {
      if (has) expect(hits[i], `sample ${i}`).toBe(true);
      if (has && !withTumour(plain)[i]) missed++;
    });
    // without it, random crops miss the (small) tumour of some such slices
    expect(missed).toBeGreaterThan(0);
  });

  it('rotation and zoom: labels stay 0/1, images change, the same (seed, epoch) gives the same batches', () => {
    const a = all({ rotate: 30, scale: 0.2 });
    for (const b of a) for (const v of b.label) expect(v === 0 || v === 1).toBe(true);
    expect(bits(a)).not.toBe(bits(all()));
    expect(bits(all({ rotate: 30, scale: 0.2 }))).toBe(bits(a));
    expect(bits(all({ rotate: 30, scale: 0.2 }, 1))).not.toBe(bits(a));
  });

  it(
    'intensity: background stays 0, the brain changes, crops ' +
      'and labels do not (augmentations draw from their own stream)',
    () => {
      const plain = all();
      const aug = all({ intensity: 0.3 });
      let changed = 0;
      plain.forEach((b, i) => {
        expect(Buffer.from(aug[i].label.buffer).equals(Buffer.from(b.label.buffer))).toBe(true);
        b.image.forEach((v, j) => {
          if (v === 0) expect(aug[i].image[j]).toBe(0);
          else if (aug[i].image[j] !== v) changed++;
        });
      });
      expect(changed).toBeGreaterThan(0);
    },
  );

  it('affineSampleMatrix: no turn and no zoom is the integer crop; 90° turns the crop about its centre', () => {
    const S = 24;
    const plain = sampleMatrix(5, 7, S, false, false);
    const same = affineSampleMatrix(5 + (S - 1) / 2, 7 + (S - 1) / 2, S, 0, 1, false, false);
    for (let i = 0; i < 9; i++) expect(same[i]).toBeCloseTo(plain[i], 12);
    const turned = affineSampleMatrix(40, 30, S, 90, 1, false, false);
    const at = (u: number, v: number) => [
      turned[0] * u + turned[3] * v + turned[6],
      turned[1] * u + turned[4] * v + turned[7],
    ];
    const c = (S - 1) / 2;
    expect(at(c, c)[0]).toBeCloseTo(40, 12);
    expect(at(c, c)[1]).toBeCloseTo(30, 12);
    // one step along u moves one pixel along +y after a 90° turn
    expect(at(c + 1, c)[0]).toBeCloseTo(40, 12);
    expect(at(c + 1, c)[1]).toBeCloseTo(31, 12);
    // zoom 2 halves the step
    const zoomed = affineSampleMatrix(40, 30, S, 0, 2, false, false);
    expect(zoomed[0]).toBeCloseTo(0.5, 12);
  });
});
