// Option constructors that several `segan` commands share (src/cli/commands.ts and the per-command
// declarations beside it), and the check that named cases exist in --data.
import { findCases } from '../data/brats.ts';
import { CONFIG_DEFAULTS } from '../segan/config.ts';
import { DEFAULT_MODEL } from '../segan/model.ts';
import { UsageError, type OptionSpec } from './options.ts';

export const RUN_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;
const CACHE_DEFAULT = '$XDG_CACHE_HOME/dawngrad (else ~/.cache/dawngrad)';

export const opt = {
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

export async function requireCases(cmd: string, flag: string, dataDir: string, ids: string[]): Promise<string[]> {
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
