// `segan train`'s plan: the options, or a resumed run's own plan plus what the command line
// overrides, and the run folder (never an existing run's by accident). Decided without a side effect:
// a refused command leaves no trace.
import { normaliseModalities, DEFAULT_MODALITIES } from '../data/brats.ts';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  configModalities,
  configNormalisation,
  configEma,
  makeConfig,
  PRESET_OPTIONS,
  type PresetName,
  type TrainConfig,
} from '../segan/config.ts';
import type { Normalisation } from '../data/preprocess.ts';
import { loadCheckpoint, type LoadedCheckpoint } from '../segan/checkpoint.ts';
import { UsageError, type Values } from './options.ts';
import { CommandError } from './command-errors.ts';

/** What a run needs beyond its TrainConfig; stored in every checkpoint so that --resume continues it. */
export interface RunPlan {
  data: string;
  valCases: string[] | null;
  /** Cross-validation: fold k of n (by seed); ignored when valCases is given. */
  folds: { n: number; k: number } | null;
  flip: boolean;
  /** Augmentations of the training crops (0: off). */
  augment: { tumourCrops: number; rotate: number; scale: number; intensity: number };
  checkpointEvery: number;
  /** Validate every N steps too (null: after each epoch only). */
  valEvery: number | null;
  keepCheckpoints: number;
  logEvery: number;
  onNan: 'stop' | 'skip';
  maxSkips: number;
  cache: string | null;
}

/** Options that fix the networks' shapes or the run's identity: they cannot change on resume. */
const FIXED: [flag: string, get: (c: TrainConfig) => unknown][] = [
  ['preset', (c) => c.preset],
  ['width', (c) => c.model.width],
  ['classes', (c) => c.model.classes],
  ['skip', (c) => c.model.skip],
  ['size', (c) => c.size],
  ['seed', (c) => c.seed],
  ['modalities', (c) => configModalities(c).join(',')],
  ['normalise', (c) => configNormalisation(c)],
  ['ema', (c) => configEma(c)],
];

/** Options that may change on resume, and where they live in the config. */
const CONFIG_OVERRIDES: [flag: string, key: keyof TrainConfig][] = [
  ['epochs', 'epochs'],
  ['batch', 'batch'],
  ['crop', 'volumeCrop'],
  ['lr', 'lr'],
  ['lambda-dice', 'lambdaDice'],
  ['clamp', 'clamp'],
];
const PLAN_OVERRIDES: [flag: string, key: keyof RunPlan][] = [
  ['data', 'data'],
  ['val-cases', 'valCases'],
  ['folds', 'folds'],
  ['fold', 'folds'],
  ['flip', 'flip'],
  ['checkpoint-every', 'checkpointEvery'],
  ['val-every', 'valEvery'],
  ['keep-checkpoints', 'keepCheckpoints'],
  ['log-every', 'logEvery'],
  ['on-nan', 'onNan'],
  ['max-skips', 'maxSkips'],
  ['cache', 'cache'],
];

const AUGMENT_FLAGS: [flag: string, field: keyof RunPlan['augment']][] = [
  ['tumour-crops', 'tumourCrops'],
  ['rotate', 'rotate'],
  ['scale', 'scale'],
  ['intensity', 'intensity'],
];

const show = (v: unknown) =>
  Array.isArray(v)
    ? v.join(v.length === 3 && typeof v[0] === 'number' ? 'x' : ',')
    : v !== null && typeof v === 'object'
      ? JSON.stringify(v)
      : String(v);

function readConfigJson(runDir: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** The run folder a checkpoint belongs to (<run>/checkpoints/<file> beside <run>/config.json), or null. */
export function runFolderOf(checkpoint: string): string | null {
  const dir = dirname(resolve(checkpoint));
  const run = dirname(dir);
  return basename(dir) === 'checkpoints' && existsSync(join(run, 'config.json')) ? run : null;
}

export interface TrainPlan {
  config: TrainConfig;
  plan: RunPlan;
  runDir: string;
  resume: string | null;
  /** Only the config fields the command line changed on resume. */
  overrides: Partial<TrainConfig>;
  /** Lines that say what the command line changed on resume. */
  notes: string[];
  replaceRunDir: boolean;
  resumeCheckpoint: LoadedCheckpoint | null;
}

/** The preset's options (PRESET_OPTIONS) that the command line did not give. */
function presetDefaults(preset: PresetName, given: Set<string>): Record<string, number | boolean> {
  return Object.fromEntries(Object.entries(PRESET_OPTIONS[preset] ?? {}).filter(([flag]) => !given.has(flag)));
}

/** Everything `segan train` will do, decided without a side effect. Throws UsageError or CommandError. */
export function planTraining(given_: Values & { given: Set<string> }, now = new Date()): TrainPlan {
  const given = given_.given;
  // a preset's recipe fills the options not given (a fresh run only: a resumed run keeps its own plan)
  const v = (
    given_.resume === undefined ? Object.assign({}, given_, presetDefaults(given_.preset as PresetName, given)) : given_
  ) as Values & { given: Set<string> };
  const resume = v.resume !== undefined ? resolve(String(v.resume)) : null;
  let ckpt: LoadedCheckpoint | null = null;
  if (resume) {
    try {
      ckpt = loadCheckpoint(resume);
    } catch (e) {
      throw new CommandError(
        `segan train: ` +
          `--resume ${v.resume}: ${(e as Error).message
            .replace(/^cannot read checkpoint \S+: /, 'cannot read it: ')
            .replace(/^checkpoint \S+ /, 'the checkpoint ')}`,
        { cause: e },
      );
    }
  }
  const fromOptions = (): TrainConfig => {
    const preset = v.preset as PresetName;
    const modalities = normaliseModalities((v.modalities as string[] | undefined) ?? DEFAULT_MODALITIES);
    return makeConfig({
      modalities,
      normalise: v.normalise as Normalisation,
      ...((v.ema as number) > 0 ? { ema: v.ema as number } : {}),
      preset,
      ...(v.lr !== undefined ? { lr: v.lr as number } : {}),
      ...(v['lambda-dice'] !== undefined ? { lambdaDice: v['lambda-dice'] as number } : {}),
      ...(v.clamp !== undefined ? { clamp: v.clamp as number } : {}),
      epochs: v.epochs as number,
      batch: v.batch as number,
      size: v.size as number,
      volumeCrop: v.crop as [number, number, number],
      seed: v.seed as number,
      model: {
        inChannels: modalities.length,
        classes: v.classes as number,
        width: v.width as number,
        skip: v.skip as 'add' | 'concat',
        slope: 0.2,
        seed: v.seed as number,
      },
    });
  };
  const planFromOptions = (): RunPlan => ({
    data: resolve(String(v.data)),
    valCases: (v['val-cases'] as string[] | undefined) ?? null,
    folds: v.folds !== undefined ? { n: v.folds as number, k: v.fold as number } : null,
    flip: !!v.flip,
    augment: {
      tumourCrops: v['tumour-crops'] as number,
      rotate: v.rotate as number,
      scale: v.scale as number,
      intensity: v.intensity as number,
    },
    checkpointEvery: v['checkpoint-every'] as number,
    valEvery: (v['val-every'] as number | undefined) ?? null,
    keepCheckpoints: v['keep-checkpoints'] as number,
    logEvery: v['log-every'] as number,
    onNan: v['on-nan'] as 'stop' | 'skip',
    maxSkips: v['max-skips'] as number,
    cache: v.cache !== undefined ? resolve(String(v.cache)) : null,
  });
  if (!ckpt) {
    const config = fromOptions();
    const name =
      (v.run as string | undefined) ?? `${config.preset}-${now.toISOString().slice(0, 19).replace(/[:T]/g, '-')}`;
    const runDir = resolve(String(v.runs), name);
    const replace = checkRunFolder(runDir, !!v.overwrite);
    return {
      config,
      plan: planFromOptions(),
      runDir,
      resume: null,
      overrides: {},
      notes: [],
      replaceRunDir: replace,
      resumeCheckpoint: null,
    };
  }

  // Resuming: the checkpoint's config and plan, then what the command line says explicitly.
  const base = ckpt.config;
  const ckptRun = runFolderOf(resume!);
  for (const [flag, get] of FIXED) {
    if (!given.has(flag)) continue;
    const want = flag === 'classes' ? Number(v[flag]) : v[flag];
    if (want !== get(base))
      throw new UsageError(
        `segan train: --${flag} ${show(v[flag])} cannot change when ` +
          `resuming: the checkpoint's run has ${flag} ${show(get(base))}`,
      );
  }
  const overrides: Partial<TrainConfig> = {};
  const notes: string[] = [];
  for (const [flag, key] of CONFIG_OVERRIDES) {
    if (!given.has(flag)) continue;
    const was = base[key];
    if (show(was) === show(v[flag])) continue;
    (overrides as Record<string, unknown>)[key] = v[flag];
    notes.push(`--${flag} ${show(v[flag])} (was ${show(was)})`);
  }
  const config: TrainConfig = { ...base, ...overrides };
  const crop = config.volumeCrop;
  if (crop[0] < config.size || crop[1] < config.size)
    throw new UsageError(
      `segan train: --crop ${crop.join('x')} must be at least the run's size ${config.size} in-plane`,
    );
  // the plan: as recorded in the checkpoint, else (older checkpoints) what its run's config.json says
  const recorded = (ckpt.run as Partial<RunPlan> | null) ?? {};
  const cfgJson = ckptRun ? readConfigJson(ckptRun) : null;
  const dataJson = (cfgJson?.data ?? {}) as { dir?: string; val?: string[] };
  const defaults = planFromOptions();
  const plan: RunPlan = {
    ...defaults,
    ...recorded,
    data: recorded.data ?? (dataJson.dir ? resolve(ckptRun!, '..', '..', dataJson.dir) : ''),
    valCases: recorded.valCases ?? dataJson.val ?? null,
  };
  for (const [flag, key] of PLAN_OVERRIDES) {
    if (!given.has(flag)) continue;
    const value = defaults[key];
    if (show(plan[key]) === show(value)) continue;
    notes.push(`--${flag} ${show(value)} (was ${show(plan[key])})`);
    (plan as unknown as Record<string, unknown>)[key] = value;
  }
  // augmentations one by one (a run recorded before they existed has none)
  plan.augment = { ...{ tumourCrops: 0, rotate: 0, scale: 0, intensity: 0 }, ...(recorded.augment ?? {}) };
  for (const [flag, field] of AUGMENT_FLAGS) {
    if (!given.has(flag) || plan.augment[field] === defaults.augment[field]) continue;
    notes.push(`--${flag} ${defaults.augment[field]} (was ${plan.augment[field]})`);
    plan.augment[field] = defaults.augment[field];
  }
  if (!plan.data || (!given.has('data') && !existsSync(plan.data))) {
    throw new UsageError(
      plan.data
        ? `segan train: the resumed run's data folder ${plan.data} does not exist; give --data DIR`
        : `segan train: --data DIR is required: checkpoint ${v.resume} does not record its data folder`,
    );
  }
  let runDir: string;
  let replace = false;
  if (given.has('run') || given.has('runs')) {
    runDir = resolve(String(v.runs), (v.run as string | undefined) ?? basename(ckptRun ?? 'resumed'));
    if (runDir !== ckptRun) replace = checkRunFolder(runDir, !!v.overwrite);
  } else {
    if (!ckptRun)
      throw new UsageError(
        `segan train: --resume ${v.resume} is not in a run folder ` +
          `(<run>/checkpoints/); say where this run goes with --run NAME`,
      );
    runDir = ckptRun;
  }
  if (runDir === ckptRun && v.overwrite)
    throw new UsageError(
      `segan train: --overwrite would delete the run that --resume ` +
        `continues (${runDir}); drop --overwrite, or give another --run`,
    );
  return { config, plan, runDir, resume, overrides, notes, replaceRunDir: replace, resumeCheckpoint: ckpt };
}

/** An existing, non-empty run folder is refused unless --overwrite; returns whether it is to be replaced. */
function checkRunFolder(runDir: string, overwrite: boolean): boolean {
  if (!existsSync(runDir)) return false;
  let entries: string[];
  try {
    entries = readdirSync(runDir);
  } catch {
    throw new UsageError(`segan train: --run: ${runDir} exists and is not a folder; choose another --run`);
  }
  if (entries.length === 0) return false;
  if (overwrite) return true;
  const latest = join(runDir, 'checkpoints', 'latest.safetensors');
  const cont = existsSync(latest) ? `continue it with --resume ${latest}, ` : '';
  throw new UsageError(
    `segan train: run folder ${runDir} already exists; ${cont}choose another --run, or add --overwrite to replace it`,
  );
}
