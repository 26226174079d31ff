// In a real browser (Debian's Chromium, WebGPU on SwiftShader): `segan eval`'s report.html opened from
// disk, and `segan serve`'s page segmenting a case with this engine on navigator.gpu.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import { readNifti } from '../src/data/nifti.ts';
import { launchChromium, watchPage } from './helpers/browser.ts';
import { ROOT, trainTiny, type Trained } from './helpers/trained.ts';
import { argv } from './helpers/argv.ts';

let t: Trained;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let browser: Browser;
beforeAll(async () => {
  [t, chromium] = await Promise.all([trainTiny('browser', 6), launchChromium()]);
  browser = chromium.browser;
}, 180_000);
afterAll(async () => {
  await chromium?.close();
  t?.remove();
});

/** A canvas's pixels, summed with their positions (changes when any pixel does). */
const canvasHash = (page: Page, id: string): Promise<number> =>
  page.evaluate(`(() => {
    const c = document.getElementById(${JSON.stringify(id)});
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    for (let i = 0; i < d.length; i++) h = (h * 31 + d[i] * (i + 1)) % 2147483647;
    return h;
  })()`) as Promise<number>;

describe('report.html from segan eval, opened from disk', () => {
  let out = '';
  beforeAll(async () => {
    out = path.join(t.tmp, 'eval');
    const r = await t.segan(argv`eval --data ${t.data} --checkpoint ${t.checkpoint} --out ${out}
      --report-case Synth_002`);
    expect(r.status, r.stderr).toBe(0);
  }, 180_000);

  it('shows scores.json in its table, redraws on the sliders and clicks, asks the network for nothing', async () => {
    const page = await browser.newPage();
    const log = watchPage(page);
    const url = `file://${path.join(out, 'report.html')}`;
    await page.goto(url);
    await page.waitForFunction(
      () => (globalThis as unknown as { dawngradReport?: { ready: boolean } }).dawngradReport?.ready,
      { timeout: 60_000 },
    );

    const scores = JSON.parse(fs.readFileSync(path.join(out, 'scores.json'), 'utf8'));
    const rows = await page.$$eval('#scores tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(rows.length).toBe(scores.cases.length + 2); // the cases, then mean and median
    scores.cases.forEach((c: { case: string; regions: Record<string, Record<string, number>> }, i: number) => {
      const want = [c.case];
      for (const r of ['whole', 'core', 'enhancing']) {
        const s = c.regions[r];
        want.push(s.dice.toFixed(3), s.hd95.toFixed(1), s.precision.toFixed(3), s.sensitivity.toFixed(3));
      }
      expect(rows[i]).toEqual(want);
    });
    const mean = (r: string, m: string) =>
      scores.summary.find((s: { region: string; metric: string }) => s.region === r && s.metric === m).mean;
    expect(rows[scores.cases.length][1]).toBe(mean('whole', 'dice').toFixed(3));

    const before = await canvasHash(page, 'axial');
    const max = Number(await page.$eval('#slice-axial', (s) => (s as unknown as { value: string; max: string }).max));
    expect(max).toBeGreaterThan(3);
    await page.$eval('#slice-axial', (s) => {
      (s as unknown as { value: string; max: string }).value = '1';
      s.dispatchEvent(new Event('input'));
    });
    expect(await canvasHash(page, 'axial')).not.toBe(before);
    // clicking the axial plane moves the coronal and sagittal planes to that point
    const coronalBefore = await page.$eval(
      '#slice-coronal',
      (s) => (s as unknown as { value: string; max: string }).value,
    );
    const box = (await (await page.$('#axial'))!.boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.2, box.y + box.height * 0.15);
    expect(await page.$eval('#slice-coronal', (s) => (s as unknown as { value: string; max: string }).value)).not.toBe(
      coronalBefore,
    );
    // the overlay and opacity controls redraw too
    const withPrediction = await canvasHash(page, 'axial');
    await page.select('#overlay', 'none');
    expect(await canvasHash(page, 'axial')).not.toBe(withPrediction);

    expect(log.errors).toEqual([]);
    expect(log.failed).toEqual([]);
    expect(log.requests.filter((u) => u !== url && !u.startsWith('data:'))).toEqual([]);
    await page.close();
  }, 120_000);
});

describe('segan serve: the segmentor runs in the page on navigator.gpu', () => {
  let server: ChildProcess;
  let url = '';
  beforeAll(async () => {
    server = spawn(
      process.execPath,
      [path.join(ROOT, 'bin/segan.mjs'), 'serve', '--data', t.data, '--checkpoint', t.checkpoint, '--port', '0'],
      { env: t.env },
    );
    url = await new Promise<string>((ok, fail) => {
      let out = '';
      let err = '';
      server.stdout!.on('data', (d) => {
        out += String(d);
        const m = /at (http:\/\/\S+)/.exec(out);
        if (m) ok(m[1]);
      });
      server.stderr!.on('data', (d) => (err += String(d)));
      server.on('exit', (code) => fail(new Error(`segan serve exited (${code}): ${err}`)));
    });
  }, 60_000);
  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((ok) => server.on('exit', ok));
      server.kill('SIGINT');
      await exited;
    }
  });

  it("labels equal segan predict's, Dice shown, no console errors or failed requests", async () => {
    const page = await browser.newPage();
    const log = watchPage(page);
    await page.goto(`${url}?case=Synth_001`);
    await page.waitForFunction(
      () => /^(done|error)/.test((globalThis as unknown as { dawngrad: { status: string } }).dawngrad.status),
      { timeout: 120_000 },
    );
    const got = await page.evaluate(() => {
      const d = (
        globalThis as unknown as {
          dawngrad: { status: string; labels: Uint8Array; dice: Record<string, number> | null };
        }
      ).dawngrad;
      return {
        status: d.status,
        labels: Array.from(d.labels ?? []),
        dice: d.dice,
        diceText: (
          globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }
        ).document.getElementById('dice').textContent,
      };
    });
    expect(got.status).toBe('done');

    const file = path.join(t.tmp, 'predict.nii.gz');
    const p = await t.segan(argv`predict --checkpoint ${t.checkpoint} --case ${path.join(t.data, 'Synth_001')}
      --out ${file}`);
    expect(p.status, p.stderr).toBe(0);
    const want = (await readNifti(file)).data;
    expect(got.labels.length).toBe(want.length);
    let same = 0;
    for (let i = 0; i < want.length; i++) if (got.labels[i] === want[i]) same++;
    expect(same / want.length).toBeGreaterThanOrEqual(0.999);

    // the page's Dice is eval's Dice for that case
    const e = await t.segan(argv`eval --data ${t.data} --checkpoint ${t.checkpoint} --cases Synth_001
      --out ${path.join(t.tmp, 'eval-1')}`);
    expect(e.status, e.stderr).toBe(0);
    const scores = JSON.parse(fs.readFileSync(path.join(t.tmp, 'eval-1', 'scores.json'), 'utf8'));
    for (const r of ['whole', 'core', 'enhancing'])
      expect(got.dice![r]).toBeCloseTo(scores.cases[0].regions[r].dice, 2);
    expect(got.diceText).toMatch(/^whole \d\.\d{3} · core \d\.\d{3} · enhancing \d\.\d{3}$/);

    expect(log.errors).toEqual([]);
    expect(log.failed).toEqual([]);
    expect(log.httpErrors).toEqual([]);
    expect(log.requests.some((u) => u.endsWith('/checkpoint'))).toBe(true);
    expect(log.requests.every((u) => u.startsWith(url))).toBe(true);
    await page.close();
  }, 180_000);

  it('the list of cases links to each case', async () => {
    const page = await browser.newPage();
    const log = watchPage(page);
    await page.goto(url);
    const links = await page.$$eval('#cases a', (as) => as.map((a) => a.getAttribute('href')));
    expect(links).toEqual(['/?case=Synth_001', '/?case=Synth_002', '/?case=Synth_003']);
    expect(log.errors).toEqual([]);
    expect(log.httpErrors).toEqual([]);
    await page.close();
  }, 60_000);

  it('a browser without WebGPU gets a readable message and status "error: …"', async () => {
    const page = await browser.newPage();
    await page.evaluateOnNewDocument(() => {
      const nav = (globalThis as unknown as { Navigator: { prototype: object } }).Navigator;
      Object.defineProperty(nav.prototype, 'gpu', { get: () => undefined, configurable: true });
    });
    await page.goto(`${url}?case=Synth_001`);
    await page.waitForFunction(
      () => /^error/.test((globalThis as unknown as { dawngrad: { status: string } }).dawngrad.status),
      { timeout: 60_000 },
    );
    const status = await page.evaluate(
      () => (globalThis as unknown as { dawngrad: { status: string } }).dawngrad.status,
    );
    expect(status).toMatch(/^error: this browser offers no WebGPU/);
    expect(await page.$eval('#status', (s) => s.textContent)).toBe(status);
    await page.close();
  }, 60_000);
});
