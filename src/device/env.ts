// The DAWNGRAD_* environment variables, each declared once with what it accepts. The engine reads them
// through envValue() (a bad value is an EnvError naming the variable, never a silent fallback), and the
// command line checks all of them before it does anything (checkEnvironment).
import os from 'node:os';
import path from 'node:path';
import { parseBytes } from './bytes.ts';

export class EnvError extends Error {
  override name = 'EnvError';
}

export interface EnvVar {
  name: string;
  /** What it accepts, in words. */
  accepts: string;
  help: string;
  /** The value, or throws (any error: its message is not shown, `accepts` is). */
  parse: (text: string) => unknown;
}

/** Dawn's backend names (its `backend=` instance flag). */
export const BACKENDS = ['vulkan', 'metal', 'd3d12', 'd3d11', 'opengl', 'opengles', 'null', 'webgpu'] as const;
export const MATMUL_KERNELS = ['subgroup', 'subgroup_wide', 'register', 'workgroup'] as const;

const oneOf =
  <T extends string>(values: readonly T[]) =>
  (t: string): T => {
    if (!(values as readonly string[]).includes(t)) throw new Error('not in the set');
    return t as T;
  };
const nonEmpty = (t: string) => {
  if (!t.trim()) throw new Error('empty');
  return t;
};

export const ENV_VARS: readonly EnvVar[] = [
  {
    name: 'DAWNGRAD_BACKEND',
    accepts: `one of ${BACKENDS.join(', ')}`,
    help: "Dawn's backend (default: Dawn's choice)",
    parse: oneOf(BACKENDS),
  },
  {
    name: 'DAWNGRAD_ADAPTER',
    accepts: 'an adapter name as Dawn lists it',
    help: 'which adapter (an unknown name prints the list)',
    parse: nonEmpty,
  },
  {
    name: 'DAWNGRAD_MEMORY_LIMIT',
    accepts: 'a size such as 6GiB, 512MiB or 1e9',
    help: "most GPU memory the engine may hold (default: the device's)",
    parse: parseBytes,
  },
  {
    name: 'DAWNGRAD_CACHE_MAX',
    accepts: 'a size such as 20GiB',
    help: 'most disk space the slice cache may use (default 20GiB)',
    parse: parseBytes,
  },
  {
    name: 'DAWNGRAD_PLAN',
    accepts: 'one of auto, software, hardware',
    help: 'kernel plan (default auto: software on CPU adapters, hardware on GPUs)',
    parse: oneOf(['auto', 'software', 'hardware']),
  },
  {
    name: 'DAWNGRAD_LIMITS',
    accepts: 'one of adapter, default',
    help: "device limits requested (default adapter: all it has; default: WebGPU's defaults)",
    parse: oneOf(['adapter', 'default']),
  },
  {
    name: 'DAWNGRAD_TUNE',
    accepts: 'one of on, off, force',
    help: 'autotuning of tiled kernels (default on for GPUs, off for CPU adapters; force: re-time, ignore the cache)',
    parse: oneOf(['on', 'off', 'force']),
  },
  {
    name: 'DAWNGRAD_TUNE_CACHE',
    accepts: 'a file name',
    help: 'the tuning cache file (default: a file per adapter under the user cache folder)',
    parse: nonEmpty,
  },
  {
    name: 'DAWNGRAD_MATMUL',
    accepts: `one of ${MATMUL_KERNELS.join(', ')}`,
    help: 'force a matmul kernel family (tests, benchmarks)',
    parse: oneOf(MATMUL_KERNELS),
  },
  {
    name: 'DAWNGRAD_PROFILE',
    accepts: 'one of 0, 1',
    help: '1: per-kernel GPU times of the whole run, printed at the end',
    parse: oneOf(['0', '1']),
  },
  {
    name: 'DAWNGRAD_PROFILE_OUT',
    accepts: 'a file name',
    help: 'where DAWNGRAD_PROFILE=1 writes its Chrome trace',
    parse: nonEmpty,
  },
  {
    name: 'DAWNGRAD_POLL',
    accepts: 'one of spin, sleep',
    help: 'how the engine waits for the GPU (default sleep: back off when idle)',
    parse: oneOf(['spin', 'sleep']),
  },
  {
    name: 'DAWNGRAD_RAW_STDERR',
    accepts: 'one of 0, 1',
    help: "1: the segan command shows Dawn's two native limit warnings (no stderr filter)",
    parse: oneOf(['0', '1']),
  },
  {
    name: 'DAWNGRAD_DAWN_FLAGS',
    accepts: 'Dawn instance flags, space separated (name=value)',
    help: 'extra flags for Dawn (experts)',
    parse: (t) => t.split(' ').filter(Boolean),
  },
];

/** Names the test suite uses for its own settings, and bin/segan.mjs's to its child: never warned about. */
const TEST_ONLY = /^DAWNGRAD_(FUZZ|TEST)_|^DAWNGRAD_(CHILD_OF|STDERR_TTY|STARTED_AT)$/;

/** The parsed value of a DAWNGRAD_* variable, undefined when unset or empty; EnvError when bad. */
export function envValue<T = string>(
  name: string,
  env: Record<string, string | undefined> = process.env,
): T | undefined {
  const v = ENV_VARS.find((x) => x.name === name);
  if (!v) throw new Error(`envValue: ${name} is not a declared DAWNGRAD_* variable`);
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  try {
    return v.parse(text) as T;
  } catch {
    throw new EnvError(`${name} must be ${v.accepts} (got '${text}'); fix or unset it`);
  }
}

/** Every DAWNGRAD_* variable that is set: the bad ones (errors) and the unknown ones (warnings). */
export function checkEnvironment(env: Record<string, string | undefined> = process.env): {
  errors: string[];
  warnings: string[];
} {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const name of Object.keys(env)
    .filter((k) => k.startsWith('DAWNGRAD_'))
    .sort()) {
    if (!ENV_VARS.some((v) => v.name === name)) {
      if (!TEST_ONLY.test(name))
        warnings.push(
          `${name} is not a dawngrad setting and is ignored (known: ${ENV_VARS.map((v) => v.name).join(', ')})`,
        );
      continue;
    }
    try {
      envValue(name, env);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return { errors, warnings };
}

/** The user's cache folder for dawngrad: $XDG_CACHE_HOME/dawngrad, else ~/.cache/dawngrad. */
export function userCacheDir(env: Record<string, string | undefined> = process.env): string {
  const base =
    env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)
      ? env.XDG_CACHE_HOME
      : path.join(env.HOME || os.homedir() || os.tmpdir(), '.cache');
  return path.join(base, 'dawngrad');
}
