// Kernel choice as data: the engine's KernelPolicy from the adapter's facts and the overrides
// (createEngine({ plan, limits }), DAWNGRAD_PLAN, DAWNGRAD_LIMITS, DAWNGRAD_MATMUL); the kernels each
// plan really launches; `segan info --json`'s `kernels` map.
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { conv2d, createEngine, matmul } from '../src/index.ts';
import { defaultTile, describePolicy, makePolicy, tileCandidates, TILE_SHAPES } from '../src/runtime/policy.ts';
import type { AdapterReport } from '../src/device/gpu.ts';
import { useEngine, withPolicy } from './helpers/engine.ts';
import { run } from './helpers/spawn.ts';

const engine = useEngine();
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const report = (over: Partial<AdapterReport>): AdapterReport => ({
  vendor: '',
  architecture: '',
  device: '',
  description: '',
  backend: 'vulkan',
  isSoftware: false,
  features: [],
  limits: {},
  ...over,
});
const lavapipe = report({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)', isSoftware: true, features: ['subgroups'] });
const swiftshader = report({ description: 'SwiftShader Device (Subzero)', isSoftware: true, features: ['subgroups'] });
const gpu = report({
  description: 'NVIDIA H100 80GB HBM3',
  vendor: 'nvidia',
  features: ['subgroups', 'shader-f16', 'timestamp-query'],
});

describe('makePolicy', () => {
  it('the adapter decides the default plan; a plan can be forced either way', () => {
    expect(makePolicy(lavapipe)).toMatchObject({
      plan: 'software',
      subgroupTiles: true,
      conv: { family: 'subgroup' },
      matmul: 'subgroup',
    });
    expect(makePolicy(swiftshader)).toMatchObject({
      plan: 'software',
      subgroupTiles: false,
      conv: { family: 'portable' },
      matmul: 'register',
    });
    expect(makePolicy(gpu)).toMatchObject({
      plan: 'hardware',
      subgroupTiles: false,
      conv: { family: 'tiled' },
      matmul: 'workgroup',
    });
    expect(makePolicy(lavapipe, 'hardware')).toMatchObject({
      plan: 'hardware',
      subgroupTiles: true,
      conv: { family: 'tiled' },
      matmul: 'workgroup',
    });
    expect(makePolicy(gpu, 'software')).toMatchObject({ plan: 'software', matmul: 'register' });
    expect(makePolicy(lavapipe).threads.map).toBeLessThan(makePolicy(gpu).threads.map);
  });

  it("the tile candidates fit the device's limits; WebGPU's defaults keep all of them", () => {
    const defaults = {
      maxComputeInvocationsPerWorkgroup: 256,
      maxComputeWorkgroupSizeX: 256,
      maxComputeWorkgroupStorageSize: 16384,
    };
    expect(tileCandidates(defaults)).toEqual(TILE_SHAPES);
    for (const c of TILE_SHAPES) expect(4 * c.bufs * c.tk * (c.wgM * c.tm + c.wgN * c.tn)).toBeLessThanOrEqual(16384);
    const small = tileCandidates({
      ...defaults,
      maxComputeInvocationsPerWorkgroup: 128,
      maxComputeWorkgroupStorageSize: 8192,
    });
    expect(small.length).toBeGreaterThan(0);
    for (const c of small)
      expect(c.wgM * c.wgN <= 128 && 4 * c.bufs * c.tk * (c.wgM * c.tm + c.wgN * c.tn) <= 8192).toBe(true);
    // untuned: the smallest tile that covers the output channels
    const p = makePolicy(report({ limits: defaults }), 'hardware');
    expect(defaultTile(p, 3).wgM * defaultTile(p, 3).tm).toBe(8);
    expect(defaultTile(p, 16).wgM * defaultTile(p, 16).tm).toBe(16);
    expect(defaultTile(p, 30).wgM * defaultTile(p, 30).tm).toBe(32);
    expect(defaultTile(p, 512).wgM * defaultTile(p, 512).tm).toBe(64);
  });

  it('describePolicy names a variant for every family, and the plans differ for conv and matmul', () => {
    const sw = describePolicy(makePolicy(lavapipe));
    const hw = describePolicy(makePolicy(lavapipe, 'hardware'));
    for (const k of [
      'conv2d.forward',
      'conv2d.dX',
      'conv2d.dW',
      'matmul',
      'reduce',
      'batchnorm',
      'resize',
      'elementwise',
    ]) {
      expect(sw[k]?.variant, k).toBeTruthy();
      expect(hw[k]?.variant, k).toBeTruthy();
    }
    for (const k of ['conv2d.forward', 'conv2d.dX', 'conv2d.dW', 'matmul'])
      expect(hw[k].variant, k).not.toBe(sw[k].variant);
  });
});

describe('the engine follows its policy', () => {
  it("conv2d and matmul launch the plan's kernels (software, then hardware, on the same engine)", async () => {
    const e = engine();
    const used = async () => {
      const spy = vi.spyOn(e.runtime.kernels, 'get');
      try {
        const x = e.rand([2, 3, 16, 16], { seed: 1 });
        const w = e.rand([8, 3, 4, 4], { seed: 2 });
        const y = conv2d(x, w, null, { stride: 2, padding: 1 });
        const m = matmul(e.rand([8, 16], { seed: 3 }), e.rand([16, 8], { seed: 4 }));
        await Promise.all([y.toArray(), m.toArray()]);
        return spy.mock.calls.map((c) => c[0]);
      } finally {
        spy.mockRestore();
      }
    };
    const sw = await withPolicy(e, 'software', used);
    const hw = await withPolicy(e, 'hardware', used);
    if (e.runtime.policy.subgroupTiles) {
      expect(sw).toEqual(expect.arrayContaining(['conv/forward_sg', 'matmul/subgroup_tile']));
      expect(hw).not.toContain('conv/forward_sg');
    }
    expect(hw).toEqual(expect.arrayContaining(['conv/tiled_forward', 'matmul/workgroup_tile']));
  });

  it('createEngine({ plan, limits }) and DAWNGRAD_PLAN / DAWNGRAD_LIMITS', async () => {
    const e = await createEngine({ plan: 'hardware', limits: 'default' });
    try {
      expect(e.runtime.policy.plan).toBe('hardware');
      expect(e.adapter.limits.maxComputeWorkgroupStorageSize).toBe(16384);
      expect(e.adapter.limits.maxComputeInvocationsPerWorkgroup).toBe(256);
    } finally {
      await e.close();
    }
    const old = { plan: process.env.DAWNGRAD_PLAN, limits: process.env.DAWNGRAD_LIMITS };
    process.env.DAWNGRAD_PLAN = 'hardware';
    process.env.DAWNGRAD_LIMITS = 'default';
    try {
      const f = await createEngine();
      try {
        expect(f.runtime.policy.plan).toBe('hardware');
        expect(f.adapter.limits.maxComputeInvocationsPerWorkgroup).toBe(256);
      } finally {
        await f.close();
      }
      process.env.DAWNGRAD_PLAN = 'fast';
      await expect(createEngine()).rejects.toThrow(
        /DAWNGRAD_PLAN must be one of auto, software, hardware \(got 'fast'\)/,
      );
    } finally {
      for (const [k, v] of [
        ['DAWNGRAD_PLAN', old.plan],
        ['DAWNGRAD_LIMITS', old.limits],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('segan info', () => {
  it('--json has the plan and a kernels map per family; DAWNGRAD_PLAN=hardware changes conv and matmul', async () => {
    const info = async (env: Record<string, string> = {}) => {
      const r = await run(process.execPath, ['bin/segan.mjs', 'info', '--json'], {
        cwd: ROOT,
        env: { ...process.env, ...env },
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { plan: string; kernels: Record<string, { variant: string }> };
    };
    const auto = await info();
    const hw = await info({ DAWNGRAD_PLAN: 'hardware' });
    expect(Object.keys(auto.kernels)).toEqual(
      expect.arrayContaining(['conv2d.forward', 'conv2d.dX', 'conv2d.dW', 'matmul']),
    );
    expect(hw.plan).toBe('hardware');
    expect(hw.kernels['conv2d.forward'].variant).toBe('conv/tiled_forward');
    expect(hw.kernels['conv2d.dW'].variant).toMatch(/^conv\/tiled_weight_grad/);
    expect(hw.kernels.matmul.variant).toBe('matmul/workgroup_tile');
    if (auto.plan === 'software')
      expect(auto.kernels['conv2d.forward'].variant).not.toBe(hw.kernels['conv2d.forward'].variant);
  });
});
