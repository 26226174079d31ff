// Opening Dawn: instance, adapter, device, limits and features.
// This is the lowest layer; it knows nothing about tensors or kernels.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { installPolling } from './poll.ts';
import { envValue } from './env.ts';
import { describeDevice, deviceRequest, type DeviceOptions, type OpenDevice } from './report.ts';

export { LIMIT_NAMES, OPTIONAL_FEATURES, type AdapterReport, type DeviceOptions, type OpenDevice } from './report.ts';

/**
 * The by-hand commands that add bookworm-backports and install lavapipe (printed by SETUP_HINT and by
 * scripts/setup.sh when it is not root): the first paragraph of debian.sources whose suites include
 * plain `bookworm`, with its suites replaced.
 */
export const BACKPORTS_BY_HAND = [
  "perl -00 -ne 'print, exit if /^Suites:(.*\\s)?bookworm(\\s|$)/m " +
    "&& !/security/' /etc/apt/sources.list.d/debian.sources \\",
  "  | sed 's/^Suites:.*/Suites: bookworm-backports/' | sudo tee /etc/apt/sources.list.d/backports.sources",
  'sudo apt-get update && sudo apt-get install -y -t bookworm-backports libvulkan1 mesa-vulkan-drivers',
];

/**
 * What to run when no adapter exists. The by-hand lines derive bookworm-backports from this machine's
 * own deb822 entry for the main archive (same URI and key; the security entry is left out: there is
 * no debian-security bookworm-backports), as scripts/setup.sh does as root; test/setup.test.ts runs
 * them against sample source files.
 */
export const SETUP_HINT =
  'No WebGPU adapter could be created. On Debian bookworm without a GPU, Dawn needs the Vulkan loader and\n' +
  "Mesa's lavapipe from bookworm-backports (Mesa 25; bookworm's own 22.3 is rejected by Dawn).\n" +
  'Run `sudo bash scripts/setup.sh` (it adds bookworm-backports and installs them), or by hand:\n' +
  BACKPORTS_BY_HAND.map((l) => `  ${l}`).join('\n');

export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
}

let globalsInstalled = false;

/**
 * One Dawn instance per set of flags for the whole process, kept: engines come and go, instances do
 * not. With an instance per engine, a closed engine's instance was collected while another engine
 * waited on its queue, and that wait sometimes never ended (a test worker hung in engine.close()).
 */
const instances = new Map<string, GPU>();

export async function openDevice(opts: DeviceOptions = {}): Promise<OpenDevice> {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp'; // silences Mesa warnings
  if (!globalsInstalled) {
    // GPUBufferUsage, GPUMapMode, ... as globals, as in a browser.
    for (const [k, v] of Object.entries(globals as Record<string, unknown>)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
    globalsInstalled = true;
  }
  installPolling();
  const backend = opts.backend ?? envValue<string>('DAWNGRAD_BACKEND');
  const adapterName = opts.adapter ?? envValue<string>('DAWNGRAD_ADAPTER');
  const flags: string[] = [];
  if (backend) flags.push(`backend=${backend}`);
  if (adapterName) flags.push(`adapter=${adapterName}`);
  flags.push(...(envValue<string[]>('DAWNGRAD_DAWN_FLAGS') ?? []));
  let gpu: GPU | null;
  let adapter: GPUAdapter | null = null;
  const problems: string[] = [];
  const capture = captureStderr();
  try {
    const key = flags.join(' ');
    gpu = instances.get(key) ?? create(flags);
    instances.set(key, gpu);
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference });
  } catch (e) {
    problems.push(String((e as Error)?.message ?? e));
    gpu = null;
  } finally {
    problems.push(...capture.stop());
  }
  if (!adapter) {
    gpu = null;
    const what = [backend && `backend '${backend}'`, adapterName && `adapter '${adapterName}'`]
      .filter(Boolean)
      .join(', ');
    const detail = problems
      .filter((p) => p.trim())
      .join('\n')
      .trim();
    const missing = missingDrivers();
    throw new NoAdapterError(
      `dawngrad: no WebGPU adapter${what ? ` for ${what}` : ''}.` +
        (detail ? `\nDawn said:\n${indent(detail)}` : '') +
        (missing.length ? `\nMissing on this machine:\n${missing.map((m) => `  - ${m}`).join('\n')}` : '') +
        (adapterName || backend ? `\nCheck DAWNGRAD_BACKEND / DAWNGRAD_ADAPTER; unset them to let Dawn choose.` : '') +
        (missing.length || !(adapterName || backend) ? `\n${SETUP_HINT}` : ''),
    );
  }
  const limitsWanted = opts.limits ?? envValue<'adapter' | 'default'>('DAWNGRAD_LIMITS') ?? 'adapter';
  const device = await adapter.requestDevice(deviceRequest(adapter, limitsWanted));
  const report = describeDevice(adapter, device, backend ?? guessBackend(adapter.info?.description ?? ''));
  return { gpu, adapter, device, report };
}

/** Where missingDrivers() looks; tests point it at folders of their own. */
export interface DriverSearch {
  platform?: string;
  env?: Record<string, string | undefined>;
  libDirs?: string[];
  icdDirs?: string[];
  /** Text of dpkg's status file (null: not a dpkg system). */
  dpkgStatus?: string | null;
}

/** Which parts of the Vulkan stack are absent (Linux): the loader and an installable driver (ICD). */
export function missingDrivers(search: DriverSearch = {}): string[] {
  if ((search.platform ?? process.platform) !== 'linux') return [];
  const env = search.env ?? process.env;
  const missing: string[] = [];
  const libDirs = search.libDirs ?? [
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/lib',
  ];
  if (!libDirs.some((d) => existsSync(`${d}/libvulkan.so.1`)))
    missing.push('the Vulkan loader libvulkan.so.1 (Debian package libvulkan1)');
  // The user may point the loader at specific drivers: then those files must exist.
  const pinned = env.VK_DRIVER_FILES ? 'VK_DRIVER_FILES' : env.VK_ICD_FILENAMES ? 'VK_ICD_FILENAMES' : null;
  if (pinned) {
    const absent = env[pinned]!.split(':').filter((f) => f && !existsSync(f));
    if (absent.length)
      missing.push(
        `the Vulkan driver file${absent.length > 1 ? 's' : ''} that ${pinned} ` +
          `names: ${absent.join(', ')} (unset ${pinned} to use the installed drivers)`,
      );
    return missing;
  }
  const icdDirs = search.icdDirs ?? ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  const icds = icdDirs.flatMap((d) => {
    try {
      return readdirSync(d).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
  });
  if (icds.length === 0)
    missing.push(
      "a Vulkan driver: Mesa's lavapipe, lvp_icd.*.json (Debian package mesa-vulkan-drivers from bookworm-backports)",
    );
  else if (
    icds.every((f) => f.startsWith('lvp')) &&
    mesaTooOld(search.dpkgStatus === undefined ? readDpkgStatus() : search.dpkgStatus)
  ) {
    missing.push(
      'a recent enough lavapipe: Mesa 22.x is rejected by Dawn; ' +
        'install mesa-vulkan-drivers from bookworm-backports (Mesa 25)',
    );
  }
  return missing;
}

function readDpkgStatus(): string | null {
  try {
    return readFileSync('/var/lib/dpkg/status', 'utf8');
  } catch {
    return null;
  }
}

function mesaTooOld(status: string | null): boolean {
  const m = status && /Package: mesa-vulkan-drivers\n(?:.+\n)*?Version: (\d+)\./.exec(status);
  return !!m && Number(m[1]) < 23;
}

function guessBackend(description: string): string {
  if (/mesa|vulkan|llvmpipe|nvidia|radv|anv/i.test(description)) return 'vulkan';
  if (process.platform === 'darwin') return 'metal';
  if (process.platform === 'win32') return 'd3d12';
  return 'vulkan';
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

/** Dawn prints adapter problems (missing libvulkan, ...) to stderr; capture them for the error. */
function captureStderr(): { stop(): string[] } {
  const lines: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  const origWarn = console.warn;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  console.warn = (...a: unknown[]) => lines.push(a.join(' '));
  return {
    stop() {
      process.stderr.write = orig;
      console.warn = origWarn;
      return lines;
    },
  };
}
