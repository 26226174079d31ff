// The pictures in docs/images: `segan eval`'s report.html and `segan serve`'s page after it segmented a
// case in the browser, both in Debian's Chromium (WebGPU on SwiftShader). Run:
//   npx tsx scripts/screenshots.ts --data DIR --checkpoint FILE --case ID [--out docs/images]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer from 'puppeteer-core';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    checkpoint: { type: 'string' },
    case: { type: 'string' },
    out: { type: 'string', default: 'docs/images' },
  },
});
if (!values.data || !values.checkpoint || !values.case) {
  console.error('usage: npx tsx scripts/screenshots.ts --data DIR --checkpoint FILE --case ID [--out docs/images]');
  process.exit(2);
}
const segan = path.resolve('bin/segan.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dawngrad-shots-'));
fs.mkdirSync(values.out!, { recursive: true });

const ev = spawnSync(
  process.execPath,
  [segan, 'eval', '--data', values.data, '--checkpoint', values.checkpoint, '--cases', values.case, '--out', tmp],
  { stdio: 'inherit' },
);
if (ev.status !== 0) process.exit(1);

const server = spawn(process.execPath, [
  segan,
  'serve',
  '--data',
  values.data,
  '--checkpoint',
  values.checkpoint,
  '--port',
  '0',
]);
const url = await new Promise<string>((ok) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += String(d);
    const m = /at (http:\/\/\S+)/.exec(out);
    if (m) ok(m[1]);
  });
});
const browser = await puppeteer.launch({
  executablePath: process.env.PUPPETEER_EXECUTABLE_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--enable-unsafe-webgpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
  defaultViewport: { width: 1400, height: 900 },
});
try {
  const report = await browser.newPage();
  await report.goto(`file://${path.join(tmp, 'report.html')}`);
  await report.waitForFunction('window.dawngradReport && window.dawngradReport.ready', { timeout: 120_000 });
  await report.screenshot({ path: path.join(values.out!, 'report.png'), fullPage: true });
  const page = await browser.newPage();
  await page.goto(`${url}?case=${encodeURIComponent(values.case)}`);
  await page.waitForFunction('/^(done|error)/.test(window.dawngrad.status)', { timeout: 600_000 });
  console.log(
    await page.evaluate(
      'JSON.stringify({ status: dawngrad.status, dice: dawngrad.dice, ' +
        'seconds: dawngrad.seconds, adapter: dawngrad.adapter })',
    ),
  );
  await page.screenshot({ path: path.join(values.out!, 'serve.png'), fullPage: true });
  console.log(`wrote ${path.join(values.out!, 'report.png')} and serve.png`);
} finally {
  await browser.close();
  server.kill('SIGINT');
  fs.rmSync(tmp, { recursive: true, force: true });
}
