// `segan serve`'s web server (node:http): the page that segments a case in the browser, and the files it
// needs. It serves only
//   /                  the list of cases; /?case=ID that case's page (page.ts)
//   /app.js            the browser build of src/ (build.ts), made once at start
//   /favicon.svg|.ico  the icon
//   /checkpoint        the checkpoint (verified once, here, at start)
//   /data/<path>       files under --data; a path that leads outside it is refused (403)
// and answers everything else 404 (405 for methods other than GET and HEAD).
import { createReadStream, promises as fsp } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { relative, resolve, sep } from 'node:path';
import { readFileSync } from 'node:fs';
import { findCases, type BratsCase } from '../data/brats.ts';
import { configModalities } from '../segan/config.ts';
import { loadCheckpoint } from '../segan/checkpoint.ts';
import type { CaseInference } from '../segan/infer.ts';
import { buildBrowserApp } from './build.ts';
import { casePage, FAVICON_SVG, indexPage } from './page.ts';
import type { PageCase } from './app.ts';

export interface ServeOptions {
  dataDir: string;
  checkpoint: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  inference: CaseInference;
}

export interface RunningServer {
  url: string;
  cases: BratsCase[];
  close(): Promise<void>;
}

export class ServeError extends Error {
  override name = 'ServeError';
}

/** The URL path of a file under the data folder. */
const dataUrl = (root: string, file: string) =>
  '/data/' + relative(root, file).split(sep).map(encodeURIComponent).join('/');

/** Everything is checked (cases, checkpoint, the build, the port) before the server answers anything. */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const root = resolve(o.dataDir);
  const rootReal = await fsp.realpath(root).catch(() => {
    throw new ServeError(`--data ${o.dataDir}: no such folder`);
  });
  const ckpt = loadCheckpoint(o.checkpoint); // one clear error for a missing or corrupt file, before serving
  const modalities = configModalities(ckpt.config);
  const cases = (await findCases(root)).filter((c) => modalities.every((m) => c.files[m]));
  if (cases.length === 0)
    throw new ServeError(
      `--data ${o.dataDir}: no BraTS case with ${modalities.join(', ')} volumes (the ` +
        `checkpoint's modalities; one folder per case, e.g. <case>/<case>_t1ce.nii.gz)`,
    );
  const checkpointBytes = readFileSync(o.checkpoint);
  const app = await buildBrowserApp({ minify: true });

  const pageCase = (c: BratsCase): PageCase => ({
    id: c.id,
    layout: c.layout,
    modalities,
    files: Object.fromEntries(modalities.map((m) => [m, dataUrl(root, c.files[m]!)])),
    seg: c.seg ? dataUrl(root, c.seg) : null,
    checkpoint: '/checkpoint',
    inference: o.inference,
  });

  const send = (res: ServerResponse, status: number, type: string, body: string | Uint8Array) => {
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };
  const text = (res: ServerResponse, status: number, msg: string) =>
    send(res, status, 'text/plain; charset=utf-8', `${msg}\n`);

  async function dataFile(res: ServerResponse, rawPath: string): Promise<void> {
    let rel: string;
    try {
      rel = decodeURIComponent(rawPath);
    } catch {
      return text(res, 400, 'bad URL encoding');
    }
    const file = resolve(root, rel);
    if (rel.includes('\0') || (file !== root && !file.startsWith(root + sep)))
      return text(res, 403, 'outside the data folder');
    let real: string;
    try {
      real = await fsp.realpath(file);
    } catch {
      return text(res, 404, 'no such file');
    }
    if (!real.startsWith(rootReal + sep)) return text(res, 403, 'outside the data folder');
    const st = await fsp.stat(real);
    if (!st.isFile()) return text(res, 404, 'not a file');
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': st.size,
      'cache-control': 'no-store',
    });
    if (res.req.method === 'HEAD') return void res.end();
    createReadStream(real)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'only GET and HEAD');
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    if (path.startsWith('/data/')) return dataFile(res, path.slice('/data/'.length));
    switch (path) {
      case '/': {
        const id = query.get('case');
        if (id === null)
          return send(
            res,
            200,
            'text/html; charset=utf-8',
            indexPage({ checkpoint: o.checkpoint, cases: cases.map((c) => ({ id: c.id, hasSeg: c.seg !== null })) }),
          );
        const c = cases.find((x) => x.id === id);
        if (!c) return text(res, 404, `no case ${id} in ${o.dataDir}`);
        return send(res, 200, 'text/html; charset=utf-8', casePage(pageCase(c), o.checkpoint));
      }
      case '/app.js':
        return send(res, 200, 'text/javascript; charset=utf-8', app);
      case '/favicon.svg':
      case '/favicon.ico':
        return send(res, 200, 'image/svg+xml', FAVICON_SVG);
      case '/checkpoint':
        return send(res, 200, 'application/octet-stream', checkpointBytes);
      default:
        return text(res, 404, 'not found');
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) text(res, 500, (e as Error).message);
      else res.destroy();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(
        new ServeError(
          e.code === 'EADDRINUSE'
            ? `--port ${o.port}: the port is in use on ${o.host}; choose another (--port 0 picks a free one)`
            : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND'
              ? `--host ${o.host}: not an address of this machine`
              : e.code === 'EACCES'
                ? `--port ${o.port}: not allowed to listen there (ports under 1024 need root); choose another`
                : `cannot listen on ${o.host}:${o.port} (${e.message})`,
        ),
      ),
    );
    server.listen(o.port, o.host, () => ok());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}/`,
    cases,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
