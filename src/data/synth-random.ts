// Seeded random numbers for the synthetic phantoms: hashing, the Rng and a Gaussian table.
import { mulberry32Words } from './rng.ts';
import type { Vec3 } from './synth-types.ts';

// ---------------------------------------------------------------------------------------------------------
// Random numbers

const U32 = 0x100000000;

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

export function seedHash(seed: number, stream: number): number {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`phantom seed must be a safe integer, got ${seed}`);
  const lo = seed >>> 0; // ToUint32 wraps negatives
  const hi = Math.floor(seed / U32) >>> 0;
  return mix32(lo ^ mix32(hi ^ mix32(stream + 0x9e3779b9)));
}

/** mulberry32 (data/rng.ts) with the draws the phantom geometry needs. */
export class Rng {
  readonly u32: () => number;
  constructor(seed: number) {
    this.u32 = mulberry32Words(seed);
  }
  uniform(): number {
    return this.u32() / U32;
  }
  range(a: number, b: number): number {
    return a + (b - a) * this.uniform();
  }
  /** Uniform direction on the unit sphere. */
  direction(): Vec3 {
    const z = this.range(-1, 1);
    const phi = this.range(0, 2 * Math.PI);
    const r = Math.sqrt(1 - z * z);
    return [r * Math.cos(phi), r * Math.sin(phi), z];
  }
}

// 65 536 standard normal samples, indexed by 16 random bits: two normals per 32-bit draw.
let gaussTable: Float64Array | null = null;
export function gaussians(): Float64Array {
  if (gaussTable) return gaussTable;
  const n = 65536;
  const g = new Float64Array(n);
  const rng = new Rng(0x5eed1e55);
  for (let i = 0; i < n; i += 2) {
    const u1 = (rng.u32() + 1) / (U32 + 1); // (0, 1]
    const u2 = rng.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    g[i] = r * Math.cos(2 * Math.PI * u2);
    g[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  gaussTable = g;
  return g;
}
