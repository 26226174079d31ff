// What a training run shows of itself between steps: 3-D validation with segan eval's scoring and
// overlay PNGs of validation slices (src/segan/train.ts calls them; the loss plot is training-log.ts's).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset-types.ts';
import { overlayPng } from '../io/png.ts';
import type { Engine } from '../tensor/engine.ts';
import { predictSlices, scoreCase } from './infer.ts';
import { REGIONS, type CaseScores } from './metrics.ts';
import { writingTo } from './output.ts';
import type { SeganModel } from './model.ts';

/**
 * 3-D validation with `segan eval`'s code: every validation case (or the first `maxCases`) predicted
 * slice by slice, put back into its own grid and scored per region (Dice, HD95 with the header's
 * spacing); the means over the cases, and each case's predicted crop labels (for the overlays).
 */
export async function validateVolumes(
  engine: Engine,
  model: SeganModel,
  ds: Dataset,
  batch: number,
  classes: number,
  maxCases = Infinity,
): Promise<{ dice: number[]; hd95: number[]; cases: number; labels: Map<string, Uint8Array> }> {
  const regions = classes === 1 ? (['whole'] as const) : REGIONS;
  const ids = ds.valCases.slice(0, maxCases);
  const scores: CaseScores[] = [];
  const labels = new Map<string, Uint8Array>();
  for (const id of ids) {
    const cs = ds.caseSlices(id);
    const predicted = (await predictSlices(engine, model.S, cs, batch)).labels;
    labels.set(id, predicted);
    const header = await ds.referenceHeader(id);
    scores.push(
      scoreCase(id, ds.putBack(id, predicted), ds.putBack(id, cs.raw), classes, ds.label3 === 'enhancing', {
        shape: header.shape,
        spacing: header.voxelSize,
      }),
    );
  }
  const mean = (f: (c: CaseScores) => number) =>
    scores.length ? scores.reduce((a, c) => a + f(c), 0) / scores.length : 0;
  return {
    dice: regions.map((r) => mean((c) => c.regions[r]!.dice)),
    hd95: regions.map((r) => mean((c) => c.regions[r]!.hd95 ?? 0)),
    cases: scores.length,
    labels,
  };
}

/** Overlay PNGs of predictions vs ground truth on the validation slices with the most tumour. */
export async function writeOverlays(
  engine: Engine,
  model: SeganModel,
  ds: Dataset,
  runDir: string,
  epoch: number,
  batch: number,
  predicted: Map<string, Uint8Array>,
  count = 2,
): Promise<void> {
  for (const caseId of ds.valCases.slice(0, count)) {
    const cs = ds.caseSlices(caseId);
    const labels = predicted.get(caseId) ?? (await predictSlices(engine, model.S, cs, batch)).labels;
    const { Z, M, S } = cs.shape;
    const plane = S * S;
    let best = 0;
    let bestCount = -1;
    for (let z = 0; z < Z; z++) {
      let c = 0;
      for (let i = 0; i < plane; i++) c += cs.raw[z * plane + i] ? 1 : 0;
      if (c > bestCount) {
        bestCount = c;
        best = z;
      }
    }
    // the last modality (FLAIR by default) shows the tumour best
    const img = cs.image.subarray((best * M + (M - 1)) * plane, (best * M + M) * plane);
    const png = overlayPng(
      img,
      cs.raw.subarray(best * plane, (best + 1) * plane),
      labels.subarray(best * plane, (best + 1) * plane),
      S,
      S,
    );
    const dir = join(runDir, 'overlays');
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    const file = join(dir, `epoch-${String(epoch).padStart(3, '0')}-${caseId}-z${best}.png`);
    writingTo(file, () => writeFileSync(file, png));
  }
}
