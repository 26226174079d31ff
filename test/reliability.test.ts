// Crash safety of training: exact resume, checkpoints that survive SIGKILL, clear errors for corrupt
// checkpoints. Small synthetic data and a tiny model keep this within seconds.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../src/segan/config.ts';
import { loadCheckpoint, CheckpointError } from '../src/segan/checkpoint.ts';
import { train } from '../src/segan/train.ts';
import type { SkipRecord } from '../src/segan/non-finite-policy.ts';
import type { Tensor } from '../src/index.ts';
import { useEngine } from './helpers/engine.ts';
import { run as runCli } from './helpers/spawn.ts';
import { argv } from './helpers/argv.ts';
import { syntheticCases, tinyConfig } from './helpers/training.ts';

const engine = useEngine();
const root = fileURLToPath(new URL('..', import.meta.url));
const { dir, data } = syntheticCases('rel', 4, 3);

const config = tinyConfig({ epochs: 3, classes: 3, seed: 9 });
const base = {
  dataDir: data,
  cacheDir: join(dir, 'cache'),
  valCases: ['Synth_004'],
  logEvery: 5,
  checkpointEvery: 1000,
  maxValCases: 1,
};

describe('checkpoints', () => {
  it('10 steps + resume + 10 steps gives bitwise the same parameters as 20 steps', async () => {
    const e = engine();
    const straight = await train(e, { ...base, runDir: join(dir, 'straight'), config, maxSteps: 20 });
    const first = await train(e, { ...base, runDir: join(dir, 'split'), config, maxSteps: 10 });
    expect(first.progress.globalStep).toBe(10);
    const second = await train(e, {
      ...base,
      runDir: join(dir, 'split'),
      config,
      maxSteps: 10,
      resume: first.lastCheckpoint!,
    });
    expect(second.progress).toEqual(straight.progress);
    const a = loadCheckpoint(straight.lastCheckpoint!);
    const b = loadCheckpoint(second.lastCheckpoint!);
    expect([...a.tensors.keys()]).toEqual([...b.tensors.keys()]);
    for (const [name, t] of a.tensors) {
      const u = b.tensors.get(name)!;
      expect(
        Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(
          Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        ),
        name,
      ).toBe(true);
    }
    // the epoch boundary (12 steps per epoch here) was crossed inside the resumed part
    expect(straight.progress.epoch).toBe(1);
  }, 300_000);

  it('a corrupted or truncated checkpoint gives a clear error', async () => {
    const e = engine();
    const r = await train(e, { ...base, runDir: join(dir, 'corrupt'), config, maxSteps: 2 });
    const bytes = readFileSync(r.lastCheckpoint!);
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 10] ^= 0xff;
    writeFileSync(join(dir, 'flipped.safetensors'), flipped);
    writeFileSync(join(dir, 'truncated.safetensors'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    writeFileSync(join(dir, 'garbage.safetensors'), 'not a checkpoint');
    expect(() => loadCheckpoint(join(dir, 'flipped.safetensors'))).toThrow(/corrupted: its SHA-256 does not match/);
    expect(() => loadCheckpoint(join(dir, 'truncated.safetensors'))).toThrow(CheckpointError);
    expect(() => loadCheckpoint(join(dir, 'garbage.safetensors'))).toThrow(/not a valid safetensors file/);
    expect(() => loadCheckpoint(join(dir, 'missing.safetensors'))).toThrow(/cannot read checkpoint/);
  }, 120_000);

  it('SIGKILL while training (and checkpointing) leaves the previous checkpoint loadable', async () => {
    const run = join(dir, 'killed');
    const child = spawn(
      process.execPath,
      argv`${join(root, 'bin/segan.mjs')} train --data ${data} --runs ${dir} --run killed --width 0.0625 --size 32
        --crop 40x40x16 --classes 1 --batch 4 --epochs 50 --checkpoint-every 1 --log-every 1 --val-cases Synth_004
        --cache ${join(dir, 'cache2')}`,
      { cwd: root, stdio: 'ignore' },
    );
    // wait for a few checkpoints, then kill at an arbitrary moment (often mid-write: one per step)
    const ckDir = join(run, 'checkpoints');
    const t0 = Date.now();
    while (Date.now() - t0 < 90_000) {
      await new Promise((r) => setTimeout(r, 200));
      if (existsSync(ckDir) && readdirSync(ckDir).filter((f) => f.startsWith('step-')).length >= 3) break;
    }
    await new Promise((r) => setTimeout(r, 137));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const files = readdirSync(ckDir).filter((f) => f.endsWith('.safetensors'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    // every complete file loads; temporary files never masquerade as checkpoints
    const ck = loadCheckpoint(join(ckDir, 'latest.safetensors'));
    expect(ck.progress.globalStep).toBeGreaterThanOrEqual(2);
  }, 180_000);
});

describe('numerical faults and long runs', () => {
  it(
    'a non-finite loss stops training with the step and ' + 'the loss named; the last good checkpoint stays loadable',
    async () => {
      const e = engine();
      const { NonFiniteLossError } = await import('../src/segan/non-finite-policy.ts');
      const run = join(dir, 'nan');
      // a sane first part, checkpointed
      const good = await train(e, { ...base, runDir: run, config, maxSteps: 4, checkpointEvery: 2 });
      const before = readFileSync(good.lastCheckpoint!);
      // then an absurd learning rate: parameters overflow, the losses become NaN / Inf
      const wild = { ...config, lr: 1e30 };
      let err: unknown;
      try {
        await train(e, {
          ...base,
          runDir: run,
          config: wild,
          resume: good.lastCheckpoint!,
          resumeOverrides: { lr: wild.lr },
          checkpointEvery: 1000,
          logEvery: 2,
        });
      } catch (x) {
        err = x;
      }
      expect(err).toBeInstanceOf(NonFiniteLossError);
      expect(String((err as Error).message)).toMatch(
        new RegExp(
          /the (critic|segmentor) /.source +
            /(loss became (NaN|-?Infinity)|gradient of \S+ became non-finite .*) at step \d+ /.source +
            /\(epoch \d+\).*the update was not applied and training stopped\. The last good /.source +
            /checkpoint is .*step-0000004\.safetensors; resume from it with a lower learning /.source +
            /rate.*--on-nan skip/.source,
        ),
      );
      expect(readFileSync(good.lastCheckpoint!).equals(before)).toBe(true);
      expect(() => loadCheckpoint(good.lastCheckpoint!)).not.toThrow();
    },
    120_000,
  );

  it(
    'a batch with NaN is skipped on the GPU and leaves no ' +
      'trace: training on [a, NaN, b] = training on [a, b], bitwise',
    async () => {
      const e = engine();
      const { SeganModel } = await import('../src/segan/model.ts');
      const { SeganTrainer } = await import('../src/segan/trainer.ts');
      const cfg = makeConfig({
        lr: 1e-3,
        batch: 2,
        size: 32,
        model: { inChannels: 3, classes: 3, width: 1 / 16, skip: 'add', slope: 0.2, seed: 4 },
      });
      const batch = (seed: number) => ({
        x: e.rand([2, 3, 32, 32], { seed }),
        y: e.tidy(() => e.rand([2, 3, 32, 32], { seed: seed + 1 }).gt(0.6)),
      });
      const a = batch(10);
      const b = batch(20);
      const bad = batch(30);
      const xs = await bad.x.toArray();
      xs[777] = NaN; // one voxel, as a corrupt slice would carry
      bad.x.dispose();
      bad.x = e.tensor(xs, [2, 3, 32, 32]);
      const runOn = async (batches: { x: Tensor; y: Tensor }[]) => {
        const model = new SeganModel(e, cfg);
        const trainer = new SeganTrainer(model, cfg);
        const found = [];
        for (const { x, y } of batches) {
          const s = trainer.step(x, y);
          found.push([
            await trainer.explainFlag('critic', s.criticFlag),
            await trainer.explainFlag('segmentor', s.segmentorFlag),
          ]);
          for (const t of Object.values(s)) t?.dispose();
        }
        const state = new Map<string, Float32Array>();
        for (const [name, t] of model.stateDict()) state.set(name, await t.toArray());
        const opt = [await trainer.optS.state(), await trainer.optC.state()];
        model.dispose();
        return { found, state, opt };
      };
      const clean = await runOn([a, b]);
      const skipped = await runOn([a, bad, b]);
      expect(clean.found.flat()).toEqual([null, null, null, null]);
      expect(skipped.found[1]).toEqual([
        { which: 'critic', culprit: 'loss' },
        { which: 'segmentor', culprit: 'loss' },
      ]);
      expect(skipped.found[0]).toEqual([null, null]);
      expect(skipped.found[2]).toEqual([null, null]);
      // parameters and batch-norm running statistics
      for (const [name, v] of clean.state) {
        const u = skipped.state.get(name)!;
        expect(
          Buffer.from(u.buffer, u.byteOffset, u.byteLength).equals(Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
          name,
        ).toBe(true);
      }
      // optimizer moments and per-parameter step counts (the skipped step did not count)
      clean.opt.forEach((st, k) => {
        for (const [key, v] of Object.entries(st.buffers)) {
          const u = skipped.opt[k].buffers[key];
          expect(
            Buffer.from(u.buffer, u.byteOffset, u.byteLength).equals(Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
            key,
          ).toBe(true);
        }
      });
      for (const t of [a.x, a.y, b.x, b.y, bad.x, bad.y]) t.dispose();
    },
    120_000,
  );

  it(
    '--on-nan skip: skipped steps are logged and reported; too ' +
      'many in a row stop the run with the last good checkpoint intact',
    async () => {
      const e = engine();
      const { NonFiniteLossError } = await import('../src/segan/non-finite-policy.ts');
      const run = join(dir, 'nan-skip');
      const good = await train(e, { ...base, runDir: run, config, maxSteps: 4, checkpointEvery: 2 });
      const before = readFileSync(good.lastCheckpoint!);
      const skips: SkipRecord[] = [];
      let err: unknown;
      try {
        // an absurd learning rate: after one update the parameters overflow and every later step is skipped
        await train(e, {
          ...base,
          runDir: run,
          config,
          resume: good.lastCheckpoint!,
          resumeOverrides: { lr: 1e30 },
          checkpointEvery: 1000,
          logEvery: 2,
          onNan: 'skip',
          maxConsecutiveSkips: 3,
          onSkip: (r) => skips.push(r),
        });
      } catch (x) {
        err = x;
      }
      expect(err).toBeInstanceOf(NonFiniteLossError);
      expect(String((err as Error).message)).toMatch(
        new RegExp(
          /^3 steps in a row were skipped for non-finite values \(the last at step \d+ /.source +
            /\(epoch \d+\): .*\); training stopped\. The last good checkpoint is /.source +
            /.*step-0000004\.safetensors/.source,
        ),
      );
      expect(skips.length).toBe(3);
      expect(skips.map((r) => r.step)).toEqual([skips[0].step, skips[0].step + 1, skips[0].step + 2]);
      for (const r of skips)
        expect(r.what.join(', ')).toMatch(/(critic|segmentor) (loss \((NaN|-?Infinity)\)|gradient of [SC]\d*\.)/);
      const logged = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((m) => m.type === 'skip');
      expect(logged).toEqual(skips);
      expect(readFileSync(good.lastCheckpoint!).equals(before)).toBe(true);
      expect(loadCheckpoint(join(run, 'checkpoints', 'latest.safetensors')).progress.globalStep).toBe(4);
    },
    120_000,
  );

  it(
    'segan train --resume … --on-nan skip --max-skips 2: ' + 'prints each skipped step, then stops (exit 1)',
    async () => {
      const run = join(dir, 'nan-skip');
      // a checkpoint with one NaN in a segmentor weight: every later step's losses are NaN and are skipped
      const { SeganModel } = await import('../src/segan/model.ts');
      const { SeganTrainer } = await import('../src/segan/trainer.ts');
      const { restore, saveCheckpoint } = await import('../src/segan/checkpoint.ts');
      const ck = loadCheckpoint(join(run, 'checkpoints', 'step-0000004.safetensors'));
      const name = [...ck.tensors.keys()].find((k) => k.startsWith('S.') && k.endsWith('weight'))!;
      ck.tensors.get(name)!.data[0] = NaN;
      const model = new SeganModel(engine(), ck.config);
      const trainer = new SeganTrainer(model, ck.config);
      restore(ck, model, trainer);
      const poisoned = join(run, 'checkpoints', 'poisoned.safetensors');
      await saveCheckpoint(poisoned, model, trainer, ck.config, ck.progress);
      model.dispose();
      const r = await runCli(
        process.execPath,
        argv`${join(root, 'bin/segan.mjs')} train --data ${data} --runs ${dir} --run nan-skip --width 0.0625 --size 32
          --crop 40x40x16 --classes 3 --batch 4 --epochs 3 --log-every 1 --val-cases Synth_004
          --cache ${join(dir, 'cache')} --resume ${poisoned} --on-nan skip --max-skips 2`,
        { cwd: root, timeout: 120_000 },
      );
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(
        /^step \d+: skipped \(not finite: .*\); parameters and optimizer state left as they were$/m,
      );
      expect(r.stdout.match(/skipped \(not finite/g)!.length).toBe(2);
      expect(r.stderr).toMatch(
        new RegExp(
          /^segan train: 2 steps in a row were skipped for non-finite values .*resume from /.source +
            /it with a lower learning rate \(--resume … --lr …\)\./.source,
        ),
      );
    },
    120_000,
  );

  it('1,000 training steps keep live GPU bytes flat and RSS within 64 MiB', async () => {
    const e = engine();
    const { SeganModel } = await import('../src/segan/model.ts');
    const { SeganTrainer } = await import('../src/segan/trainer.ts');
    const cfg = makeConfig({
      lr: 1e-4,
      batch: 2,
      size: 32,
      model: { inChannels: 3, classes: 1, width: 1 / 32, skip: 'add', slope: 0.2, seed: 2 },
    });
    const model = new SeganModel(e, cfg);
    const trainer = new SeganTrainer(model, cfg);
    const x = e.rand([2, 3, 32, 32], { seed: 1 });
    const y = e.tidy(() => e.rand([2, 1, 32, 32], { seed: 2 }).gt(0.6));
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const s = trainer.step(x, y);
        if (i % 50 === 49) await s.segmentor.item(); // a periodic sync, as the training loop does
        for (const t of Object.values(s)) t?.dispose();
      }
      await e.flush();
    };
    await run(100); // warm-up: pipelines, pools, uniform and bind-group caches
    const live0 = e.memory().liveBytes;
    const rss0 = process.memoryUsage().rss;
    const bg0 = e.runtime.stats.bindGroupsCreated;
    await run(900);
    // the pool hands out buffers in a canonical order, so every step reuses the same bind groups
    expect(e.runtime.stats.bindGroupsCreated - bg0).toBe(0);
    const live1 = e.memory().liveBytes;
    const rss1 = process.memoryUsage().rss;
    console.log(
      `live GPU bytes ${live0} -> ${live1}; RSS ${(rss0 / 2 ** 20).toFixed(0)} -> ${(rss1 / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(live1).toBe(live0);
    expect(rss1 - rss0).toBeLessThan(64 * 2 ** 20);
    model.dispose();
  }, 600_000);

  it('SIGINT stops after the current step and saves a checkpoint', async () => {
    const run = join(dir, 'sigint');
    const child = spawn(
      process.execPath,
      argv`${join(root, 'bin/segan.mjs')} train --data ${data} --runs ${dir} --run sigint --width 0.0625 --size 32
        --crop 40x40x16 --classes 1 --batch 4 --epochs 50 --checkpoint-every 1000 --log-every 1 --val-cases Synth_004
        --cache ${join(dir, 'cache3')}`,
      { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    const t0 = Date.now();
    while (!/step 3\//.test(out) && Date.now() - t0 < 90_000) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(130);
    expect(out).toMatch(/interrupted at epoch \d+, step \d+/);
    const ck = loadCheckpoint(join(run, 'checkpoints', 'latest.safetensors'));
    expect(ck.progress.globalStep).toBeGreaterThanOrEqual(3);
  }, 180_000);
});
