// Synthetic BRATS-like phantoms: four MRI modalities and a BRATS label map, deterministic from a seed.
//
// Pure CPU code (no GPU engine). Geometry lives in a world space measured in millimetres that matches
// the BRATS field of view (240 × 240 × 155 mm at 1 mm isotropic); a phantom is that world sampled on a
// voxel grid, so any shape (or a thin stack of slices, see generatePhantomSlices) shows the same head.
//
// Orientation and layout: x runs left→right, y posterior→anterior, z inferior→superior (axial slices are
// z = const). Voxel (x, y, z) lives at index x + X·(y + Y·z): x fastest, the memory layout of a NIfTI
// volume.
//
// Anatomy: scalp (fat-bright on T1), skull (dark everywhere), cerebrospinal fluid, a brain envelope with
// gyri (sulcal CSF), cortical grey matter over white matter with a smooth random texture, deep grey nuclei,
// two tilted lateral ventricles, a smooth multiplicative bias field per modality and Rician noise
// (|s + n₁ + i·n₂|, n ~ N(0, σ²)). Background is exactly 0.
//
// Tumour: 1–2 blobs, each a union of 2–4 rotated ellipsoids whose normalised radius r is perturbed by smooth
// noise. BRATS labels: 1 = necrotic / non-enhancing core (r < necrosis fraction), 4 = enhancing rim
// (r < 1), 2 = oedema (a second, independently perturbed shell out to the oedema factor), all clipped to the
// brain envelope. Contrast as in real MRI: FLAIR and T2 bright oedema, T2 bright necrosis, T1c bright
// enhancing rim and dark necrosis, T1 slightly dark tumour.
//
// Size: a "typical" tumour has a core radius of 8–17 mm and an oedema factor of 1.3–1.8; about one phantom
// in four (by seed) has a "small" tumour (core radius 3.5–6 mm); about one in three has a second blob.
// Whole-tumour volume (labels 1 ∪ 2 ∪ 4) at 1 mm lies within TUMOUR_VOLUME_BOUNDS voxels.
//
// Speed (measured on the 2-core AMD EPYC dev machine while shared with other jobs, Node 20 via tsx, one
// thread): a default 240 × 240 × 155 phantom takes 0.43–0.6 s of CPU in steady state (wall 0.45–0.75 s); the
// first call in a fresh process takes about 0.9–1.0 s (JIT warm-up). About 0.1–0.2 s of that is the kernel
// zero-filling the 162 MB of output arrays. A 2 mm grid (120 × 120 × 78) takes about 0.1 s.

export type Vec3 = [number, number, number];

/** Modality names, in the order used by `images`. */
export const MODALITIES = ['t1', 't1c', 't2', 'flair'] as const;
export type Modality = (typeof MODALITIES)[number];

/** BRATS label values used in `seg`. */
export const BratsLabel = { background: 0, necrotic: 1, oedema: 2, enhancing: 4 } as const;

/** Dominant tissue class of a voxel, as returned in `tissue`. Tumour voxels are `Tumour` (see `seg`). */
export const Tissue = {
  Background: 0,
  Scalp: 1,
  Skull: 2,
  CSF: 3,
  GreyMatter: 4,
  WhiteMatter: 5,
  Ventricle: 6,
  Tumour: 7,
} as const;

/**
 * Whole-tumour volume bounds in mm³ (= voxels at 1 mm) for phantoms with tumours. Over seeds 0–149 the
 * observed range was 456–137 368 mm³ (median 32 416; all 150 had labels 1, 2 and 4); the bounds leave margin.
 */
export const TUMOUR_VOLUME_BOUNDS = { min: 200, max: 250_000 } as const;

/** The BRATS field of view in mm (x, y, z). */
export const BRATS_FOV: Readonly<Vec3> = [240, 240, 155];

export interface PhantomOptions {
  /** Volume size in voxels (x, y, z). Default [240, 240, 155], the BRATS grid. */
  shape?: readonly [number, number, number];
  /** Voxel size in mm. Default: the 240 × 240 × 155 mm field of view divided by `shape`. */
  spacing?: readonly [number, number, number];
  /** World position (mm) of the centre of voxel (0, 0, 0). Default: half a voxel, so the grid covers the FOV. */
  origin?: readonly [number, number, number];
  /** Number of tumour blobs (0, 1 or 2). Default: chosen by the seed (1, sometimes 2). */
  tumours?: 0 | 1 | 2;
  /** Tumour size class. Default: chosen by the seed (about one in four is small). */
  tumourSize?: 'small' | 'typical';
  /** Remove scalp and skull, as in the (skull-stripped) BRATS data. Default false. */
  skullStrip?: boolean;
  /** Noise σ in intensity units (Rician magnitude noise). Default 18; 0 disables. */
  noise?: number;
  /** Bias field amplitude per axis (the field is a product of three smooth factors 1 ± a·[0.5, 1]·sin):
   *  default 0.06, i.e. at most about ±18 %; 0 disables. */
  bias?: number;
  /** Round intensities to integers, like int16 scanner data. Default true. */
  quantize?: boolean;
}

export interface PhantomTumour {
  /** Centre of the blob in world mm. */
  centre: Vec3;
  /** Centre in (fractional) voxel coordinates of this grid. */
  centreVoxel: Vec3;
  /** Core (enhancing outer boundary) radius in mm before perturbation. */
  coreRadius: number;
  /** Oedema radius / core radius. */
  oedemaFactor: number;
  /** Necrotic radius / core radius. */
  necrosisFraction: number;
  small: boolean;
}

export interface Phantom {
  images: Record<Modality, Float32Array>;
  /** BRATS labels 0, 1, 2, 4; x fastest. */
  seg: Uint8Array;
  /** Dominant tissue per voxel (see `Tissue`). */
  tissue: Uint8Array;
  shape: [number, number, number];
  spacing: [number, number, number];
  origin: [number, number, number];
  info: {
    seed: number;
    tumours: PhantomTumour[];
    /** Voxel counts per BRATS label in this grid. */
    labelCounts: { 0: number; 1: number; 2: number; 4: number };
    /** Intensity of each tissue class per modality, before bias and noise (for tests and documentation). */
    intensities: Record<TissueName, Record<Modality, number>>;
  };
}

export type TissueName = 'wm' | 'gm' | 'csf' | 'scalp' | 'skull' | 'oedema' | 'enhancing' | 'necrotic';

// ---------------------------------------------------------------------------------------------------------
// Random numbers

const U32 = 0x100000000;

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

function seedHash(seed: number, stream: number): number {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`phantom seed must be a safe integer, got ${seed}`);
  const lo = seed >>> 0; // ToUint32 wraps negatives
  const hi = Math.floor(seed / U32) >>> 0;
  return mix32(lo ^ mix32(hi ^ mix32(stream + 0x9e3779b9)));
}

/** mulberry32: small, fast, good enough for geometry parameters. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed | 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
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
function gaussians(): Float64Array {
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

// ---------------------------------------------------------------------------------------------------------
// Geometry helpers

/** Smooth noise: a sum of K plane waves with random direction, wavelength and phase (unit variance). */
interface WaveSpec {
  kx: Float64Array;
  ky: Float64Array;
  kz: Float64Array;
  phase: Float64Array;
  amp: number;
}

function waveSpec(rng: Rng, k: number, minWavelength: number, maxWavelength: number): WaveSpec {
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
class WaveField {
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
interface Ellipsoid {
  c: Vec3;
  r: Vec3;
}

/** Row term ((y−cy)/ry)² + ((z−cz)/rz)² of an axis-aligned ellipsoid. */
function rowTerm(e: Ellipsoid, wy: number, wz: number): number {
  const a = (wy - e.c[1]) / e.r[1];
  const b = (wz - e.c[2]) / e.r[2];
  return a * a + b * b;
}

/**
 * Oriented ellipsoid: q(p) = |M (p − c)|², q < 1 inside. Per row, M(p − c) = M₀·dx + b with b fixed, so
 * q(dx) = |M₀|²dx² + 2(M₀·b)dx + |b|², and the x-interval where q ≤ Q is a quadratic's root interval.
 */
class Oriented {
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

function rotationMatrix(axis: Vec3, angle: number): Float64Array {
  const [x, y, z] = axis;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const t = 1 - c;
  return Float64Array.from([
    t * x * x + c, t * x * y - s * z, t * x * z + s * y,
    t * x * y + s * z, t * y * y + c, t * y * z - s * x,
    t * x * z - s * y, t * y * z + s * x, t * z * z + c,
  ]);
}

function clamp2(x: number): number {
  return x < -2 ? -2 : x > 2 ? 2 : x;
}

function smoothstep(e0: number, e1: number, x: number): number {
  let t = (x - e0) / (e1 - e0);
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  return t * t * (3 - 2 * t);
}

// ---------------------------------------------------------------------------------------------------------
// Phantom description (world space, independent of the grid)

interface Blob {
  centre: Vec3;
  coreRadius: number;
  oedemaFactor: number;
  necrosisFraction: number;
  small: boolean;
  parts: { c: Vec3; radii: Vec3; rot: Float64Array }[];
}

interface BiasAxis {
  amp: number;
  w: number;
  phase: number;
}

interface Description {
  head: Ellipsoid;
  skullOuter: Ellipsoid;
  skullInner: Ellipsoid;
  brain: Ellipsoid;
  ventricles: { c: Vec3; radii: Vec3; rot: Float64Array }[];
  deepGrey: { c: Vec3; radii: Vec3; rot: Float64Array }[];
  blobs: Blob[];
  texture: WaveSpec;
  gyri: WaveSpec;
  coreNoise: WaveSpec;
  oedemaNoise: WaveSpec;
  bias: BiasAxis[][]; // [modality][axis]
  intensity: Record<TissueName, Float64Array>; // per modality
}

const BASE_INTENSITY: Record<TissueName, readonly [number, number, number, number]> = {
  //          T1    T1c   T2    FLAIR
  wm: [880, 900, 560, 560],
  gm: [640, 670, 800, 740],
  csf: [260, 280, 1400, 150],
  scalp: [1150, 1150, 820, 760],
  skull: [120, 120, 100, 90],
  oedema: [580, 620, 1180, 1260],
  enhancing: [640, 1380, 960, 1060],
  necrotic: [380, 330, 1320, 760],
};

function describe(seed: number, opts: PhantomOptions): Description {
  const rng = new Rng(seedHash(seed, 1));
  const tumourRng = new Rng(seedHash(seed, 2));
  const textureRng = new Rng(seedHash(seed, 3));

  // Head: outer scalp surface, then constant-thickness layers (scalp 5 mm, skull 7 mm, CSF ≥ 3 mm).
  const s = rng.range(0.94, 1.03);
  const c: Vec3 = [120 + rng.range(-3, 3), 120 + rng.range(-4, 4), 62 + rng.range(-3, 3)];
  const R: Vec3 = [86 * s * rng.range(0.97, 1.03), 106 * s * rng.range(0.97, 1.03), 84 * s];
  const shrink = (d: number): Ellipsoid => ({ c, r: [R[0] - d, R[1] - d, R[2] - d] });
  const head: Ellipsoid = { c, r: R };
  const skullOuter = shrink(5);
  const skullInner = shrink(12);
  const brain = shrink(15);

  // Lateral ventricles: tilted so the posterior horns diverge; deep grey nuclei lateral to them.
  const vs = rng.range(0.8, 1.3);
  const ventricles = [-1, 1].map((side) => ({
    c: [c[0] + side * 8 * vs, c[1] + 2, c[2] + 18] as Vec3,
    radii: [5 * vs * rng.range(0.9, 1.1), 27 * rng.range(0.9, 1.1), 8 * vs] as Vec3,
    rot: rotationMatrix([0, 0, 1], side * 0.18),
  }));
  const deepGrey = [-1, 1].map((side) => ({
    c: [c[0] + side * (16 + 6 * vs), c[1] + 6, c[2] + 8] as Vec3,
    radii: [7, 15, 10] as Vec3,
    rot: rotationMatrix([0, 0, 1], -side * 0.3),
  }));

  // Tumours.
  // Draw the defaults even when overridden, so that an override matching the default changes nothing else.
  const drawnCount = tumourRng.uniform() < 0.3 ? 2 : 1;
  const drawnSmall = tumourRng.uniform() < 0.25;
  const count = opts.tumours ?? drawnCount;
  const small = opts.tumourSize ? opts.tumourSize === 'small' : drawnSmall;
  const blobs: Blob[] = [];
  for (let b = 0; b < count; b++) {
    const coreRadius = small ? tumourRng.range(3.5, 6) : tumourRng.range(8, 17) * (b === 0 ? 1 : 0.7);
    // Centre: inside the brain at normalised radius ≤ 0.55, and high enough to sit in the BRATS slab.
    let centre: Vec3 = [c[0], c[1], c[2]];
    for (let tries = 0; tries < 100; tries++) {
      const d = tumourRng.direction();
      const rho = 0.55 * Math.cbrt(tumourRng.uniform());
      centre = [
        brain.c[0] + d[0] * rho * brain.r[0],
        brain.c[1] + d[1] * rho * brain.r[1],
        brain.c[2] + d[2] * rho * brain.r[2],
      ];
      if (centre[2] > 40) break;
    }
    const parts: Blob['parts'] = [];
    const nParts = 2 + Math.floor(tumourRng.uniform() * 3);
    for (let p = 0; p < nParts; p++) {
      const off = p === 0 ? 0 : coreRadius * tumourRng.range(0.3, 0.6);
      const d = tumourRng.direction();
      const scale = p === 0 ? 1 : tumourRng.range(0.5, 0.85);
      parts.push({
        c: [centre[0] + d[0] * off, centre[1] + d[1] * off, centre[2] + d[2] * off],
        radii: [0, 1, 2].map(() => coreRadius * scale * tumourRng.range(0.8, 1.2)) as Vec3,
        rot: rotationMatrix(tumourRng.direction(), tumourRng.range(0, Math.PI)),
      });
    }
    blobs.push({
      centre,
      coreRadius,
      oedemaFactor: tumourRng.range(1.3, 1.8),
      necrosisFraction: small ? tumourRng.range(0.35, 0.5) : tumourRng.range(0.4, 0.6),
      small,
      parts,
    });
  }

  const bias: BiasAxis[][] = MODALITIES.map(() =>
    [0, 1, 2].map(() => ({
      amp: rng.range(0.5, 1),
      w: (2 * Math.PI) / rng.range(250, 500),
      phase: rng.range(0, 2 * Math.PI),
    })),
  );

  const intensity = {} as Record<TissueName, Float64Array>;
  const global = MODALITIES.map(() => rng.range(0.92, 1.08));
  for (const name of Object.keys(BASE_INTENSITY) as TissueName[]) {
    intensity[name] = Float64Array.from(BASE_INTENSITY[name], (v, m) => v * global[m] * rng.range(0.97, 1.03));
  }

  return {
    head,
    skullOuter,
    skullInner,
    brain,
    ventricles,
    deepGrey,
    blobs,
    texture: waveSpec(textureRng, 6, 14, 40),
    gyri: waveSpec(textureRng, 8, 7, 16),
    coreNoise: waveSpec(textureRng, 5, 8, 24),
    oedemaNoise: waveSpec(textureRng, 8, 12, 36),
    bias,
    intensity,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Rendering

function checkVec3(name: string, v: readonly number[], positive: boolean, integer: boolean): Vec3 {
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x) || (positive && x <= 0) || (integer && !Number.isInteger(x))))
    throw new RangeError(
      `phantom ${name} must be 3 ${integer ? 'positive integers' : positive ? 'positive numbers' : 'finite numbers'}, got [${v.join(', ')}]`,
    );
  return [v[0], v[1], v[2]];
}

/**
 * Generates a BRATS-like phantom, deterministic from `seed` (a safe integer): the same seed and options give
 * the same bytes. See the file comment for anatomy, labels and orientation.
 */
export function generatePhantom(seed: number, options: PhantomOptions = {}): Phantom {
  const shape = checkVec3('shape', options.shape ?? [240, 240, 155], true, true);
  const spacing = checkVec3(
    'spacing',
    options.spacing ?? [BRATS_FOV[0] / shape[0], BRATS_FOV[1] / shape[1], BRATS_FOV[2] / shape[2]],
    true,
    false,
  );
  const origin = checkVec3('origin', options.origin ?? [spacing[0] / 2, spacing[1] / 2, spacing[2] / 2], false, false);
  if (shape[0] * shape[1] * shape[2] > 2 ** 30) throw new RangeError(`phantom shape [${shape}] is too large`);
  const noise = options.noise ?? 18;
  const biasAmp = options.bias ?? 0.06;
  if (!(noise >= 0) || !(biasAmp >= 0) || biasAmp >= 0.3) throw new RangeError('phantom noise must be ≥ 0 and bias in [0, 0.3)');
  if (options.tumours !== undefined && ![0, 1, 2].includes(options.tumours))
    throw new RangeError(`phantom tumours must be 0, 1 or 2, got ${options.tumours}`);
  const d = describe(seed, options);
  return render(d, {
    seed,
    shape,
    spacing,
    origin,
    sigma: noise,
    biasAmp,
    skullStrip: options.skullStrip ?? false,
    quantize: options.quantize ?? true,
  });
}

export interface PhantomSliceOptions extends Omit<PhantomOptions, 'shape' | 'spacing' | 'origin'> {
  /** In-plane size in pixels (the slices are size × size). Default 64. */
  size?: number;
  /** Number of axial slices. Default 4. */
  slices?: number;
  /** Distance between slices in mm. Default 3. */
  sliceSpacing?: number;
  /** In-plane field of view in mm, centred on the BRATS FOV centre. Default 240 (whole FOV); 180 = BRATS crop. */
  fov?: number;
}

/**
 * A thin stack of `slices` axial slices of `size × size` through the same world as generatePhantom(seed),
 * centred (in z) on the first tumour, for small in-memory tests. Shape [size, size, slices].
 */
export function generatePhantomSlices(seed: number, options: PhantomSliceOptions = {}): Phantom {
  const { size = 64, slices = 4, sliceSpacing = 3, fov = 240, ...rest } = options;
  if (!Number.isInteger(size) || size < 1 || !Number.isInteger(slices) || slices < 1)
    throw new RangeError(`phantom slices: size and slices must be positive integers, got ${size}, ${slices}`);
  if (!(sliceSpacing > 0) || !(fov > 0)) throw new RangeError('phantom slices: sliceSpacing and fov must be > 0');
  const d = describe(seed, rest);
  const zc = d.blobs.length > 0 ? d.blobs[0].centre[2] : d.brain.c[2] + 10;
  const px = fov / size;
  const origin: Vec3 = [
    BRATS_FOV[0] / 2 - fov / 2 + px / 2,
    BRATS_FOV[1] / 2 - fov / 2 + px / 2,
    zc - ((slices - 1) / 2) * sliceSpacing,
  ];
  return generatePhantom(seed, { ...rest, shape: [size, size, slices], spacing: [px, px, sliceSpacing], origin });
}

// Tissue slots of the brain mixing vector (fractions that sum to 1).
const F_CSF = 0;
const F_GM = 1;
const F_WM = 2;
const F_OED = 3;
const F_ENH = 4;
const F_NEC = 5;
const MIX_ORDER: readonly TissueName[] = ['csf', 'gm', 'wm', 'oedema', 'enhancing', 'necrotic'];

// Tumour shape constants (normalised radius units).
const CORE_PERTURB = 0.14; // amplitude of the core radius perturbation per unit noise
const OED_PERTURB = 0.18; // amplitude of the oedema radius perturbation per unit noise
const DELTA = 0.06; // soft-edge half-width of the tumour shells in the images (labels are hard)

interface RenderSettings {
  seed: number;
  shape: Vec3;
  spacing: Vec3;
  origin: Vec3;
  sigma: number;
  biasAmp: number;
  skullStrip: boolean;
  quantize: boolean;
}

/**
 * Renders a Description on a grid, one x-row at a time. Kept as a class with a small per-row method (rather
 * than one big loop nest) so V8 optimises it early and keeps its types stable.
 */
class Renderer {
  readonly t1: Float32Array;
  readonly t1c: Float32Array;
  readonly t2: Float32Array;
  readonly flair: Float32Array;
  readonly seg: Uint8Array;
  readonly tissue: Uint8Array;
  readonly counts = new Float64Array(5);

  private readonly xs: Float64Array;
  private readonly tex: WaveField;
  private readonly gyri: WaveField;
  private readonly coreNoise: WaveField;
  private readonly oedNoise: WaveField;
  private readonly biasX: Float64Array[];
  private readonly biasRow = new Float64Array(4);
  private readonly vents: Oriented[];
  private readonly greys: Oriented[];
  private readonly blobs: { parts: Oriented[]; qMax: number; oedemaFactor: number; necrosis: number }[];
  private readonly mixI: Float64Array; // [modality * 6 + slot]
  private readonly outerI: Float64Array; // scalp (0..3), skull (4..7), CSF (8..11)
  private readonly frac = new Float64Array(6);
  private readonly gauss: Float64Array;
  private rs: number;
  private cls = 0;
  private hetero = 1;

  constructor(
    private readonly d: Description,
    private readonly s: RenderSettings,
  ) {
    const [X, Y, Z] = s.shape;
    const n = X * Y * Z;
    this.t1 = new Float32Array(n);
    this.t1c = new Float32Array(n);
    this.t2 = new Float32Array(n);
    this.flair = new Float32Array(n);
    this.seg = new Uint8Array(n);
    this.tissue = new Uint8Array(n);
    this.xs = Float64Array.from({ length: X }, (_, i) => s.origin[0] + i * s.spacing[0]);
    this.tex = new WaveField(d.texture, this.xs);
    this.gyri = new WaveField(d.gyri, this.xs);
    this.coreNoise = new WaveField(d.coreNoise, this.xs);
    this.oedNoise = new WaveField(d.oedemaNoise, this.xs);
    // Bias field: a product of three smooth 1-D factors per modality; the x factor is tabulated.
    this.biasX = MODALITIES.map((_, m) => {
      const b = d.bias[m][0];
      return Float64Array.from(this.xs, (x) => 1 + s.biasAmp * b.amp * Math.sin(b.w * (x - 120) + b.phase));
    });
    this.vents = d.ventricles.map((v) => new Oriented(v.c, v.radii, v.rot));
    this.greys = d.deepGrey.map((v) => new Oriented(v.c, v.radii, v.rot));
    // The radius perturbations are clamped to ±2, so a voxel can only be tumour where
    // r ≤ (1 + DELTA)·F / (1 − 2·OED_PERTURB): rows and x-ranges outside that grown ellipsoid are skipped.
    this.blobs = d.blobs.map((b) => ({
      parts: b.parts.map((p) => new Oriented(p.c, p.radii, p.rot)),
      qMax: (((1 + DELTA) * b.oedemaFactor) / (1 - 2 * OED_PERTURB)) ** 2,
      oedemaFactor: b.oedemaFactor,
      necrosis: b.necrosisFraction,
    }));
    this.mixI = new Float64Array(24);
    for (let m = 0; m < 4; m++) for (let t = 0; t < 6; t++) this.mixI[m * 6 + t] = d.intensity[MIX_ORDER[t]][m];
    this.outerI = new Float64Array(12);
    for (let m = 0; m < 4; m++) {
      this.outerI[m] = d.intensity.scalp[m];
      this.outerI[4 + m] = d.intensity.skull[m];
      this.outerI[8 + m] = d.intensity.csf[m];
    }
    this.gauss = gaussians();
    this.rs = seedHash(s.seed, 4) | 1; // xorshift32 state for the noise
  }

  run(): void {
    const [, Y, Z] = this.s.shape;
    for (let z = 0; z < Z; z++) for (let y = 0; y < Y; y++) this.row(y, z);
    const c = this.counts;
    c[0] = this.seg.length - c[1] - c[2] - c[4];
  }

  private row(y: number, z: number): void {
    const d = this.d;
    const { origin, spacing, skullStrip, sigma, quantize, biasAmp } = this.s;
    const X = this.s.shape[0];
    const wz = origin[2] + z * spacing[2];
    const wy = origin[1] + y * spacing[1];
    const head = skullStrip ? d.skullInner : d.head;
    const hRow = rowTerm(head, wy, wz);
    if (hRow >= 1) return;
    const hcx = head.c[0];
    const half = head.r[0] * Math.sqrt(1 - hRow);
    const x0 = origin[0];
    const sx = spacing[0];
    const iLo = Math.max(0, Math.ceil((hcx - half - x0) / sx));
    const iHi = Math.min(X - 1, Math.floor((hcx + half - x0) / sx));
    if (iHi < iLo) return;

    const skORow = skullStrip ? -Infinity : rowTerm(d.skullOuter, wy, wz);
    const skIRow = skullStrip ? -Infinity : rowTerm(d.skullInner, wy, wz);
    const invSkO = 1 / (d.skullOuter.r[0] * d.skullOuter.r[0]);
    const invSkI = 1 / (d.skullInner.r[0] * d.skullInner.r[0]);
    const brRow = rowTerm(d.brain, wy, wz);
    const invBrain = 1 / (d.brain.r[0] * d.brain.r[0]);
    let tumour = false;
    if (brRow < 1) {
      this.tex.setRow(wy, wz);
      this.gyri.setRow(wy, wz);
      for (let k = 0; k < this.vents.length; k++) this.vents[k].setRow(wy, wz, 1.3);
      for (let k = 0; k < this.greys.length; k++) this.greys[k].setRow(wy, wz, 1.3);
      for (let b = 0; b < this.blobs.length; b++) {
        const blob = this.blobs[b];
        for (let p = 0; p < blob.parts.length; p++) {
          const part = blob.parts[p];
          part.setRow(wy, wz, blob.qMax);
          if (part.hi >= part.lo) tumour = true;
        }
      }
      if (tumour) {
        this.coreNoise.setRow(wy, wz);
        this.oedNoise.setRow(wy, wz);
      }
    }
    const br = this.biasRow;
    for (let m = 0; m < 4; m++) {
      const by = d.bias[m][1];
      const bz = d.bias[m][2];
      br[m] =
        (1 + biasAmp * by.amp * Math.sin(by.w * (wy - 120) + by.phase)) *
        (1 + biasAmp * bz.amp * Math.sin(bz.w * (wz - 77.5) + bz.phase));
    }
    const br0 = br[0];
    const br1 = br[1];
    const br2 = br[2];
    const br3 = br[3];
    const bx0 = this.biasX[0];
    const bx1 = this.biasX[1];
    const bx2 = this.biasX[2];
    const bx3 = this.biasX[3];
    const xs = this.xs;
    const I = this.mixI;
    const O = this.outerI;
    const f = this.frac;
    const G = this.gauss;
    const t1 = this.t1;
    const t1c = this.t1c;
    const t2 = this.t2;
    const flair = this.flair;
    const seg = this.seg;
    const tissue = this.tissue;
    const counts = this.counts;
    let rs = this.rs;
    const rowBase = X * (y + this.s.shape[1] * z);

    for (let i = iLo; i <= iHi; i++) {
      const wx = xs[i];
      const dx = wx - hcx;
      const dx2 = dx * dx;
      let v0 = 0;
      let v1 = 0;
      let v2 = 0;
      let v3 = 0;
      let label = 0;
      let cls = 0;
      let o = -1;
      if (dx2 * invSkO + skORow >= 1) {
        o = 0;
        cls = Tissue.Scalp;
      } else if (dx2 * invSkI + skIRow >= 1) {
        o = 4;
        cls = Tissue.Skull;
      } else {
        const r2 = dx2 * invBrain + brRow;
        if (r2 >= 1) {
          o = 8;
          cls = Tissue.CSF;
        } else {
          label = this.brain(i, wx, dx, r2, tumour);
          cls = this.cls;
          const h = this.hetero;
          const f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4], f5 = f[5];
          v0 = (f0 * I[0] + f1 * I[1] + f2 * I[2] + f3 * I[3] + f4 * I[4] + f5 * I[5]) * h;
          v1 = (f0 * I[6] + f1 * I[7] + f2 * I[8] + f3 * I[9] + f4 * I[10] + f5 * I[11]) * h;
          v2 = (f0 * I[12] + f1 * I[13] + f2 * I[14] + f3 * I[15] + f4 * I[16] + f5 * I[17]) * h;
          v3 = (f0 * I[18] + f1 * I[19] + f2 * I[20] + f3 * I[21] + f4 * I[22] + f5 * I[23]) * h;
        }
      }
      if (o >= 0) {
        v0 = O[o];
        v1 = O[o + 1];
        v2 = O[o + 2];
        v3 = O[o + 3];
      }
      v0 *= bx0[i] * br0;
      v1 *= bx1[i] * br1;
      v2 *= bx2[i] * br2;
      v3 *= bx3[i] * br3;
      if (sigma > 0) {
        // Rician magnitude noise |s + σ(n₁ + i·n₂)|: two table normals per 32-bit xorshift draw.
        let a = 0;
        let b = 0;
        rs ^= rs << 13; rs ^= rs >>> 17; rs ^= rs << 5;
        a = v0 + sigma * G[rs & 0xffff]; b = sigma * G[(rs >>> 16) & 0xffff];
        v0 = Math.sqrt(a * a + b * b);
        rs ^= rs << 13; rs ^= rs >>> 17; rs ^= rs << 5;
        a = v1 + sigma * G[rs & 0xffff]; b = sigma * G[(rs >>> 16) & 0xffff];
        v1 = Math.sqrt(a * a + b * b);
        rs ^= rs << 13; rs ^= rs >>> 17; rs ^= rs << 5;
        a = v2 + sigma * G[rs & 0xffff]; b = sigma * G[(rs >>> 16) & 0xffff];
        v2 = Math.sqrt(a * a + b * b);
        rs ^= rs << 13; rs ^= rs >>> 17; rs ^= rs << 5;
        a = v3 + sigma * G[rs & 0xffff]; b = sigma * G[(rs >>> 16) & 0xffff];
        v3 = Math.sqrt(a * a + b * b);
      }
      if (quantize) {
        // Head voxels stay ≥ 1 so that "non-zero" keeps meaning "head", as in scanner data.
        // (v + 0.5) | 0 is Math.round for 0 ≤ v < 2³¹, and faster.
        v0 = (v0 + 0.5) | 0 || 1;
        v1 = (v1 + 0.5) | 0 || 1;
        v2 = (v2 + 0.5) | 0 || 1;
        v3 = (v3 + 0.5) | 0 || 1;
      }
      const idx = rowBase + i;
      t1[idx] = v0;
      t1c[idx] = v1;
      t2[idx] = v2;
      flair[idx] = v3;
      seg[idx] = label;
      tissue[idx] = cls;
      counts[label]++;
    }
    this.rs = rs;
  }

  /**
   * One brain voxel (inside the brain envelope, r2 < 1): fills this.frac (tissue fractions), this.cls and
   * this.hetero, and returns the BRATS label.
   */
  private brain(i: number, wx: number, dx: number, r2: number, tumourRow: boolean): number {
    const f = this.frac;
    const t = this.tex.at(i);
    // Sulci: the surface function is pushed outwards by gyri noise near the surface.
    const sfc = r2 > 0.7 ? r2 + 0.035 * (this.gyri.at(i) + 1) : r2;
    let csf = smoothstep(0.9, 0.95, sfc);
    const adx = dx < 0 ? -dx : dx;
    if (adx < 1.6 && sfc > 0.5) csf = Math.max(csf, 1 - smoothstep(0.6, 1.6, adx)); // midline fissure
    let vent = 0;
    for (let k = 0; k < this.vents.length; k++) {
      const v = this.vents[k];
      if (wx >= v.lo && wx <= v.hi) vent = Math.max(vent, 1 - smoothstep(0.85, 1.15, v.q(wx)));
    }
    let deep = 0;
    for (let k = 0; k < this.greys.length; k++) {
      const g = this.greys[k];
      if (wx >= g.lo && wx <= g.hi) deep = Math.max(deep, 1 - smoothstep(0.75, 1.25, g.q(wx)));
    }
    if (vent > csf) csf = vent;
    // Cortical ribbon: 0 at the pial surface, growing inwards; the texture lets white-matter fingers reach
    // into the gyri and grey matter dip deeper elsewhere.
    const depth = 0.9 - sfc + 0.05 * t;
    const gmCortex = 1 - smoothstep(0.08, 0.15, depth);
    let gm = Math.max(gmCortex, deep * 0.9) * (1 - csf);
    let wm = 1 - csf - gm;
    let h = 1 + 0.03 * t;
    let label = 0;
    let oe = 0;
    let en = 0;
    let ne = 0;
    if (tumourRow) {
      label = this.tumour(i, wx);
      const total = this.tTotal;
      if (total > 0) {
        ne = this.tNec;
        en = this.tCore - ne;
        oe = total - this.tCore;
        const keep = 1 - total;
        csf *= keep;
        gm *= keep;
        wm *= keep;
        h += 0.06 * this.tNoise * total;
      }
    }
    f[F_CSF] = csf;
    f[F_GM] = gm;
    f[F_WM] = wm;
    f[F_OED] = oe;
    f[F_ENH] = en;
    f[F_NEC] = ne;
    this.hetero = h;
    if (label !== 0) this.cls = Tissue.Tumour;
    else if (csf >= gm && csf >= wm) this.cls = vent >= 0.5 ? Tissue.Ventricle : Tissue.CSF;
    else this.cls = gm > wm ? Tissue.GreyMatter : Tissue.WhiteMatter;
    return label;
  }

  private tTotal = 0;
  private tCore = 0;
  private tNec = 0;
  private tNoise = 0;

  /**
   * Tumour at one brain voxel: per blob, the smallest normalised radius over its parts, perturbed by two
   * noise fields (core and oedema). Sets the soft weights tTotal ⊇ tCore ⊇ tNec and returns the hard label
   * (1 beats 4 beats 2 where blobs overlap).
   */
  private tumour(i: number, wx: number): number {
    let bestCore = 0;
    let bestNec = 0;
    let bestOed = 0;
    let cn = 0;
    let on = 0;
    let evaluated = false;
    let label = 0;
    for (let b = 0; b < this.blobs.length; b++) {
      const blob = this.blobs[b];
      let q = Infinity;
      for (let p = 0; p < blob.parts.length; p++) {
        const part = blob.parts[p];
        if (wx >= part.lo && wx <= part.hi) {
          const qp = part.q(wx);
          if (qp < q) q = qp;
        }
      }
      if (q === Infinity) continue;
      if (!evaluated) {
        cn = clamp2(this.coreNoise.at(i));
        on = clamp2(this.oedNoise.at(i));
        evaluated = true;
      }
      const r = Math.sqrt(q);
      const rc = r * (1 + CORE_PERTURB * cn);
      const ro = (r * (1 + OED_PERTURB * on)) / blob.oedemaFactor;
      const nf = blob.necrosis;
      const wCore = 1 - smoothstep(1 - DELTA, 1 + DELTA, rc);
      const wNec = 1 - smoothstep(nf - DELTA, nf + DELTA, rc);
      const wOed = 1 - smoothstep(1 - DELTA, 1 + DELTA, ro);
      if (wCore > bestCore) bestCore = wCore;
      if (wNec > bestNec) bestNec = wNec;
      if (wOed > bestOed) bestOed = wOed;
      const lab = rc < nf ? 1 : rc < 1 ? 4 : ro < 1 ? 2 : 0;
      if (lab === 1 || (lab === 4 && label !== 1) || (lab === 2 && label === 0)) label = lab;
    }
    this.tNec = bestNec;
    this.tCore = Math.max(bestCore, bestNec);
    this.tTotal = Math.max(bestOed, this.tCore);
    this.tNoise = cn;
    return label;
  }
}

function render(d: Description, s: RenderSettings): Phantom {
  const r = new Renderer(d, s);
  r.run();
  const intensities = {} as Record<TissueName, Record<Modality, number>>;
  for (const name of Object.keys(d.intensity) as TissueName[]) {
    const v = d.intensity[name];
    intensities[name] = { t1: v[0], t1c: v[1], t2: v[2], flair: v[3] };
  }
  const { origin, spacing } = s;
  const toVoxel = (p: Vec3): Vec3 => [
    (p[0] - origin[0]) / spacing[0],
    (p[1] - origin[1]) / spacing[1],
    (p[2] - origin[2]) / spacing[2],
  ];
  return {
    images: { t1: r.t1, t1c: r.t1c, t2: r.t2, flair: r.flair },
    seg: r.seg,
    tissue: r.tissue,
    shape: [...s.shape],
    spacing: [...spacing],
    origin: [...origin],
    info: {
      seed: s.seed,
      tumours: d.blobs.map((b) => ({
        centre: [...b.centre],
        centreVoxel: toVoxel(b.centre),
        coreRadius: b.coreRadius,
        oedemaFactor: b.oedemaFactor,
        necrosisFraction: b.necrosisFraction,
        small: b.small,
      })),
      labelCounts: { 0: r.counts[0], 1: r.counts[1], 2: r.counts[2], 4: r.counts[4] },
      intensities,
    },
  };
}
