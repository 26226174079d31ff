// diceLoss against a float64 reference: forward values, and gradients by finite differences (checkOp).
import { describe, expect, it } from 'vitest';
import { gt, type Tensor } from '../src/index.ts';
import { diceLoss } from '../src/ops/dice.ts';
import { checkOp } from './helpers/check.ts';
import { useEngine } from './helpers/engine.ts';
import { size, type Arr } from './helpers/reference.ts';

const engine = useEngine();

/** 1 - mean over (n, c) of 2 Σ p·y / (Σ p² + Σ y² + 1e-7), sums over the axes after the first two. */
function diceRef(p: Arr, y: Arr): Arr {
  const [n, c] = p.shape;
  const inner = size(p.shape.slice(2));
  let total = 0;
  for (let j = 0; j < n * c; j++) {
    let py = 0;
    let pp = 0;
    let yy = 0;
    for (let i = j * inner; i < (j + 1) * inner; i++) {
      py += p.data[i] * y.data[i];
      pp += p.data[i] * p.data[i];
      yy += y.data[i] * y.data[i];
    }
    total += (2 * py) / (pp + yy + 1e-7);
  }
  return { data: Float64Array.of(1 - total / (n * c)), shape: [] };
}

const mask = (y: Arr): Arr => ({ data: y.data.map((v) => (v > 0.5 ? 1 : 0)), shape: y.shape });

describe('diceLoss', () => {
  it('[2, 3, 4, 5], p in (0, 1), y a 0/1 mask: forward and gradient of p', async () => {
    await checkOp(engine(), {
      name: 'diceLoss',
      inputs: [
        { shape: [2, 3, 4, 5], domain: [0.01, 0.99] },
        { shape: [2, 3, 4, 5], domain: [0, 1], avoid: [0.5], grad: false },
      ],
      gpu: (p: Tensor, y: Tensor) => diceLoss(p, gt(y, 0.5)),
      ref: (p, y) => diceRef(p, mask(y)),
      gradAtol: 1e-6, // the gradients are ~1e-2: keep the check relative
    });
  });

  it('[2, 3, 4, 5] with a soft target: gradients of both inputs', async () => {
    await checkOp(engine(), {
      name: 'diceLoss soft',
      inputs: [
        { shape: [2, 3, 4, 5], domain: [0.01, 0.99] },
        { shape: [2, 3, 4, 5], domain: [0, 1] },
      ],
      gpu: (p: Tensor, y: Tensor) => diceLoss(p, y),
      ref: diceRef,
      gradAtol: 1e-6,
      seed: 2,
    });
  });

  it('rank 2 ([N, C], nothing to sum) and rank 3', async () => {
    for (const shape of [
      [4, 3],
      [2, 3, 7],
    ]) {
      await checkOp(engine(), {
        name: `diceLoss ${JSON.stringify(shape)}`,
        inputs: [
          { shape, domain: [0.01, 0.99] },
          { shape, domain: [0, 1] },
        ],
        gpu: (p: Tensor, y: Tensor) => diceLoss(p, y),
        ref: diceRef,
        gradAtol: 1e-6,
        seed: 3,
      });
    }
  });

  it('exact values: perfect prediction gives 0, empty mask and prediction give 1, disjoint give 1', async () => {
    const e = engine();
    const y = e.tensor([1, 0, 1, 0, 0, 1, 1, 0], [1, 2, 2, 2]);
    const zeros = e.zeros([1, 2, 2, 2]);
    const inverse = e.tensor([0, 1, 0, 1, 1, 0, 0, 1], [1, 2, 2, 2]);
    const perfect = diceLoss(y, y);
    const empty = diceLoss(zeros, zeros);
    const disjoint = diceLoss(inverse, y);
    expect(perfect.shape).toEqual([]);
    // d = 2·2 / (2 + 2 + 1e-7) per channel
    expect(await perfect.item()).toBeCloseTo(1 - 4 / (4 + 1e-7), 7);
    expect(await empty.item()).toBe(1);
    expect(await disjoint.item()).toBe(1);
    for (const t of [y, zeros, inverse, perfect, empty, disjoint]) t.dispose();
  });

  it('leaves no intermediates behind', async () => {
    const e = engine();
    const p = e.rand([2, 3, 4, 5], { seed: 5 });
    const y = e.rand([2, 3, 4, 5], { seed: 6 });
    await e.flush();
    const live = e.memory().liveBytes;
    const loss = diceLoss(p, y);
    expect(e.memory().liveBytes - live).toBe(loss.buffer().size);
    for (const t of [p, y, loss]) t.dispose();
  });

  it('shape errors name the op and both shapes', () => {
    const e = engine();
    const a = e.zeros([2, 3, 4, 5]);
    const b = e.zeros([2, 3, 5, 4]);
    const v = e.zeros([5]);
    expect(() => diceLoss(a, b)).toThrow(
      'diceLoss: prediction [2, 3, 4, 5] and target [2, 3, 5, 4] must have the same shape',
    );
    expect(() => diceLoss(v, v)).toThrow('diceLoss: prediction [5] and target [5] must be [N, C, ...] (rank >= 2)');
    expect(() => diceLoss(a, null as unknown as Tensor)).toThrow(/diceLoss: target must be a Tensor/);
    for (const t of [a, b, v]) t.dispose();
  });
});
