// The public API by the names the issue fixes (other code and outside checks call them): every op is
// imported from the package entry point and called both as a function and as a Tensor method, on
// small inputs whose results are worked out here in float64. The names come from the op table
// (src/ops/table.ts): every row must be exported, every method row must be a Tensor method. The op
// tests check the kernels on awkward shapes; this file checks that each public name reaches the right
// op with the right arguments and defaults.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import * as table from '../src/ops/table.ts';
import { Tensor } from '../src/index.ts';
import { useEngine } from './helpers/engine.ts';

const engine = useEngine();

const X = [-2, -0.5, 0.25, 1, 3];
const P = [0.5, 1, 2, 4, 9]; // positive, for log / sqrt / pow
const Y = [1, -1, 0.25, 2, -3];

async function expectValues(t: Tensor, want: number[], shape: number[], what: string): Promise<void> {
  expect(t.shape, `${what}: shape`).toEqual(shape);
  const got = [...(await t.toArray())];
  expect(got.length, `${what}: length`).toBe(want.length);
  got.forEach((g, i) =>
    expect(Math.abs(g - want[i]!), `${what}[${i}]: ${g} vs ${want[i]}`).toBeLessThanOrEqual(
      1e-6 * Math.max(1, Math.abs(want[i]!)),
    ),
  );
}

// Tensor methods that are not ops (the op methods come from the table's rows).
const TENSOR_METHODS = ['backward', 'detach', 'dispose', 'toArray', 'item'];

describe('the public API', () => {
  it('has a function for every row of the op table, and a Tensor method for every method row', () => {
    const rows = Object.entries(table).filter(([, f]) => table.rowOf(f));
    expect(rows.length).toBeGreaterThan(40);
    for (const [name, f] of rows) {
      const row = table.rowOf(f)!;
      expect([name, (dg as Record<string, unknown>)[name]]).toEqual([name, f]);
      expect([name, typeof row.kernel, typeof row.forward, Number.isInteger(row.arity)]).toEqual([
        name,
        'string',
        'string',
        true,
      ]);
      const m = (Tensor.prototype as unknown as Record<string, unknown>)[name];
      expect([name, row.method ? typeof m : m]).toEqual([name, row.method ? 'function' : undefined]);
    }
    // the names the issue fixes are rows (the methods too)
    for (const name of [
      'add',
      'sub',
      'mul',
      'div',
      'neg',
      'exp',
      'log',
      'sqrt',
      'abs',
      'relu',
      'sigmoid',
      'tanh',
      'pow',
      'leakyRelu',
      'clamp',
      'sum',
      'mean',
      'max',
      'matmul',
      'l1Loss',
      'reshape',
      'permute',
      'transpose',
      'slice',
    ]) {
      expect([name, table.rowOf((dg as Record<string, unknown>)[name])?.method]).toEqual([name, true]);
    }
    expect(table.rowOf(dg.cat)?.method).toBe(false);
    expect(typeof dg.createEngine).toBe('function');
    for (const name of TENSOR_METHODS)
      expect([name, typeof (Tensor.prototype as unknown as Record<string, unknown>)[name]]).toEqual([name, 'function']);
    const e = engine();
    for (const name of [
      'tensor',
      'zeros',
      'ones',
      'full',
      'rand',
      'randn',
      'noGrad',
      'tidy',
      'memory',
      'flush',
      'close',
    ]) {
      expect([name, typeof (e as unknown as Record<string, unknown>)[name]]).toEqual([name, 'function']);
    }
  });

  it('documents every row with a one-line doc comment that holds an example', () => {
    const source = readFileSync(new URL('../src/ops/table.ts', import.meta.url), 'utf8').split('\n');
    for (const [name, f] of Object.entries(table)) {
      if (!table.rowOf(f)) continue;
      const at = source.findIndex((l) => l.startsWith(`export const ${name} = `));
      expect([name, at > 0 && /^\/\*\* .*`[^`]+`.* \*\/$/.test(source[at - 1]!)]).toEqual([name, true]);
    }
  });

  const unary: [string, (x: number) => number, number[]][] = [
    ['neg', (v) => -v, X],
    ['exp', Math.exp, X],
    ['log', Math.log, P],
    ['sqrt', Math.sqrt, P],
    ['abs', Math.abs, X],
    ['relu', (v) => Math.max(0, v), X],
    ['sigmoid', (v) => 1 / (1 + Math.exp(-v)), X],
    ['tanh', Math.tanh, X],
  ];
  for (const [name, f, input] of unary) {
    it(`${name}(x) and x.${name}()`, async () => {
      const e = engine();
      const x = e.tensor(input, [5]);
      const want = input.map(f);
      await expectValues((dg as unknown as Record<string, (t: Tensor) => Tensor>)[name]!(x), want, [5], `${name}(x)`);
      await expectValues((x as unknown as Record<string, () => Tensor>)[name]!(), want, [5], `x.${name}()`);
    });
  }

  it('pow, leakyRelu (default slope 0.01) and clamp, with their parameters', async () => {
    const e = engine();
    const x = e.tensor(X, [5]);
    const p = e.tensor(P, [5]);
    await expectValues(
      dg.pow(p, 1.5),
      P.map((v) => v ** 1.5),
      [5],
      'pow(x, 1.5)',
    );
    await expectValues(
      p.pow(-2),
      P.map((v) => v ** -2),
      [5],
      'x.pow(-2)',
    );
    await expectValues(
      dg.leakyRelu(x),
      X.map((v) => (v > 0 ? v : 0.01 * v)),
      [5],
      'leakyRelu(x)',
    );
    await expectValues(
      x.leakyRelu(0.2),
      X.map((v) => (v > 0 ? v : 0.2 * v)),
      [5],
      'x.leakyRelu(0.2)',
    );
    await expectValues(
      dg.clamp(x, -1, 0.5),
      X.map((v) => Math.min(0.5, Math.max(-1, v))),
      [5],
      'clamp(x, -1, 0.5)',
    );
    await expectValues(
      x.clamp(0, 2),
      X.map((v) => Math.min(2, Math.max(0, v))),
      [5],
      'x.clamp(0, 2)',
    );
    expect(() => dg.clamp(x, 1, -1)).toThrow(/clamp: lo \(1\) is greater than hi \(-1\)/);
  });

  it('add, sub, mul, div: tensors (broadcast) or numbers on either side, as functions and methods', async () => {
    const e = engine();
    const a = e.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const col = e.tensor([[10], [20]]);
    await expectValues(dg.add(a, col), [11, 12, 13, 24, 25, 26], [2, 3], 'add(a, col)');
    await expectValues(a.sub(col), [-9, -8, -7, -16, -15, -14], [2, 3], 'a.sub(col)');
    await expectValues(dg.mul(2, a), [2, 4, 6, 8, 10, 12], [2, 3], 'mul(2, a)');
    await expectValues(a.div(4), [0.25, 0.5, 0.75, 1, 1.25, 1.5], [2, 3], 'a.div(4)');
    await expectValues(dg.div(6, a), [6, 3, 2, 1.5, 1.2, 1], [2, 3], 'div(6, a)');
    await expectValues(dg.sub(1, a), [0, -1, -2, -3, -4, -5], [2, 3], 'sub(1, a)');
    await expectValues(a.mul(col), [10, 20, 30, 80, 100, 120], [2, 3], 'a.mul(col)');
    await expectValues(a.add(0.5), [1.5, 2.5, 3.5, 4.5, 5.5, 6.5], [2, 3], 'a.add(0.5)');
    expect(() => dg.add(a, e.tensor([1, 2]))).toThrow(/add.*\[2, 3\].*\[2\]/);
  });

  it('comparisons give 0/1 masks', async () => {
    const e = engine();
    const x = e.tensor(X, [5]);
    const y = e.tensor(Y, [5]);
    const cases: [keyof Tensor & string, (a: number, b: number) => boolean][] = [
      ['gt', (a, b) => a > b],
      ['ge', (a, b) => a >= b],
      ['lt', (a, b) => a < b],
      ['le', (a, b) => a <= b],
      ['eq', (a, b) => a === b],
      ['ne', (a, b) => a !== b],
    ];
    for (const [name, f] of cases) {
      await expectValues(
        (x as unknown as Record<string, (b: Tensor) => Tensor>)[name]!(y),
        X.map((v, i) => (f(v, Y[i]!) ? 1 : 0)),
        [5],
        `x.${name}(y)`,
      );
      await expectValues(
        (dg as unknown as Record<string, (a: Tensor, b: Tensor) => Tensor>)[name]!(x, y),
        X.map((v, i) => (f(v, Y[i]!) ? 1 : 0)),
        [5],
        `${name}(x, y)`,
      );
    }
  });

  it('sum, mean, max over all axes, one axis, several (negative) axes, with keepdim', async () => {
    const e = engine();
    const data = Array.from({ length: 24 }, (_, i) => ((i * 7) % 11) - 5);
    const x = e.tensor(data, [2, 3, 4]);
    const at = (i: number, j: number, k: number) => data[i * 12 + j * 4 + k]!;
    const total = data.reduce((s, v) => s + v, 0);
    await expectValues(dg.sum(x), [total], [], 'sum(x)');
    await expectValues(x.mean(), [total / 24], [], 'x.mean()');
    await expectValues(dg.max(x), [Math.max(...data)], [], 'max(x)');
    const sumAxis1 = [0, 1].flatMap((i) => [0, 1, 2, 3].map((k) => at(i, 0, k) + at(i, 1, k) + at(i, 2, k)));
    await expectValues(x.sum(1), sumAxis1, [2, 4], 'x.sum(1)');
    await expectValues(dg.sum(x, -2, true), sumAxis1, [2, 1, 4], 'sum(x, -2, true)');
    const max02 = [0, 1, 2].map((j) => Math.max(...[0, 1].flatMap((i) => [0, 1, 2, 3].map((k) => at(i, j, k)))));
    await expectValues(x.max([0, -1]), max02, [3], 'x.max([0, -1])');
    await expectValues(dg.max(x, [0, 2], true), max02, [1, 3, 1], 'max(x, [0, 2], true)');
    const mean0 = [0, 1, 2].flatMap((j) => [0, 1, 2, 3].map((k) => (at(0, j, k) + at(1, j, k)) / 2));
    await expectValues(dg.mean(x, 0), mean0, [3, 4], 'mean(x, 0)');
    await expectValues(x.mean([0], true), mean0, [1, 3, 4], 'x.mean([0], true)');
  });

  it('matmul: batched, with broadcast batch dimensions', async () => {
    const e = engine();
    const a = e.tensor(
      Array.from({ length: 2 * 2 * 3 }, (_, i) => i - 4),
      [2, 1, 2, 3],
    ); // [2, 1, 2, 3]
    const b = e.tensor(
      Array.from({ length: 3 * 3 * 2 }, (_, i) => (i % 5) - 2),
      [3, 3, 2],
    ); // [3, 3, 2]
    const av = await a.toArray();
    const bv = await b.toArray();
    const want: number[] = [];
    for (let p = 0; p < 2; p++)
      for (let q = 0; q < 3; q++)
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 2; j++) {
            let s = 0;
            for (let k = 0; k < 3; k++) s += av[p * 6 + i * 3 + k]! * bv[q * 6 + k * 2 + j]!;
            want.push(s);
          }
    await expectValues(dg.matmul(a, b), want, [2, 3, 2, 2], 'matmul(a, b)');
    await expectValues(a.matmul(b), want, [2, 3, 2, 2], 'a.matmul(b)');
  });

  it("l1Loss with reduction 'mean' (default), 'sum' and 'none'", async () => {
    const e = engine();
    const x = e.tensor(X, [5]);
    const y = e.tensor(Y, [5]);
    const d = X.map((v, i) => Math.abs(v - Y[i]!));
    await expectValues(dg.l1Loss(x, y), [d.reduce((s, v) => s + v) / 5], [], 'l1Loss(x, y)');
    await expectValues(x.l1Loss(y, 'sum'), [d.reduce((s, v) => s + v)], [], "x.l1Loss(y, 'sum')");
    await expectValues(dg.l1Loss(x, y, 'none'), d, [5], "l1Loss(x, y, 'none')");
  });

  it('reshape, permute, transpose, slice, cat', async () => {
    const e = engine();
    const x = e.tensor([0, 1, 2, 3, 4, 5], [2, 3]);
    await expectValues(dg.reshape(x, [3, 2]), [0, 1, 2, 3, 4, 5], [3, 2], 'reshape(x, [3, 2])');
    await expectValues(x.reshape([6]), [0, 1, 2, 3, 4, 5], [6], 'x.reshape([6])');
    await expectValues(dg.permute(x, [1, 0]), [0, 3, 1, 4, 2, 5], [3, 2], 'permute(x, [1, 0])');
    await expectValues(x.transpose(), [0, 3, 1, 4, 2, 5], [3, 2], 'x.transpose()');
    await expectValues(x.permute([1, 0]), [0, 3, 1, 4, 2, 5], [3, 2], 'x.permute([1, 0])');
    await expectValues(dg.slice(x, 1, 1, 3), [1, 2, 4, 5], [2, 2], 'slice(x, 1, 1, 3)');
    await expectValues(x.slice(0, 1), [3, 4, 5], [1, 3], 'x.slice(0, 1)');
    await expectValues(dg.cat([x, e.tensor([[9, 8, 7]])], 0), [0, 1, 2, 3, 4, 5, 9, 8, 7], [3, 3], 'cat([x, row], 0)');
    await expectValues(dg.cat([x, e.tensor([[9], [8]])], -1), [0, 1, 2, 9, 3, 4, 5, 8], [2, 4], 'cat([x, col], -1)');
  });

  it('requiresGrad, grad, backward (from a scalar or with a gradient), detach', async () => {
    const e = engine();
    const x = e.tensor([1, 2, 3], [3], { requiresGrad: true });
    expect(x.requiresGrad).toBe(true);
    expect(x.grad).toBeNull();
    dg.sum(x.mul(x)).backward();
    await expectValues(x.grad!, [2, 4, 6], [3], 'd sum(x²)/dx');
    const y = x.mul(3);
    y.backward(e.tensor([1, 0, -1], [3]));
    await expectValues(x.grad!, [5, 4, 3], [3], 'accumulated with 3·g');
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    await expectValues(d, [1, 2, 3], [3], 'x.detach()');
    expect(await dg.mean(x).item()).toBe(2);
  });
});
