// What `segan eval`, `predict` and `serve` share: the inference options (src/cli/commands.ts,
// INFERENCE), the dataset extent and cache, and the engine and model restored from a checkpoint.
import { resolve } from 'node:path';
import { createEngine } from '../index.ts';
import { defaultCacheDir } from '../data/cache.ts';
import { openDataset } from '../data/dataset.ts';
import type { Dataset, DatasetOptions } from '../data/dataset-types.ts';
import type { BratsCase } from '../data/brats.ts';
import { restore, type LoadedCheckpoint } from '../segan/checkpoint.ts';
import { wholeExtent, type CaseInference } from '../segan/infer.ts';
import { SeganModel } from '../segan/model.ts';
import type { Engine } from '../tensor/engine.ts';
import type { Values } from './options.ts';
import { naming } from './command-errors.ts';

/** The inference options shared by eval, predict and serve (src/cli/commands.ts, INFERENCE). */
export function inferenceOf(v: Values): CaseInference {
  return {
    tta: !!v.tta,
    postprocess: v.postprocess
      ? { minComponent: v['min-component'] as number, minEnhancing: v['min-enhancing'] as number }
      : null,
  };
}

/** The dataset extent for --extent: the checkpoint's training crop, or every case whole. */
export async function extentOf(
  v: Values,
  cases: BratsCase[],
  config: { size: number; volumeCrop: [number, number, number] },
): Promise<Pick<DatasetOptions, 'cropShape' | 'cropSize'>> {
  return v.extent === 'crop' ? { cropSize: config.size, cropShape: config.volumeCrop } : await wholeExtent(cases);
}

/** --cache, else the default slice cache. */
export const cacheOf = (v: Values) => (v.cache !== undefined ? resolve(String(v.cache)) : defaultCacheDir());

/** The dataset; a failure names the option (`flag`, shown as `shown`). */
export async function openFor(
  cmd: string,
  flag: string,
  shown: string,
  dataDir: string,
  opts: DatasetOptions,
): Promise<Dataset> {
  return naming(cmd, flag, shown, () => openDataset(dataDir, opts));
}

/**
 * An engine and the checkpoint's model, restored (a failure names --checkpoint), for `fn`; then the
 * model is freed and the dataset and the engine closed.
 */
export async function withRestoredModel(
  cmd: string,
  ckptFile: string,
  ckpt: LoadedCheckpoint,
  ds: Dataset,
  fn: (engine: Engine, model: SeganModel) => Promise<void>,
): Promise<number> {
  const engine = await createEngine();
  try {
    const model = new SeganModel(engine, ckpt.config);
    await naming(cmd, 'checkpoint', ckptFile, () => restore(ckpt, model, null));
    await fn(engine, model);
    model.dispose();
    return 0;
  } finally {
    ds.close();
    await engine.close();
  }
}
