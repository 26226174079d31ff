// `segan train`'s options and cross-checks (registered in src/cli/commands.ts).
import { findCases, normaliseModalities } from '../data/brats.ts';
import { DEFAULT_NORMALISATION, MEDIAN_SPAN, NORMALISATIONS } from '../data/preprocess.ts';
import { CONFIG_DEFAULTS, DEFAULT_PRESET, PRESETS, RUN_DEFAULTS } from '../segan/config.ts';
import { DEFAULT_MODEL } from '../segan/model.ts';
import { opt, requireCases, RUN_NAME } from './option-kit.ts';
import { UsageError, type CommandSpec, type Values } from './options.ts';

export const TRAIN: CommandSpec = {
  name: 'train',
  summary:
    'Train SegAN on BraTS-layout data (one folder per case). A run folder ' +
    'holds config.json, metrics.jsonl, the loss plot, overlays and checkpoints.',
  details: `Resuming: --resume FILE continues that run's own plan (epochs, schedule, data, model) in its own
folder; an option given with it overrides the plan, is printed and is recorded in config.json. Options
that fix the model's shape (--preset, --width, --classes, --skip, --size) cannot change on resume.
Checkpoints kept: latest, best (once it exists) and the last --keep-checkpoints step-N files.`,
  options: [
    {
      name: 'data',
      type: 'string',
      meta: 'DIR',
      path: 'dir',
      defaultText: "the resumed run's",
      help: 'BraTS data: one folder per case (required unless --resume)',
    },
    {
      name: 'preset',
      type: 'enum',
      meta: 'NAME',
      values: Object.keys(PRESETS),
      default: DEFAULT_PRESET,
      help:
        "'code' (the authors' code's optimizer and loss), 'paper', or 'cpu' (code's, plus the " +
        'CPU recipe: --width 0.125 --flip --tumour-crops 0.5 --epochs 200; options given win)',
    },
    {
      name: 'epochs',
      type: 'int',
      meta: 'N',
      min: 1,
      max: 100000,
      default: CONFIG_DEFAULTS.epochs,
      help: 'passes over the training slices',
    },
    ...opt.step(),
    {
      name: 'crop',
      type: 'shape',
      meta: 'WxHxD',
      min: 1,
      max: 2048,
      default: [...CONFIG_DEFAULTS.volumeCrop],
      help: 'centre crop of each volume before the random S×S crops; W and H ≥ --size',
    },
    {
      name: 'lr',
      type: 'number',
      meta: 'LR',
      above: 0,
      max: 1,
      defaultText: "the preset's (code 2e-4, paper 2e-5)",
      help: 'learning rate',
    },
    {
      name: 'lambda-dice',
      type: 'number',
      meta: 'L',
      min: 0,
      max: 1000,
      defaultText: "the preset's (code 1, paper 0)",
      help: 'weight of the soft Dice term in the segmentor loss',
    },
    {
      name: 'clamp',
      type: 'number',
      meta: 'C',
      above: 0,
      max: 100,
      defaultText: "the preset's (code 0.05, paper 0.01)",
      help: 'critic weights are clipped to [-C, C]',
    },
    opt.seed(CONFIG_DEFAULTS.seed),
    {
      name: 'skip',
      type: 'enum',
      meta: 'MODE',
      values: ['add', 'concat'],
      default: DEFAULT_MODEL.skip,
      help: 'how the segmentor joins encoder features into its decoder',
    },
    {
      name: 'val-cases',
      type: 'list',
      meta: 'IDS',
      help: 'validation cases (IDs in --data); default: 20 % of the cases, by seed',
    },
    {
      name: 'folds',
      type: 'int',
      meta: 'N',
      min: 2,
      max: 100,
      help:
        'patient-level cross-validation: split the cases into N ' +
        'folds by seed (with --fold; splits.json in the run folder)',
    },
    {
      name: 'fold',
      type: 'int',
      meta: 'K',
      min: 0,
      max: 99,
      help: 'which fold validates (0 … N−1; with --folds); --val-cases wins over both',
    },
    {
      name: 'tumour-crops',
      type: 'number',
      meta: 'P',
      min: 0,
      max: 1,
      default: 0,
      help: 'share of training crops centred on a tumour pixel of the slice',
    },
    {
      name: 'rotate',
      type: 'number',
      meta: 'DEG',
      min: 0,
      max: 180,
      default: 0,
      help: 'random in-plane rotation of training crops, up to ±DEG degrees',
    },
    {
      name: 'scale',
      type: 'number',
      meta: 'F',
      min: 0,
      max: 0.5,
      default: 0,
      help: 'random zoom of training crops by a factor in [1−F, 1+F]',
    },
    {
      name: 'intensity',
      type: 'number',
      meta: 'F',
      min: 0,
      max: 0.5,
      default: 0,
      help: 'random gamma exp(±F), gain 1±F and shift ±F/2 per modality (inside the brain)',
    },
    {
      name: 'flip',
      type: 'flag',
      help: "random left-right flips of training crops (--no-flip: none, e.g. to leave out --preset cpu's)",
    },
    {
      name: 'modalities',
      type: 'list',
      meta: 'LIST',
      defaultText: "t1c,t2,flair (the paper's)",
      help:
        'input modalities in channel order, from t1, t1c, t2, ' +
        'flair (aliases t1n, t1ce, t2w, t2f); e.g. t1,t1c,t2,flair',
    },
    {
      name: 'normalise',
      type: 'enum',
      meta: 'HOW',
      values: [...NORMALISATIONS],
      default: DEFAULT_NORMALISATION,
      help:
        "intensities to [0, 1] per volume inside the brain: 'percentile' (2nd–98th percentile → 0–1) or " +
        `'median' (0 → 0, ${MEDIAN_SPAN} × the median → 1); eval and predict use the checkpoint's`,
    },
    {
      name: 'ema',
      type: 'number',
      meta: 'D',
      min: 0,
      max: 0.9999,
      default: 0,
      help:
        "keep a moving average of the segmentor's weights (decay D per step, 0: none); validation, " +
        'best.safetensors, eval and predict use it',
    },
    {
      name: 'runs',
      type: 'string',
      meta: 'DIR',
      path: 'out',
      default: 'runs',
      help: 'folder that holds the run folders',
    },
    {
      name: 'run',
      type: 'string',
      meta: 'NAME',
      pattern: RUN_NAME,
      patternText: 'a single folder name: letters, digits, . _ - (at most 128)',
      defaultText: '<preset>-<date-time>',
      help: 'run folder name inside --runs',
    },
    { name: 'overwrite', type: 'flag', help: 'replace an existing run folder of that name' },
    {
      name: 'resume',
      type: 'string',
      meta: 'FILE',
      path: 'file',
      help: 'continue from a checkpoint (e.g. runs/NAME/checkpoints/latest.safetensors)',
    },
    {
      name: 'max-minutes',
      type: 'number',
      meta: 'M',
      above: 0,
      max: 1e6,
      help:
        'wall-clock budget of the whole command (data preparation, validation ' +
        'and the final save included): the run stops in time to save and exits 0',
    },
    {
      name: 'max-steps',
      type: 'int',
      meta: 'N',
      min: 1,
      max: 1e9,
      help: 'stop after N steps in this command (a checkpoint is saved)',
    },
    {
      name: 'val-every',
      type: 'int',
      meta: 'N',
      min: 1,
      max: 1e9,
      help:
        'also validate every N steps (default: after each epoch only); each validation ' +
        'scores the validation cases in 3-D and keeps checkpoints/best.safetensors',
    },
    {
      name: 'checkpoint-every',
      type: 'int',
      meta: 'N',
      min: 1,
      max: 1e9,
      default: RUN_DEFAULTS.checkpointEvery,
      help: 'steps between checkpoints (one is also saved after every epoch)',
    },
    {
      name: 'keep-checkpoints',
      type: 'int',
      meta: 'N',
      min: 0,
      max: 100000,
      default: RUN_DEFAULTS.keepCheckpoints,
      help: 'step-N checkpoints kept besides latest and best (0: latest only)',
    },
    {
      name: 'log-every',
      type: 'int',
      meta: 'N',
      min: 1,
      max: 1e9,
      default: RUN_DEFAULTS.logEvery,
      help: 'steps between metric readbacks (metrics.jsonl, progress)',
    },
    {
      name: 'precision',
      type: 'enum',
      meta: 'P',
      values: ['f32', 'f16'],
      default: 'f32',
      help: "f16: the conv kernels read float16 operands and sum in float32 (needs the adapter feature 'shader-f16')",
    },
    {
      name: 'on-nan',
      type: 'enum',
      meta: 'MODE',
      values: ['stop', 'skip'],
      default: RUN_DEFAULTS.onNan,
      help: 'a NaN/Inf loss or gradient: stop, or skip the batch',
    },
    {
      name: 'max-skips',
      type: 'int',
      meta: 'N',
      min: 1,
      max: 1e6,
      default: RUN_DEFAULTS.maxConsecutiveSkips,
      help: 'with --on-nan skip: stop after N skipped steps in a row',
    },
    opt.cache(),
  ],
  async check(v: Values) {
    if (v.data === undefined && v.resume === undefined)
      throw new UsageError('segan train: --data DIR is required (or --resume FILE to continue a run)');
    if (v.modalities !== undefined) {
      let ms: string[];
      try {
        ms = normaliseModalities(v.modalities as string[]);
      } catch (e) {
        throw new UsageError(`segan train: --modalities: ${(e as Error).message}`);
      }
      const twice = ms.find((m, i) => ms.indexOf(m) !== i);
      if (twice)
        throw new UsageError(
          `segan train: --modalities names ${twice} twice ` +
            `(${(v.modalities as string[]).join(',')}); give each modality once`,
        );
    }
    const crop = v.crop as number[];
    const size = v.size as number;
    if (crop[0] < size || crop[1] < size)
      throw new UsageError(
        `segan train: --crop ${crop.join('x')} must be at least --size ${size} in-plane (W and H ≥ ${size})`,
      );
    if ((v.folds === undefined) !== (v.fold === undefined))
      throw new UsageError(
        `segan train: --${v.folds === undefined ? 'fold' : 'folds'} needs ` +
          `--${v.folds === undefined ? 'folds N' : 'fold K'} too (cross-validation: fold K of N)`,
      );
    if (v.folds !== undefined && (v.fold as number) >= (v.folds as number))
      throw new UsageError(
        `segan train: --fold ${v.fold} must be below --folds ${v.folds} ` +
          `(folds are numbered 0 … ${(v.folds as number) - 1})`,
      );
    if (v.folds !== undefined && v.data !== undefined && !v['val-cases']) {
      const found = (await findCases(String(v.data))).length;
      if (found < (v.folds as number))
        throw new UsageError(`segan train: --folds ${v.folds} needs at least ${v.folds} cases; ${v.data} has ${found}`);
    }
    if (v['val-cases'] && v.data !== undefined) {
      const found = await requireCases('train', 'val-cases', String(v.data), v['val-cases'] as string[]);
      if (found.every((id) => (v['val-cases'] as string[]).includes(id)))
        throw new UsageError(`segan train: --val-cases names every case in ${v.data}; leave at least one for training`);
    }
  },
};
