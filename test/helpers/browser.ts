// Debian's Chromium, headless, driven by puppeteer-core, with WebGPU on SwiftShader
// (--enable-unsafe-webgpu). `npm test` installs it (scripts/setup.sh --browser); a missing browser
// fails the test with that instruction: browser tests never skip.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.PUPPETEER_EXECUTABLE_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: run 'sudo bash scripts/setup.sh --browser' ` +
        `(installs Debian's chromium) or set PUPPETEER_EXECUTABLE_PATH`,
    );
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dawngrad-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: [
      '--no-sandbox', // tests run as root in CI
      '--enable-unsafe-webgpu',
      '--disable-background-networking', // this machine's network is closed: no update or sync checks
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Everything a page said and asked for: console errors, page errors, requests, failures, HTTP errors. */
export interface PageLog {
  errors: string[];
  requests: string[];
  failed: string[];
  httpErrors: string[];
}

export function watchPage(page: Page): PageLog {
  const log: PageLog = { errors: [], requests: [], failed: [], httpErrors: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(m.text());
  });
  page.on('pageerror', (e) => log.errors.push(String((e as Error).message ?? e)));
  page.on('request', (r) => log.requests.push(r.url()));
  page.on('requestfailed', (r) => log.failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) log.httpErrors.push(`${r.status()} ${r.url()}`);
  });
  return log;
}
