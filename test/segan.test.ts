import { describe, expect, it } from 'vitest';
import type { Tensor } from '../src/index.ts';
import { makeConfig } from '../src/segan/config.ts';
import { Critic, Segmentor } from '../src/segan/model.ts';
import { SeganModel } from '../src/segan/model.ts';
import { SeganTrainer } from '../src/segan/trainer.ts';
import { maskedBy, multiScaleL1, diceLoss } from '../src/segan/losses.ts';
import { predictSlices } from '../src/segan/infer.ts';
import { useEngine } from './helpers/engine.ts';
import { mulberry32 as rng } from '../src/data/rng.ts';

const engine = useEngine();
const tiny = (classes = 1) =>
  makeConfig({
    model: { inChannels: 3, classes, width: 1 / 16, skip: 'add', slope: 0.2, seed: 3 },
    size: 32,
    batch: 2,
  });

describe('SegAN networks', () => {
  it("have the paper's shapes and parameter counts at full width", () => {
    const e = engine();
    const cfg = makeConfig({ model: { inChannels: 3, classes: 3, width: 1, skip: 'add', slope: 0.2, seed: 1 } });
    const S = new Segmentor(e, cfg.model);
    const C = new Critic(e, cfg.model);
    // counted by hand from the layer list in docs/segan.md (bias only where no batch norm follows)
    expect(S.parameterCount()).toBe(4_308_355);
    expect(C.parameterCount()).toBe(659_264);
    S.dispose();
    C.dispose();
  });

  it.each(['add', 'concat'] as const)(
    'segmentor output is a probability map of the input size (skip %s); critic features have 4 scales',
    async (skip) => {
      const e = engine();
      const cfg = makeConfig({ model: { inChannels: 3, classes: 3, width: 1 / 16, skip, slope: 0.2, seed: 1 } });
      const S = new Segmentor(e, cfg.model);
      const C = new Critic(e, cfg.model);
      const x = e.rand([2, 3, 32, 32], { seed: 1 });
      const p = e.noGrad(() => S.forward(x));
      expect(p.shape).toEqual([2, 3, 32, 32]);
      const v = await p.toArray();
      expect(v.every((z) => z > 0 && z < 1)).toBe(true);
      const f = e.noGrad(() => C.features(maskedBy(x, p, 1)));
      expect(f.map((t) => t.shape)).toEqual([
        [2, 3, 32, 32],
        [2, 4, 16, 16],
        [2, 8, 8, 8],
        [2, 16, 4, 4],
      ]);
      for (const t of [x, p, ...f]) t.dispose();
      S.dispose();
      C.dispose();
    },
  );
});

/**
 * Directional derivative check of a composed loss: ⟨∇L, v⟩ from backward against
 * (L(θ + hv) − L(θ − hv)) / 2h, for a random direction v over all the given parameters.
 */
// The losses are piecewise smooth (L1, LeakyReLU): a small step keeps the finite difference on one
// piece, and float32 rounding of a loss of ~0.2 still costs only ~1e-4 relative at h = 1e-4.
async function directionalCheck(
  params: Tensor[],
  loss: () => Tensor,
  seed: number,
  h = 1e-4,
): Promise<{ analytic: number; numeric: number }> {
  const e = params[0].engine;
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
  e.tidy(() => loss().backward());
  const r = rng(seed);
  const dirs = params.map((p) => Float32Array.from({ length: p.size }, () => r() * 2 - 1));
  let analytic = 0;
  for (const [i, p] of params.entries()) {
    const g = await p.grad!.toArray();
    for (let j = 0; j < g.length; j++) analytic += g[j] * dirs[i][j];
  }
  const originals = await Promise.all(params.map((p) => p.toArray()));
  const evalAt = async (s: number) => {
    params.forEach((p, i) =>
      e.runtime.write(
        p.buffer(),
        originals[i].map((v, j) => v + s * h * dirs[i][j]),
      ),
    );
    const l = e.noGrad(() => e.tidy(() => loss()));
    const v = await l.item();
    l.dispose();
    return v;
  };
  const numeric = ((await evalAt(1)) - (await evalAt(-1))) / (2 * h);
  params.forEach((p, i) => e.runtime.write(p.buffer(), originals[i]));
  return { analytic, numeric };
}

describe('gradients of the composed SegAN losses', () => {
  it("the segmentor's loss (multi-scale L1 through a frozen critic + Dice) against finite differences", async () => {
    const e = engine();
    const cfg = tiny(1);
    const model = new SeganModel(e, cfg);
    const x = e.rand([2, 3, 32, 32], { seed: 11 });
    const y = e.tidy(() => e.rand([2, 1, 32, 32], { seed: 12 }).gt(0.6));
    for (const c of model.critics) c.setRequiresGrad(false);
    const loss = () => {
      const p = model.S.forward(x);
      const C = model.critics[0];
      return multiScaleL1(C.features(maskedBy(x, p, 0)), C.features(maskedBy(x, y, 0)), [1, 1, 1, 1]).add(
        diceLoss(p, y),
      );
    };
    for (const seed of [1, 2]) {
      const { analytic, numeric } = await directionalCheck(model.S.parameters(), loss, seed);
      expect(Math.abs(analytic - numeric)).toBeLessThan(0.03 * Math.abs(numeric) + 1e-3);
    }
    model.dispose();
  });

  it("the critic's loss against finite differences", async () => {
    const e = engine();
    const model = new SeganModel(e, tiny(1));
    const x = e.rand([2, 3, 32, 32], { seed: 21 });
    const y = e.tidy(() => e.rand([2, 1, 32, 32], { seed: 22 }).gt(0.6));
    const p = e.noGrad(() => model.S.forward(x));
    const C = model.critics[0];
    const loss = () => multiScaleL1(C.features(maskedBy(x, p, 0)), C.features(maskedBy(x, y, 0)), [1, 1, 1, 1]).neg();
    for (const seed of [3, 4]) {
      const { analytic, numeric } = await directionalCheck(C.parameters(), loss, seed);
      expect(Math.abs(analytic - numeric)).toBeLessThan(0.05 * Math.abs(numeric) + 1e-3);
    }
    model.dispose();
  });
});

describe('a training step', () => {
  it('moves the critic then the segmentor; clamping holds; the frozen network is untouched', async () => {
    const e = engine();
    const cfg = tiny(3);
    const model = new SeganModel(e, cfg);
    const trainer = new SeganTrainer(model, cfg);
    const x = e.rand([2, 3, 32, 32], { seed: 31 });
    const y = e.tidy(() => e.rand([2, 3, 32, 32], { seed: 32 }).gt(0.5));
    const snap = async (ts: Tensor[]) => Promise.all(ts.map((t) => t.toArray()));
    const s0 = await snap(model.S.parameters());
    const c0 = await snap(model.criticParameters());
    for (const t of trainer.stepCritic(x, y)) t?.dispose();
    const s1 = await snap(model.S.parameters());
    const c1 = await snap(model.criticParameters());
    expect(s1).toEqual(s0); // the critic step leaves S alone
    expect(c1).not.toEqual(c0);
    for (const v of c1) for (const z of v) expect(Math.abs(z)).toBeLessThanOrEqual(Math.fround(cfg.clamp));
    for (const t of trainer.stepSegmentor(x, y)) t?.dispose();
    const s2 = await snap(model.S.parameters());
    const c2 = await snap(model.criticParameters());
    expect(c2).toEqual(c1); // frozen critics: no update
    expect(model.criticParameters().every((p) => p.grad === null)).toBe(true); // and no gradient computed
    expect(s2).not.toEqual(s1);
    // Adam's first step moves every parameter with a non-zero gradient by about lr
    let moved = 0;
    let total = 0;
    s2.forEach((v, i) =>
      v.forEach((z, j) => {
        total++;
        const d = Math.abs(z - s1[i][j]);
        if (d > 0) {
          moved++;
          expect(d).toBeLessThan(cfg.lr * 1.01 + 1e-7);
        }
      }),
    );
    expect(moved / total).toBeGreaterThan(0.9);
    model.dispose();
  });
});

describe('inference memory', () => {
  // Training validates every epoch with predictSlices: a tensor left alive per batch adds up to
  // gigabytes over a long run (it did: about 470 MB per validation at width 1/8).
  it.each([false, true])('predictSlices frees every tensor it creates (tta %s)', async (tta) => {
    const e = engine();
    const model = new SeganModel(e, tiny(3));
    const Z = 5;
    const image = Float32Array.from({ length: Z * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37));
    const cs = { image, shape: { Z, M: 3, K: 3, S: 32 } } as const;
    await predictSlices(e, model.S, cs, 2, { tta });
    const live = e.memory().liveBytes;
    for (let i = 0; i < 3; i++) await predictSlices(e, model.S, cs, 2, { tta });
    expect(e.memory().liveBytes).toBe(live);
    model.dispose();
  });
});
