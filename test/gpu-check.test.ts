// scripts/gpu-check.sh --quick on this machine's adapter (CI runs it): every kernel family correct
// against float64, the speed figures present and positive, and bad usage refused.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './helpers/spawn.ts';
import { afterAll, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dawngrad-gpucheck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const check = (args: string[]) =>
  run('bash', [join(ROOT, 'scripts/gpu-check.sh'), ...args], { cwd: ROOT, timeout: 480_000 });

it(
  'gpu-check.sh --quick: gpu-check.json with every family ' +
    'correct, the adapter, matmul, conv layers and the D+G step',
  async () => {
    const r = await check(['--quick', dir]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/maxDynamic/);
    const j = JSON.parse(readFileSync(join(dir, 'gpu-check.json'), 'utf8'));
    expect(j.allCorrect).toBe(true);
    expect(Object.keys(j.correctness).sort()).toEqual([
      'batchnorm',
      'conv2d.dW',
      'conv2d.dX',
      'conv2d.forward',
      'matmul',
      'reduce',
      'resize',
    ]);
    expect(j.adapter.description).toBeTruthy();
    expect(Object.keys(j.adapter.kernels)).toEqual(expect.arrayContaining(['conv2d.forward', 'matmul']));
    expect(j.matmul.gflops).toBeGreaterThan(0);
    expect(j.convLayers.layers).toHaveLength(11);
    for (const l of j.convLayers.layers) expect(l.forward).toBeGreaterThan(0);
    expect(Object.values(j.step.f32).every((ms) => typeof ms === 'number' && ms > 0)).toBe(true);
    expect(readFileSync(join(dir, 'gpu-check.log'), 'utf8')).toMatch(/all kernel families correct/);
  },
  480_000,
);

it('gpu-check.sh refuses bad usage with exit 2', async () => {
  expect((await check([])).status).toBe(2);
  const r = await check(['--bogus', dir]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/unknown option --bogus/);
  expect((await check(['a', 'b'])).status).toBe(2);
});
