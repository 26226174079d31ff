// Crash safety of training: exact resume, checkpoints that survive SIGKILL, clear errors for corrupt
// checkpoints. Small synthetic data and a tiny model keep this within seconds.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeConfig } from '../src/segan/config.ts';
import { loadCheckpoint, CheckpointError } from '../src/segan/checkpoint.ts';
import { train } from '../src/segan/train.ts';
import { writeSyntheticCases } from '../src/segan/synth-cases.ts';
import { useEngine } from './helpers/engine.ts';

const engine = useEngine();
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dawngrad-rel-'));
const data = join(dir, 'data');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await writeSyntheticCases(data, { cases: 4, seed: 3, shape: [48, 48, 24], phantom: { tumourSize: 'typical' } });
});

const config = makeConfig({ lr: 1e-3, epochs: 3, batch: 4, size: 32, volumeCrop: [40, 40, 16], seed: 9, model: { inChannels: 3, classes: 3, width: 1 / 16, skip: 'add', slope: 0.2, seed: 9 } });
const base = { dataDir: data, cacheDir: join(dir, 'cache'), valCases: ['Synth_004'], logEvery: 5, checkpointEvery: 1000, maxValBatches: 1 };

describe('checkpoints', () => {
  it('10 steps + resume + 10 steps gives bitwise the same parameters as 20 steps', async () => {
    const e = engine();
    const straight = await train(e, { ...base, runDir: join(dir, 'straight'), config, maxSteps: 20 });
    const first = await train(e, { ...base, runDir: join(dir, 'split'), config, maxSteps: 10 });
    expect(first.progress.globalStep).toBe(10);
    const second = await train(e, { ...base, runDir: join(dir, 'split'), config, maxSteps: 10, resume: first.lastCheckpoint! });
    expect(second.progress).toEqual(straight.progress);
    const a = loadCheckpoint(straight.lastCheckpoint!);
    const b = loadCheckpoint(second.lastCheckpoint!);
    expect([...a.tensors.keys()]).toEqual([...b.tensors.keys()]);
    for (const [name, t] of a.tensors) {
      const u = b.tensors.get(name)!;
      expect(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), name).toBe(true);
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
    const child = spawn(process.execPath, [join(root, 'bin/segan.mjs'), 'train', '--data', data, '--runs', dir, '--run', 'killed', '--width', '0.0625', '--size', '32', '--crop', '40x40x16',
      '--classes', '1', '--batch', '4', '--epochs', '50', '--checkpoint-every', '1', '--log-every', '1', '--val-cases', 'Synth_004', '--cache', join(dir, 'cache2')], { cwd: root, stdio: 'ignore' });
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
