// CPU mirror of shaders/random/threefry.wgsl: the same bits for the same seed (used by tests and by
// anyone who wants to reproduce a GPU draw on the CPU).

const ROT = [13, 15, 26, 6, 17, 29, 16, 24];
const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;

export function threefry2x32(k0: number, k1: number, c0: number, c1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ 0x1bd11bda) >>> 0];
  let x0 = (c0 + ks[0]) >>> 0;
  let x1 = (c1 + ks[1]) >>> 0;
  for (let r = 0; r < 20; r++) {
    x0 = (x0 + x1) >>> 0;
    x1 = rotl(x1, ROT[r % 8]);
    x1 = (x1 ^ x0) >>> 0;
    if (r % 4 === 3) {
      const s = (r >> 2) + 1;
      x0 = (x0 + ks[s % 3]) >>> 0;
      x1 = (x1 + ks[(s + 1) % 3] + s) >>> 0;
    }
  }
  return [x0, x1];
}

export function seedKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  return [(seed % 2 ** 32) >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
}

/** Uniform floats in [low, high), as the GPU computes them (float32 rounding at each step). */
export function uniformReference(count: number, seed: number, low = 0, high = 1): Float32Array {
  const [k0, k1] = seedKey(seed);
  const out = new Float32Array(count);
  const f = Math.fround;
  const span = f(f(high) - f(low));
  for (let j = 0; 2 * j < count; j++) {
    const [a, b] = threefry2x32(k0, k1, j, 0);
    out[2 * j] = f(f(low) + f(span * f((a >>> 8) / 16777216)));
    if (2 * j + 1 < count) out[2 * j + 1] = f(f(low) + f(span * f((b >>> 8) / 16777216)));
  }
  return out;
}

/** Normal draws (Box-Muller) as the GPU computes them, up to the GPU's log/cos/sin rounding. */
export function normalReference(count: number, seed: number, mean = 0, std = 1): Float64Array {
  const [k0, k1] = seedKey(seed);
  const out = new Float64Array(count);
  for (let j = 0; 2 * j < count; j++) {
    const [a, b] = threefry2x32(k0, k1, j, 0);
    const u1 = ((a >>> 8) + 1) / 16777216;
    const u2 = (b >>> 8) / 16777216;
    const r = Math.sqrt(-2 * Math.log(u1));
    out[2 * j] = mean + std * r * Math.cos(2 * Math.PI * u2);
    if (2 * j + 1 < count) out[2 * j + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}
