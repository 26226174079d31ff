// The README's main command, end to end: `segan demo` (synthetic phantoms → training → 3-D evaluation
// → a predicted label volume), shrunk to 3 phantoms, 1 epoch and width 1/16 so it takes seconds.
// The full-size demo is `npm run demo`; this checks that every stage runs and leaves its outputs.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './helpers/spawn.ts';
import { readNifti } from '../src/data/nifti-read.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dawngrad-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('segan demo', () => {
  it('runs all four stages and leaves a checkpoint, scores, plots and a label volume', async () => {
    const out = join(dir, 'demo');
    const r = await run(
      process.execPath,
      ['bin/segan.mjs', 'demo', '--out', out, '--cases', '3', '--epochs', '1', '--width', '0.0625'],
      { cwd: root, timeout: 240_000 },
    );
    expect(r.stderr.replace(/^Warning: .*\n/gm, '')).not.toMatch(/Error|error:/);
    expect(r.status).toBe(0);
    for (const stage of [
      '== 1/4 synthetic data: 3 phantoms',
      '== 2/4 training',
      '== 3/4 evaluation in 3-D on Synth_002, Synth_003',
      '== 4/4 prediction for Synth_002',
      'done in',
    ]) {
      expect(r.stdout).toContain(stage);
    }
    for (const f of [
      'train/checkpoints/latest.safetensors',
      'train/loss-curve.svg',
      'train/metrics.jsonl',
      'eval/scores.csv',
      'eval/scores.json',
      'Synth_002_pred.nii.gz',
    ]) {
      expect([f, existsSync(join(out, f))]).toEqual([f, true]);
    }
    const scores = JSON.parse(readFileSync(join(out, 'eval/scores.json'), 'utf8'));
    expect(JSON.stringify(scores)).toMatch(/Synth_003/);
    // the prediction: the phantom's grid, BraTS labels only
    const seg = await readNifti(join(out, 'Synth_002_pred.nii.gz'));
    expect(seg.shape).toEqual([96, 96, 48]);
    const labels = new Set(seg.data);
    for (const v of labels) expect([0, 1, 2, 4]).toContain(v);
    expect(labels.has(0)).toBe(true);
  });
});
