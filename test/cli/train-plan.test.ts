// The training plan's newer parts from the command line: patient-level cross-validation (foldSplits:
// every case validated exactly once, deterministic by seed, nnU-Net's layout; `segan train --folds N
// --fold K`: splits.json, the fold's validation cases, --val-cases winning, bad combinations refused
// in one line before anything is written) and the augmentation flags (recorded in the run's plan,
// changed one by one on resume).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldSplits } from '../../src/data/dataset.ts';
import { writeSyntheticCases } from '../../src/segan/synth-cases.ts';
import { run } from '../helpers/spawn.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('foldSplits', () => {
  const ids = Array.from({ length: 11 }, (_, i) => `Case_${String(i).padStart(2, '0')}`);
  it('validates every case in exactly one fold, trains on the rest, sizes differ by at most one', () => {
    const s = foldSplits(ids, 5, 3);
    expect(s).toHaveLength(5);
    expect(s.flatMap((f) => f.val).sort()).toEqual(ids);
    for (const f of s) {
      expect([...f.train, ...f.val].sort()).toEqual(ids);
      expect(f.val.some((v) => f.train.includes(v))).toBe(false);
      expect([2, 3]).toContain(f.val.length);
    }
  });
  it('is deterministic for a seed, independent of the input order, and differs between seeds', () => {
    expect(foldSplits([...ids].reverse(), 5, 3)).toEqual(foldSplits(ids, 5, 3));
    expect(foldSplits(ids, 5, 4)).not.toEqual(foldSplits(ids, 5, 3));
  });
  it('refuses fewer cases than folds, and fewer than 2 folds', () => {
    expect(() => foldSplits(ids.slice(0, 3), 5)).toThrow(/5 folds need at least 5 cases, found 3/);
    expect(() => foldSplits(ids, 1)).toThrow(/folds must be an integer ≥ 2/);
  });
});

describe('segan train --folds N --fold K', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dawngrad-folds-'));
  const data = path.join(tmp, 'data');
  const runs = path.join(tmp, 'runs');
  beforeAll(async () => {
    await writeSyntheticCases(data, { cases: 5, seed: 9, shape: [48, 48, 24] });
  }, 60_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const segan = (args: string[]) => run(process.execPath, [path.join(ROOT, 'bin/segan.mjs'), ...args], { cwd: tmp, env: { ...process.env, XDG_CACHE_HOME: path.join(tmp, 'xdg') }, timeout: 180_000 });
  const tiny = ['--data', data, '--runs', runs, '--width', '0.0625', '--size', '32', '--crop', '40x40x16', '--classes', '1', '--batch', '4', '--max-steps', '1'];

  it('writes splits.json (nnU-Net layout) and validates on fold K', async () => {
    const r = await segan(['train', ...tiny, '--run', 'f2', '--folds', '5', '--fold', '2']);
    expect(r.status, r.stderr).toBe(0);
    const splits = JSON.parse(fs.readFileSync(path.join(runs, 'f2', 'splits.json'), 'utf8')) as { train: string[]; val: string[] }[];
    const ids = fs.readdirSync(data).sort();
    expect(splits).toEqual(foldSplits(ids, 5, 666 /* the default seed */));
    const config = JSON.parse(fs.readFileSync(path.join(runs, 'f2', 'config.json'), 'utf8'));
    expect(config.data.val).toEqual(splits[2].val);
    expect(config.run.folds).toEqual({ n: 5, k: 2 });
    expect(r.stdout).toContain(`cross-validation fold 2 of 5 (cases split by seed 666): validating on ${splits[2].val.join(', ')}`);
  }, 180_000);

  it('--val-cases wins over the folds', async () => {
    const r = await segan(['train', ...tiny, '--run', 'vc', '--folds', '5', '--fold', '0', '--val-cases', 'Synth_001']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(runs, 'vc', 'config.json'), 'utf8')).data.val).toEqual(['Synth_001']);
    expect(fs.existsSync(path.join(runs, 'vc', 'splits.json'))).toBe(false);
    expect(r.stdout).toContain('--val-cases decides the validation cases: --folds/--fold are ignored');
  }, 180_000);

  it('augmentation flags go into the run plan; on resume one of them changes and the rest stay', async () => {
    const r = await segan(['train', ...tiny, '--run', 'aug', '--tumour-crops', '0.5', '--rotate', '10', '--checkpoint-every', '1']);
    expect(r.status, r.stderr).toBe(0);
    const cfg = JSON.parse(fs.readFileSync(path.join(runs, 'aug', 'config.json'), 'utf8'));
    expect(cfg.run.augment).toEqual({ tumourCrops: 0.5, rotate: 10, scale: 0, intensity: 0 });
    const again = await segan(['train', '--resume', path.join(runs, 'aug', 'checkpoints', 'latest.safetensors'), '--scale', '0.1', '--max-steps', '1']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('changed on the command line: --scale 0.1 (was 0)');
    const after = JSON.parse(fs.readFileSync(path.join(runs, 'aug', 'config.json'), 'utf8'));
    expect(after.run.augment).toEqual({ tumourCrops: 0.5, rotate: 10, scale: 0.1, intensity: 0 });
  }, 180_000);

  it('--max-minutes: the whole command ends within its budget, with a checkpoint, metrics and exit 0', async () => {
    const t0 = Date.now();
    const r = await segan(['train', ...tiny.filter((a, i) => a !== '--max-steps' && tiny[i - 1] !== '--max-steps'), '--run', 'budget', '--epochs', '1000', '--max-minutes', '0.3']);
    const wall = (Date.now() - t0) / 1000;
    console.log(`--max-minutes 0.3: the command took ${wall.toFixed(1)} s`);
    expect(r.status, r.stderr).toBe(0);
    expect(wall).toBeLessThanOrEqual(18);
    expect(wall).toBeGreaterThan(10); // it used the budget, not a fraction of it
    expect(r.stdout).toMatch(/stopped within the --max-minutes 0\.3 budget/);
    expect(fs.existsSync(path.join(runs, 'budget', 'checkpoints', 'latest.safetensors'))).toBe(true);
    expect(fs.readFileSync(path.join(runs, 'budget', 'metrics.jsonl'), 'utf8')).toMatch(/"type":"step"/);
  }, 120_000);

  it.each([
    [['--folds', '5', '--fold', '5'], 'segan train: --fold 5 must be below --folds 5 (folds are numbered 0 … 4)'],
    [['--fold', '1'], 'segan train: --fold needs --folds N too (cross-validation: fold K of N)'],
    [['--folds', '3'], 'segan train: --folds needs --fold K too (cross-validation: fold K of N)'],
    [['--folds', '6', '--fold', '0'], `segan train: --folds 6 needs at least 6 cases; ${data} has 5`],
    [['--folds', '1', '--fold', '0'], 'segan train: --folds must be an integer from 2 to 100 (got 1)'],
    [['--max-minutes', '0'], 'segan train: --max-minutes must be a number > 0 and ≤ 1000000 (got 0)'],
  ])('refuses %j in one line, before anything is written', async (args, message) => {
    const r = await segan(['train', ...tiny, '--run', 'bad', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`${message}\n`);
    expect(fs.existsSync(path.join(runs, 'bad'))).toBe(false);
  }, 60_000);
});
