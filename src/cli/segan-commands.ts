// `segan eval | predict | synth`: scoring, segmenting one case, synthetic phantoms. Options arrive
// parsed and checked (src/cli/commands.ts); what can still fail here (a checkpoint, the data, the
// disk) is one line naming the option and the file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createEngine } from '../index.ts';
import { defaultCacheDir } from '../data/cache.ts';
import { openDataset, type Dataset, type DatasetOptions } from '../data/dataset.ts';
import { readNifti, writeNifti } from '../data/nifti.ts';
import { reportHtml, type ReportVolume } from '../segan/report.ts';
import { findCases, type BratsCase } from '../data/brats.ts';
import { loadCheckpoint, restore, type LoadedCheckpoint } from '../segan/checkpoint.ts';
import { predictCase, scoreCase, wholeExtent, type CaseInference } from '../segan/infer.ts';
import { scoresCsv, scoresTable, summarize, type CaseScores } from '../segan/metrics.ts';
import { SeganModel } from '../segan/model.ts';
import { configModalities } from '../segan/config.ts';
import { writeSyntheticCases } from '../segan/synth-cases.ts';
import { ensureWritableDir } from '../segan/output.ts';
import type { Values } from './options.ts';
import { CommandError } from './train.ts';

/** Run `fn`; a failure becomes one line naming the command, the option and its value. */
async function naming<T>(cmd: string, flag: string, value: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const msg = (e as Error).message.replace(/^(cannot read )?checkpoint \S+?:? /, (_m, read) => (read ? 'cannot read it: ' : 'the checkpoint '));
    throw new CommandError(`segan ${cmd}: --${flag} ${value}: ${msg}`, { cause: e });
  }
}

/** The inference options shared by eval and predict (src/cli/commands.ts, INFERENCE). */
export function inferenceOf(v: Values): CaseInference {
  return { tta: !!v.tta, postprocess: v.postprocess ? { minComponent: v['min-component'] as number, minEnhancing: v['min-enhancing'] as number } : null };
}

/** The dataset extent for --extent: the checkpoint's training crop, or every case whole. */
async function extentOf(v: Values, cases: BratsCase[], config: { size: number; volumeCrop: [number, number, number] }): Promise<Pick<DatasetOptions, 'cropShape' | 'cropSize'>> {
  return v.extent === 'crop' ? { cropSize: config.size, cropShape: config.volumeCrop } : await wholeExtent(cases);
}

const cacheOf = (v: Values) => (v.cache !== undefined ? resolve(String(v.cache)) : defaultCacheDir());

async function openFor(cmd: string, flag: string, shown: string, dataDir: string, opts: DatasetOptions): Promise<Dataset> {
  return naming(cmd, flag, shown, () => openDataset(dataDir, opts));
}

export async function evalCommand(v: Values): Promise<number> {
  const dataDir = String(v.data);
  const ckptFile = String(v.checkpoint);
  const ckpt: LoadedCheckpoint = await naming('eval', 'checkpoint', ckptFile, () => loadCheckpoint(ckptFile));
  const config = ckpt.config;
  const out = resolve(String(v.out ?? join('runs', `eval-${basename(ckptFile, '.safetensors')}`)));
  await naming('eval', 'out', out, () => ensureWritableDir(out, 'the output folder'));
  const batch = (v.batch as number | undefined) ?? config.batch;
  const found = await findCases(dataDir);
  const cases = (v.cases as string[] | undefined) ?? found.map((c) => c.id);
  const extent = await naming('eval', 'data', dataDir, () => extentOf(v, found.filter((c) => cases.includes(c.id)), config));
  const ds = await openFor('eval', 'data', dataDir, dataDir, { cacheDir: cacheOf(v), regions: config.model.classes === 1 ? 'whole' : 'all', onlyCases: cases, valCases: cases, allowNoTraining: true, ...extent, seed: config.seed, modalities: configModalities(config) });
  const engine = await createEngine();
  try {
    const model = new SeganModel(engine, config);
    await naming('eval', 'checkpoint', ckptFile, () => restore(ckpt, model, null));
    const scores: CaseScores[] = [];
    const how = inferenceOf(v);
    const shown = (v['report-case'] as string | undefined) ?? cases[0];
    let viewer: ReportVolume | null = null;
    for (const id of cases) {
      // 3-D scores in the case's own grid: the labels predict would write, against the full label volume
      const pred = await predictCase(engine, model.S, ds, id, batch, how);
      const truth = ds.putBack(id, ds.caseSlices(id).raw);
      const header = await ds.referenceHeader(id);
      scores.push(scoreCase(id, pred.labels, truth, config.model.classes, ds.label3 === 'enhancing', { shape: header.shape, spacing: header.voxelSize }));
      if (id === shown) {
        const files = Object.entries(found.find((c) => c.id === id)!.files);
        const modalities = await naming('eval', 'data', dataDir, () => Promise.all(files.map(async ([name, file]) => ({ name, data: (await readNifti(file!)).data as ArrayLike<number> }))));
        viewer = { caseId: id, shape: header.shape, spacing: header.voxelSize, modalities, truth, prediction: pred.labels };
      }
      process.stderr.write(`evaluated ${id}\n`);
    }
    console.log(scoresTable(scores));
    await naming('eval', 'out', out, () => {
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'scores.csv'), scoresCsv(scores));
      writeFileSync(join(out, 'scores.json'), JSON.stringify({ checkpoint: ckptFile, inference: { extent: v.extent, ...how }, cases: scores, summary: summarize(scores) }, null, 2) + '\n');
      writeFileSync(join(out, 'report.html'), reportHtml({ title: `SegAN evaluation: ${basename(ckptFile)}`, checkpoint: ckptFile, cases: scores, viewer }));
    });
    console.log(`\nwrote ${join(out, 'scores.csv')}, scores.json and report.html (open it in a browser; the viewer shows ${shown})`);
    model.dispose();
    return 0;
  } finally {
    ds.close();
    await engine.close();
  }
}

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
  const ds = await openFor('predict', 'case', String(v.case), root, { cacheDir: cacheOf(v), regions: config.model.classes === 1 ? 'whole' : 'all', onlyCases: [id], valCases: [id], allowNoTraining: true, ...extent, requireSeg: false, modalities: configModalities(config) });
  const engine = await createEngine();
  try {
    const model = new SeganModel(engine, config);
    await naming('predict', 'checkpoint', ckptFile, () => restore(ckpt, model, null));
    const { labels: grid } = await predictCase(engine, model.S, ds, id, (v.batch as number | undefined) ?? config.batch, inferenceOf(v));
    const like = await ds.referenceHeader(id);
    await naming('predict', 'out', String(v.out), () => writeNifti(outFile, grid, { like, datatype: 'uint8' }));
    const counts = { 1: 0, 2: 0, 4: 0 } as Record<number, number>;
    for (const x of grid) if (x) counts[x]++;
    console.log(`wrote ${v.out}: ${grid.length} voxels, labels 1: ${counts[1]}, 2: ${counts[2]}, 4: ${counts[4]}`);
    model.dispose();
    return 0;
  } finally {
    ds.close();
    await engine.close();
  }
}

export async function synthCommand(v: Values): Promise<number> {
  const out = String(v.out);
  await naming('synth', 'out', out, () => ensureWritableDir(out, 'the output folder'));
  const n = v.cases as number;
  const shape = v.shape as [number, number, number];
  const ids = await naming('synth', 'out', out, () =>
    writeSyntheticCases(out, { cases: n, seed: v.seed as number, shape, onCase: (id, i) => process.stderr.write(`phantom ${i + 1}/${n}: ${id}\n`) }),
  );
  console.log(`wrote ${ids.length} BRATS-layout cases to ${out}`);
  return 0;
}
