// The options of `segan eval`, `predict` and `serve`: the inference options they share, and each one's own
// (registered in src/cli/commands.ts).
import { opt, requireCases } from './option-kit.ts';
import { UsageError, type CommandSpec, type OptionSpec, type Values } from './options.ts';

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
