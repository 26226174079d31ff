// Phantom description: the world-space anatomy, tumour blobs and tissue intensities, independent of the grid.
import { MODALITIES } from './synth-types.ts';
import type { PhantomOptions, TissueName, Vec3 } from './synth-types.ts';
import { Rng, seedHash } from './synth-random.ts';
import { rotationMatrix, waveSpec } from './synth-geometry.ts';
import type { Ellipsoid, WaveSpec } from './synth-geometry.ts';

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

export interface Description {
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

export function describe(seed: number, opts: PhantomOptions): Description {
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
