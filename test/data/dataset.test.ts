import fs from 'node:fs';
import path from 'node:path';
import { mat4, vec4 } from 'gl-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCases } from '../../src/data/brats.ts';
import { splitCases } from '../../src/data/case-split.ts';
import { sampleMatrix } from '../../src/data/crop-sampling.ts';
import { openDataset } from '../../src/data/dataset.ts';
import type { Batch, Dataset, DatasetOptions } from '../../src/data/dataset-types.ts';
import { niftiStats, readNifti, writeNifti } from '../../src/data/nifti.ts';
import { canonicalAffine } from '../../src/data/orientation.ts';
import { affineFromRows, BRATS_DEV, HAS_BRATS, SKIP_NOTE, tempDir, writeSyntheticCase } from './helpers.ts';

const tmp = tempDir('dataset');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Synthetic data: 6 small cases (30×28×20), two of them stored in non-LPS orientations, in HGG/ and LGG/.
const DATA = path.join(tmp, 'data');
const SHAPE: [number, number, number] = [30, 28, 20];
const OPTS = (cacheDir: string): DatasetOptions => ({
  cacheDir,
  cropShape: [24, 22, 16],
  cropSize: 16,
  seed: 3,
});
const RAS = affineFromRows([
  [1, 0, 0, -10],
  [0, 1, 0, 4],
  [0, 0, 1, 2],
]);
const PERMUTED = affineFromRows([
  [0, -1, 0, 0], // i → posterior... (-y)
  [0, 0, 1, 0], // j → superior
  [-1, 0, 0, 0], // k → left
]);

beforeAll(async () => {
  for (let i = 0; i < 6; i++) {
    const group = i < 4 ? 'HGG' : 'LGG';
    const affine = i === 1 ? RAS : i === 4 ? PERMUTED : undefined;
    const shape: [number, number, number] = i === 4 ? [SHAPE[2], SHAPE[1], SHAPE[0]] : SHAPE;
    await writeSyntheticCase(path.join(DATA, group), `Syn_${i}`, { shape, affine, seed: i + 1 });
  }
});

function same(a: Batch[], b: Batch[]): boolean {
  if (a.length !== b.length) return false;
  return a.every(
    (x, i) =>
      x.count === b[i].count &&
      JSON.stringify(x.samples) === JSON.stringify(b[i].samples) &&
      x.image.every((v, j) => v === b[i].image[j]) &&
      x.label.every((v, j) => v === b[i].label[j]),
  );
}

describe('dataset on synthetic cases', () => {
  let ds: Dataset;
  const cacheDir = path.join(tmp, 'cache');

  it('builds the cache once and reuses it without reading NIfTI again', async () => {
    const before = niftiStats.reads;
    ds = await openDataset(DATA, OPTS(cacheDir));
    expect(ds.cache.built).toHaveLength(6);
    expect(niftiStats.reads - before).toBe(6 * 4); // 3 modalities + seg per case
    ds.close();
    const again = niftiStats.reads;
    ds = await openDataset(DATA, OPTS(cacheDir));
    expect(ds.cache.reused).toHaveLength(6);
    expect(ds.cache.built).toEqual([]);
    expect(niftiStats.reads).toBe(again);
    expect(fs.readdirSync(cacheDir).filter((f) => f.endsWith('.bin'))).toHaveLength(6);
    expect([ds.M, ds.K, ds.S, ds.Z]).toEqual([3, 3, 16, 16]);
    expect(ds.modalities).toEqual(['t1c', 't2', 'flair']);
    expect(ds.label3).toBe('core');
  });

  it('splits at case level, stratified by group, deterministic for the seed', async () => {
    expect(ds.trainCases.length + ds.valCases.length).toBe(6);
    expect(ds.valCases.filter((c) => ds.trainCases.includes(c))).toEqual([]);
    const cases = await findCases(DATA);
    expect(splitCases(cases, { seed: 3 })).toEqual({ train: ds.trainCases, val: ds.valCases });
    expect(splitCases(cases, { seed: 3, valFraction: 0.5 })).toEqual(splitCases(cases, { seed: 3, valFraction: 0.5 }));
    const half = splitCases(cases, { seed: 9, valFraction: 0.5 });
    expect(half.val.filter((id) => ['Syn_4', 'Syn_5'].includes(id))).toHaveLength(1); // one of the two LGG cases
    expect(half.val).toHaveLength(3);
    const seeds = new Set([0, 1, 2, 3, 4, 5, 6, 7].map((s) => splitCases(cases, { seed: s }).val.join()));
    expect(seeds.size).toBeGreaterThan(1);
    expect(splitCases(cases, { valCases: ['Syn_2'] })).toEqual({
      train: ['Syn_0', 'Syn_1', 'Syn_3', 'Syn_4', 'Syn_5'],
      val: ['Syn_2'],
    });
    expect(() => splitCases(cases, { valCases: ['nope'] })).toThrow(/unknown case id\(s\) nope/);
  });

  it('serves batches [B, M, S, S] / [B, K, S, S], the same for the same (seed, epoch)', () => {
    const a = [...ds.batches('train', 8, { epoch: 2, flip: true })];
    const b = [...ds.batches('train', 8, { epoch: 2, flip: true })];
    const c = [...ds.batches('train', 8, { epoch: 3, flip: true })];
    expect(same(a, b)).toBe(true);
    expect(same(a, c)).toBe(false);
    const n = ds.numSlices('train');
    expect(n).toBe(ds.trainCases.length * 16);
    expect(a.reduce((s, x) => s + x.count, 0)).toBe(n);
    expect(a.at(-1)!.count).toBe(n % 8 || 8);
    expect([...ds.batches('train', 8, { epoch: 2, dropLast: true })].every((x) => x.count === 8)).toBe(true);
    for (const batch of a) {
      expect(batch.image.length).toBe(batch.count * 3 * 16 * 16);
      expect(batch.label.length).toBe(batch.count * 3 * 16 * 16);
      for (const s of batch.samples) {
        expect(ds.trainCases).toContain(s.caseId);
        expect(s.x0).toBeGreaterThanOrEqual(0);
        expect(s.x0).toBeLessThanOrEqual(24 - 16);
        expect(s.y0).toBeLessThanOrEqual(22 - 16);
      }
      expect(batch.image.every((v) => v >= 0 && v <= 1)).toBe(true);
      const plane = 256;
      let bad = 0;
      for (let i = 0; i < batch.count; i++) {
        const L = (k: number, p: number) => batch.label[(i * 3 + k) * plane + p];
        for (let p = 0; p < plane; p++) {
          if (L(0, p) !== 0 && L(0, p) !== 1) bad++;
          if (L(0, p) < L(1, p) || L(1, p) < L(2, p)) bad++; // whole ⊇ core ⊇ enhancing
        }
      }
      expect(bad).toBe(0);
    }
    const samples = a.flatMap((x) => x.samples.map((s) => `${s.caseId}:${s.z}`));
    expect(new Set(samples).size).toBe(n); // every slice once per epoch
    expect(new Set(a.flatMap((x) => x.samples.map((s) => `${s.x0},${s.y0}`))).size).toBeGreaterThan(5); // random crops
    expect(a.flatMap((x) => x.samples).some((s) => s.flipX) && a.flatMap((x) => x.samples).some((s) => !s.flipX)).toBe(
      true,
    );
  });

  it('validation: centre crops, in order, all slices of the validation cases', () => {
    const v = [...ds.batches('val', 5)];
    const samples = v.flatMap((x) => x.samples);
    expect(samples).toHaveLength(ds.numSlices('val'));
    expect(samples.length).toBe(ds.valCases.length * 16);
    expect(samples.every((s) => s.x0 === 4 && s.y0 === 3 && !s.flipX && !s.flipY)).toBe(true);
    expect(samples.map((s) => `${s.caseId}:${s.z}`)).toEqual(
      ds.valCases.flatMap((id) => Array.from({ length: 16 }, (_, z) => `${id}:${z}`)),
    );
    expect(samples.every((s) => ds.valCases.includes(s.caseId))).toBe(true);
  });

  it('flips are the mirror images of the unflipped crop (image and labels)', () => {
    const batches = [...ds.batches('train', 16, { crop: 'center', flip: true, shuffle: false, epoch: 1 })];
    const S = 16;
    const byCase = new Map<string, ReturnType<Dataset['caseSlices']>>();
    let checked = 0;
    let bad = 0;
    for (const batch of batches)
      batch.samples.forEach((s, i) => {
        if (!byCase.has(s.caseId)) byCase.set(s.caseId, ds.caseSlices(s.caseId));
        const cs = byCase.get(s.caseId)!;
        for (const [arr, ref, C] of [
          [batch.image, cs.image, 3],
          [batch.label, cs.labels, 3],
        ] as const)
          for (let ch = 0; ch < C; ch++)
            for (let y = 0; y < S; y++)
              for (let x = 0; x < S; x++) {
                const sx = s.flipX ? S - 1 - x : x;
                const sy = s.flipY ? S - 1 - y : y;
                if (arr[((i * C + ch) * S + y) * S + x] !== ref[((s.z * C + ch) * S + sy) * S + sx]) bad++;
              }
        checked++;
      });
    expect(checked).toBe(ds.numSlices('train'));
    expect(bad).toBe(0);
    // the sampling matrix itself
    const m = sampleMatrix(4, 3, 16, true, false); // crop pixel (u, v) → slice pixel (x, y)
    const at = (u: number, v: number) => [m[0] * u + m[3] * v + m[6], m[1] * u + m[4] * v + m[7]];
    expect(at(0, 0)).toEqual([19, 3]);
    expect(at(15, 15)).toEqual([4, 18]);
  });

  it('skipEmpty keeps the requested fraction of tumour-free training slices', async () => {
    const all = ds.numSlices('train');
    const tumour = ds.trainCases.reduce((n, id) => n + ds.caseEntry(id).sliceTumour.filter((t) => t > 0).length, 0);
    expect(tumour).toBeGreaterThan(0);
    expect(tumour).toBeLessThan(all); // the synthetic tumour does not reach every slice
    const none = await openDataset(DATA, { ...OPTS(cacheDir), skipEmpty: 0 });
    expect(none.numSlices('train')).toBe(tumour);
    const some = await openDataset(DATA, { ...OPTS(cacheDir), skipEmpty: 0.5 });
    const kept = tumour + Math.round(0.5 * (all - tumour));
    expect(some.numSlices('train')).toBe(kept);
    const e1 = [...some.batches('train', 7, { epoch: 1 })].flatMap((b) => b.samples.map((s) => `${s.caseId}:${s.z}`));
    const e2 = [...some.batches('train', 7, { epoch: 2 })].flatMap((b) => b.samples.map((s) => `${s.caseId}:${s.z}`));
    expect(e1).toHaveLength(kept);
    expect(new Set(e1)).not.toEqual(new Set(e2)); // a different subset of empty slices each epoch
    expect(none.cache.built).toEqual([]); // skipEmpty does not touch the cache
    none.close();
    some.close();
  });

  it('putBack places centre-crop predictions at the right voxels of the original file grid', async () => {
    for (const id of ['Syn_0', 'Syn_1', 'Syn_4']) {
      const e = ds.caseEntry(id);
      const cs = ds.caseSlices(id);
      const back = ds.putBack(id, cs.raw);
      const ref = await ds.referenceHeader(id);
      const segFile = await readNifti(e.sources.at(-1)!.path);
      expect(back.length).toBe(segFile.data.length);
      // Independent check through the affines: file voxel → world → canonical voxel → inside the served crop?
      const toCan = new Float64Array(16);
      mat4.invert(toCan, canonicalAffine(ref.affine, e.transform));
      const [X, Y, Z] = ref.shape;
      const lo = [e.cropOffset[0] + 4, e.cropOffset[1] + 3, e.cropOffset[2]];
      const hi = [lo[0] + 16, lo[1] + 16, lo[2] + 16];
      let inside = 0;
      let bad = 0;
      const v = vec4.create();
      for (let k = 0; k < Z; k++)
        for (let j = 0; j < Y; j++)
          for (let i = 0; i < X; i++) {
            const w = vec4.fromValues(i, j, k, 1);
            vec4.transformMat4(v, w, ref.affine);
            vec4.transformMat4(v, v, toCan);
            const c = [0, 1, 2].map((a) => Math.round(v[a]));
            const idx = i + X * (j + Y * k);
            const isIn = c.every((x, a) => x >= lo[a] && x < hi[a]);
            inside += isIn ? 1 : 0;
            if (back[idx] !== (isIn ? segFile.data[idx] : 0)) bad++;
          }
      expect(bad).toBe(0);
      expect(inside).toBe(16 * 16 * 16);
      // and it writes with the reference header
      const out = path.join(tmp, `${id}_pred.nii.gz`);
      await writeNifti(out, back, { like: ref });
      const w = await readNifti(out);
      expect(Array.from(w.affine)).toEqual(Array.from(segFile.affine));
    }
    expect(() => ds.putBack('Syn_0', new Uint8Array(5))).toThrow(/expected \[16, 16, 16\]/);
  });

  it('rebuilds exactly the cases whose sources or options changed, and survives a damaged cache', async () => {
    ds.close();
    // a source file touched
    const f = (await findCases(DATA)).find((c) => c.id === 'Syn_2')!.files.t2!;
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(f, t, t);
    let d = await openDataset(DATA, OPTS(cacheDir));
    expect(d.cache.built).toEqual(['Syn_2']);
    d.close();
    // a truncated cache file
    fs.truncateSync(path.join(cacheDir, d.caseEntry('Syn_3').file), 100);
    d = await openDataset(DATA, OPTS(cacheDir));
    expect(d.cache.built).toEqual(['Syn_3']);
    d.close();
    // other preprocessing options: a new key, everything built, the old entries stay usable
    d = await openDataset(DATA, { ...OPTS(cacheDir), percentiles: [1, 99] });
    expect(d.cache.built).toHaveLength(6);
    expect(d.cache.key).not.toBe(ds.cache.key);
    d.close();
    d = await openDataset(DATA, { ...OPTS(cacheDir), regions: 'whole', label3: 'enhancing' });
    expect(d.cache.built).toEqual([]);
    expect(d.K).toBe(1);
    d.close();
    // an unreadable index: rebuilt
    fs.writeFileSync(path.join(cacheDir, 'index.json'), '{ not json');
    d = await openDataset(DATA, OPTS(cacheDir));
    expect(d.cache.built).toHaveLength(6);
    d.close();
  });

  it('reports unusable data clearly', async () => {
    await expect(openDataset(path.join(tmp, 'nothing-here'), { cacheDir: path.join(tmp, 'c2') })).rejects.toThrow(
      /cannot read folder/,
    );
    fs.mkdirSync(path.join(tmp, 'empty'));
    await expect(openDataset(path.join(tmp, 'empty'), { cacheDir: path.join(tmp, 'c2') })).rejects.toThrow(
      /no BraTS cases found/,
    );
    const noSeg = path.join(tmp, 'noseg');
    await writeSyntheticCase(noSeg, 'N_1', { shape: [8, 8, 8], withSeg: false });
    await expect(
      openDataset(noSeg, { cacheDir: path.join(tmp, 'c2'), cropShape: [8, 8, 8], cropSize: 8 }),
    ).rejects.toThrow(/N_1 has no segmentation/);
    await expect(openDataset(DATA, { ...OPTS(cacheDir), cropSize: 30 })).rejects.toThrow(/cropSize 30/);
  });
});

describe(`dataset on the BraTS 2018 dev cases ${HAS_BRATS ? '' : SKIP_NOTE}`, () => {
  it.skipIf(!HAS_BRATS)(
    'caches, reuses, serves 160×160 crops ' + 'and puts predictions back into 240×240×155',
    async () => {
      const cacheDir = path.join(tmp, 'brats-cache');
      const t0 = performance.now();
      const ds = await openDataset(BRATS_DEV, { cacheDir, seed: 1 });
      const buildMs = performance.now() - t0;
      expect(ds.cache.built).toHaveLength(5);
      expect(ds.valCases).toHaveLength(1);
      expect(ds.numSlices('train')).toBe(4 * 128);
      ds.close();
      const reads = niftiStats.reads;
      const t1 = performance.now();
      const again = await openDataset(BRATS_DEV, { cacheDir, seed: 1 });
      const reuseMs = performance.now() - t1;
      expect(niftiStats.reads).toBe(reads);
      expect(again.cache.reused).toHaveLength(5);
      const first = again.batches('train', 16, { epoch: 0, flip: true }).next().value as Batch;
      expect(first.count).toBe(16);
      expect(first.image.length).toBe(16 * 3 * 160 * 160);
      expect(first.label.length).toBe(16 * 3 * 160 * 160);
      // putBack of the ground truth's centre crop reproduces the seg file inside the crop (all BraTS tumour lies there)
      const id = again.valCases[0];
      const cs = again.caseSlices(id);
      const back = again.putBack(id, cs.raw);
      const seg = await readNifti(again.caseEntry(id).sources.at(-1)!.path);
      expect(back.length).toBe(240 * 240 * 155);
      let diff = 0;
      let tumour = 0;
      for (let i = 0; i < back.length; i++) {
        const x = i % 240;
        const y = Math.floor(i / 240) % 240;
        const z = Math.floor(i / 57600);
        const inside = x >= 40 && x < 200 && y >= 40 && y < 200 && z >= 13 && z < 141;
        if (back[i] !== (inside ? seg.data[i] : 0)) diff++;
        if (seg.data[i] > 0) tumour++;
      }
      expect(diff).toBe(0);
      // written with the reference header, it has the original file's geometry
      const ref = await again.referenceHeader(id);
      const out = path.join(tmp, `${id}_pred.nii.gz`);
      await writeNifti(out, back, { like: ref });
      const w = await readNifti(out);
      expect(w.shape).toEqual([240, 240, 155]);
      expect(w.datatype).toBe('uint8');
      expect(Array.from(w.affine)).toEqual(Array.from(ref.affine));
      expect([w.qformCode, w.sformCode]).toEqual([ref.qformCode, ref.sformCode]);
      console.log(
        `BraTS dataset: build ${(buildMs / 1000).toFixed(1)} s, reopen ${reuseMs.toFixed(0)} ms; val ` +
          `case ${id}: tumour ${tumour} voxels, ${back.reduce((n, v) => n + (v > 0 ? 1 : 0), 0)} put back`,
      );
      again.close();
    },
  );
});
