// BRATS-style evaluation: per case, in 3-D, Dice, precision, sensitivity and the 95 % Hausdorff
// distance (mm; src/segan/distance.ts) of the whole tumour, tumour core and enhancing tumour; mean, sd
// and median over cases; a table, CSV and JSON. Empty regions follow BraTS: both empty → Dice 1,
// HD95 0; exactly one empty → Dice 0, HD95 373.13.
import { REGIONS, regionMasks, type Region } from '../data/regions.ts';

export { REGIONS, type Region };

export interface RegionScores {
  dice: number;
  precision: number;
  sensitivity: number;
  /** 95 % Hausdorff distance in mm (present when the voxel spacing was known). */
  hd95?: number;
}

export const METRICS = ['dice', 'precision', 'sensitivity', 'hd95'] as const;
export type Metric = (typeof METRICS)[number];

export interface CaseScores {
  case: string;
  regions: Partial<Record<Region, RegionScores>>;
}

/** Scores of a binary prediction against a binary truth (both 0/1 per voxel). */
export function scoreMasks(pred: Uint8Array, truth: Uint8Array): RegionScores {
  let tp = 0;
  let p = 0;
  let g = 0;
  for (let i = 0; i < pred.length; i++) {
    const a = pred[i] ? 1 : 0;
    const b = truth[i] ? 1 : 0;
    tp += a & b;
    p += a;
    g += b;
  }
  // Empty truth and empty prediction: a perfect score (the BRATS convention for empty regions).
  return {
    dice: p + g === 0 ? 1 : (2 * tp) / (p + g),
    precision: p === 0 ? (g === 0 ? 1 : 0) : tp / p,
    sensitivity: g === 0 ? (p === 0 ? 1 : 0) : tp / g,
  };
}

/** Region mask from BRATS labels (label 3 counted as enhancing when `label3Enhancing`; data/regions.ts). */
export function regionFromLabels(labels: Uint8Array, region: Region, label3Enhancing = false): Uint8Array {
  return regionMasks(labels, region, { label3: label3Enhancing ? 'enhancing' : 'core' })[0];
}

/**
 * BRATS labels from region probabilities [K, V] (K = 1: whole only → label 2; K = 3: nested
 * regions: enhancing → 4, else core → 1, else whole → 2), thresholded at 0.5.
 */
export function labelsFromProbabilities(prob: Float32Array, classes: number, voxels: number): Uint8Array {
  const out = new Uint8Array(voxels);
  for (let v = 0; v < voxels; v++) {
    const w = prob[v] > 0.5;
    if (classes === 1) {
      out[v] = w ? 2 : 0;
      continue;
    }
    const c = prob[voxels + v] > 0.5;
    const e = prob[2 * voxels + v] > 0.5;
    out[v] = e ? 4 : c ? 1 : w ? 2 : 0;
  }
  return out;
}

export interface Summary {
  region: Region;
  metric: Metric;
  mean: number;
  /** Population standard deviation over the cases. */
  sd: number;
  median: number;
}

export function summarize(cases: CaseScores[]): Summary[] {
  const out: Summary[] = [];
  for (const region of REGIONS) {
    for (const metric of METRICS) {
      const v = cases.map((c) => c.regions[region]?.[metric]).filter((x): x is number => x !== undefined);
      if (!v.length) continue;
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      const sorted = [...v].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
      out.push({ region, metric, mean, sd, median });
    }
  }
  return out;
}

export function scoresTable(cases: CaseScores[]): string {
  const regions = REGIONS.filter((r) => cases.some((c) => c.regions[r]));
  const metrics = METRICS.filter(
    (m) => m !== 'hd95' || cases.some((c) => regions.some((r) => c.regions[r]?.hd95 !== undefined)),
  );
  const label: Record<Metric, string> = { dice: 'Dice', precision: 'prec', sensitivity: 'sens', hd95: 'HD95' };
  const fmt = (m: Metric, v: number) => (m === 'hd95' ? v.toFixed(1) : v.toFixed(3));
  const head = ['case', ...regions.flatMap((r) => metrics.map((m) => `${r} ${label[m]}`))];
  const rows = cases.map((c) => [
    c.case,
    ...regions.flatMap((r) =>
      metrics.map((m) => {
        const v = c.regions[r]?.[m];
        return v === undefined ? '-' : fmt(m, v);
      }),
    ),
  ]);
  const sums = summarize(cases);
  rows.push([
    'mean ± sd',
    ...regions.flatMap((r) =>
      metrics.map((m) => {
        const s = sums.find((x) => x.region === r && x.metric === m);
        return s ? `${fmt(m, s.mean)}±${fmt(m, s.sd)}` : '-';
      }),
    ),
  ]);
  rows.push([
    'median',
    ...regions.flatMap((r) =>
      metrics.map((m) => {
        const s = sums.find((x) => x.region === r && x.metric === m);
        return s ? fmt(m, s.median) : '-';
      }),
    ),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** One row per (case, region): dice, precision, sensitivity, hd95 (empty when unknown). */
export function scoresCsv(cases: CaseScores[]): string {
  const lines = ['case,region,dice,precision,sensitivity,hd95'];
  for (const c of cases)
    for (const r of REGIONS) {
      const s = c.regions[r];
      if (s) lines.push(`${c.case},${r},${s.dice},${s.precision},${s.sensitivity},${s.hd95 ?? ''}`);
    }
  return lines.join('\n') + '\n';
}
