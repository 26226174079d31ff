// Deterministic test inputs (mulberry32), independent of the engine's own generator.
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [lo, hi], kept at least `gap` away from each point in `avoid` (kinks). */
export function values(n: number, seed: number, lo = -2, hi = 2, avoid: number[] = [], gap = 0.05): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = lo + (hi - lo) * r();
    for (let tries = 0; avoid.some((k) => Math.abs(v - k) < gap) && tries < 100; tries++) v = lo + (hi - lo) * r();
    out[i] = Math.fround(v); // exactly representable on the GPU
  }
  return out;
}
