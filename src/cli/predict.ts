// `segan predict`: segment one case with a checkpoint; a BraTS label volume (0, 1, 2, 4) in the
// case's own grid. Options arrive parsed and checked (src/cli/commands.ts); what can still fail here
// (a checkpoint, the data, the disk) is one line naming the option and the file.
import { basename, resolve } from 'node:path';
import { writeNifti } from '../data/nifti.ts';
import { findCases } from '../data/brats.ts';
import { loadCheckpoint } from '../segan/checkpoint.ts';
import { predictCase } from '../segan/infer.ts';
import { configModalities, configNormalisation } from '../segan/config.ts';
import { ensureWritableDir } from '../segan/output.ts';
import type { Values } from './options.ts';
import { naming } from './command-errors.ts';
import { cacheOf, extentOf, inferenceOf, openFor, withRestoredModel } from './inference-setup.ts';

export async function predictCommand(v: Values): Promise<number> {
  const caseDir = resolve(String(v.case));
  const ckptFile = String(v.checkpoint);
  const outFile = resolve(String(v.out));
  const ckpt = await naming('predict', 'checkpoint', ckptFile, () => loadCheckpoint(ckptFile));
  const config = ckpt.config;
  await naming('predict', 'out', String(v.out), () => ensureWritableDir(resolve(outFile, '..'), 'the output folder'));
  const root = resolve(caseDir, '..');
  const id = basename(caseDir);
  const one = (await naming('predict', 'case', String(v.case), () => findCases(root))).filter((c) => c.id === id);
  const extent = await naming('predict', 'case', String(v.case), () => extentOf(v, one, config));
  const ds = await openFor('predict', 'case', String(v.case), root, {
    cacheDir: cacheOf(v),
    regions: config.model.classes === 1 ? 'whole' : 'all',
    onlyCases: [id],
    valCases: [id],
    allowNoTraining: true,
    ...extent,
    requireSeg: false,
    modalities: configModalities(config),
    normalise: configNormalisation(config),
  });
  return withRestoredModel('predict', ckptFile, ckpt, ds, async (engine, model) => {
    const { labels: grid } = await predictCase(
      engine,
      model.S,
      ds,
      id,
      (v.batch as number | undefined) ?? config.batch,
      inferenceOf(v),
    );
    const like = await ds.referenceHeader(id);
    await naming('predict', 'out', String(v.out), () => writeNifti(outFile, grid, { like, datatype: 'uint8' }));
    const counts = { 1: 0, 2: 0, 4: 0 } as Record<number, number>;
    for (const x of grid) if (x) counts[x]++;
    console.log(`wrote ${v.out}: ${grid.length} voxels, labels 1: ${counts[1]}, 2: ${counts[2]}, 4: ${counts[4]}`);
  });
}
