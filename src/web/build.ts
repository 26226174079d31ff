// The browser build of the engine and the segmentor: one ES module made by esbuild from src/web/app.ts.
// Only the device layer and file access differ from Node, by putting a browser twin in place of four
// files:
//   device/gpu.ts            → device/gpu-browser.ts        navigator.gpu instead of Dawn
//   device/poll.ts           → device/poll-browser.ts       no event pump to manage
//   data/nifti-bytes.ts      → data/nifti-bytes-browser.ts  fetched bytes and DecompressionStream
//   runtime/shader-files.ts  → a generated module          every shaders/**/*.wgsl inlined
// Node built-ins that the bundle's modules import but the page never calls become stubs that throw
// when called (node:os keeps endianness, which NIfTI reading asks at load).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import { build, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = join(ROOT, 'src');
const SHADERS = join(ROOT, 'shaders');

/** src-relative file → its browser twin (src-relative), or 'shaders' for the generated module. */
export const BROWSER_TWINS: Record<string, string> = {
  'device/gpu.ts': 'device/gpu-browser.ts',
  'device/poll.ts': 'device/poll-browser.ts',
  'data/nifti-bytes.ts': 'data/nifti-bytes-browser.ts',
  'runtime/shader-files.ts': 'shaders',
};

/** Every shader, path without .wgsl → text. */
export function shaderTable(dir = SHADERS, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, shaderTable(join(dir, e.name), rel));
    else if (e.name.endsWith('.wgsl')) out[rel.slice(0, -5)] = readFileSync(join(dir, e.name), 'utf8');
  }
  return out;
}

const STUB = (name: string, value: string) =>
  `(() => { throw new Error('${name}.' + ${value} + ' is not available in the browser'); })`;

/** A module standing in for a Node built-in: every named import resolves, and throws when called. */
function builtinStub(spec: string, names: string[]): string {
  const special: Record<string, string> = spec === 'node:os' ? { endianness: "() => 'LE'" } : {};
  const lines = names.map((n) => `export const ${n} = ${special[n] ?? STUB(spec, JSON.stringify(n))};`);
  const all = [...new Set([...names, ...Object.keys(special)])];
  lines.push(
    `export default { ${all.map((n) => `${n}: ${special[n] ?? STUB(spec, JSON.stringify(n))}`).join(', ')} };`,
  );
  return lines.join('\n');
}

/** The names a source file imports from each node: built-in (named imports and `x.name` on a default import). */
function builtinUses(files: string[]): Map<string, Set<string>> {
  const uses = new Map<string, Set<string>>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/import\s+(?:(\w+)\s*,?\s*)?(?:\{([^}]*)\})?\s*from\s*'(node:[\w/]+)'/g)) {
      const set = uses.get(m[3]) ?? new Set<string>();
      uses.set(m[3], set);
      for (const n of (m[2] ?? '').split(',')) {
        const name = n
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0];
        if (name && !n.trim().startsWith('type ')) set.add(name);
      }
      if (m[1]) for (const p of text.matchAll(new RegExp(`\\b${m[1]}\\.(\\w+)`, 'g'))) set.add(p[1]);
    }
  }
  return uses;
}

function srcFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? srcFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function browserPlugin(): Plugin {
  const uses = builtinUses(srcFiles());
  return {
    name: 'dawngrad-browser',
    setup(b) {
      b.onResolve({ filter: /\.ts$/ }, (args) => {
        if (!args.importer) return undefined;
        const target = relative(SRC, join(args.resolveDir, args.path)).split('\\').join('/');
        const twin = BROWSER_TWINS[target];
        if (!twin) return undefined;
        return twin === 'shaders' ? { path: 'shaders', namespace: 'dawngrad-shaders' } : { path: join(SRC, twin) };
      });
      b.onLoad({ filter: /.*/, namespace: 'dawngrad-shaders' }, () => ({
        contents: `const SHADERS = ${JSON.stringify(shaderTable())};
export function readShaderFile(path) {
  const s = SHADERS[path];
  if (s === undefined) throw new Error('shaders/' + path + '.wgsl is not in the browser build');
  return s;
}`,
        loader: 'js',
      }));
      b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }));
      b.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({
        contents: builtinStub(args.path, [...(uses.get(args.path) ?? [])]),
        loader: 'js',
      }));
    },
  };
}

/** The page's script: src/web/app.ts and everything it imports, as one ES module (about 1 MB). */
export async function buildBrowserApp(opts: { minify?: boolean } = {}): Promise<string> {
  const r = await build({
    entryPoints: [join(SRC, 'web/app.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: opts.minify ?? false,
    sourcemap: false,
    inject: [join(SRC, 'web/browser-globals.ts')],
    plugins: [browserPlugin()],
    logLevel: 'silent',
    legalComments: 'none',
  });
  return r.outputFiles[0].text;
}
