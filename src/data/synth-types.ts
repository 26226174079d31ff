// Synthetic phantom types and constants: modalities, BRATS labels, tissue classes, options and results.

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
