// The f16 path (createEngine({ precision: 'f16' }), segan train --precision f16): the tiled conv
// kernels read float16 copies of their operands (activations, gradients, weights) and accumulate in
// float32. Its error is bounded against float64: each product carries at most the two operands'
// rounding (2·2^-11 relative), so |y − y64| ≤ 2^-9 · Σ|x·w| per output (with room for f32 sums).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2d, convTranspose2d, createEngine, type Engine } from '../src/index.ts';
import { precisionProblem } from '../src/runtime/policy.ts';
import { makeConfig } from '../src/segan/config.ts';
import { SeganModel } from '../src/segan/model.ts';
import { SeganTrainer } from '../src/segan/trainer.ts';
import type { AdapterReport } from '../src/device/gpu.ts';
import { conv2dGradRef, conv2dRef, convTranspose2dRef } from './helpers/conv-reference.ts';
import { arr, type Arr } from './helpers/reference.ts';
import { values } from './helpers/random.ts';

let e16: Engine;
let e32: Engine;
beforeAll(async () => {
  e16 = await createEngine({ seed: 1, precision: 'f16' });
  e32 = await createEngine({ seed: 1 });
});
afterAll(async () => {
  await e16?.close();
  await e32?.close();
});

const BOUND = 2 ** -9;

/** Largest |got − want| / scale over the outputs, where scale is Σ|terms| of that output (abs reference). */
function worstScaled(got: Float32Array, want: Arr, absRef: Arr): number {
  let worst = 0;
  for (let i = 0; i < got.length; i++)
    worst = Math.max(worst, Math.abs(got[i] - want.data[i]) / Math.max(absRef.data[i], 1e-30));
  return worst;
}

const absArr = (a: Arr): Arr => arr(Float64Array.from(a.data, Math.abs), a.shape);

async function pair(e: Engine, shape: number[], seed: number, grad = false) {
  const v = values(
    shape.reduce((a, b) => a * b, 1),
    seed,
    -2,
    2,
  );
  // exactly representable in f32; the f16 rounding is what is measured
  const t = e.tensor(Float32Array.from(v), shape, { requiresGrad: grad });
  return { t, r: arr(Float64Array.from(new Float32Array(Float32Array.from(v))), shape) };
}

describe("precision 'f16'", () => {
  it.each([
    { x: [2, 5, 13, 11], w: [7, 5, 4, 4], s: 2, p: 1 },
    { x: [2, 16, 9, 10], w: [9, 16, 3, 3], s: 1, p: 1 },
    { x: [1, 8, 12, 12], w: [3, 8, 3, 3], s: 1, p: 1 },
  ])('conv2d forward, dX and dW within 2^-9 of Σ|terms| against float64: %j', async (c) => {
    const x = await pair(e16, c.x, 1, true);
    const w = await pair(e16, c.w, 2, true);
    const y = conv2d(x.t, w.t, null, { stride: c.s, padding: c.p });
    const g = await pair(e16, y.shape, 3);
    const geo = {
      stride: [c.s, c.s] as [number, number],
      padding: [c.p, c.p, c.p, c.p] as [number, number, number, number],
      dilation: [1, 1] as [number, number],
    };
    const want = conv2dRef(x.r, w.r, null, geo);
    const scale = conv2dRef(absArr(x.r), absArr(w.r), null, geo);
    const got = await y.toArray();
    const err = worstScaled(got, want, scale);
    expect(err).toBeLessThan(BOUND);
    // the path is really f16: float32 operands would be ~1e-7 off
    expect(err).toBeGreaterThan(1e-5);
    y.backward(g.t);
    const [dx, dw] = conv2dGradRef(x.r, w.r, g.r, c.s, c.p);
    const [dxScale, dwScale] = conv2dGradRef(absArr(x.r), absArr(w.r), absArr(g.r), c.s, c.p);
    expect(worstScaled(await x.t.grad!.toArray(), dx, dxScale)).toBeLessThan(BOUND);
    expect(worstScaled(await w.t.grad!.toArray(), dw, dwScale)).toBeLessThan(BOUND);
    for (const t of [x.t, w.t, y, g.t, x.t.grad!, w.t.grad!]) t.dispose();
  });

  it('convTranspose2d (SegAN-like 4×4 / 2) within the same bound', async () => {
    const x = await pair(e16, [2, 6, 5, 7], 4);
    const w = await pair(e16, [6, 4, 4, 4], 5);
    const y = convTranspose2d(x.t, w.t, null, { stride: 2, padding: 1 });
    const want = convTranspose2dRef(x.r, w.r, null, [2, 2], [1, 1], [0, 0], [1, 1]);
    const scale = convTranspose2dRef(absArr(x.r), absArr(w.r), null, [2, 2], [1, 1], [0, 0], [1, 1]);
    expect(worstScaled(await y.toArray(), want, scale)).toBeLessThan(BOUND);
    for (const t of [x.t, w.t, y]) t.dispose();
  });

  it("a SegAN D+G step's losses stay within 1% of float32's", async () => {
    const losses = async (e: Engine) => {
      const cfg = makeConfig({
        model: { inChannels: 3, classes: 3, width: 0.125, skip: 'add', slope: 0.2, seed: 1 },
        size: 32,
        batch: 2,
      });
      const model = new SeganModel(e, cfg);
      const trainer = new SeganTrainer(model, cfg);
      const x = e.rand([2, 3, 32, 32], { seed: 2 });
      const y = e.tidy(() => e.rand([2, 3, 32, 32], { seed: 3 }).gt(0.7));
      const s = trainer.step(x, y);
      const out = [await s.critic.item(), await s.segmentor.item()];
      for (const t of Object.values(s)) t?.dispose();
      model.dispose();
      return out;
    };
    const a = await losses(e16);
    const b = await losses(e32);
    for (let i = 0; i < 2; i++) {
      expect(Number.isFinite(a[i])).toBe(true);
      expect(Math.abs(a[i] - b[i])).toBeLessThan(0.01 * Math.abs(b[i]) + 1e-4);
    }
  });

  it("is refused in one line where the adapter lacks 'shader-f16'", () => {
    const report = { description: 'Some GPU', features: ['timestamp-query'] } as unknown as AdapterReport;
    expect(precisionProblem(report, 'f16')).toBe(
      "precision 'f16' needs the adapter feature 'shader-f16', which " +
        "Some GPU does not have: use precision 'f32' (the default)",
    );
    expect(precisionProblem(report, 'f32')).toBeNull();
    expect(precisionProblem({ ...report, features: ['shader-f16'] }, 'f16')).toBeNull();
  });
});
