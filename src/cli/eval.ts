// `segan eval`: score a checkpoint in 3-D on cases with ground truth; a table, scores.csv,
// scores.json and report.html. Options arrive parsed and checked (src/cli/commands.ts); what can
// still fail here (a checkpoint, the data, the disk) is one line naming the option and the file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readNifti } from '../data/nifti.ts';
import { reportHtml, type ReportVolume } from '../segan/report.ts';
import { findCases } from '../data/brats.ts';
import { loadCheckpoint, type LoadedCheckpoint } from '../segan/checkpoint.ts';
import { predictCase, scoreCase } from '../segan/infer.ts';
import { scoresCsv, scoresTable, summarize, type CaseScores } from '../segan/metrics.ts';
import { configModalities, configNormalisation } from '../segan/config.ts';
import { ensureWritableDir } from '../segan/output.ts';
import type { Values } from './options.ts';
import { naming } from './command-errors.ts';
import { cacheOf, extentOf, inferenceOf, openFor, withRestoredModel } from './inference-setup.ts';

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
  const extent = await naming('eval', 'data', dataDir, () =>
    extentOf(
      v,
      found.filter((c) => cases.includes(c.id)),
      config,
    ),
  );
  const ds = await openFor('eval', 'data', dataDir, dataDir, {
    cacheDir: cacheOf(v),
    regions: config.model.classes === 1 ? 'whole' : 'all',
    onlyCases: cases,
    valCases: cases,
    allowNoTraining: true,
    ...extent,
    seed: config.seed,
    modalities: configModalities(config),
    normalise: configNormalisation(config),
  });
  return withRestoredModel('eval', ckptFile, ckpt, ds, async (engine, model) => {
    const scores: CaseScores[] = [];
    const how = inferenceOf(v);
    const shown = (v['report-case'] as string | undefined) ?? cases[0];
    let viewer: ReportVolume | null = null;
    for (const id of cases) {
      // 3-D scores in the case's own grid: the labels predict would write, against the full label volume
      const pred = await predictCase(engine, model.S, ds, id, batch, how);
      const truth = ds.putBack(id, ds.caseSlices(id).raw);
      const header = await ds.referenceHeader(id);
      scores.push(
        scoreCase(id, pred.labels, truth, config.model.classes, ds.label3 === 'enhancing', {
          shape: header.shape,
          spacing: header.voxelSize,
        }),
      );
      if (id === shown) {
        const files = Object.entries(found.find((c) => c.id === id)!.files);
        const modalities = await naming('eval', 'data', dataDir, () =>
          Promise.all(
            files.map(async ([name, file]) => ({ name, data: (await readNifti(file!)).data as ArrayLike<number> })),
          ),
        );
        viewer = {
          caseId: id,
          shape: header.shape,
          spacing: header.voxelSize,
          modalities,
          truth,
          prediction: pred.labels,
        };
      }
      process.stderr.write(`evaluated ${id}\n`);
    }
    console.log(scoresTable(scores));
    await naming('eval', 'out', out, () => {
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'scores.csv'), scoresCsv(scores));
      writeFileSync(
        join(out, 'scores.json'),
        JSON.stringify(
          { checkpoint: ckptFile, inference: { extent: v.extent, ...how }, cases: scores, summary: summarize(scores) },
          null,
          2,
        ) + '\n',
      );
      writeFileSync(
        join(out, 'report.html'),
        reportHtml({ title: `SegAN evaluation: ${basename(ckptFile)}`, checkpoint: ckptFile, cases: scores, viewer }),
      );
    });
    console.log(
      `\nwrote ${join(out, 'scores.csv')}, scores.json and ` +
        `report.html (open it in a browser; the viewer shows ${shown})`,
    );
  });
}
