// Deterministic test inputs, independent of the engine's own generator.
import { mulberry32 } from '../../src/data/rng.ts';

/** Uniform values in [lo, hi], kept at least `gap` away from each point in `avoid` (kinks). */
export function values(n: number, seed: number, lo = -2, hi = 2, avoid: number[] = [], gap = 0.05): Float64Array {
  const r = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = lo + (hi - lo) * r();
    for (let tries = 0; avoid.some((k) => Math.abs(v - k) < gap) && tries < 100; tries++) v = lo + (hi - lo) * r();
    out[i] = Math.fround(v); // exactly representable on the GPU
  }
  return out;
}
