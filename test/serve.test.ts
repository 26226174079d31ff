// `segan serve`'s server without a browser: what it serves, what it refuses (path traversal, other
// methods, unknown paths), its start-up errors, and the browser build it serves.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/web/serve.ts';
import { buildBrowserApp, shaderTable } from '../src/web/build.ts';
import { trainTiny, type Trained } from './helpers/trained.ts';

/** A raw request: the path goes on the wire exactly as given (no URL normalisation, unlike fetch). */
function rawGet(url: string, rawPath: string, method = 'GET'): Promise<{ status: number; type: string; body: Buffer }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        ok({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', fail);
    req.end();
  });
}

describe('segan serve: the server', () => {
  let t: Trained;
  let server: RunningServer;
  beforeAll(async () => {
    t = await trainTiny('serve', 2);
    fs.writeFileSync(path.join(t.tmp, 'secret.txt'), 'SECRET-CONTENT');
    fs.symlinkSync(path.join(t.tmp, 'secret.txt'), path.join(t.data, 'Synth_001', 'link-out.txt'));
    server = await startServer({
      dataDir: t.data,
      checkpoint: t.checkpoint,
      host: '127.0.0.1',
      port: 0,
      inference: { tta: false, postprocess: null },
    });
  }, 180_000);
  afterAll(async () => {
    await server?.close();
    t?.remove();
  });

  it('lists the cases and serves a case page that names its files and the inference', async () => {
    const index = await rawGet(server.url, '/');
    expect(index.status).toBe(200);
    for (const id of ['Synth_001', 'Synth_002', 'Synth_003'])
      expect(index.body.toString()).toContain(`href="/?case=${id}"`);
    const page = await rawGet(server.url, '/?case=Synth_002');
    expect(page.status).toBe(200);
    const json = JSON.parse(
      /<script type="application\/json" id="dawngrad-case">(.*?)<\/script>/s.exec(page.body.toString())![1],
    );
    expect(json).toMatchObject({
      id: 'Synth_002',
      modalities: ['t1c', 't2', 'flair'],
      checkpoint: '/checkpoint',
      inference: { tta: false, postprocess: null },
    });
    expect(json.files.t1c).toBe('/data/Synth_002/Synth_002_t1ce.nii.gz');
    expect(json.seg).toBe('/data/Synth_002/Synth_002_seg.nii.gz');
    expect((await rawGet(server.url, '/?case=Nobody')).status).toBe(404);
  });

  it('serves the files under --data, the checkpoint, the script and the icon byte for byte', async () => {
    const f = await rawGet(server.url, '/data/Synth_002/Synth_002_t1ce.nii.gz');
    expect(f.status).toBe(200);
    expect(f.body.equals(fs.readFileSync(path.join(t.data, 'Synth_002', 'Synth_002_t1ce.nii.gz')))).toBe(true);
    const c = await rawGet(server.url, '/checkpoint');
    expect(c.body.equals(fs.readFileSync(t.checkpoint))).toBe(true);
    const js = await rawGet(server.url, '/app.js');
    expect([js.status, js.type]).toEqual([200, 'text/javascript; charset=utf-8']);
    for (const icon of ['/favicon.ico', '/favicon.svg'])
      expect((await rawGet(server.url, icon)).type).toBe('image/svg+xml');
  });

  it.each([
    '/data/../secret.txt',
    '/data/../../../../etc/passwd',
    '/data/%2e%2e/secret.txt',
    '/data/..%2fsecret.txt',
    '/data/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/data/Synth_001/../../secret.txt',
    '/data/Synth_001/link-out.txt',
    '/data//etc/passwd',
    '/data/%2fetc%2fpasswd',
  ])('refuses %s (403 or 404, never the file)', async (p) => {
    const r = await rawGet(server.url, p);
    expect([403, 404]).toContain(r.status);
    expect(r.body.toString()).not.toContain('SECRET-CONTENT');
    expect(r.body.toString()).not.toContain('root:x:0');
  });

  it('answers 404 to unknown paths, 400 to bad encodings and 405 to other methods', async () => {
    expect((await rawGet(server.url, '/etc/passwd')).status).toBe(404);
    expect((await rawGet(server.url, '/data/Synth_001/nothing.nii.gz')).status).toBe(404);
    expect((await rawGet(server.url, '/data/Synth_001')).status).toBe(404); // a folder is not a file
    expect((await rawGet(server.url, '/data/%E0%A4%A')).status).toBe(400);
    expect((await rawGet(server.url, '/', 'POST')).status).toBe(405);
    expect((await rawGet(server.url, '/checkpoint', 'DELETE')).status).toBe(405);
  });

  it('start-up problems are one line each, before anything is served', async () => {
    const bad = path.join(t.tmp, 'bad.safetensors');
    fs.writeFileSync(bad, 'not a checkpoint');
    const cases: [string[], RegExp][] = [
      [['--checkpoint', bad], /^segan serve: --checkpoint \S+: the checkpoint is not a valid safetensors file/],
      [['--data', t.tmp + '/runs'], /^segan serve: --data \S+: no BraTS case with t1c, t2, flair volumes/],
      [
        ['--port', String(new URL(server.url).port)],
        /^segan serve: --port \d+: the port is in use on 127\.0\.0\.1; choose another \(--port 0 picks a free one\)$/,
      ],
      [['--port', '70000'], /^segan serve: --port /],
      [['--host', '192.0.2.1'], /^segan serve: --host 192\.0\.2\.1: not an address of this machine$/],
      [['--min-component', '9', '--no-postprocess'], /^segan serve: --min-component only applies with --postprocess/],
    ];
    for (const [over, want] of cases) {
      const args = { data: t.data, checkpoint: t.checkpoint } as Record<string, string>;
      const extra: string[] = [];
      for (let i = 0; i < over.length; i += 2) {
        if (over[i] === '--data' || over[i] === '--checkpoint') args[over[i].slice(2)] = over[i + 1];
        else if (over[i] === '--no-postprocess') extra.push(over[i--]);
        else extra.push(over[i], over[i + 1]);
      }
      const r = await t.segan(['serve', '--data', args.data, '--checkpoint', args.checkpoint, ...extra], 60_000);
      expect(r.status, `${over.join(' ')}: ${r.stderr}`).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines.length, r.stderr).toBe(1);
      expect(lines[0]).toMatch(want);
      expect(r.stdout).not.toContain('serving');
    }
  }, 180_000);
});

describe('the browser build', () => {
  it('bundles src/ for the browser: no Dawn, every shader inlined, Node built-ins only as stubs', async () => {
    const js = await buildBrowserApp();
    expect(js).not.toMatch(/from\s*["']webgpu["']|require\(["']webgpu["']\)/);
    expect(js).not.toMatch(/from\s*["']node:/);
    const shaders = shaderTable();
    expect(Object.keys(shaders).length).toBeGreaterThan(20);
    for (const [name, text] of Object.entries(shaders)) {
      // a line of each shader, as it stands in the bundle's string (ASCII, no quotes or backslashes)
      const line = text.split('\n').find((l) => l.trim().length > 16 && /^[\x20-\x7e]+$/.test(l) && !/["'\\`]/.test(l));
      expect(line, `${name} has no plain line to look for`).toBeDefined();
      expect(js.includes(line!), `${name}: ${line}`).toBe(true);
    }
    expect(js).toContain('navigator');
    expect(js).toContain('is not available in the browser');
  }, 60_000);
});
