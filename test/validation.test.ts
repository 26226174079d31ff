// Validation that matches evaluation: during training the validation cases are scored in 3-D with
// segan eval's code (per-case Dice and HD95, averaged over cases), every --val-every steps and after
// each epoch; checkpoints/best.safetensors keeps the best mean Dice, and segan eval of that checkpoint
// reproduces the validation numbers exactly.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/segan/checkpoint.ts';
import { train } from '../src/segan/train.ts';
import type { EpochMetrics } from '../src/segan/training-log.ts';
import { useEngine } from './helpers/engine.ts';
import { run } from './helpers/spawn.ts';
import { argv } from './helpers/argv.ts';
import { syntheticCases, tinyConfig } from './helpers/training.ts';

const engine = useEngine();
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { dir, data } = syntheticCases('val', 5, 4);

describe('3-D validation and the best checkpoint', () => {
  it(
    'validates every N steps and after each epoch, keeps ' +
      'best.safetensors, and segan eval of it gives the same Dice',
    async () => {
      const config = tinyConfig({ epochs: 2, classes: 3, seed: 5 });
      const runDir = join(dir, 'run');
      const val = ['Synth_004', 'Synth_005'];
      const result = await train(engine(), {
        dataDir: data,
        cacheDir: join(dir, 'cache'),
        runDir,
        config,
        valCases: val,
        valEvery: 5,
        logEvery: 5,
        checkpointEvery: 1000,
      });
      const vals = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((m) => m.type === 'val') as EpochMetrics[];
      // 3 training cases × 16 slices / batch 4 = 12 steps per epoch: validations at 5, 10, 12 (epoch end), 15, 20, 24
      expect(vals.map((m) => m.step)).toEqual([5, 10, 12, 15, 20, 24]);
      for (const m of vals) {
        expect(m.dice).toHaveLength(3);
        expect(m.hd95).toHaveLength(3);
        expect(m.cases).toBe(2);
        for (const d of m.dice) expect(d >= 0 && d <= 1).toBe(true);
      }
      expect(vals[0].best).toBe(true);
      const mean = (m: EpochMetrics) => m.dice.reduce((a, b) => a + b, 0) / 3;
      let best = -1;
      for (const m of vals) {
        expect(m.best, `step ${m.step}`).toBe(mean(m) > best);
        best = Math.max(best, mean(m));
      }
      const last = vals.filter((m) => m.best).at(-1)!;
      const bestFile = join(runDir, 'checkpoints', 'best.safetensors');
      expect(existsSync(bestFile)).toBe(true);
      expect(loadCheckpoint(bestFile).progress.globalStep).toBe(last.step);
      expect(result.val).toEqual(vals.at(-1)!.dice);
      // segan eval of best.safetensors on the validation cases, as validation sees them (the training
      // crop, one pass, no post-processing): the same numbers
      const out = join(dir, 'eval');
      const r = await run(
        process.execPath,
        argv`${join(ROOT, 'bin/segan.mjs')} eval --data ${data} --checkpoint ${bestFile} --cases ${val.join(',')}
          --out ${out} --cache ${join(dir, 'cache')} --batch 4 --extent crop --no-tta --no-postprocess`,
        { cwd: dir, timeout: 120_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      const scores = JSON.parse(readFileSync(join(out, 'scores.json'), 'utf8')) as {
        summary: { region: string; metric: string; mean: number }[];
      };
      ['whole', 'core', 'enhancing'].forEach((region, i) => {
        expect(scores.summary.find((s) => s.region === region && s.metric === 'dice')!.mean, region).toBeCloseTo(
          last.dice[i],
          6,
        );
        expect(scores.summary.find((s) => s.region === region && s.metric === 'hd95')!.mean, region).toBeCloseTo(
          last.hd95[i],
          4,
        );
      });
    },
    300_000,
  );
});
