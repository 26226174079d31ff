// Training configuration and the two presets (docs/segan.md explains where each number comes from).
import { DEFAULT_MODEL, type ModelConfig } from './model.ts';
import { DEFAULT_MODALITIES, type Modality } from '../data/brats.ts';
import { DEFAULT_NORMALISATION, type Normalisation } from '../data/preprocess.ts';

export type OptimizerName = 'adam' | 'rmsprop';

export interface TrainConfig {
  model: ModelConfig;
  preset: PresetName;
  optimizer: OptimizerName;
  lr: number;
  betas: [number, number];
  /** Critic weights are clamped to [-clamp, clamp] after each critic step (WGAN style). */
  clamp: number;
  /** Weight of the soft Dice term in the segmentor's loss (0 = adversarial only, as in the paper). */
  lambdaDice: number;
  /** Halve the learning rate every this many epochs (0 = never). */
  lrHalveEvery: number;
  /** Weights of the critic's scales [input, f1, f2, f3]. */
  scaleWeights: number[];
  batch: number;
  epochs: number;
  /** Input crop size (160 in the paper). */
  size: number;
  /** Centre crop of each volume before the random crops, [x, y, slices] (180×180×128 in the paper). */
  volumeCrop: [number, number, number];
  seed: number;
  /** The input modalities in channel order (absent in older checkpoints: the paper's T1c, T2, FLAIR). */
  modalities?: Modality[];
  /** How each volume's intensities map to [0, 1] (absent in older checkpoints: 'percentile'). */
  normalise?: Normalisation;
  /**
   * Decay of the exponential moving average of the segmentor's weights that validation, checkpoints'
   * `avgS.*` tensors and inference use (absent or 0: none, the weights of the last step).
   */
  ema?: number;
}

/** The modalities a model reads, in channel order. */
export function configModalities(c: Pick<TrainConfig, 'modalities'>): Modality[] {
  return [...(c.modalities ?? DEFAULT_MODALITIES)];
}

/** The intensity normalisation a model was trained with (src/data/preprocess.ts). */
export function configNormalisation(c: Pick<TrainConfig, 'normalise'>): Normalisation {
  return c.normalise ?? DEFAULT_NORMALISATION;
}

/** The segmentor's weight-average decay (0: no average). */
export function configEma(c: Pick<TrainConfig, 'ema'>): number {
  return c.ema ?? 0;
}

export type PresetName = 'paper' | 'code' | 'cpu';

export const PRESETS: Record<
  PresetName,
  Pick<TrainConfig, 'optimizer' | 'lr' | 'betas' | 'clamp' | 'lambdaDice' | 'lrHalveEvery'>
> = {
  // arXiv 1706.01805 §2.3-2.4: RMSprop, lr 2e-5, critic clamped to ±0.01, multi-scale L1 only.
  paper: { optimizer: 'rmsprop', lr: 2e-5, betas: [0.9, 0.999], clamp: 0.01, lambdaDice: 0, lrHalveEvery: 0 },
  // github.com/YuanXue1993/SegAN train.py: Adam lr 2e-4, betas (0.5, 0.999), clamp ±0.05, + soft Dice
  // with weight 1, lr halved every 25 epochs.
  code: { optimizer: 'adam', lr: 2e-4, betas: [0.5, 0.999], clamp: 0.05, lambdaDice: 1, lrHalveEvery: 25 },
  // The authors' code's optimizer and loss, with the training recipe of PRESET_OPTIONS.cpu.
  cpu: { optimizer: 'adam', lr: 2e-4, betas: [0.5, 0.999], clamp: 0.05, lambdaDice: 1, lrHalveEvery: 25 },
};

/**
 * `segan train` options a preset sets beyond the optimizer (an option given on the command line wins).
 * cpu: the recipe for a 2-core CPU adapter and a time budget (--max-minutes), chosen by the
 * measurements in docs/segan.md: a 1/8-width model (more steps per minute beat capacity there), flips
 * and half of the crops centred on tumour, enough epochs for the budget to end the run,  (the 3-D validation after
 * every epoch keeps best.safetensors; on a large dataset, whose epochs are long, add --val-every).
 */
export const PRESET_OPTIONS: Record<PresetName, Record<string, number | boolean>> = {
  paper: {},
  code: {},
  cpu: { width: 0.125, flip: true, 'tumour-crops': 0.5, epochs: 200 },
};

export const DEFAULT_PRESET: PresetName = 'code';

/** makeConfig's values of the fields a preset leaves alone (`segan train`'s option defaults read them). */
export const CONFIG_DEFAULTS: Readonly<
  Pick<TrainConfig, 'scaleWeights' | 'batch' | 'epochs' | 'size' | 'volumeCrop' | 'seed'>
> = {
  scaleWeights: [1, 1, 1, 1],
  batch: 8,
  epochs: 10,
  size: 160,
  volumeCrop: [180, 180, 128],
  seed: 666,
};

/**
 * A training run's settings beyond its config, when the caller leaves them out (src/segan/train.ts)
 * and as `segan train`'s option defaults.
 */
export const RUN_DEFAULTS = {
  checkpointEvery: 200,
  /** step-N checkpoints kept besides latest and best. */
  keepCheckpoints: 5,
  logEvery: 10,
  onNan: 'stop' as 'stop' | 'skip',
  /** With onNan 'skip': stop anyway after this many skipped steps in a row. */
  maxConsecutiveSkips: 10,
} as const;

export function makeConfig(over: Partial<TrainConfig> & { preset?: PresetName } = {}): TrainConfig {
  const preset = over.preset ?? DEFAULT_PRESET;
  if (!(preset in PRESETS)) throw new Error(`unknown preset '${preset}'; choose ${Object.keys(PRESETS).join(' or ')}`);
  return {
    preset,
    ...PRESETS[preset],
    ...CONFIG_DEFAULTS,
    // fresh arrays: a caller may change its config's
    scaleWeights: [...CONFIG_DEFAULTS.scaleWeights],
    volumeCrop: [...CONFIG_DEFAULTS.volumeCrop],
    ...over,
    model: { ...DEFAULT_MODEL, ...(over.model ?? {}) },
  } as TrainConfig;
}
