// The tiled conv kernels (the hardware plan: tiled_forward.wgsl, tiled_weight_grad.wgsl) with every
// tile shape the tuner may choose: forward values against float64 and gradients against finite
// differences on awkward shapes (channels, taps and pixels that are not multiples of any tile, stride,
// dilation, per-side padding, Cout = 1 and 3, K spanning several k-steps, dW split into partials),
// and a layer with more channels than the largest tile against the portable kernels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2d, convTranspose2d } from '../src/ops/conv.ts';
import type { Tensor } from '../src/index.ts';
import { TILE_SHAPES } from '../src/runtime/policy.ts';
import { tileName, type TileConfig } from '../src/runtime/tuner.ts';
import { checkOp } from './helpers/check.ts';
import { setPolicy, useEngine, withPolicy } from './helpers/engine.ts';
import { conv2dRef, convTranspose2dRef } from './helpers/conv-reference.ts';

const engine = useEngine();

/** The hardware plan with exactly one tile candidate: every tiled conv uses it (the tuner is not asked). */
const onlyTile = (c: TileConfig) => (p: ReturnType<typeof engine>['runtime']['policy']) => ({
  ...p,
  conv: { ...p.conv, family: 'tiled' as const },
  tiles: [c],
});

type Case = {
  x: number[];
  w: number[];
  stride?: [number, number];
  padding?: [number, number, number, number];
  dilation?: [number, number];
  bias?: boolean;
  act?: 'relu' | 'leakyRelu';
};

const CASES: Case[] = [
  { x: [2, 3, 7, 6], w: [5, 3, 3, 3], padding: [1, 1, 1, 1], bias: true, act: 'leakyRelu' },
  { x: [2, 3, 10, 10], w: [16, 3, 4, 4], stride: [2, 2], padding: [1, 1, 1, 1] }, // SegAN's first layer, K = 48
  // dilated: dX falls back to transpose.wgsl
  { x: [1, 2, 9, 9], w: [3, 2, 3, 3], dilation: [2, 2], padding: [2, 2, 2, 2] },
  { x: [2, 9, 6, 7], w: [1, 9, 3, 2], stride: [2, 1], padding: [0, 2, 1, 0], bias: true }, // Cout 1, K = 54
];

/** Values against float64, gradients against finite differences (float32 sums over up to 54 taps). */
const TOLERANCES = { rtol: 1e-4, atol: 1e-4, gradRtol: 2e-3, gradAtol: 2e-4 };

describe.each(TILE_SHAPES.map((c) => [tileName(c), c] as const))('tile %s', (_, tile) => {
  let restore = () => {};
  beforeAll(() => {
    restore = setPolicy(engine(), onlyTile(tile));
  });
  afterAll(() => restore());

  it.each(CASES)('conv2d %j', async (c) => {
    const geo = { stride: c.stride ?? [1, 1], padding: c.padding ?? [0, 0, 0, 0], dilation: c.dilation ?? [1, 1] };
    const act = c.act ? { kind: c.act, slope: 0.2 } : undefined;
    await checkOp(engine(), {
      name: `conv2d ${JSON.stringify(c)} with ${tileName(tile)}`,
      inputs: [{ shape: c.x }, { shape: c.w }, ...(c.bias ? [{ shape: [c.w[0]] }] : [])],
      gpu: (x, w, b) => conv2d(x, w, b ?? null, { ...geo, activation: c.act, slope: 0.2 }),
      ref: (x, w, b) => conv2dRef(x, w, b ?? null, geo, act),
      ...TOLERANCES,
    });
  });

  it('convTranspose2d (SegAN-like 4×4 / 2, odd sizes, output padding)', async () => {
    await checkOp(engine(), {
      name: `convTranspose2d with ${tileName(tile)}`,
      inputs: [{ shape: [2, 5, 5, 4] }, { shape: [5, 3, 4, 4] }, { shape: [3] }],
      gpu: (x, w, b) => convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
      ref: (x, w, b) => convTranspose2dRef(x, w, b, [2, 2], [1, 1], [1, 1], [1, 1]),
      ...TOLERANCES,
    });
  });
});

describe('the tiled kernels on a layer larger than every tile', () => {
  // 130 output channels (> 128 rows), 36·9 = 324 taps (> 256 columns), 2·24·24 = 1152 pixels (several
  // dW partials): forward and both gradients against the portable kernels (themselves checked against
  // float64 and finite differences in conv.test.ts).
  const grads = async (e: ReturnType<typeof engine>) => {
    const x = e.randn([2, 36, 24, 24], { seed: 11, requiresGrad: true });
    const w = e.randn([130, 36, 3, 3], { seed: 12, requiresGrad: true });
    const r = e.randn([2, 130, 24, 24], { seed: 13 });
    const y = conv2d(x, w, null, { padding: 1, activation: 'relu' });
    e.tidy(() => y.mul(r).sum().backward());
    const out = [await y.toArray(), await x.grad!.toArray(), await w.grad!.toArray()];
    for (const t of [x, w, r, y, x.grad!, w.grad!] as Tensor[]) t.dispose();
    return out;
  };
  it.each(TILE_SHAPES.map((c) => [tileName(c), c] as const))('%s', async (_, tile) => {
    const e = engine();
    const want = await withPolicy(
      e,
      (p) => ({ ...p, conv: { ...p.conv, family: 'portable' } }),
      () => grads(e),
    );
    const got = await withPolicy(e, onlyTile(tile), () => grads(e));
    ['y', 'dx', 'dw'].forEach((what, i) => {
      let worst = 0;
      let scale = 0;
      for (let j = 0; j < want[i].length; j++) {
        worst = Math.max(worst, Math.abs(got[i][j] - want[i][j]));
        scale = Math.max(scale, Math.abs(want[i][j]));
      }
      expect(worst / scale, what).toBeLessThan(1e-5);
    });
  });
});

describe('repeatability', () => {
  it('a repeated backward under a fixed tile is bitwise identical (split-K partials summed in order)', async () => {
    const e = engine();
    const run = async () => {
      const x = e.randn([2, 8, 30, 30], { seed: 1, requiresGrad: true });
      const w = e.randn([16, 8, 4, 4], { seed: 2, requiresGrad: true });
      e.tidy(() =>
        conv2d(x, w, null, { stride: 2, padding: 1 })
          .mul(e.randn([2, 16, 15, 15], { seed: 3 }))
          .sum()
          .backward(),
      );
      const out = [Buffer.from((await x.grad!.toArray()).buffer), Buffer.from((await w.grad!.toArray()).buffer)];
      for (const t of [x, w, x.grad!, w.grad!]) t.dispose();
      return out;
    };
    await withPolicy(e, onlyTile(TILE_SHAPES[0]), async () => {
      const [a1, b1] = await run();
      const [a2, b2] = await run();
      expect(a1.equals(a2)).toBe(true);
      expect(b1.equals(b2)).toBe(true);
    });
  });
});
