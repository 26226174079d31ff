// Every `segan` command and its options, declared once: parsing, checks, errors and `segan help` all
// come from this table (src/cli/options.ts). docs/reliability.md lists what is checked.
// train's options are in train-options.ts, eval/predict/serve's in inference-options.ts, shared
// constructors in option-kit.ts.
import { EVAL, PREDICT, SERVE } from './inference-options.ts';
import { opt } from './option-kit.ts';
import { UsageError, type CommandSpec } from './options.ts';
import { TRAIN } from './train-options.ts';

export { EVAL, PREDICT, SERVE, TRAIN };

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
