// One helper checks any op: forward values against a float64 reference, and the gradient of every
// input against central finite differences of that reference (a vector-Jacobian product with a random
// upstream gradient), with tolerances tight enough to catch a wrong derivative.
import { expect } from 'vitest';
import type { Engine, Tensor } from '../../src/index.ts';
import { size, type Arr } from './reference.ts';
import { values } from './random.ts';

export interface InputSpec {
  shape: number[];
  domain?: [number, number];
  /** Keep values this far from these points (kinks of abs, relu, clamp ...). */
  avoid?: number[];
  /** Check this input's gradient (default true). */
  grad?: boolean;
  /** Round the values to multiples of this (comparisons: equal pairs must occur). */
  grid?: number;
}

export interface OpCase {
  name: string;
  inputs: InputSpec[];
  gpu: (...xs: Tensor[]) => Tensor;
  ref: (...xs: Arr[]) => Arr;
  rtol?: number;
  atol?: number;
  gradRtol?: number;
  gradAtol?: number;
  /** Skip the gradient check (non-differentiable ops). */
  noGrad?: boolean;
  seed?: number;
}

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  atol: number,
  what: string,
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!Number.isFinite(e) && a === e) continue;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`,
    );
  }
}

/** <g, f(x)> as a function of one input element, differentiated by central differences. */
function numericVjp(ref: OpCase['ref'], xs: Arr[], which: number, g: Float64Array): Float64Array {
  const x = xs[which];
  const out = new Float64Array(x.data.length);
  const dot = () => {
    const y = ref(...xs).data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += g[i] * y[i];
    return s;
  };
  for (let j = 0; j < x.data.length; j++) {
    const v = x.data[j];
    const h = 1e-6 * Math.max(1, Math.abs(v));
    x.data[j] = v + h;
    const up = dot();
    x.data[j] = v - h;
    const down = dot();
    x.data[j] = v;
    out[j] = (up - down) / (2 * h);
  }
  return out;
}

export async function checkOp(engine: Engine, c: OpCase): Promise<void> {
  const seed = c.seed ?? 1;
  const xs: Arr[] = c.inputs.map((spec, i) => {
    const data = values(size(spec.shape), seed * 101 + i, spec.domain?.[0], spec.domain?.[1], spec.avoid);
    if (spec.grid) for (let j = 0; j < data.length; j++) data[j] = Math.round(data[j] / spec.grid) * spec.grid;
    return { data, shape: spec.shape };
  });
  const expected = c.ref(...xs);
  const rtol = c.rtol ?? 2e-5;
  const atol = c.atol ?? 1e-5;
  const tensors = xs.map((x, i) =>
    engine.tensor(Float32Array.from(x.data), x.shape, { requiresGrad: !c.noGrad && c.inputs[i].grad !== false }),
  );
  try {
    const y = engine.tidy(() => c.gpu(...tensors));
    expect(y.shape, `${c.name}: output shape`).toEqual(expected.shape);
    assertClose(await y.toArray(), expected.data, rtol, atol, `${c.name} forward`);
    if (c.noGrad) {
      y.dispose();
      return;
    }
    const g = values(size(expected.shape), seed * 7 + 3, -1, 1);
    const gT = engine.tensor(Float32Array.from(g), expected.shape);
    engine.tidy(() => y.backward(gT));
    gT.dispose();
    y.dispose();
    for (let i = 0; i < xs.length; i++) {
      if (c.inputs[i].grad === false) {
        expect(tensors[i].grad, `${c.name}: input ${i} wants no gradient`).toBeNull();
        continue;
      }
      const grad = tensors[i].grad;
      if (!grad) throw new Error(`${c.name}: input ${i} got no gradient`);
      expect(grad.shape, `${c.name}: gradient ${i} shape`).toEqual(xs[i].shape);
      const numeric = numericVjp(c.ref, xs, i, g);
      assertClose(
        await grad.toArray(),
        numeric,
        c.gradRtol ?? 1e-3,
        c.gradAtol ?? 1e-4,
        `${c.name} gradient of input ${i}`,
      );
    }
  } finally {
    for (const t of tensors) {
      t.grad?.dispose();
      t.dispose();
    }
  }
}
