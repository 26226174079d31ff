// The fused l1Loss (src/ops/loss.ts): values and gradients against float64 on awkward shapes are in
// reduce.test.ts; here what the fusion must keep: gradients only where needed, sign(0) = 0, the
// same results as the composed ops, and fewer dispatches.
import { describe, expect, it } from 'vitest';
import { abs, l1Loss, mean, sub, sum, type Tensor } from '../src/index.ts';
import { assertClose } from './helpers/check.ts';
import { useEngine } from './helpers/engine.ts';
import { values } from './helpers/random.ts';

const engine = useEngine();

describe('fused l1Loss', () => {
  it.each([
    ['mean', [3, 5, 7]],
    ['sum', [2, 1, 9, 4]],
    ['mean', [2]],
  ] as ['mean' | 'sum', number[]][])(
    'reduction %s over %j: values and gradients equal the composed ops',
    async (reduction, shape) => {
      const e = engine();
      const n = shape.reduce((x, y) => x * y, 1);
      const av = values(n, 1, -1, 1);
      const bv = values(n, 2, -1, 1);
      bv[0] = av[0]; // a tie: sign(0) = 0, no gradient through it
      const run = (fused: boolean) => {
        const a = e.tensor(Float32Array.from(av), shape, { requiresGrad: true });
        const b = e.tensor(Float32Array.from(bv), shape, { requiresGrad: true });
        const loss = fused ? l1Loss(a, b, reduction) : reduction === 'sum' ? sum(abs(sub(a, b))) : mean(abs(sub(a, b)));
        e.tidy(() => loss.mul(3).backward());
        return { a, b, loss };
      };
      const f = run(true);
      const c = run(false);
      assertClose(await f.loss.toArray(), Float64Array.from(await c.loss.toArray()), 1e-6, 0, 'loss');
      assertClose(await f.a.grad!.toArray(), Float64Array.from(await c.a.grad!.toArray()), 1e-6, 0, 'grad a');
      assertClose(await f.b.grad!.toArray(), Float64Array.from(await c.b.grad!.toArray()), 1e-6, 0, 'grad b');
      expect((await f.a.grad!.toArray())[0]).toBe(0);
      expect((await f.b.grad!.toArray())[1]).toBe(-(await f.a.grad!.toArray())[1]);
      for (const r of [f, c]) {
        for (const t of [r.a, r.b, r.loss] as Tensor[]) {
          t.grad?.dispose();
          t.dispose();
        }
      }
    },
  );

  it('computes only the gradients that are needed, in fewer dispatches than the composed ops', async () => {
    const e = engine();
    const a = e.randn([2, 8, 10, 10], { seed: 3, requiresGrad: true });
    const b = e.randn([2, 8, 10, 10], { seed: 4 });
    const count = (fn: () => void) => {
      const d0 = e.runtime.stats.dispatches;
      fn();
      return e.runtime.stats.dispatches - d0;
    };
    const fused = count(() => e.tidy(() => l1Loss(a, b).backward()));
    expect(b.grad).toBeNull();
    const ga = await a.grad!.toArray();
    a.grad!.dispose();
    a.grad = null;
    const composed = count(() => e.tidy(() => mean(abs(sub(a, b))).backward()));
    assertClose(ga, Float64Array.from(await a.grad!.toArray()), 1e-6, 0, 'grad a');
    expect(fused).toBeLessThan(composed);
    a.grad!.dispose();
    for (const t of [a, b]) t.dispose();
  });
});
