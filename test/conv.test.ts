import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2d, convTranspose2d } from '../src/ops/conv.ts';
import { ShapeError, type Tensor } from '../src/index.ts';
import { SGD } from '../src/optim/sgd.ts';
import { clampParameters } from '../src/optim/clamp.ts';
import { checkOp } from './helpers/check.ts';
import { setPolicy, useEngine } from './helpers/engine.ts';
import { conv2dRef, convTranspose2dRef } from './helpers/conv-reference.ts';
import { values } from './helpers/random.ts';

const engine = useEngine();

type Case = {
  x: number[];
  w: number[];
  stride?: number | [number, number];
  padding?: number | [number, number] | [number, number, number, number];
  dilation?: number | [number, number];
  bias?: boolean;
};

const norm2 = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;
const norm4 = (v: Case['padding']): [number, number, number, number] => {
  if (Array.isArray(v) && v.length === 4) return v as [number, number, number, number];
  const [h, w] = norm2(v as number | [number, number] | undefined, 0);
  return [h, h, w, w];
};

const CASES: Case[] = [
  { x: [1, 1, 5, 5], w: [1, 1, 3, 3] },
  { x: [2, 3, 7, 6], w: [5, 3, 3, 3], padding: 1, bias: true }, // channels not multiples of 4 or 8
  { x: [1, 3, 9, 9], w: [4, 3, 4, 4], stride: 2, padding: 1, bias: true }, // SegAN's 4x4/s2 over odd input
  { x: [3, 2, 8, 7], w: [9, 2, 3, 2], stride: [2, 1], padding: [1, 0] }, // batch 3, rectangular kernel
  { x: [1, 2, 9, 9], w: [3, 2, 3, 3], dilation: 2, padding: 2 }, // dilation 2
  { x: [2, 2, 6, 7], w: [3, 2, 3, 3], padding: [0, 2, 1, 0] }, // per-side padding
  { x: [1, 4, 5, 6], w: [2, 4, 1, 1], bias: true }, // 1x1
  { x: [2, 3, 10, 10], w: [10, 3, 4, 4], stride: 3, padding: 2, dilation: 1 }, // stride 3
];

// Shapes for the subgroup kernels' special paths (lavapipe): rows that are vec4-aligned (W % 4 == 0:
// vec4 runs of x in forward_sg) or not, every leading padding 0 … 3 (the run's offset in its vec4),
// kernels 1 … 4 wide, dilation, output widths that are and are not multiples of 4 (dy as vec4 or
// scalars in weight_grad_sg), a first layer with few taps, and Cout = 1 and 3.
const SG_CASES: Case[] = [
  { x: [2, 3, 8, 8], w: [5, 3, 3, 3], padding: 1, bias: true }, // 3×3 stride 1, aligned rows, OW = 8
  { x: [2, 5, 12, 12], w: [9, 5, 4, 4], stride: 2, padding: 1 }, // SegAN's 4×4/2, OW = 6
  { x: [1, 4, 16, 16], w: [6, 4, 4, 4], stride: 2, padding: 1 }, // OW = 8 (dy rows vec4-aligned)
  { x: [2, 3, 8, 12], w: [4, 3, 2, 4], stride: [1, 2], padding: [0, 0, 2, 2] }, // lead 2
  { x: [1, 2, 8, 8], w: [3, 2, 3, 4], padding: [1, 1, 3, 3] }, // lead 1, kernel 4 wide, stride 1
  { x: [1, 2, 12, 8], w: [3, 2, 3, 3], dilation: 2, padding: 2 }, // dilation with aligned rows
  { x: [2, 3, 8, 8], w: [2, 3, 1, 1] }, // 1×1, Cout 2
  { x: [2, 16, 8, 8], w: [1, 16, 3, 3], padding: 1, bias: true }, // Cout = 1
  { x: [2, 8, 12, 12], w: [3, 8, 3, 3], padding: 1, bias: true }, // Cout = 3 (SegAN's last layer)
  { x: [3, 3, 20, 20], w: [16, 3, 4, 4], stride: 2, padding: 1 }, // 48 taps: a small dW workgroup
  { x: [1, 2, 9, 20], w: [3, 2, 5, 5], padding: 2 }, // 5 wide: the portable kernels
];

describe.each(['auto', 'portable'] as const)('conv2d with the %s kernels against float64', (mode) => {
  let restore = () => {};
  beforeAll(() => {
    if (mode === 'portable') restore = setPolicy(engine(), (p) => ({ ...p, conv: { ...p.conv, family: 'portable' } }));
  });
  afterAll(() => restore());
  it.each([...CASES, ...SG_CASES])('%j', async (c) => {
    const geo = { stride: norm2(c.stride, 1), padding: norm4(c.padding), dilation: norm2(c.dilation, 1) };
    await checkOp(engine(), {
      name: `conv2d ${JSON.stringify(c)}`,
      inputs: [{ shape: c.x }, { shape: c.w }, ...(c.bias ? [{ shape: [c.w[0]] }] : [])],
      gpu: (x, w, b) => conv2d(x, w, b ?? null, { stride: c.stride, padding: c.padding, dilation: c.dilation }),
      ref: (x, w, b) => conv2dRef(x, w, b ?? null, geo),
      rtol: 1e-4,
      atol: 1e-4,
      gradRtol: 2e-3,
      gradAtol: 2e-4,
    });
  });

  it.each([
    ['relu', 0],
    ['leakyRelu', 0.2],
  ] as const)('with a fused %s epilogue (forward and backward)', async (kind, slope) => {
    await checkOp(engine(), {
      name: `conv2d+${kind}`,
      inputs: [{ shape: [2, 3, 6, 6] }, { shape: [5, 3, 3, 3] }, { shape: [5] }],
      gpu: (x, w, b) => conv2d(x, w, b, { padding: 1, activation: kind, slope }),
      ref: (x, w, b) =>
        conv2dRef(x, w, b, { stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1] }, { kind, slope }),
      rtol: 1e-4,
      atol: 1e-4,
      gradRtol: 2e-3,
      gradAtol: 2e-4,
    });
  });

  it("SegAN's encoder layer shapes at batch 2 (forward)", async () => {
    const e = engine();
    for (const [cin, cout, size] of [
      [3, 64, 32],
      [64, 128, 16],
      [128, 256, 8],
    ]) {
      const xs = values(2 * cin * size * size, cin, -1, 1);
      const ws = values(cout * cin * 16, cout, -0.1, 0.1);
      const x = e.tensor(Float32Array.from(xs), [2, cin, size, size]);
      const w = e.tensor(Float32Array.from(ws), [cout, cin, 4, 4]);
      const y = conv2d(x, w, null, { stride: 2, padding: 1, activation: 'leakyRelu', slope: 0.2 });
      const ref = conv2dRef(
        { data: xs, shape: x.shape },
        { data: ws, shape: w.shape },
        null,
        { stride: [2, 2], padding: [1, 1, 1, 1], dilation: [1, 1] },
        { kind: 'leakyRelu', slope: 0.2 },
      );
      expect(y.shape).toEqual(ref.shape);
      const got = await y.toArray();
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref.data[i]));
      expect(worst).toBeLessThan(1e-4);
      for (const t of [x, w, y]) t.dispose();
    }
  });

  it('a repeated backward is bitwise identical (no atomics)', async () => {
    const e = engine();
    const x = e.randn([2, 8, 12, 12], { seed: 1, requiresGrad: true });
    const w = e.randn([16, 8, 4, 4], { seed: 2, requiresGrad: true });
    const run = async () => {
      e.tidy(() =>
        conv2d(x, w, null, { stride: 2, padding: 1 })
          .mul(e.randn([2, 16, 6, 6], { seed: 3 }))
          .sum()
          .backward(),
      );
      const gx = await x.grad!.toArray();
      const gw = await w.grad!.toArray();
      x.grad!.dispose();
      w.grad!.dispose();
      x.grad = null;
      w.grad = null;
      return [Buffer.from(gx.buffer), Buffer.from(gw.buffer)];
    };
    const [a1, b1] = await run();
    const [a2, b2] = await run();
    expect(a1.equals(a2)).toBe(true);
    expect(b1.equals(b2)).toBe(true);
  });

  it('shape errors name the op and the shapes', () => {
    const e = engine();
    expect(() => conv2d(e.zeros([1, 3, 8, 8]), e.zeros([4, 2, 3, 3]))).toThrow(
      /conv2d: input \[1, 3, 8, 8\] has 3 channels but weight \[4, 2, 3, 3\] expects 2/,
    );
    expect(() => conv2d(e.zeros([3, 8, 8]), e.zeros([4, 3, 3, 3]))).toThrow(ShapeError);
    expect(() => conv2d(e.zeros([1, 3, 2, 2]), e.zeros([4, 3, 3, 3]))).toThrow(/too small/);
    expect(() => conv2d(e.zeros([1, 3, 8, 8]), e.zeros([4, 3, 3, 3]), e.zeros([5]))).toThrow(/bias \[5\]/);
    expect(() => conv2d(e.zeros([1, 3, 8, 8]), e.zeros([4, 3, 3, 3]), null, { stride: 0 })).toThrow(/stride must be/);
  });
});

describe.each(['auto', 'portable'] as const)('convTranspose2d with the %s kernels against float64', (mode) => {
  let restore = () => {};
  beforeAll(() => {
    if (mode === 'portable') restore = setPolicy(engine(), (p) => ({ ...p, conv: { ...p.conv, family: 'portable' } }));
  });
  afterAll(() => restore());
  const T: {
    x: number[];
    w: number[];
    stride?: number;
    padding?: number;
    outputPadding?: number;
    dilation?: number;
    bias?: boolean;
  }[] = [
    { x: [1, 2, 4, 4], w: [2, 3, 3, 3] },
    { x: [2, 3, 5, 4], w: [3, 5, 4, 4], stride: 2, padding: 1, bias: true },
    { x: [1, 2, 3, 5], w: [2, 2, 3, 3], stride: 2, padding: 1, outputPadding: 1 },
    { x: [1, 3, 4, 4], w: [3, 9, 3, 3], stride: 3, padding: 0, dilation: 2 },
    { x: [2, 6, 8, 8], w: [6, 3, 4, 4], stride: 2, padding: 1, bias: true }, // SegAN-like, aligned rows
    { x: [1, 4, 5, 5], w: [4, 1, 4, 4], stride: 2, padding: 2 }, // Cout 1, every phase, odd sizes
    { x: [2, 3, 4, 8], w: [3, 5, 3, 3], stride: 1, padding: 1 }, // stride 1
  ];
  it.each(T)('%j', async (c) => {
    const two = (v: number | undefined, d: number): [number, number] => [v ?? d, v ?? d];
    await checkOp(engine(), {
      name: `convTranspose2d ${JSON.stringify(c)}`,
      inputs: [{ shape: c.x }, { shape: c.w }, ...(c.bias ? [{ shape: [c.w[1]] }] : [])],
      gpu: (x, w, b) =>
        convTranspose2d(x, w, b ?? null, {
          stride: c.stride,
          padding: c.padding,
          outputPadding: c.outputPadding,
          dilation: c.dilation,
        }),
      ref: (x, w, b) =>
        convTranspose2dRef(
          x,
          w,
          b ?? null,
          two(c.stride, 1),
          two(c.padding, 0),
          two(c.outputPadding, 0),
          two(c.dilation, 1),
        ),
      rtol: 1e-4,
      atol: 1e-4,
      gradRtol: 2e-3,
      gradAtol: 2e-4,
    });
  });
});

// The weight matrix in the kernels' layout is cached with the weight's storage (Storage.derived) and
// rebuilt only after something wrote the weight. A stale matrix would be a silent wrong answer, so
// every way of writing a parameter is checked against the float64 reference after the write.
describe('the cached weight layout', () => {
  const geo = {
    stride: [2, 2] as [number, number],
    padding: [1, 1, 1, 1] as [number, number, number, number],
    dilation: [1, 1] as [number, number],
  };
  const check = async (x: Tensor, w: Tensor, what: string) => {
    const y = conv2d(x, w, null, { stride: 2, padding: 1 });
    const ref = conv2dRef(
      { data: Float64Array.from(await x.toArray()), shape: x.shape },
      { data: Float64Array.from(await w.toArray()), shape: w.shape },
      null,
      geo,
    );
    const got = await y.toArray();
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref.data[i]));
    expect(worst, what).toBeLessThan(1e-4);
    y.dispose();
  };

  it('is reused while the weight is unchanged and rebuilt after every kind of write', async () => {
    const e = engine();
    const x = e.randn([2, 3, 10, 10], { seed: 4 });
    const w = e.randn([5, 3, 4, 4], { seed: 5, requiresGrad: true });
    await check(x, w, 'first use');
    const rt = e.runtime;
    const before = rt.stats.dispatches;
    conv2d(x, w, null, { stride: 2, padding: 1 }).dispose();
    const reused = rt.stats.dispatches - before;
    const fresh = rt.stats.dispatches;
    conv2d(x, e.randn([5, 3, 4, 4], { seed: 6 }), null, { stride: 2, padding: 1 }).dispose();
    // - randn, - layout
    expect(reused, 'a second conv with the same weight skips the layout pass').toBe(rt.stats.dispatches - fresh - 2);
    // an optimizer step (a kernel binding the weight read_write)
    e.tidy(() => conv2d(x, w, null, { stride: 2, padding: 1 }).sum().backward());
    const sgd = new SGD([w], { lr: 0.5 });
    sgd.step();
    await check(x, w, 'after SGD.step');
    // weight clipping
    clampParameters([w], -0.3, 0.3);
    await check(x, w, 'after clampParameters');
    // an upload in stream order (Module.loadState, Optimizer.load)
    rt.write(
      w.buffer(),
      Float32Array.from({ length: w.size }, (_, i) => Math.sin(i)),
    );
    await check(x, w, 'after runtime.write');
    // a reshaped view shares the storage but not the cache entry
    const flat = w.reshape([5, 3, 16]).reshape([5, 3, 4, 4]);
    await check(x, flat, 'through a view');
    sgd.dispose();
    w.grad?.dispose();
    for (const t of [x, w, flat]) t.dispose();
  });

  it('is freed with the weight (live bytes flat over 50 fresh weights)', async () => {
    const e = engine();
    const x = e.randn([1, 3, 8, 8], { seed: 7 });
    const once = () => {
      const w = e.randn([4, 3, 3, 3], { seed: 8 });
      conv2d(x, w, null, { padding: 1 }).dispose();
      w.dispose();
    };
    once();
    await e.flush();
    const live = e.memory().liveBytes;
    for (let i = 0; i < 50; i++) once();
    await e.flush();
    expect(e.memory().liveBytes).toBe(live);
    x.dispose();
  });
});
