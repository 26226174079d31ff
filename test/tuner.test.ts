// Autotuning (src/runtime/tuner.ts, `segan tune`): shapes queued on first use and timed at the next
// sync point, the fastest kept per adapter in a cache file that later engines reuse; a corrupt or
// foreign cache warned about once and rewritten; DAWNGRAD_TUNE=off never times, force re-times.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { conv2d, createEngine, matmul, type Engine } from '../src/index.ts';
import { TILE_SHAPES } from '../src/runtime/policy.ts';
import { adapterKey } from '../src/runtime/tuner.ts';
import { run, type RunResult } from './helpers/spawn.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'dawngrad-tune-'));

/** A conv forward and backward; returns y and both gradients. */
async function convStep(e: Engine): Promise<Float32Array[]> {
  const x = e.randn([2, 4, 12, 12], { seed: 1, requiresGrad: true });
  const w = e.randn([6, 4, 4, 4], { seed: 2, requiresGrad: true });
  const y = conv2d(x, w, null, { stride: 2, padding: 1 });
  e.tidy(() =>
    y
      .mul(e.randn([2, 6, 6, 6], { seed: 3 }))
      .sum()
      .backward(),
  );
  const out = [await y.toArray(), await x.grad!.toArray(), await w.grad!.toArray()];
  for (const t of [x, w, y, x.grad!, w.grad!]) t.dispose();
  return out;
}

const maxRelDiff = (a: Float32Array, b: Float32Array) => {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
};

describe('the tuner', () => {
  it(
    'queues the shapes of a conv on first use, times them at ' +
      'the next readback and keeps the fastest in its cache file',
    async () => {
      const file = path.join(tmp(), 'tune.json');
      const e = await createEngine({ plan: 'hardware', tune: 'on', tuneCache: file });
      try {
        const untuned = await withPortable(e);
        const x = e.randn([2, 4, 12, 12], { seed: 1, requiresGrad: true });
        const w = e.randn([6, 4, 4, 4], { seed: 2, requiresGrad: true });
        const y = conv2d(x, w, null, { stride: 2, padding: 1 });
        e.tidy(() => y.sum().backward());
        expect(e.runtime.tuner.pendingCount).toBe(3); // forward, dX, dW
        await y.toArray(); // sync point: tuning runs here
        expect(e.runtime.tuner.pendingCount).toBe(0);
        const families = [...e.runtime.tuner.recorded.keys()].map((k) => k.split('|')[0]).sort();
        expect(families).toEqual(['conv2d.dW', 'conv2d.dX', 'conv2d.forward']);
        const saved = JSON.parse(readFileSync(file, 'utf8'));
        expect(saved.version).toBe(2);
        expect(saved.adapter).toBe(adapterKey(e.adapter));
        for (const c of Object.values(saved.choices)) expect(TILE_SHAPES).toContainEqual(c);
        for (const t of [x, w, y, x.grad!, w.grad!]) t.dispose();
        // tuned kernels give the same values (within float32 rounding of another summation order)
        const tuned = await convStep(e);
        tuned.forEach((v, i) => expect(maxRelDiff(v, untuned[i])).toBeLessThan(1e-5));
      } finally {
        await e.close();
      }
      // a later engine reads the choices: nothing is queued for the same shapes
      const f = await createEngine({ plan: 'hardware', tune: 'on', tuneCache: file });
      try {
        expect(f.runtime.tuner.recorded.size).toBe(3);
        const x = f.randn([2, 4, 12, 12], { seed: 1 });
        const w = f.randn([6, 4, 4, 4], { seed: 2 });
        conv2d(x, w, null, { stride: 2, padding: 1 });
        expect(f.runtime.tuner.pendingCount).toBe(0);
        await f.flush();
      } finally {
        await f.close();
      }
    },
  );

  it('tunes the workgroup matmul too: the tuned product still matches the untuned one', async () => {
    const file = path.join(tmp(), 'tune.json');
    const e = await createEngine({ plan: 'hardware', tune: 'on', tuneCache: file });
    try {
      const a = e.randn([2, 37, 70], { seed: 1 });
      const b = e.randn([70, 45], { seed: 2 });
      const before = await matmul(a, b).toArray(); // untuned tile; the readback tunes
      expect([...e.runtime.tuner.recorded.keys()]).toEqual(['matmul|2x37x45x70']);
      const after = await matmul(a, b).toArray();
      expect(maxRelDiff(after, before)).toBeLessThan(1e-5);
    } finally {
      await e.close();
    }
  });

  it.each([
    ['corrupt', 'not json {', /unusable \(.*JSON/],
    ['foreign', JSON.stringify({ version: 2, adapter: 'someone-else', choices: {} }), /another adapter or driver/],
    ['outdated', JSON.stringify({ version: 1, choices: {} }), /version 1, expected 2/],
    ['malformed', 'ADAPTER', /malformed entry/],
  ])('a %s cache file is ignored with one warning, never a crash, and rewritten', async (_, text, why) => {
    const file = path.join(tmp(), 'tune.json');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const e = await createEngine({ plan: 'hardware', tune: 'on', tuneCache: file });
    try {
      writeFileSync(
        file,
        text === 'ADAPTER'
          ? JSON.stringify({ version: 2, adapter: adapterKey(e.adapter), choices: { 'conv2d.forward|x': { wgM: -1 } } })
          : text,
      );
      await convStep(e);
      await convStep(e);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(why);
      expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')).choices)).toHaveLength(3);
    } finally {
      warn.mockRestore();
      await e.close();
    }
  });

  it(
    'DAWNGRAD_TUNE=off (the default on CPU adapters) never ' + 'times and writes nothing; force ignores the cache',
    async () => {
      const dir = tmp();
      const file = path.join(dir, 'tune.json');
      const e = await createEngine({ plan: 'hardware', tune: 'off', tuneCache: file });
      try {
        await convStep(e);
        expect(e.runtime.tuner.pendingCount).toBe(0);
        expect(existsSync(file)).toBe(false);
        if (e.adapter.isSoftware) {
          const d = await createEngine({ plan: 'hardware', tuneCache: file });
          expect(d.runtime.tuner.mode).toBe('off');
          await d.close();
        }
      } finally {
        await e.close();
      }
      const on = await createEngine({ plan: 'hardware', tune: 'on', tuneCache: file });
      await convStep(on);
      await on.close();
      const force = await createEngine({ plan: 'hardware', tune: 'force', tuneCache: file });
      try {
        expect(force.runtime.tuner.recorded.size).toBe(0);
        const x = force.randn([2, 4, 12, 12], { seed: 1 });
        conv2d(x, force.randn([6, 4, 4, 4], { seed: 2 }), null, { stride: 2, padding: 1 });
        expect(force.runtime.tuner.pendingCount).toBe(1);
        await force.flush();
        expect(force.runtime.tuner.pendingCount).toBe(0);
      } finally {
        await force.close();
      }
    },
  );
});

async function withPortable(e: Engine): Promise<Float32Array[]> {
  const saved = e.runtime.policy;
  e.runtime.policy = { ...saved, conv: { ...saved.conv, family: 'portable' } };
  try {
    return await convStep(e);
  } finally {
    e.runtime.policy = saved;
  }
}

function segan(args: string[], env: Record<string, string>): Promise<RunResult> {
  return run(process.execPath, ['bin/segan.mjs', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    timeout: 240_000,
  });
}

describe('segan tune', () => {
  it('tunes every conv shape of a D+G step, then finds them tuned; --json lists the timings', async () => {
    const file = path.join(tmp(), 'tune.json');
    const env = { DAWNGRAD_PLAN: 'hardware', DAWNGRAD_TUNE_CACHE: file };
    const small = ['--batch', '2', '--width', '0.0625', '--size', '16', '--classes', '1'];
    const first = await segan(['tune', ...small], env);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^tuning \d+ conv shapes of a SegAN D\+G step \(batch 2, width 0.0625, 16×16, K = 1\)/,
    );
    expect(first.stdout).toMatch(/conv2d\.forward .* ms \(slowest candidate/);
    expect(first.stdout).toContain(`in ${file}`);
    const n = Object.keys(JSON.parse(readFileSync(file, 'utf8')).choices).length;
    expect(n).toBeGreaterThanOrEqual(12);
    const again = await segan(['tune', ...small], env);
    expect(again.stdout).toMatch(/every shape was already tuned/);
    const forced = await segan(['tune', ...small, '--force', '--json'], env);
    expect(forced.status, forced.stderr).toBe(0);
    const j = JSON.parse(forced.stdout);
    expect(j.tuned).toHaveLength(n);
    for (const t of j.tuned) expect(t.times).toHaveLength(TILE_SHAPES.length);
  }, 240_000);

  it('refuses DAWNGRAD_TUNE=off in one line; says when the plan has nothing to tune', async () => {
    const off = await segan(['tune'], { DAWNGRAD_TUNE: 'off' });
    expect(off.status).toBe(2);
    expect(off.stderr.trim()).toBe(
      'segan tune: DAWNGRAD_TUNE=off turns tuning off; unset it (or set it to on) to tune',
    );
    const sw = await segan(['tune', '--size', '16', '--width', '0.0625'], { DAWNGRAD_PLAN: 'software' });
    expect(sw.status).toBe(0);
    expect(sw.stdout).toMatch(/the software plan on .* uses no tunable kernels .*DAWNGRAD_PLAN=hardware tunes/);
  }, 120_000);
});
