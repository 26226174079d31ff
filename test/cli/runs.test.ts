// The command line as a user runs it (`node bin/segan.mjs …`, real processes on the WebGPU adapter):
// run folders are never overwritten by accident, run names cannot escape --runs, --resume continues
// the run's own plan (and records what the command line changed), checkpoints are pruned to the last
// N, nothing is written inside --data, `segan cache clear` empties the cache, `eval --batch 0` (once a
// segmentation fault) is refused, and Dawn's two native warnings stay out of the user's way.
import { spawnSync } from 'node:child_process';
import { run } from '../helpers/spawn.ts';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/segan/checkpoint.ts';
import { writeSyntheticCases } from '../../src/segan/synth-cases.ts';
import { tempDir } from '../data/helpers.ts';
import { argv } from '../helpers/argv.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tmp = tempDir('cli-runs');
const data = path.join(tmp, 'data');
const runs = path.join(tmp, 'runs');
const xdg = path.join(tmp, 'xdg-cache');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  await writeSyntheticCases(data, { cases: 4, seed: 5, shape: [48, 48, 24] });
}, 60_000);

/** The CLI in a child process, awaited (a long spawnSync starves vitest's worker RPC). */
function segan(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, [path.join(ROOT, 'bin/segan.mjs'), ...args], {
    cwd: tmp,
    timeout: 180_000,
    env: { ...process.env, XDG_CACHE_HOME: xdg, ...env },
  });
}

// 3 training cases × 16 slices / batch 4 = 12 steps per epoch
const tiny = argv`--data ${data} --runs ${runs} --width 0.0625 --size 32 --crop 40x40x16 --classes 1 --batch 4
  --val-cases Synth_004 --log-every 1`;

/** Files under a folder with their sizes and modification times. */
function tree(dir: string): string {
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .sort()
    .map((f) => {
      const st = fs.statSync(path.join(dir, f));
      return `${f} ${st.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`;
    })
    .join('\n');
}

describe('run folders', () => {
  it(
    'an existing run is never overwritten by accident; ' + '--overwrite replaces it; names cannot escape --runs',
    async () => {
      const first = await segan(['train', ...tiny, '--run', 'a', '--max-steps', '2']);
      expect(first.status, first.stderr).toBe(0);
      const run = path.join(runs, 'a');
      const before = tree(run);
      const again = await segan(['train', ...tiny, '--run', 'a', '--max-steps', '1']);
      expect(again.status).toBe(2);
      expect(again.stderr).toBe(
        `segan train: run folder ${run} already exists; continue it with ` +
          `--resume ${run}/checkpoints/latest.safetensors, choose another --run, or add --overwrite to replace ` +
          `it\n`,
      );
      expect(tree(run)).toBe(before);
      // a failed command (a bad value) leaves it as it was too
      expect((await segan(['train', ...tiny, '--run', 'a', '--batch', '0'])).status).toBe(2);
      expect(tree(run)).toBe(before);
      for (const name of ['../escape', 'x/y', '..', '/abs']) {
        const r = await segan(['train', ...tiny, '--run', name]);
        expect(r.status, name).toBe(2);
        expect(r.stderr).toMatch(/^segan train: --run must be a single folder name/);
      }
      expect(fs.readdirSync(tmp).sort()).toEqual(['data', 'runs', 'xdg-cache']);
      const over = await segan(['train', ...tiny, '--run', 'a', '--max-steps', '1', '--overwrite']);
      expect(over.status, over.stderr).toBe(0);
      expect(fs.readdirSync(path.join(run, 'checkpoints')).sort()).toEqual([
        'latest.safetensors',
        'step-0000001.safetensors',
      ]);
      expect(loadCheckpoint(path.join(run, 'checkpoints', 'latest.safetensors')).progress.globalStep).toBe(1);
    },
    180_000,
  );

  it(
    "--precision f16 trains with float16 conv operands where the adapter has 'shader-f16', else says so in one " +
      'line',
    async () => {
      const info = JSON.parse((await segan(['info', '--json'])).stdout) as { features: string[] };
      const r = await segan(['train', ...tiny, '--run', 'half', '--max-steps', '2', '--precision', 'f16']);
      if (info.features.includes('shader-f16')) {
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/training SegAN \(code preset, float16 conv operands\)/);
        const metrics = fs
          .readFileSync(path.join(runs, 'half', 'metrics.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(metrics.filter((m) => m.step !== undefined).length).toBeGreaterThan(0);
        for (const m of metrics)
          for (const v of Object.values(m)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
      } else {
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(
          /^segan train: --precision f16: precision 'f16' needs the adapter feature 'shader-f16'/,
        );
        expect(fs.existsSync(path.join(runs, 'half'))).toBe(false);
      }
    },
    180_000,
  );

  it("--resume continues the run's own plan; an explicit option overrides it, is printed and recorded", async () => {
    const run = path.join(runs, 'plan');
    const a = await segan(argv`train ${tiny} --run plan --epochs 2 --max-steps 3 --checkpoint-every 2
      --keep-checkpoints 2`);
    expect(a.status, a.stderr).toBe(0);
    const latest = path.join(run, 'checkpoints', 'latest.safetensors');
    // no --data, --epochs, --run: all from the run; it ends after its own 2 epochs (24 steps), not the default 10
    const b = await segan(['train', '--resume', latest, '--max-steps', '30']);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(new RegExp(`resuming ${run} from step 3 \\(epoch 1 of 2\\)`));
    expect(b.stdout).not.toMatch(/changed on the command line/);
    expect(b.stdout).toMatch(/finished at epoch 2, step 24/);
    // more epochs and another learning rate: printed and recorded; the model's shape cannot change
    const refused = await segan(['train', '--resume', latest, '--width', '0.5']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toBe(
      "segan train: --width 0.5 cannot change when resuming: the checkpoint's run has width 0.0625\n",
    );
    const c = await segan(['train', '--resume', latest, '--epochs', '3', '--lr', '0.0001', '--max-steps', '2']);
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/changed on the command line: --epochs 3 \(was 2\), --lr 0\.0001 \(was 0\.0002\)/);
    const cfg = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
    expect([cfg.epochs, cfg.lr]).toEqual([3, 0.0001]);
    expect(cfg.resumes.map((r: { step: number }) => r.step)).toEqual([3, 24]);
    expect(cfg.resumes[1].overrides).toEqual({ epochs: 3, lr: 0.0001 });
    expect(cfg.run).toMatchObject({ data, valCases: ['Synth_004'], checkpointEvery: 2, keepCheckpoints: 2 });
    // retention: latest plus the last 2 step-N files (the plan's --keep-checkpoints 2)
    expect(fs.readdirSync(path.join(run, 'checkpoints')).sort()).toEqual([
      'best.safetensors',
      'latest.safetensors',
      'step-0000024.safetensors',
      'step-0000026.safetensors',
    ]);
    // metrics.jsonl holds each step once, even where a run was cut and resumed
    const steps = fs
      .readFileSync(path.join(run, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((m) => m.type === 'step')
      .map((m) => m.step);
    expect(steps).toEqual([...new Set(steps)]);
    // resumed from an earlier checkpoint: the records of the steps trained again are not kept twice
    const dup = path.join(runs, 'dup');
    expect(
      (await segan(['train', ...tiny, '--run', 'dup', '--checkpoint-every', '4', '--max-steps', '6'])).status,
    ).toBe(0);
    const again = await segan(argv`train --resume ${path.join(dup, 'checkpoints', 'step-0000004.safetensors')}
      --max-steps 2`);
    expect(again.status, again.stderr).toBe(0);
    const dupSteps = fs
      .readFileSync(path.join(dup, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((m) => m.type === 'step')
      .map((m) => m.step);
    expect(dupSteps).toEqual([1, 2, 3, 4, 5, 6]);
    // a corrupt checkpoint is found later (exit 1), named with its option
    const bad = path.join(tmp, 'bad.safetensors');
    fs.writeFileSync(bad, 'garbage');
    const d = await segan(['train', '--resume', bad]);
    expect(d.status).toBe(1);
    expect(d.stderr).toMatch(
      new RegExp(`^segan train: --resume ${bad}: the checkpoint is not a valid safetensors file .*\\n$`),
    );
  }, 300_000);
});

describe('data stays untouched; the cache lives outside it', () => {
  it('train, eval and predict write nothing inside --data; segan cache clear empties the cache', async () => {
    const before = tree(data);
    const t = await segan(['train', ...tiny, '--run', 'ro', '--max-steps', '1']);
    expect(t.status, t.stderr).toBe(0);
    const ck = path.join(runs, 'ro', 'checkpoints', 'latest.safetensors');
    const e = await segan(argv`eval --data ${data} --checkpoint ${ck} --cases Synth_004
      --out ${path.join(tmp, 'eval')}`);
    expect(e.status, e.stderr).toBe(0);
    const p = await segan(argv`predict --checkpoint ${ck} --case ${path.join(data, 'Synth_004')}
      --out ${path.join(tmp, 'seg.nii.gz')}`);
    expect(p.status, p.stderr).toBe(0);
    expect(tree(data)).toBe(before);
    const cache = path.join(xdg, 'dawngrad');
    // the 4 cases in the training crop, and Synth_004 whole (eval and predict's default --extent, shared)
    expect(fs.readdirSync(cache).filter((f) => f.endsWith('.bin')).length).toBe(5);
    const info = await segan(['cache']);
    expect(info.stdout).toMatch(new RegExp(`slice cache ${cache}\\n  5 preprocessed case files`));
    const clear = await segan(['cache', 'clear']);
    expect(clear.status).toBe(0);
    expect(clear.stdout).toMatch(/^cleared .*: 6 files, /);
    expect(fs.existsSync(cache)).toBe(false);
  }, 180_000);
});

describe('a dataset on a read-only file system', () => {
  // a real read-only mount (unshare -m + mount --bind -o ro) needs root; as another user the test above
  // (the data's files unchanged) is the check
  const root = process.getuid?.() === 0;
  it.runIf(root)(
    'train, eval and predict run on a read-only bind mount of --data (root: unshare -m, mount -o ro)',
    async () => {
      const ck = path.join(runs, 'ro', 'checkpoints', 'latest.safetensors');
      const bin = path.join(ROOT, 'bin/segan.mjs');
      const q = (a: string[]) => a.map((x) => `'${x}'`).join(' ');
      const segan = (args: string[], status: number) => `'${process.execPath}' '${bin}' ${q(args)} || exit ${status}`;
      const script = [
        `mount --bind -o ro '${data}' '${data}'`,
        `touch '${data}/probe' 2>/dev/null && { echo 'the mount is writable'; exit 9; }`,
        segan(['train', ...tiny, '--run', 'ro-mount', '--max-steps', '1', '--cache', path.join(tmp, 'ro-cache')], 11),
        segan(
          ['eval', '--data', data, '--checkpoint', ck, '--cases', 'Synth_004', '--out', path.join(tmp, 'ro-eval')],
          12,
        ),
        segan(
          ['predict', '--checkpoint', ck, '--case', path.join(data, 'Synth_003'), '--out', path.join(tmp, 'ro.nii.gz')],
          13,
        ),
      ].join('\n');
      const r = spawnSync('unshare', ['-m', 'sh', '-c', script], {
        cwd: tmp,
        encoding: 'utf8',
        timeout: 180_000,
        env: { ...process.env, XDG_CACHE_HOME: xdg },
      });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/wrote .*ro\.nii\.gz/);
    },
    180_000,
  );
});

describe('once a crash, now a refusal', () => {
  it(
    'segan eval --batch 0 (a segmentation fault before): exit 2 naming --batch, no signal; predictSlices ' +
      'refuses batch 0',
    async () => {
      const ck = path.join(runs, 'a', 'checkpoints', 'latest.safetensors');
      const r = await segan(['eval', '--data', data, '--checkpoint', ck, '--batch', '0']);
      expect(r.signal).toBeNull();
      expect(r.status).toBe(2);
      expect(r.stderr).toBe('segan eval: --batch must be an integer from 1 to 1024 (got 0)\n');
      const { predictSlices } = await import('../../src/segan/infer.ts');
      await expect(predictSlices(null as never, null as never, null as never, 0)).rejects.toThrow(
        /predictSlices: batch must be an integer ≥ 1, got 0/,
      );
    },
  );
});

describe("Dawn's native warnings", () => {
  it('segan info prints none of them; DAWNGRAD_RAW_STDERR=1 shows what the filter removes', async () => {
    const filtered = await segan(['info']);
    expect(filtered.status).toBe(0);
    expect(filtered.stderr).toBe('');
    const raw = await segan(['info'], { DAWNGRAD_RAW_STDERR: '1' });
    expect(raw.status).toBe(0);
    expect(raw.stdout).toBe(filtered.stdout);
    // lavapipe reports huge dynamic-buffer limits, so Dawn warns; another adapter may not
    if (/llvmpipe/.test(filtered.stdout)) expect(raw.stderr).toMatch(/artificially reduced/);
  });
});
