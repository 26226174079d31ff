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
import { BRATS_FOV } from './synth-types.ts';
import type { Phantom, PhantomOptions, Vec3 } from './synth-types.ts';
import { describe } from './synth-anatomy.ts';
import { render } from './synth-render.ts';

export { BRATS_FOV, BratsLabel, MODALITIES, TUMOUR_VOLUME_BOUNDS, Tissue } from './synth-types.ts';
export type { Modality, Phantom, PhantomOptions, PhantomTumour, TissueName, Vec3 } from './synth-types.ts';

// ---------------------------------------------------------------------------------------------------------
// Rendering

function checkVec3(name: string, v: readonly number[], positive: boolean, integer: boolean): Vec3 {
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x) || (positive && x <= 0) || (integer && !Number.isInteger(x))))
    throw new RangeError(
      `phantom ${name} must be ` +
        `3 ${integer ? 'positive integers' : positive ? 'positive numbers' : 'finite numbers'}, ` +
        `got [${v.join(', ')}]`,
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
  if (!(noise >= 0) || !(biasAmp >= 0) || biasAmp >= 0.3)
    throw new RangeError('phantom noise must be ≥ 0 and bias in [0, 0.3)');
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
