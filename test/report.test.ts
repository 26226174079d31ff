// report.html from segan eval: one self-contained file (no external URL, nothing fetched), the scores
// table equal to scores.json, the viewer's embedded volumes (gzip + base64) unpacking to the case's
// cropped grid with the predicted and true labels of the scored case.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBytes } from '../src/segan/report.ts';
import { writeSyntheticCases } from '../src/segan/synth-cases.ts';
import { argv } from './helpers/argv.ts';
import { seganIn } from './helpers/trained.ts';

describe('report.html', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dawngrad-report-'));
  const data = path.join(tmp, 'data');
  const segan = seganIn(tmp);
  let html = '';
  let scores: {
    cases: { case: string; regions: Record<string, { dice: number; hd95: number }> }[];
    summary: { region: string; metric: string; mean: number }[];
  };
  beforeAll(async () => {
    await writeSyntheticCases(data, { cases: 4, seed: 31, shape: [44, 40, 20] });
    const t = await segan(argv`train --data ${data} --runs ${path.join(tmp, 'runs')} --run m --width 0.0625 --size 32
      --crop 40x40x16 --batch 4 --val-cases Synth_004 --max-steps 2`);
    expect(t.status, t.stderr).toBe(0);
    const out = path.join(tmp, 'eval');
    const e = await segan(argv`eval --data ${data}
      --checkpoint ${path.join(tmp, 'runs', 'm', 'checkpoints', 'latest.safetensors')} --cases Synth_003,Synth_004
      --report-case Synth_004 --out ${out}`);
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toContain('report.html (open it in a browser; the viewer shows Synth_004)');
    html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    scores = JSON.parse(fs.readFileSync(path.join(out, 'scores.json'), 'utf8'));
  }, 240_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('is self-contained: no external URL in src/href, no fetch, a data: favicon', () => {
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/\bfetch\(|XMLHttpRequest|import\(/);
    expect(html).toContain('<link rel="icon" href="data:,">');
  });

  it(
    "its table holds scores.json's numbers (Dice to 3 " + "decimals, HD95 to 1) and the embedded copy is scores.json's",
    () => {
      const embedded = JSON.parse(
        /<script type="application\/json" id="scores-json">([\s\S]*?)<\/script>/.exec(html)![1],
      );
      expect(embedded.cases).toEqual(scores.cases);
      const table = /<table id="scores">([\s\S]*?)<\/table>/.exec(html)![1];
      for (const c of scores.cases) {
        const row = new RegExp(`<tr><td class="case">${c.case}</td>(.*?)</tr>`).exec(table)![1];
        const cells = [...row.matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1]);
        expect(cells[0]).toBe(c.regions.whole.dice.toFixed(3));
        expect(cells[1]).toBe(c.regions.whole.hd95.toFixed(1));
      }
      const mean = scores.summary.find((s) => s.region === 'whole' && s.metric === 'dice')!.mean;
      expect(table).toContain(`<tr class="sum"><td>mean</td><td>${mean.toFixed(3)}</td>`);
    },
  );

  it('embeds the chosen case: every modality, the truth and the prediction, unpacking to the cropped grid', () => {
    const vol = JSON.parse(/<script type="application\/json" id="volume-json">([\s\S]*?)<\/script>/.exec(html)![1]);
    expect(vol.caseId).toBe('Synth_004');
    const n = vol.shape[0] * vol.shape[1] * vol.shape[2];
    expect(vol.modalities.map((m: { name: string }) => m.name).sort()).toEqual(['flair', 't1', 't1c', 't2']);
    for (const m of vol.modalities) expect(gunzipSync(Buffer.from(m.gz, 'base64')).length).toBe(n);
    const truth = gunzipSync(Buffer.from(vol.truth, 'base64'));
    const pred = gunzipSync(Buffer.from(vol.prediction, 'base64'));
    expect(truth.length).toBe(n);
    expect(pred.length).toBe(n);
    expect([...new Set(truth)].every((l) => [0, 1, 2, 4].includes(l))).toBe(true);
    expect(truth.some((l) => l !== 0)).toBe(true);
  });

  it('toBytes windows non-zero values to 1..255 and keeps zeros', () => {
    const b = toBytes(Float32Array.from([0, 10, 20, 30, 1e6]));
    expect(b[0]).toBe(0);
    expect(Math.min(...b.subarray(1))).toBeGreaterThanOrEqual(1);
    expect(b[4]).toBe(255);
  });
});
