// Every `segan` command and its options, declared once: parsing, checks, errors and `segan help` all
// come from this table (src/cli/options.ts). docs/reliability.md lists what is checked.
import { findCases, normaliseModalities } from '../data/brats.ts';
import { CONFIG_DEFAULTS, DEFAULT_PRESET, PRESETS, RUN_DEFAULTS } from '../segan/config.ts';
import { DEFAULT_MODEL } from '../segan/model.ts';
import { UsageError, type CommandSpec, type OptionSpec, type Values } from './options.ts';

const RUN_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;
const CACHE_DEFAULT = '$XDG_CACHE_HOME/dawngrad (else ~/.cache/dawngrad)';

const opt = {
  batch: (def?: number): OptionSpec => ({
    name: 'batch',
    type: 'int',
    meta: 'B',
    min: 1,
    max: 1024,
    help: 'slices per step',
    ...(def ? { default: def } : { defaultText: "the checkpoint's" }),
  }),
  width: (): OptionSpec => ({
    name: 'width',
    type: 'number',
    meta: 'W',
    min: 1 / 64,
    max: 8,
    default: DEFAULT_MODEL.width,
    help: "channel multiplier of the networks (1 = the paper's 64…512 channels)",
  }),
  size: (): OptionSpec => ({
    name: 'size',
    type: 'int',
    meta: 'S',
    min: 16,
    max: 1024,
    multipleOf: 16,
    default: CONFIG_DEFAULTS.size,
    help: 'input crop, S×S pixels (the networks halve it four times)',
  }),
  classes: (): OptionSpec => ({
    name: 'classes',
    type: 'enum',
    meta: 'K',
    values: ['1', '3'],
    default: DEFAULT_MODEL.classes,
    help: '1: whole tumour; 3: whole, core and enhancing (one critic each)',
  }),
  cache: (): OptionSpec => ({
    name: 'cache',
    type: 'string',
    meta: 'DIR',
    path: 'out',
    defaultText: CACHE_DEFAULT,
    help: 'slice cache (preprocessed cases); never inside --data',
  }),
  json: (what: string): OptionSpec => ({ name: 'json', type: 'flag', help: what }),
  data: (): OptionSpec => ({
    name: 'data',
    type: 'string',
    meta: 'DIR',
    path: 'dir',
    required: true,
    help: 'BraTS data: one folder per case',
  }),
  checkpoint: (): OptionSpec => ({
    name: 'checkpoint',
    type: 'string',
    meta: 'FILE',
    path: 'file',
    required: true,
    help: 'a SegAN checkpoint (.safetensors)',
  }),
  /** The shape of a training step: --batch, --width, --size, --classes (train, profile, tune). */
  step: (): OptionSpec[] => [opt.batch(CONFIG_DEFAULTS.batch), opt.width(), opt.size(), opt.classes()],
  seed: (def: number): OptionSpec => ({
    name: 'seed',
    type: 'int',
    meta: 'N',
    min: 0,
    max: 2 ** 32 - 1,
    default: def,
    help: 'random seed',
  }),
};

async function requireCases(cmd: string, flag: string, dataDir: string, ids: string[]): Promise<string[]> {
  const found = (await findCases(dataDir)).map((c) => c.id);
  const missing = ids.filter((id) => !found.includes(id));
  if (missing.length) {
    const list =
      found.length > 8 ? `${found.slice(0, 8).join(', ')}, … (${found.length} in all)` : found.join(', ') || 'none';
    throw new UsageError(
      `segan ${cmd}: --${flag} names ${missing.length > 1 ? 'cases' : 'a case'} ` +
        `not in ${dataDir}: ${missing.join(', ')} (found: ${list})`,
    );
  }
  return found;
}

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

/** How eval and predict run the model on a case: the same options, the same defaults, the same labels. */
const INFERENCE: OptionSpec[] = [
  {
    name: 'extent',
    type: 'enum',
    meta: 'E',
    values: ['whole', 'crop'],
    default: 'whole',
    help:
      'whole: every slice and the whole plane (padded to a multiple ' +
      "of 16); crop: the checkpoint's training crop (--crop) only",
  },
  {
    name: 'tta',
    type: 'flag',
    // on by default: measured in docs/segan.md ("Inference defaults, measured")
    default: true,
    help: 'test-time augmentation: average the predictions of the slices mirrored left-right, up-down and both',
  },
  {
    name: 'postprocess',
    type: 'flag',
    default: true,
    help:
      'drop tumour components under --min-component voxels; relabel ' +
      'an enhancing tumour under --min-enhancing voxels as core',
  },
  {
    name: 'min-component',
    type: 'int',
    meta: 'N',
    min: 1,
    max: 1e9,
    default: 50,
    help: 'with --postprocess: smallest tumour component kept (voxels, 6-connected)',
  },
  {
    name: 'min-enhancing',
    type: 'int',
    meta: 'N',
    min: 0,
    max: 1e9,
    default: 200,
    help: 'with --postprocess: fewer enhancing voxels than this become core (0: never)',
  },
];

/** --min-component / --min-enhancing tune --postprocess: alone they would silently do nothing. */
function checkInference(cmd: string, v: Values): void {
  const given = (v as Values & { given?: Set<string> }).given;
  if (v.postprocess) return;
  for (const flag of ['min-component', 'min-enhancing']) {
    if (given?.has(flag))
      throw new UsageError(
        `segan ${cmd}: --${flag} only applies with --postprocess; drop --no-postprocess (or --${flag})`,
      );
  }
}

export const EVAL: CommandSpec = {
  name: 'eval',
  summary:
    'Score a checkpoint in 3-D on cases with ground truth: Dice, precision, ' +
    'sensitivity and HD95 per region; a table, scores.csv and scores.json.',
  options: [
    opt.data(),
    opt.checkpoint(),
    { name: 'cases', type: 'list', meta: 'IDS', help: 'cases to score (IDs in --data); default: all' },
    {
      name: 'out',
      type: 'string',
      meta: 'DIR',
      path: 'out',
      defaultText: 'runs/eval-<checkpoint name>',
      help: 'where scores.csv, scores.json and report.html go',
    },
    {
      name: 'report-case',
      type: 'string',
      meta: 'ID',
      defaultText: 'the first case',
      help: "the case report.html's viewer shows (an ID among the scored cases)",
    },
    ...INFERENCE,
    opt.batch(),
    opt.cache(),
  ],
  async check(v) {
    checkInference('eval', v);
    if (v.cases) await requireCases('eval', 'cases', String(v.data), v.cases as string[]);
    if (v['report-case'] !== undefined) {
      const found = await requireCases('eval', 'report-case', String(v.data), [String(v['report-case'])]);
      if (v.cases && !(v.cases as string[]).includes(String(v['report-case'])))
        throw new UsageError(
          `segan eval: --report-case ${v['report-case']} is not among --cases (${(v.cases as string[]).join(', ')})`,
        );
      void found;
    }
  },
};

export const PREDICT: CommandSpec = {
  name: 'predict',
  summary: "Segment one case: a BraTS label volume (0, 1, 2, 4) in the case's own grid.",
  options: [
    opt.checkpoint(),
    {
      name: 'case',
      type: 'string',
      meta: 'DIR',
      path: 'dir',
      required: true,
      help: 'one case folder (its modality files; no segmentation needed)',
    },
    {
      name: 'out',
      type: 'string',
      meta: 'FILE',
      pattern: /\.nii(\.gz)?$/i,
      patternText: 'a file name ending in .nii.gz or .nii',
      required: true,
      help: 'the label volume to write',
    },
    ...INFERENCE,
    opt.batch(),
    opt.cache(),
  ],
  check(v) {
    checkInference('predict', v);
  },
};

export const SERVE: CommandSpec = {
  name: 'serve',
  summary:
    "Segment cases in a web browser on the user's own GPU: a local web server " +
    'whose page runs this engine and the checkpoint with WebGPU (navigator.gpu).',
  details: `Open the printed address in a browser with WebGPU (Chrome or Edge 113+; Chromium with
--enable-unsafe-webgpu). The page lists the cases; /?case=ID fetches that case's NIfTI files and the
checkpoint, segments the case in the page and shows it with the ground truth and the Dice. The server
serves only the page, its script, the checkpoint and files under --data. Ctrl-C stops it.`,
  options: [
    opt.data(),
    opt.checkpoint(),
    { name: 'port', type: 'int', meta: 'N', min: 0, max: 65535, default: 8080, help: 'TCP port (0: any free port)' },
    {
      name: 'host',
      type: 'string',
      meta: 'ADDR',
      default: '127.0.0.1',
      help: 'address to listen on (127.0.0.1: this computer only)',
    },
    ...INFERENCE.filter((o) => o.name !== 'extent'),
  ],
  check(v) {
    checkInference('serve', v);
  },
};

export const INSPECT: CommandSpec = {
  name: 'inspect',
  summary:
    "Check BraTS data before a long run: every volume's shape, datatype, voxel " +
    'size, orientation, range and labels, then every problem. Exit 1 if there is any.',
  details:
    'Cases: <case>/<case>_{t1,t1ce,t2,flair,seg}.nii.gz (2018) or <case>/<case>-{t1n,t1c,t2w,t2f,seg}.nii.gz (2023).',
  options: [opt.data(), opt.json('the report as JSON on stdout')],
};

export const SYNTH: CommandSpec = {
  name: 'synth',
  summary: 'Write BraTS-layout synthetic phantoms (four modalities and a segmentation per case) for tests and demos.',
  options: [
    { name: 'out', type: 'string', meta: 'DIR', path: 'out', required: true, help: 'folder to write the cases into' },
    { name: 'cases', type: 'int', meta: 'N', min: 1, max: 1000, default: 5, help: 'how many cases' },
    opt.seed(1),
    {
      name: 'shape',
      type: 'shape',
      meta: 'WxHxD',
      min: 8,
      max: 1024,
      default: [240, 240, 155],
      help: 'volume shape in voxels',
    },
  ],
  check(v) {
    const s = v.shape as number[];
    if (s[0] * s[1] * s[2] > 2 ** 27)
      throw new UsageError(
        `segan synth: --shape ${s.join('x')} has ${s[0] * s[1] * s[2]} voxels; at most 2^27 (e.g. 512x512x512)`,
      );
  },
};

export const PROFILE: CommandSpec = {
  name: 'profile',
  summary: 'Per-kernel GPU times of one SegAN D+G step (timestamp queries), as a table and a Chrome trace.',
  options: [
    ...opt.step(),
    {
      name: 'out',
      type: 'string',
      meta: 'DIR',
      path: 'out',
      default: 'runs/profile',
      help: 'where trace.json and kernels.json go',
    },
    opt.json('(kept for scripts; the JSON is always written to --out)'),
  ],
};

export const TUNE: CommandSpec = {
  name: 'tune',
  summary:
    "Time the tiled kernels' tile shapes for every conv of a SegAN D+G step " +
    'on this adapter and keep the fastest (saved per adapter and driver).',
  options: [
    ...opt.step(),
    {
      name: 'precision',
      type: 'enum',
      meta: 'P',
      values: ['f32', 'f16'],
      default: 'f32',
      help: 'tune the kernels of this precision (as segan train --precision)',
    },
    { name: 'force', type: 'flag', help: 're-time shapes already in the tuning cache' },
    opt.json('the choices and timings as JSON on stdout'),
  ],
};

export const INFO: CommandSpec = {
  name: 'info',
  summary: 'The WebGPU adapter Dawn gives us: backend, limits and features.',
  options: [opt.json('the report as JSON on stdout')],
};

export const DEMO: CommandSpec = {
  name: 'demo',
  summary:
    'SegAN end to end on synthetic data: phantoms → training → 3-D ' +
    'evaluation → a predicted label volume (about a minute on two CPU cores).',
  options: [
    {
      name: 'out',
      type: 'string',
      meta: 'DIR',
      path: 'out',
      default: 'runs/demo',
      help: 'output folder (replaced unless --keep)',
    },
    { name: 'epochs', type: 'int', meta: 'N', min: 1, max: 1000, default: 6, help: 'training epochs' },
    { name: 'cases', type: 'int', meta: 'N', min: 3, max: 100, default: 10, help: 'phantoms (the last two validate)' },
    opt.classes(),
    { ...opt.width(), default: 0.125 },
    { name: 'keep', type: 'flag', help: 'keep --out (and its data) from an earlier demo' },
  ],
};

export const ENGINE_DEMO: CommandSpec = {
  name: 'engine-demo',
  summary: 'A small engine demo: a 2-layer network fitted on the GPU, with the cost of a step.',
  options: [
    { name: 'steps', type: 'int', meta: 'N', min: 1, max: 1e6, default: 300, help: 'SGD steps' },
    { name: 'hidden', type: 'int', meta: 'N', min: 1, max: 4096, default: 64, help: 'hidden units' },
    { name: 'batch', type: 'int', meta: 'B', min: 1, max: 65536, default: 256, help: 'points per step' },
  ],
};

export const CACHE: CommandSpec = {
  name: 'cache',
  summary: 'The slice cache (preprocessed cases, bounded by DAWNGRAD_CACHE_MAX): show it, or empty it.',
  positionals: [
    {
      name: 'action',
      values: ['info', 'clear'],
      help: 'info: where it is and what it holds (default); clear: delete its files',
    },
  ],
  options: [opt.cache()],
};

export const HELP: CommandSpec = {
  name: 'help',
  summary: "This overview, or one command's options with their ranges and defaults.",
  positionals: [{ name: 'command', help: 'a command name' }],
  options: [],
};

export const COMMANDS: readonly CommandSpec[] = [
  DEMO,
  TRAIN,
  EVAL,
  PREDICT,
  SERVE,
  INSPECT,
  SYNTH,
  CACHE,
  PROFILE,
  TUNE,
  INFO,
  ENGINE_DEMO,
  HELP,
];
