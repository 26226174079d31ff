// Geometry helpers for the synthetic phantoms: smooth wave noise, ellipsoids, rotations and smoothstep.
import type { Vec3 } from './synth-types.ts';
import { Rng } from './synth-random.ts';

// ---------------------------------------------------------------------------------------------------------
// Geometry helpers

/** Smooth noise: a sum of K plane waves with random direction, wavelength and phase (unit variance). */
export interface WaveSpec {
  kx: Float64Array;
  ky: Float64Array;
  kz: Float64Array;
  phase: Float64Array;
  amp: number;
}

export function waveSpec(rng: Rng, k: number, minWavelength: number, maxWavelength: number): WaveSpec {
  const spec: WaveSpec = {
    kx: new Float64Array(k),
    ky: new Float64Array(k),
    kz: new Float64Array(k),
    phase: new Float64Array(k),
    amp: Math.sqrt(2 / k),
  };
  for (let i = 0; i < k; i++) {
    const d = rng.direction();
    const w = (2 * Math.PI) / rng.range(minWavelength, maxWavelength);
    spec.kx[i] = d[0] * w;
    spec.ky[i] = d[1] * w;
    spec.kz[i] = d[2] * w;
    spec.phase[i] = rng.range(0, 2 * Math.PI);
  }
  return spec;
}

/**
 * Evaluates a WaveSpec on a grid row by row: cos(kx·x + θ) = cos(kx·x)cos θ − sin(kx·x)sin θ with
 * θ = ky·y + kz·z + φ fixed per row, so a voxel costs two multiply-adds per wave.
 */
export class WaveField {
  private readonly k: number;
  private readonly tab: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  constructor(
    private readonly spec: WaveSpec,
    xs: Float64Array,
  ) {
    const k = spec.kx.length;
    this.k = k;
    this.tab = new Float64Array(xs.length * k * 2);
    for (let i = 0; i < xs.length; i++) {
      for (let j = 0; j < k; j++) {
        const a = spec.kx[j] * xs[i];
        this.tab[(i * k + j) * 2] = Math.cos(a);
        this.tab[(i * k + j) * 2 + 1] = Math.sin(a);
      }
    }
    this.re = new Float64Array(k);
    this.im = new Float64Array(k);
  }
  setRow(wy: number, wz: number): void {
    const s = this.spec;
    for (let j = 0; j < this.k; j++) {
      const t = s.ky[j] * wy + s.kz[j] * wz + s.phase[j];
      this.re[j] = s.amp * Math.cos(t);
      this.im[j] = s.amp * Math.sin(t);
    }
  }
  at(i: number): number {
    const k = this.k;
    const tab = this.tab;
    const re = this.re;
    const im = this.im;
    let sum = 0;
    let b = i * k * 2;
    for (let j = 0; j < k; j++, b += 2) sum += re[j] * tab[b] - im[j] * tab[b + 1];
    return sum;
  }
}

/** Axis-aligned ellipsoid. */
export interface Ellipsoid {
  c: Vec3;
  r: Vec3;
}

/** Row term ((y−cy)/ry)² + ((z−cz)/rz)² of an axis-aligned ellipsoid. */
export function rowTerm(e: Ellipsoid, wy: number, wz: number): number {
  const a = (wy - e.c[1]) / e.r[1];
  const b = (wz - e.c[2]) / e.r[2];
  return a * a + b * b;
}

/**
 * Oriented ellipsoid: q(p) = |M (p − c)|², q < 1 inside. Per row, M(p − c) = M₀·dx + b with b fixed, so
 * q(dx) = |M₀|²dx² + 2(M₀·b)dx + |b|², and the x-interval where q ≤ Q is a quadratic's root interval.
 */
export class Oriented {
  readonly m: Float64Array; // row-major 3×3
  private b0 = 0;
  private b1 = 0;
  private b2 = 0;
  private readonly aa: number;
  lo = 0;
  hi = -1;
  constructor(
    readonly c: Vec3,
    radii: Vec3,
    rotation: Float64Array,
  ) {
    // M = diag(1/r) · Rᵀ  (R maps ellipsoid axes to world)
    this.m = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) this.m[i * 3 + j] = rotation[j * 3 + i] / radii[i];
    const m = this.m;
    this.aa = m[0] * m[0] + m[3] * m[3] + m[6] * m[6];
  }
  /** Prepares row (wy, wz); sets [lo, hi] = world-x interval where q ≤ qMax (empty when hi < lo). */
  setRow(wy: number, wz: number, qMax: number): void {
    const m = this.m;
    const dy = wy - this.c[1];
    const dz = wz - this.c[2];
    this.b0 = m[1] * dy + m[2] * dz;
    this.b1 = m[4] * dy + m[5] * dz;
    this.b2 = m[7] * dy + m[8] * dz;
    const ab = m[0] * this.b0 + m[3] * this.b1 + m[6] * this.b2;
    const bb = this.b0 * this.b0 + this.b1 * this.b1 + this.b2 * this.b2;
    const disc = ab * ab - this.aa * (bb - qMax);
    if (disc < 0) {
      this.lo = 1;
      this.hi = -1;
      return;
    }
    const s = Math.sqrt(disc);
    this.lo = this.c[0] + (-ab - s) / this.aa;
    this.hi = this.c[0] + (-ab + s) / this.aa;
  }
  q(wx: number): number {
    const m = this.m;
    const dx = wx - this.c[0];
    const u = m[0] * dx + this.b0;
    const v = m[3] * dx + this.b1;
    const w = m[6] * dx + this.b2;
    return u * u + v * v + w * w;
  }
}

export function rotationMatrix(axis: Vec3, angle: number): Float64Array {
  const [x, y, z] = axis;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const t = 1 - c;
  return Float64Array.from([
    t * x * x + c,
    t * x * y - s * z,
    t * x * z + s * y,
    t * x * y + s * z,
    t * y * y + c,
    t * y * z - s * x,
    t * x * z - s * y,
    t * y * z + s * x,
    t * z * z + c,
  ]);
}

export function clamp2(x: number): number {
  return x < -2 ? -2 : x > 2 ? 2 : x;
}

export function smoothstep(e0: number, e1: number, x: number): number {
  let t = (x - e0) / (e1 - e0);
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  return t * t * (3 - 2 * t);
}
