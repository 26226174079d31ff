// Every op of the op table, generated from the table: forward against the float64 reference built
// from the same expressions, gradients against finite differences, on awkward shapes.
import { describe, expect, it } from 'vitest';
import {
  OPS,
  unary,
  binary,
  add,
  sub,
  mul,
  div,
  type UnaryName,
  type BinaryName,
  type UnaryOp,
  type BinaryOp,
} from '../src/index.ts';
import { checkOp } from './helpers/check.ts';
import { useEngine } from './helpers/engine.ts';
import { binaryRef, unaryRef, arr } from './helpers/reference.ts';

const engine = useEngine();

const PARAMS: Record<string, [number, number]> = {
  leakyRelu: [0.2, 0],
  pow: [3, 0],
  clamp: [-0.5, 0.7],
  addScalar: [1.5, 0],
  mulScalar: [-2.5, 0],
  divScalar: [1.7, 0],
  rsubScalar: [0.25, 0],
  rdivScalar: [2, 0],
};
const KINKS: Record<string, number[]> = { abs: [0], relu: [0], leakyRelu: [0], clamp: [-0.5, 0.7] };
// [4, 6] and [2, 8, 3]: dense and a multiple of 4, so they take map_vec4.wgsl; the rest take map.wgsl.
const UNARY_SHAPES = [[7], [3, 5], [2, 3, 5, 7], [1, 1, 1], [1031], [4, 6], [2, 8, 3]];
const BINARY_SHAPES: [number[], number[]][] = [
  [
    [3, 5],
    [3, 5],
  ],
  [
    [4, 6],
    [4, 6],
  ], // dense, vec4 path
  [[2, 3, 5], [5]],
  [
    [4, 1, 3],
    [1, 6, 1],
  ],
  [
    [2, 1, 7, 1],
    [3, 1, 5],
  ],
  [[1], [3, 4]],
  [[], [2, 3]],
  [
    [2, 3, 1, 1],
    [2, 3, 4, 5],
  ],
];

describe('unary ops from the op table', () => {
  for (const [name, def] of Object.entries(OPS).filter(([, d]) => d.kind === 'unary') as [UnaryName, UnaryOp][]) {
    it.each(UNARY_SHAPES)(`${name} on %j`, async (...shape) => {
      const [p0, p1] = PARAMS[name] ?? [0, 0];
      await checkOp(engine(), {
        name,
        inputs: [{ shape, domain: def.domain, avoid: KINKS[name] }],
        gpu: (x) => unary(name, x, p0, p1),
        ref: (x) => unaryRef(def.forward, x, p0, p1),
        noGrad: def.grad === null,
      });
    });
  }
});

describe('binary ops from the op table, with broadcasting', () => {
  for (const [name, def] of Object.entries(OPS).filter(([, d]) => d.kind === 'binary') as [BinaryName, BinaryOp][]) {
    it.each(BINARY_SHAPES)(`${name} on %j and %j`, async (sa, sb) => {
      const cmp = def.grad === null;
      // comparisons: values on a grid of 0.5, so that equal pairs occur (about one pair in nine)
      const grid = cmp ? 0.5 : undefined;
      await checkOp(engine(), {
        name,
        inputs: [
          { shape: sa, domain: def.domain, grid },
          { shape: sb, domain: def.bDomain ?? def.domain, grid },
        ],
        gpu: (a, b) => binary(name, a, b),
        ref: (a, b) => binaryRef(def.forward, a, b),
        noGrad: cmp,
        // maximum/minimum: a kink where a == b; random inputs never tie
      });
    });
  }
});

describe('numbers on either side', () => {
  it('add, sub, mul, div with a number on the left and on the right', async () => {
    const e = engine();
    const x = e.tensor([1, -2, 4], [3]);
    const got = await Promise.all(
      [add(x, 1), add(1, x), sub(x, 1), sub(1, x), mul(x, 3), mul(3, x), div(x, 2), div(2, x)].map((t) => t.toArray()),
    );
    expect(got.map((a) => [...a])).toEqual([
      [2, -1, 5],
      [2, -1, 5],
      [0, -3, 3],
      [0, 3, -3],
      [3, -6, 12],
      [3, -6, 12],
      [0.5, -1, 2],
      [2, -1, 0.5],
    ]);
  });

  it('comparisons produce 0/1 masks, also against numbers', async () => {
    const e = engine();
    const x = e.tensor([1, 2, 3], [3]);
    expect([...(await x.gt(2).toArray())]).toEqual([0, 0, 1]);
    expect([...(await x.le(2).toArray())]).toEqual([1, 1, 0]);
    expect([...(await x.eq(e.tensor([1, 0, 3], [3])).toArray())]).toEqual([1, 0, 1]);
  });

  it('a shape error names the op and both shapes', () => {
    const e = engine();
    expect(() => add(e.zeros([2, 3]), e.zeros([4]))).toThrow(/add: shapes \[2, 3\] and \[4\] cannot be broadcast/);
    expect(() => mul(e.zeros([2, 3]), e.zeros([3, 2]))).toThrow(/mul: shapes \[2, 3\] and \[3, 2\]/);
  });

  it('special values follow IEEE and PyTorch: pow of negative bases, overflow-free tanh/sigmoid, log(0)', async () => {
    const e = engine();
    const x = e.tensor([-2, -0.5, 0, 100, -100], [5]);
    expect([...(await x.pow(3).toArray())]).toEqual([-8, -0.125, 0, 1e6, -1e6]);
    expect([...(await x.pow(2).toArray())]).toEqual([4, 0.25, 0, 1e4, 1e4]);
    const half = await x.pow(0.5).toArray();
    expect(Number.isNaN(half[0])).toBe(true);
    expect([...(await x.tanh().toArray())]).toEqual(
      [Math.fround(Math.tanh(-2)), Math.fround(Math.tanh(-0.5)), 0, 1, -1].map((v, i) =>
        i < 2 ? expect.closeTo(v, 6) : v,
      ),
    );
    const sig = await x.sigmoid().toArray();
    expect(sig[3]).toBe(1);
    expect(sig[4]).toBeGreaterThanOrEqual(0);
    expect((await e.tensor([0], [1]).log().toArray())[0]).toBe(-Infinity);
  });

  it('the reference itself is exercised: a wrong expression is caught', async () => {
    // Guards against a test that cannot fail: compare exp on the GPU against the log reference.
    await expect(
      checkOp(engine(), {
        name: 'exp-vs-log',
        inputs: [{ shape: [5], domain: [0.5, 2] }],
        gpu: (x) => x.exp(),
        ref: (x) => unaryRef('log(a)', x),
      }),
    ).rejects.toThrow(/exp-vs-log forward/);
    void arr;
  });
});
