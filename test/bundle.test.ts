// The offline bundle (npm run bundle): built, extracted into an empty folder, and run with the
// system's Node out of reach and no network: `segan info --json`, synthetic data, a 2-step
// `segan train` and the quick GPU check. Building it takes about a minute (xz on two cores).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './helpers/spawn.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dawngrad-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tarball = join(dir, 'dawngrad-linux-x64.tar.xz');
const ext = join(dir, 'extracted');

describe('npm run bundle', () => {
  beforeAll(async () => {
    const r = await run('bash', [join(ROOT, 'scripts/bundle.sh'), dir], { cwd: ROOT, timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    mkdirSync(ext, { recursive: true });
    const x = await run('tar', ['-C', ext, '-xJf', tarball], { timeout: 120_000 });
    expect(x.status, x.stderr).toBe(0);
  }, 300_000);

  it(
    'is at most 45 MiB and holds Node, Dawn for linux-x64 ' + 'only, tsx, and no TF.js, jax-js, TypeScript or vitest',
    () => {
      expect(statSync(tarball).size).toBeLessThanOrEqual(45 * 2 ** 20);
      const app = join(ext, 'dawngrad', 'app');
      expect(existsSync(join(ext, 'dawngrad', 'node', 'bin', 'node'))).toBe(true);
      expect(existsSync(join(ext, 'dawngrad', 'lib', 'libvulkan.so.1'))).toBe(true);
      expect(readdirSync(join(app, 'node_modules', 'webgpu', 'dist'))).toEqual(['linux-x64']);
      const mods = readdirSync(join(app, 'node_modules'));
      expect(mods).toEqual(
        expect.arrayContaining(['tsx', 'webgpu', 'nifti-reader-js', 'gl-matrix', 'cli-progress', 'pngjs']),
      );
      for (const no of ['@tensorflow', '@jax-js', 'typescript', 'vitest', 'benny', 'fast-check'])
        expect(mods, no).not.toContain(no);
      expect(existsSync(join(ext, 'dawngrad', 'bin', 'segan'))).toBe(true);
      expect(existsSync(join(ext, 'dawngrad', 'scripts', 'gpu-check.sh'))).toBe(true);
    },
  );

  // Hiding /usr/bin/node and the network needs a mount and a network namespace: root (as CI runs).
  it.runIf(process.getuid?.() === 0)(
    'runs with no system Node and no network (root: unshare -m -n): info, synth, a 2-step train, the quick GPU check',
    async () => {
      const b = join(ext, 'dawngrad');
      const script = [
        'set -e',
        'node_bin=$(command -v node) && mount --bind /dev/null "$node_bin"',
        'if node --version >/dev/null 2>&1; then echo "the system node still runs"; exit 9; fi',
        `'${b}/bin/segan' info --json > '${dir}/info.json'`,
        `'${b}/bin/segan' synth --out '${dir}/data' --cases 3 --shape 48x48x24`,
        `XDG_CACHE_HOME='${dir}/cache' '${b}/bin/segan' train --data '${dir}/data' --runs '${dir}/runs' ` +
          `--run r --width 0.0625 --size 32 --crop 40x40x16 --batch 2 --max-steps 2 --val-cases Synth_003`,
        `'${b}/scripts/gpu-check.sh' --quick '${dir}/gc'`,
      ].join('\n');
      const r = await run('unshare', ['-m', '-n', 'sh', '-c', script], {
        cwd: dir,
        timeout: 300_000,
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: dir },
      });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/stopped after --max-steps 2 at epoch 0, step 2/);
      expect(existsSync(join(dir, 'runs', 'r', 'checkpoints', 'latest.safetensors'))).toBe(true);
      expect(r.stdout).toMatch(/all kernel families correct/);
    },
    300_000,
  );
});
