// The set-up instructions must work when followed: the by-hand commands printed when no adapter exists
// (src/device/gpu.ts) and by scripts/setup.sh when it is not root, and the entry setup.sh writes as
// root, are run here against sample apt source files. No GPU, no root and no network needed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKPORTS_BY_HAND, SETUP_HINT } from '../src/device/gpu.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const setupSh = readFileSync(join(root, 'scripts/setup.sh'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'dawngrad-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const main = `Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;
const security = `Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;
const updatesOnly = `Types: deb
URIs: http://mirror.example/debian
Suites: bookworm-updates
Components: main
`;
/** debian.sources as Debian's images ship it, and two orders that a careless pattern gets wrong. */
const samples: Record<string, string> = {
  'main, then security (Debian default)': `${main}\n${security}`,
  'security first': `${security}\n${main}`,
  'bookworm-updates alone before the main entry': `${updatesOnly}\n${main}`,
};

const bash = (script: string, env: Record<string, string> = {}) =>
  spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, ...env } });

/** The entry the commands must produce: the main archive's paragraph with only its suites changed. */
function expectBackportsEntry(out: string): void {
  const paragraphs = out.trim().split(/\n\s*\n/);
  expect(paragraphs).toHaveLength(1);
  expect(paragraphs[0]).toBe(main.trim().replace('Suites: bookworm bookworm-updates', 'Suites: bookworm-backports'));
}

describe('adding bookworm-backports', () => {
  for (const [name, sources] of Object.entries(samples)) {
    it(`the printed by-hand commands write one backports entry from the main archive (${name})`, () => {
      const src = join(dir, 'debian.sources');
      const out = join(dir, 'backports.sources');
      writeFileSync(src, sources);
      rmSync(out, { force: true });
      const script = BACKPORTS_BY_HAND.filter((l) => !l.includes('apt-get'))
        .join('\n')
        .replaceAll('/etc/apt/sources.list.d/debian.sources', src)
        .replace('sudo tee /etc/apt/sources.list.d/backports.sources', `tee ${out} >/dev/null`);
      const r = bash(script);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expectBackportsEntry(readFileSync(out, 'utf8'));
    });

    it(`setup.sh as root derives the same entry (${name})`, () => {
      const fn = /^backports_entry\(\) \{\n[\s\S]*?\n\}$/m.exec(setupSh)?.[0];
      expect(fn).toBeDefined();
      const src = join(dir, 'root-debian.sources');
      writeFileSync(src, sources);
      const r = bash(`${fn!.replaceAll('/etc/apt/sources.list.d/debian.sources', src)}\nbackports_entry`);
      expect(r.status).toBe(0);
      expectBackportsEntry(r.stdout);
    });
  }

  it('setup.sh without root prints the same commands as the engine', () => {
    // the not-root block of the adapter step (the browser step has one of its own)
    const block = [...setupSh.matchAll(/if \[ "\$\(id -u\)" != 0 \]; then\n([\s\S]*?)\n\s*exit 1\n/g)]
      .map((m) => m[1])
      .find((b) => b.includes('bookworm-backports'));
    expect(block).toBeDefined();
    const printed = bash(`log() { printf '%s\\n' "$*"; }\npkgs="libvulkan1 mesa-vulkan-drivers"\n${block}`).stdout;
    const commands = printed
      .split('\n')
      .filter((l) => l.startsWith('  '))
      .map((l) => l.slice(2));
    expect(commands).toEqual(BACKPORTS_BY_HAND);
  });

  it('the no-adapter message carries those commands and the setup script', () => {
    for (const line of BACKPORTS_BY_HAND) expect(SETUP_HINT).toContain(`  ${line}`);
    expect(SETUP_HINT).toMatch(/sudo bash scripts\/setup\.sh/);
  });
});

describe('missingDrivers() names what is absent', () => {
  const folder = (name: string, files: string[] = []) => {
    const d = join(dir, name);
    rmSync(d, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', d]);
    for (const f of files) writeFileSync(join(d, f), '{}');
    return d;
  };
  const mesa = (version: string) =>
    `Package: libc6\nVersion: 2.36\n\nPackage: mesa-vulkan-drivers\nStatus: ` +
    `install ok installed\nVersion: ${version}\n`;

  it('an empty machine: the loader and a driver', async () => {
    const { missingDrivers } = await import('../src/device/gpu.ts');
    const m = missingDrivers({
      platform: 'linux',
      env: {},
      libDirs: [folder('lib-empty')],
      icdDirs: [folder('icd-empty')],
      dpkgStatus: null,
    });
    expect(m).toHaveLength(2);
    expect(m[0]).toMatch(/libvulkan\.so\.1 \(Debian package libvulkan1\)/);
    expect(m[1]).toMatch(/lavapipe.*mesa-vulkan-drivers from bookworm-backports/);
  });

  it("bookworm's own Mesa 22 is too old for Dawn; Mesa 25 is enough", async () => {
    const { missingDrivers } = await import('../src/device/gpu.ts');
    const search = {
      platform: 'linux',
      env: {},
      libDirs: [folder('lib', ['libvulkan.so.1'])],
      icdDirs: [folder('icd', ['lvp_icd.x86_64.json'])],
    };
    expect(missingDrivers({ ...search, dpkgStatus: mesa('22.3.6-1+deb12u1') })).toEqual([
      expect.stringMatching(/Mesa 22\.x is rejected by Dawn/),
    ]);
    expect(missingDrivers({ ...search, dpkgStatus: mesa('25.0.7-2~bpo12+1') })).toEqual([]);
  });

  it('driver files named by VK_DRIVER_FILES must exist', async () => {
    const { missingDrivers } = await import('../src/device/gpu.ts');
    const lib = folder('lib2', ['libvulkan.so.1']);
    const real = join(folder('icd2', ['lvp_icd.x86_64.json']), 'lvp_icd.x86_64.json');
    expect(missingDrivers({ platform: 'linux', env: { VK_DRIVER_FILES: real }, libDirs: [lib] })).toEqual([]);
    const m = missingDrivers({
      platform: 'linux',
      env: { VK_DRIVER_FILES: `${real}:/nonexistent/icd.json` },
      libDirs: [lib],
    });
    expect(m).toEqual([
      'the Vulkan driver file that VK_DRIVER_FILES names: /nonexistent/icd.json ' +
        '(unset VK_DRIVER_FILES to use the installed drivers)',
    ]);
  });

  it('other systems are not diagnosed', async () => {
    const { missingDrivers } = await import('../src/device/gpu.ts');
    expect(missingDrivers({ platform: 'darwin', libDirs: [], icdDirs: [] })).toEqual([]);
  });
});
