// Training on synthetic phantoms reaches whole-tumour Dice >= 0.85 on held-back phantoms.
// Budget (stated for CI on 2 CPU cores with lavapipe): 10 phantoms of 96×96×48, a width-1/8 SegAN
// (K = 1) on 64×64 crops with random flips, batch 8, 14 epochs of 32 steps (448 D+G steps; lr 1e-3
// halved every 5 epochs), about 4 minutes. Measured: Dice 0.919 and 0.862 on the two held-back cases.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataset } from '../src/data/dataset.ts';
import { makeConfig } from '../src/segan/config.ts';
import { loadCheckpoint, restore } from '../src/segan/checkpoint.ts';
import { predictSlices, scoreCase } from '../src/segan/infer.ts';
import { SeganModel } from '../src/segan/model.ts';
import { train } from '../src/segan/train.ts';
import { writeSyntheticCases } from '../src/segan/synth-cases.ts';
import { useEngine } from './helpers/engine.ts';

const engine = useEngine();
const dir = mkdtempSync(join(tmpdir(), 'dawngrad-segan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SegAN on synthetic phantoms', () => {
  it('reaches whole-tumour Dice >= 0.85 (3-D, mean of held-back cases) within 448 steps', async () => {
    const e = engine();
    const data = join(dir, 'data');
    // typical-size tumours: a small phantom tumour is a few hundred voxels at this resolution, where one
    // voxel of boundary error costs several points of Dice
    const ids = await writeSyntheticCases(data, {
      cases: 10,
      seed: 7,
      shape: [96, 96, 48],
      phantom: { tumourSize: 'typical' },
    });
    const val = ids.slice(-2);
    const config = makeConfig({
      lr: 1e-3,
      lrHalveEvery: 5,
      epochs: 14,
      batch: 8,
      size: 64,
      volumeCrop: [72, 72, 32],
      seed: 5,
      model: { inChannels: 3, classes: 1, width: 0.125, skip: 'add', slope: 0.2, seed: 5 },
    });
    const result = await train(e, {
      dataDir: data,
      runDir: join(dir, 'run'),
      cacheDir: join(dir, 'cache'),
      config,
      valCases: val,
      logEvery: 16,
      checkpointEvery: 1000,
      flip: true,
      maxValCases: 2,
    });
    expect(result.stopped).toBe('done');
    expect(result.progress.globalStep).toBe(448);
    // 3-D evaluation from the saved checkpoint, as `segan eval` does it
    const ckpt = loadCheckpoint(result.lastCheckpoint!);
    const model = new SeganModel(e, ckpt.config);
    restore(ckpt, model, null);
    const ds = await openDataset(data, {
      cacheDir: join(dir, 'cache'),
      regions: 'whole',
      valCases: val,
      cropSize: 64,
      cropShape: [72, 72, 32],
      seed: 5,
    });
    const dice: number[] = [];
    for (const id of val) {
      const cs = ds.caseSlices(id);
      const { labels } = await predictSlices(e, model.S, cs, 8);
      const s = scoreCase(id, ds.putBack(id, labels), ds.putBack(id, cs.raw), 1);
      dice.push(s.regions.whole!.dice);
    }
    console.log(`held-back whole-tumour Dice (3-D, per case): ${dice.map((d) => d.toFixed(3)).join(', ')}`);
    const mean = dice.reduce((a, b) => a + b, 0) / dice.length;
    expect(mean).toBeGreaterThanOrEqual(0.85);
    model.dispose();
  }, 600_000);
});
