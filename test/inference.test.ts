// How eval and predict run the model on a case: mirrored predictions averaged (--tta), the
// post-processing rules (--postprocess), whole-volume extent, and the same labels in both commands:
// the Dice eval reports is the Dice of the label map predict writes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../src/data/nifti.ts';
import { flipPlanes, postprocessLabels, predictLoadedCase, wholeExtent } from '../src/segan/infer.ts';
import { findCases, loadCase } from '../src/data/brats.ts';
import { loadCheckpoint, restore } from '../src/segan/checkpoint.ts';
import { SeganModel } from '../src/segan/model.ts';
import { createEngine } from '../src/index.ts';
import { regionFromLabels, scoreMasks } from '../src/segan/metrics.ts';
import { writeSyntheticCases } from '../src/segan/synth-cases.ts';
import { argv } from './helpers/argv.ts';
import { seganIn } from './helpers/trained.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('flipPlanes', () => {
  it('mirrors each plane and is its own inverse', () => {
    const src = Float32Array.from({ length: 2 * 9 }, (_, i) => i);
    const lr = flipPlanes(src, 2, 3, true, false);
    expect([...lr.subarray(0, 3)]).toEqual([2, 1, 0]);
    const ud = flipPlanes(src, 2, 3, false, true);
    expect([...ud.subarray(9, 12)]).toEqual([15, 16, 17]);
    expect([...flipPlanes(flipPlanes(src, 2, 3, true, true), 2, 3, true, true)]).toEqual([...src]);
  });
});

describe('postprocessLabels', () => {
  const shape: [number, number, number] = [10, 8, 6];
  const at = (x: number, y: number, z: number) => x + 10 * (y + 8 * z);
  it('drops 6-connected components under the size limit and keeps the rest', () => {
    const l = new Uint8Array(480);
    for (let x = 1; x <= 4; x++) for (let y = 1; y <= 3; y++) l[at(x, y, 2)] = 2; // 12 voxels
    l[at(8, 6, 4)] = 1; // 1 voxel
    l[at(8, 6, 5)] = 4; // touches it: a component of 2
    l[at(7, 7, 0)] = 2; // diagonal to nothing: 1 voxel
    const changed = postprocessLabels(l, shape, { minComponent: 3, minEnhancing: 0 });
    expect(changed).toEqual({ component: 3, enhancing: 0 });
    expect(l.filter(Boolean).length).toBe(12);
    expect(l[at(8, 6, 4)]).toBe(0);
  });
  it('relabels a small enhancing tumour as core, keeps a large one', () => {
    const l = new Uint8Array(480);
    for (let i = 0; i < 5; i++) l[at(i, 0, 0)] = 4;
    expect(postprocessLabels(l, shape, { minComponent: 1, minEnhancing: 6 })).toEqual({ component: 0, enhancing: 5 });
    expect(l.filter((v) => v === 1).length).toBe(5);
    const m = new Uint8Array(480);
    for (let i = 0; i < 5; i++) m[at(i, 0, 0)] = 4;
    expect(postprocessLabels(m, shape, { minComponent: 1, minEnhancing: 5 })).toEqual({ component: 0, enhancing: 0 });
    expect(m.filter((v) => v === 4).length).toBe(5);
  });
  it('refuses labels that do not match the grid', () => {
    expect(() => postprocessLabels(new Uint8Array(5), shape, { minComponent: 2, minEnhancing: 0 })).toThrow(
      /5 labels for a 10×8×6 grid/,
    );
  });
});

describe('inference options', () => {
  it('--min-component / --min-enhancing with --no-postprocess are refused (they would do nothing)', async () => {
    const { parseCommandLine } = await import('../src/cli/run.ts');
    const ck = path.join(ROOT, 'package.json'); // any existing file: the check comes before the checkpoint is read
    await expect(
      parseCommandLine(argv`predict --checkpoint ${ck} --case ${ROOT} --out x.nii.gz --min-enhancing 100
        --no-postprocess`),
    ).rejects.toThrow(
      /^segan predict: --min-enhancing only applies with --postprocess; drop --no-postprocess \(or --min-enhancing\)$/,
    );
    await expect(
      parseCommandLine(['predict', '--checkpoint', ck, '--case', ROOT, '--out', 'x.nii.gz', '--min-enhancing', '100']),
    ).resolves.toMatchObject({ values: { tta: true, postprocess: true, 'min-enhancing': 100 } });
  });
});

describe('eval and predict', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dawngrad-infer-'));
  const data = path.join(tmp, 'data');
  const segan = seganIn(tmp);
  let ckpt = '';
  beforeAll(async () => {
    await writeSyntheticCases(data, { cases: 4, seed: 21, shape: [44, 40, 20] });
    const r = await segan(argv`train --data ${data} --runs ${path.join(tmp, 'runs')} --run m --width 0.0625 --size 32
      --crop 40x40x16 --classes 3 --batch 4 --val-cases Synth_004 --max-steps 3`);
    expect(r.status, r.stderr).toBe(0);
    ckpt = path.join(tmp, 'runs', 'm', 'checkpoints', 'latest.safetensors');
  }, 180_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the whole extent covers every case: planes a multiple of 16, all slices', async () => {
    expect(await wholeExtent(await findCases(data))).toEqual({ cropShape: [48, 48, 20], cropSize: 48 });
  });

  it.each([
    [['--extent', 'whole', '--tta', '--postprocess', '--min-component', '5', '--min-enhancing', '50']],
    [['--extent', 'crop']],
  ])(
    'with %j the Dice eval reports is the Dice of the label map predict writes',
    async (opts) => {
      const out = path.join(tmp, `eval-${opts.length}`);
      const e = await segan(argv`eval --data ${data} --checkpoint ${ckpt} --cases Synth_004 --out ${out} ${opts}`);
      expect(e.status, e.stderr).toBe(0);
      const scores = JSON.parse(fs.readFileSync(path.join(out, 'scores.json'), 'utf8'));
      expect(scores.inference.extent).toBe(opts[1]);
      const file = path.join(tmp, `pred-${opts.length}.nii.gz`);
      const p = await segan(argv`predict --checkpoint ${ckpt} --case ${path.join(data, 'Synth_004')} --out ${file}
        ${opts}`);
      expect(p.status, p.stderr).toBe(0);
      const pred = Uint8Array.from((await readNifti(file)).data as ArrayLike<number>);
      const truth = Uint8Array.from(
        (await readNifti(path.join(data, 'Synth_004', 'Synth_004_seg.nii.gz'))).data as ArrayLike<number>,
      );
      for (const region of ['whole', 'core', 'enhancing'] as const) {
        const dice = scoreMasks(regionFromLabels(pred, region), regionFromLabels(truth, region)).dice;
        expect(dice, region).toBeCloseTo(scores.cases[0].regions[region].dice, 12);
      }
    },
    180_000,
  );

  it(
    "predictLoadedCase (the browser's path: a case in " + "memory, no dataset, no cache) writes predict's labels",
    async () => {
      const opts = ['--tta', '--postprocess', '--min-component', '5', '--min-enhancing', '50'];
      const file = path.join(tmp, 'pred-loaded.nii.gz');
      const p = await segan(argv`predict --checkpoint ${ckpt} --case ${path.join(data, 'Synth_003')} --out ${file}
        ${opts}`);
      expect(p.status, p.stderr).toBe(0);
      const fromPredict = Uint8Array.from((await readNifti(file)).data as ArrayLike<number>);
      const c = loadCheckpoint(ckpt);
      const engine = await createEngine();
      try {
        const model = new SeganModel(engine, c.config);
        restore(c, model, null);
        const loaded = await loadCase((await findCases(data)).find((x) => x.id === 'Synth_003')!);
        const r = await predictLoadedCase(engine, model.S, loaded, c.config, c.config.batch, {
          tta: true,
          postprocess: { minComponent: 5, minEnhancing: 50 },
        });
        expect(r.shape).toEqual([44, 40, 20]);
        expect(r.labels.length).toBe(fromPredict.length);
        let differ = 0;
        for (let i = 0; i < r.labels.length; i++) if (r.labels[i] !== fromPredict[i]) differ++;
        expect(differ).toBe(0); // same kernels, same adapter: bit-identical probabilities
        expect(new Set(r.labels).size).toBeGreaterThan(1); // a model that predicts something, not an empty map
        model.dispose();
      } finally {
        await engine.close();
      }
    },
    180_000,
  );
});
