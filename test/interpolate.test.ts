import { describe, expect, it, vi } from 'vitest';
import { ShapeError } from '../src/index.ts';
import { interpolate, type InterpolateOptions } from '../src/ops/interpolate.ts';
import { checkOp } from './helpers/check.ts';
import { setPolicy, useEngine } from './helpers/engine.ts';
import type { Arr } from './helpers/reference.ts';

const engine = useEngine();

// ---- float64 reference, written from PyTorch's formulas (ATen UpSample.h / UpSampleKernel.cpp) ----

interface Tap {
  i0: number;
  i1: number;
  l0: number;
  l1: number;
}

/** Per-axis source taps for every output index, as ATen's CPU kernels compute them. */
function axisTaps(
  mode: 'bilinear' | 'nearest',
  align: boolean,
  inSize: number,
  outSize: number,
  factor: number | undefined,
): Tap[] {
  const taps: Tap[] = [];
  for (let o = 0; o < outSize; o++) {
    if (mode === 'nearest') {
      // nearest_idx: copy when sizes match, o >> 1 when doubling, else floorf(o * scale) in float32.
      let i: number;
      if (outSize === inSize) i = o;
      else if (outSize === 2 * inSize) i = o >> 1;
      else {
        const scale = Math.fround(factor !== undefined ? 1 / factor : inSize / outSize);
        i = Math.min(Math.floor(Math.fround(o * scale)), inSize - 1);
      }
      taps.push({ i0: i, i1: i, l0: 1, l1: 0 });
      continue;
    }
    // compute_source_index_and_lambda
    if (outSize === inSize) {
      taps.push({ i0: o, i1: o, l0: 1, l1: 0 });
      continue;
    }
    let src: number;
    if (align) src = outSize > 1 ? (o * (inSize - 1)) / (outSize - 1) : 0;
    else {
      const scale = factor !== undefined ? 1 / factor : inSize / outSize;
      src = Math.max(0, scale * (o + 0.5) - 0.5);
    }
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const l1 = Math.min(Math.max(src - i0, 0), 1);
    taps.push({ i0, i1: Math.min(i0 + 1, inSize - 1), l0: 1 - l1, l1 });
  }
  return taps;
}

function interpolateRef(x: Arr, opts: InterpolateOptions): Arr {
  const [n, c, h, w] = x.shape;
  const f =
    opts.scaleFactor === undefined
      ? undefined
      : typeof opts.scaleFactor === 'number'
        ? [opts.scaleFactor, opts.scaleFactor]
        : [...opts.scaleFactor];
  const s =
    opts.size === undefined ? undefined : typeof opts.size === 'number' ? [opts.size, opts.size] : [...opts.size];
  const oh = s ? s[0] : Math.floor(h * f![0]);
  const ow = s ? s[1] : Math.floor(w * f![1]);
  const align = opts.alignCorners ?? false;
  const th = axisTaps(opts.mode, align, h, oh, f?.[0]);
  const tw = axisTaps(opts.mode, align, w, ow, f?.[1]);
  const out = new Float64Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++) {
    const at = (i: number, j: number) => x.data[(p * h + i) * w + j];
    for (let a = 0; a < oh; a++) {
      const A = th[a];
      for (let b = 0; b < ow; b++) {
        const B = tw[b];
        out[(p * oh + a) * ow + b] =
          A.l0 * (B.l0 * at(A.i0, B.i0) + B.l1 * at(A.i0, B.i1)) +
          A.l1 * (B.l0 * at(A.i1, B.i0) + B.l1 * at(A.i1, B.i1));
      }
    }
  }
  return { data: out, shape: [n, c, oh, ow] };
}

function check(name: string, shape: number[], opts: InterpolateOptions) {
  return checkOp(engine(), {
    name,
    inputs: [{ shape }],
    gpu: (x) => interpolate(x, opts),
    ref: (x) => interpolateRef(x, opts),
  });
}

describe('interpolate', () => {
  it.each([
    ['bilinear x2', [1, 1, 4, 5], { scaleFactor: 2, mode: 'bilinear' }],
    [
      'bilinear x2 alignCorners false (explicit)',
      [3, 5, 3, 4],
      { scaleFactor: 2, mode: 'bilinear', alignCorners: false },
    ],
    ['bilinear x2 alignCorners true', [3, 1, 4, 5], { scaleFactor: 2, mode: 'bilinear', alignCorners: true }],
    ['bilinear to an odd size', [1, 5, 5, 7], { size: [11, 13], mode: 'bilinear' }],
    ['bilinear to an odd size, alignCorners', [1, 5, 5, 7], { size: [11, 13], mode: 'bilinear', alignCorners: true }],
    ['bilinear downsampling', [3, 1, 8, 8], { size: [3, 5], mode: 'bilinear' }],
    ['bilinear downsampling, alignCorners', [3, 1, 8, 8], { size: [3, 5], mode: 'bilinear', alignCorners: true }],
    ['bilinear scaleFactor 1.7', [1, 5, 5, 7], { scaleFactor: 1.7, mode: 'bilinear' }],
    [
      'bilinear scaleFactor 1.7, alignCorners',
      [1, 5, 5, 7],
      { scaleFactor: 1.7, mode: 'bilinear', alignCorners: true },
    ],
    ['bilinear scaleFactor [1.7, 0.6]', [3, 1, 6, 9], { scaleFactor: [1.7, 0.6], mode: 'bilinear' }],
    [
      'bilinear single input row/col, alignCorners',
      [1, 1, 1, 3],
      { size: [4, 5], mode: 'bilinear', alignCorners: true },
    ],
    ['bilinear single output row, alignCorners', [1, 1, 4, 4], { size: [1, 3], mode: 'bilinear', alignCorners: true }],
    [
      'bilinear unchanged axis with scaleFactor 1.05 (ATen copies)',
      [1, 1, 10, 6],
      { scaleFactor: [1.05, 2], mode: 'bilinear' },
    ],
    ['nearest x2', [3, 5, 4, 5], { scaleFactor: 2, mode: 'nearest' }],
    ['nearest to an odd size', [1, 1, 5, 7], { size: [11, 13], mode: 'nearest' }],
    ['nearest downsampling', [3, 1, 8, 8], { size: [3, 5], mode: 'nearest' }],
    ['nearest scaleFactor 1.7', [1, 5, 5, 7], { scaleFactor: 1.7, mode: 'nearest' }],
    ['nearest scaleFactor 2.1 (doubled size: ATen takes o >> 1)', [1, 1, 5, 5], { scaleFactor: 2.1, mode: 'nearest' }],
    ['nearest single input pixel', [1, 1, 1, 1], { size: [3, 4], mode: 'nearest' }],
  ] as [string, number[], InterpolateOptions][])('%s %j', async (name, shape, opts) => {
    await check(name, shape, opts);
  });

  // the ×2 kernels (bilinear_x2.wgsl, bilinear_backward_x2.wgsl) at their edges: one-pixel axes,
  // odd sizes, the ×2 given as a size, batches of planes
  it.each([
    ['bilinear x2, a single pixel', [1, 1, 1, 1], { scaleFactor: 2, mode: 'bilinear' }],
    ['bilinear x2, one row', [2, 3, 1, 5], { scaleFactor: 2, mode: 'bilinear' }],
    ['bilinear x2 as a size, one column', [1, 2, 7, 1], { size: [14, 2], mode: 'bilinear' }],
    ['bilinear x2, odd sizes, 5 planes', [5, 1, 3, 7], { scaleFactor: [2, 2], mode: 'bilinear' }],
  ] as [string, number[], InterpolateOptions][])('%s %j', async (name, shape, opts) => {
    await check(name, shape, opts);
  });

  it("the ×2 kernels run for SegAN's upsampling and agree bitwise with the generic kernels", async () => {
    const e = engine();
    const run = async (x2: boolean) => {
      const restore = setPolicy(e, (p) => ({ ...p, resize: { x2 } }));
      const spy = vi.spyOn(e.runtime.kernels, 'get');
      try {
        const x = e.tensor(
          Float32Array.from({ length: 3 * 4 * 9 * 7 }, (_, i) => Math.sin(0.7 * i)),
          [3, 4, 9, 7],
          { requiresGrad: true },
        );
        const y = interpolate(x, { scaleFactor: 2, mode: 'bilinear', alignCorners: false });
        y.backward(
          e.tensor(
            Float32Array.from({ length: y.size }, (_, i) => Math.cos(1.3 * i)),
            y.shape,
          ),
        );
        const used = spy.mock.calls.map((c) => c[0]);
        const out = [await y.toArray(), await x.grad!.toArray()];
        x.grad!.dispose();
        x.dispose();
        y.dispose();
        return { used, out };
      } finally {
        spy.mockRestore();
        restore();
      }
    };
    const fast = await run(true);
    const generic = await run(false);
    expect(fast.used).toEqual(expect.arrayContaining(['resize/bilinear_x2', 'resize/bilinear_backward_x2']));
    expect(generic.used).not.toContain('resize/bilinear_x2');
    expect(Array.from(fast.out[0])).toEqual(Array.from(generic.out[0]));
    expect(Array.from(fast.out[1])).toEqual(Array.from(generic.out[1]));
  });

  it("SegAN's upsampling: bilinear x2, alignCorners false, [2, 8, 10, 10] -> [2, 8, 20, 20]", async () => {
    await check('segan', [2, 8, 10, 10], { scaleFactor: 2, mode: 'bilinear', alignCorners: false });
  });

  it('matches values computed by PyTorch for [[1, 2], [3, 4]]', async () => {
    const e = engine();
    const x = e.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    const close = (a: ArrayLike<number>, b: number[]) => {
      expect(a.length).toBe(b.length);
      for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
    };
    const y = interpolate(x, { scaleFactor: 2, mode: 'bilinear', alignCorners: false });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    close(await y.toArray(), [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]);
    const ya = interpolate(x, { scaleFactor: 2, mode: 'bilinear', alignCorners: true });
    const va = await ya.toArray();
    close(va.slice(0, 4), [1, 1.3333, 1.6667, 2]);
    close(va, [1, 4 / 3, 5 / 3, 2, 5 / 3, 2, 7 / 3, 8 / 3, 7 / 3, 8 / 3, 3, 10 / 3, 3, 10 / 3, 11 / 3, 4]);
    const yn = interpolate(x, { scaleFactor: 2, mode: 'nearest' });
    expect(Array.from(await yn.toArray())).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    // torch.arange(5.).view(1, 1, 1, 5) -> size (1, 3), nearest: [0, 1, 3]
    const r = e.tensor([0, 1, 2, 3, 4], [1, 1, 1, 5]);
    const yr = interpolate(r, { size: [1, 3], mode: 'nearest' });
    expect(Array.from(await yr.toArray())).toEqual([0, 1, 3]);
    for (const t of [x, y, ya, yn, r, yr]) t.dispose();
  });

  it('the backward is deterministic (bitwise) and sums each window exactly', async () => {
    const e = engine();
    const run = async () => {
      const x = e.tensor(
        Float32Array.from({ length: 2 * 3 * 7 * 6 }, (_, i) => Math.sin(i)),
        [2, 3, 7, 6],
        { requiresGrad: true },
      );
      const y = interpolate(x, { scaleFactor: 1.7, mode: 'bilinear' });
      const g = e.tensor(
        Float32Array.from({ length: y.size }, (_, i) => Math.cos(3 * i)),
        y.shape,
      );
      y.backward(g);
      const dx = await x.grad!.toArray();
      x.grad!.dispose();
      for (const t of [x, y, g]) t.dispose();
      return dx;
    };
    const a = await run();
    const b = await run();
    expect(Array.from(b)).toEqual(Array.from(a));
    // Nearest with a ones gradient counts how many outputs each input feeds: the counts sum to the output size.
    const x = e.zeros([1, 2, 5, 7], { requiresGrad: true });
    const y = interpolate(x, { size: [9, 4], mode: 'nearest' });
    y.backward(e.ones(y.shape));
    const counts = await x.grad!.toArray();
    expect(counts.reduce((s, v) => s + v, 0)).toBe(2 * 9 * 4);
    expect(Array.from(counts).every((v) => Number.isInteger(v))).toBe(true);
    x.grad!.dispose();
    x.dispose();
    y.dispose();
  });

  it('an empty batch gives an empty output', () => {
    const e = engine();
    const y = interpolate(e.zeros([0, 3, 4, 4]), { scaleFactor: 2, mode: 'bilinear' });
    expect(y.shape).toEqual([0, 3, 8, 8]);
  });

  it('errors name the op and the offending shapes or values', () => {
    const e = engine();
    const x = e.zeros([1, 2, 4, 4]);
    expect(() => interpolate(e.zeros([2, 4, 4]), { scaleFactor: 2, mode: 'bilinear' })).toThrow(
      /interpolate: expected a 4-D NCHW input, got shape \[2, 4, 4\]/,
    );
    expect(() => interpolate(e.zeros([2, 4, 4]), { scaleFactor: 2, mode: 'bilinear' })).toThrow(ShapeError);
    expect(() => interpolate(x, { size: [8, 8], scaleFactor: 2, mode: 'bilinear' })).toThrow(
      /interpolate: give only one of size and scaleFactor \(got size \[8, 8\] and scaleFactor 2\)/,
    );
    expect(() => interpolate(x, { mode: 'bilinear' })).toThrow(
      /interpolate: give either size or scaleFactor \(got neither\) for input \[1, 2, 4, 4\]/,
    );
    expect(() => interpolate(x, { size: [0, 3], mode: 'bilinear' })).toThrow(
      /interpolate: size must be positive integers, got \[0, 3\] for input \[1, 2, 4, 4\]/,
    );
    expect(() => interpolate(x, { size: [2.5, 3], mode: 'nearest' })).toThrow(
      /interpolate: size must be positive integers, got \[2\.5, 3\]/,
    );
    expect(() => interpolate(x, { scaleFactor: -2, mode: 'bilinear' })).toThrow(
      /interpolate: scaleFactor must be positive and finite, got -2/,
    );
    expect(() => interpolate(x, { scaleFactor: 0.1, mode: 'bilinear' })).toThrow(
      /interpolate: scaleFactor 0\.1 gives output size \[0, 0\] for input \[1, 2, 4, 4\]/,
    );
    expect(() => interpolate(x, { scaleFactor: 2, mode: 'bicubic' as 'bilinear' })).toThrow(
      /interpolate: unknown mode 'bicubic' \(expected 'bilinear' or 'nearest'\)/,
    );
    expect(() => interpolate(x, { scaleFactor: 2, mode: 'nearest', alignCorners: false })).toThrow(
      /interpolate: alignCorners can only be set with mode 'bilinear' \(got mode 'nearest' with alignCorners false\)/,
    );
    expect(() => interpolate(x, { scaleFactor: [2, 2, 2] as unknown as number, mode: 'nearest' })).toThrow(
      /interpolate: scaleFactor must be a number or a pair \[h, w\], got \[2, 2, 2\]/,
    );
    expect(() => interpolate(e.zeros([1, 1, 0, 4]), { scaleFactor: 2, mode: 'nearest' })).toThrow(
      /interpolate: input \[1, 1, 0, 4\] has an empty spatial axis/,
    );
    expect(() => interpolate(null as never, { scaleFactor: 2, mode: 'nearest' })).toThrow(
      /interpolate: input must be a Tensor/,
    );
  });
});
