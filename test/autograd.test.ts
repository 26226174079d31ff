import { describe, expect, it } from 'vitest';
import { add, mul, sum, exp, record, type Tensor } from '../src/index.ts';
import { checkOp } from './helpers/check.ts';
import { useEngine } from './helpers/engine.ts';
import { unaryRef } from './helpers/reference.ts';

const engine = useEngine();

describe('autograd', () => {
  it('accumulates gradients across uses and across backward calls', async () => {
    const e = engine();
    const x = e.tensor([1, 2, 3], [3], { requiresGrad: true });
    // y = sum(x*x + x) -> dy/dx = 2x + 1 ; x used three times in one graph
    sum(add(mul(x, x), x)).backward();
    expect([...(await x.grad!.toArray())]).toEqual([3, 5, 7]);
    sum(mul(x, 2)).backward(); // accumulates: + 2
    expect([...(await x.grad!.toArray())]).toEqual([5, 7, 9]);
  });

  it('computes only the gradients that are needed', async () => {
    const e = engine();
    const a = e.tensor([1, 2], [2], { requiresGrad: true });
    const b = e.tensor([3, 4], [2]);
    const y = mul(a, b);
    expect(y.requiresGrad).toBe(true);
    const backwardDispatches = (t: Tensor) => {
      const d0 = e.runtime.stats.dispatches;
      t.backward();
      return e.runtime.stats.dispatches - d0;
    };
    const n = backwardDispatches(sum(y));
    expect(b.grad).toBeNull();
    // b's gradient is never computed (rather than computed and dropped): with b requiring one too,
    // the same backward takes exactly one more dispatch
    const a2 = e.tensor([1, 2], [2], { requiresGrad: true });
    const b2 = e.tensor([3, 4], [2], { requiresGrad: true });
    expect(backwardDispatches(sum(mul(a2, b2)))).toBe(n + 1);
    expect([...(await a.grad!.toArray())]).toEqual([3, 4]);
    const before = e.runtime.stats.dispatches;
    const c = e.tensor([1, 2], [2]);
    const z = mul(c, b);
    expect(z.requiresGrad).toBe(false);
    expect(z.node).toBeNull();
    expect(e.runtime.stats.dispatches - before).toBe(1);
  });

  it('noGrad and detach record no graph', () => {
    const e = engine();
    const a = e.tensor([1, 2], [2], { requiresGrad: true });
    const y = e.noGrad(() => exp(a));
    expect(y.requiresGrad).toBe(false);
    const d = a.detach();
    expect(d.requiresGrad).toBe(false);
    expect(exp(d).node).toBeNull();
  });

  it('backward takes an output gradient for non-scalars and refuses without one', async () => {
    const e = engine();
    const a = e.tensor([1, 2, 3], [3], { requiresGrad: true });
    const y = mul(a, a);
    expect(() => y.backward()).toThrow(/not a scalar/);
    y.backward(e.tensor([1, 0, -1], [3]));
    expect([...(await a.grad!.toArray())]).toEqual([2, 0, -6]);
    expect(() => y.backward(e.tensor([1, 0, -1], [3]))).toThrow(/already freed/);
    expect(() => mul(e.tensor([1], [1]), 2).backward()).toThrow(/does not require a gradient/);
  });

  it('frees the graph after backward, even when a tidy dropped the intermediates', async () => {
    const e = engine();
    const w = e.tensor([0.5, -1, 2], [3], { requiresGrad: true });
    const base = e.memory().liveBytes;
    const loss = e.tidy(() => sum(exp(mul(w, w)).mul(3)));
    // the intermediates were disposed by tidy but their values live on for the graph
    expect(e.memory().liveBytes).toBeGreaterThan(base);
    loss.backward();
    loss.dispose();
    const g = await w.grad!.toArray();
    const expected = [0.5, -1, 2].map((v) => 3 * Math.exp(v * v) * 2 * v);
    g.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 3));
    expect(e.memory().liveBytes - base).toBe(w.grad!.buffer().size);
  });

  it('the gradient checker fails on a wrong derivative', async () => {
    const wrongExp = (x: Tensor) => {
      const y = x.engine.noGrad(() => exp(x));
      // derivative off by 1%: the checker must notice
      return record(y, 'wrongExp', [x], (g) => [mul(mul(g, y), 1.01)]);
    };
    await expect(
      checkOp(engine(), {
        name: 'wrongExp',
        inputs: [{ shape: [4, 3], domain: [-1, 1] }],
        gpu: wrongExp,
        ref: (x) => unaryRef('exp(a)', x),
      }),
    ).rejects.toThrow(/wrongExp gradient of input 0/);
  });

  it('a deep chain does not overflow the stack', async () => {
    const e = engine();
    const x = e.tensor([1], [1], { requiresGrad: true });
    const y = e.tidy(() => {
      let t: Tensor = x;
      for (let i = 0; i < 3000; i++) t = add(t, 0.001);
      return t;
    });
    y.backward();
    expect((await x.grad!.toArray())[0]).toBe(1);
    expect(await y.item()).toBeCloseTo(4, 3);
  });
});
