// Faults of the machine around a training run: an output folder that cannot be written, a full disk,
// a lost GPU device, GPU memory running out. Each must give a clear message when it happens (or
// before), never a hang, and leave the last complete checkpoint loadable.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from './helpers/spawn.ts';
import { createEngine, GpuError, GpuOutOfMemoryError } from '../src/index.ts';
import { loadCheckpoint } from '../src/segan/checkpoint.ts';
import { checkpointBytes, ensureFreeSpace, OutputError } from '../src/segan/output.ts';
import { train } from '../src/segan/train.ts';
import { SeganModel } from '../src/segan/model.ts';
import { useEngine } from './helpers/engine.ts';
import { argv } from './helpers/argv.ts';
import { syntheticCases, tinyConfig } from './helpers/training.ts';

const engine = useEngine();
const root = fileURLToPath(new URL('..', import.meta.url));
const { dir, data } = syntheticCases('env', 3, 5);

const config = tinyConfig({ epochs: 3, classes: 1, seed: 9 });
const base = {
  dataDir: data,
  cacheDir: join(dir, 'cache'),
  valCases: ['Synth_003'],
  logEvery: 2,
  checkpointEvery: 4,
  maxValCases: 1,
};

/** The CLI in a child process, awaited (a long spawnSync starves vitest's worker RPC). */
const segan = (args: string[], opts: { uid?: number; env?: Record<string, string> } = {}) =>
  run(process.execPath, [join(root, 'bin/segan.mjs'), ...args], {
    cwd: root,
    timeout: 120_000,
    env: { ...process.env, ...opts.env },
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
const smallRun = argv`--data ${data} --width 0.0625 --size 32 --crop 40x40x16 --classes 1 --batch 4 --epochs 1
  --val-cases Synth_003 --cache ${join(dir, 'cache')}`;

/** A finished 4-step run with checkpoints at step 4, to resume from. */
async function checkpointedRun(name: string): Promise<string> {
  const r = await train(engine(), { ...base, runDir: join(dir, name), config, maxSteps: 4 });
  expect(r.lastCheckpoint).toMatch(/step-0000004\.safetensors$/);
  return r.lastCheckpoint!;
}

describe('an output folder that cannot be written', () => {
  it('a run folder under a file fails at once, before the data is read, and creates nothing', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const t0 = Date.now();
    await expect(
      train(engine(), { ...base, dataDir: join(dir, 'no-such-data'), runDir: join(file, 'run'), config }),
    ).rejects.toThrow(
      new RegExp(
        `the run folder ${file}/run cannot be created: ${file} is a file, not a folder\\. Choose another folder`,
      ),
    );
    const r = await segan(['train', ...smallRun, '--runs', file, '--run', 'x']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^segan train: --runs\/--run: the run folder .*a-file\/x cannot be created: .*a-file is a file, not a folder/,
    );
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it(
    'a folder without write permission fails at once with ' +
      'EACCES (run as an unprivileged user when testing as root)',
    async () => {
      const locked = join(dir, 'locked');
      mkdirSync(locked);
      chmodSync(locked, 0o555);
      chmodSync(dir, 0o755); // mkdtemp makes 0700: the unprivileged user must reach `locked`
      const asRoot = process.getuid?.() === 0;
      // root ignores permissions, so the CLI runs as `nobody`; that needs the checkout to be readable
      const uid = asRoot ? 65534 : undefined;
      if (asRoot && (await segan(['help'], { uid })).status !== 0) {
        // CI must run the case: there a checkout nobody cannot read is a set-up error, not a reason to pass
        if (process.env.CI === 'true')
          throw new Error(
            'user nobody (65534) cannot run the CLI from this checkout: make the checkout ' +
              'world-readable (chmod -R o+rX) so the EACCES case can run as an unprivileged user',
          );
        console.warn('skipped the EACCES case: user nobody (65534) cannot run the CLI from this checkout');
        return;
      }
      const r = await segan(['train', ...smallRun, '--runs', locked, '--run', 'x'], { uid });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          /^segan train: --runs\/--run: the run folder .*locked\/x cannot be created: /.source +
            /.*locked is not writable \(permission denied, EACCES\)\. Choose another folder /.source +
            /\(--runs \/ --run\) or fix its permissions\./.source,
        ),
      );
      expect(readdirSync(locked)).toEqual([]);
    },
  );
});

describe('a full disk', () => {
  it('is checked before every checkpoint: too little free space stops the run with the sizes', () => {
    const MiB = 2 ** 20;
    expect(() => ensureFreeSpace('/runs/a', 30 * MiB, 'checkpoint step 8', () => 10 * MiB)).toThrow(
      new RegExp(
        /not enough free space for checkpoint step 8 in \/runs\/a: 10\.0 MiB free, about /.source +
          /46 MiB needed\. Free some space or choose another folder \(--runs\)\./.source,
      ),
    );
    expect(() => ensureFreeSpace('/runs/a', 30 * MiB, 'checkpoint step 8', () => 100 * MiB)).not.toThrow();
    expect(() =>
      ensureFreeSpace('/runs/a', 30 * MiB, 'x', () => {
        throw new Error('statfs unsupported');
      }),
    ).not.toThrow();
  });

  it("the checkpoint size estimate matches the checkpoint's real size", async () => {
    const ck = await checkpointedRun('size');
    const model = new SeganModel(engine(), config);
    const estimate = checkpointBytes(model, config);
    model.dispose();
    const real = readFileSync(ck).length;
    expect(estimate).toBeGreaterThanOrEqual(real);
    expect(estimate).toBeLessThan(real + 2 ** 21);
  });

  it(
    'ENOSPC while writing a checkpoint: the run stops naming the ' +
      'file, the temporary file is gone, the previous checkpoint loads',
    async () => {
      const ck = await checkpointedRun('full-ckpt');
      const ckDir = join(dir, 'full-ckpt', 'checkpoints');
      // the next checkpoint's temporary file is a link to /dev/full: every write to it fails with ENOSPC
      const tmp = join(ckDir, `step-0000008.safetensors.tmp-${process.pid}`);
      symlinkSync('/dev/full', tmp);
      const before = readFileSync(join(ckDir, 'latest.safetensors'));
      const err = await train(engine(), {
        ...base,
        runDir: join(dir, 'full-ckpt'),
        config,
        resume: ck,
        maxSteps: 6,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutputError);
      expect(String((err as Error).message)).toMatch(
        new RegExp(
          /^cannot write .*step-0000008\.safetensors: no space left on the device /.source +
            /\(ENOSPC\)\. Training stopped at step 8; the last complete checkpoint is /.source +
            /.*step-0000004\.safetensors; resume with --resume .*step-0000004\.safetensors /.source +
            /once that is fixed\.$/.source,
        ),
      );
      expect(existsSync(tmp)).toBe(false);
      expect(existsSync(join(ckDir, 'step-0000008.safetensors'))).toBe(false);
      expect(readFileSync(join(ckDir, 'latest.safetensors')).equals(before)).toBe(true);
      expect(loadCheckpoint(ck).progress.globalStep).toBe(4);
    },
  );

  it('ENOSPC while appending the metrics: the same clear stop', async () => {
    const ck = await checkpointedRun('full-metrics');
    const metrics = join(dir, 'full-metrics', 'metrics.jsonl');
    unlinkSync(metrics);
    symlinkSync('/dev/full', metrics);
    const err = await train(engine(), {
      ...base,
      runDir: join(dir, 'full-metrics'),
      config,
      resume: ck,
      maxSteps: 4,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect(String((err as Error).message)).toMatch(
      new RegExp(
        /^cannot write .*metrics\.jsonl: no space left on the device \(ENOSPC\)\. /.source +
          /Training stopped at step 6; the last complete checkpoint is /.source +
          /.*step-0000004\.safetensors/.source,
      ),
    );
    expect(loadCheckpoint(ck).progress.globalStep).toBe(4);
  });
});

describe('the GPU', () => {
  it('a device lost in the middle of training stops the run with the last checkpoint named, no hang', async () => {
    const e = await createEngine({ seed: 1 });
    const runDir = join(dir, 'lost');
    let err: unknown;
    const t0 = Date.now();
    try {
      await train(e, {
        ...base,
        runDir,
        config,
        onLog: (m) => {
          if (m.step === 6) e.runtime.device.destroy(); // a driver reset, an unplugged eGPU, a TDR
        },
      });
    } catch (x) {
      err = x;
    } finally {
      await e.close();
    }
    expect(err).toBeInstanceOf(GpuError);
    expect(String((err as Error).message)).toMatch(
      new RegExp(
        /the GPU device was lost \(destroyed.*Training stopped at step \d+; the last /.source +
          /complete checkpoint is .*step-0000004\.safetensors; resume with --resume/.source,
      ),
    );
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(loadCheckpoint(join(runDir, 'checkpoints', 'latest.safetensors')).progress.globalStep).toBe(4);
  });

  it(
    'out of GPU memory in the middle of training stops the ' + 'run with what held the memory and the last checkpoint',
    async () => {
      // a limit 10 % below what a training step needs (measured on a fresh engine): the model, its
      // optimizers and the checkpoint load fit, the next step does not
      const ck = await checkpointedRun('oom');
      const probe = await createEngine({ seed: 1 });
      const r0 = await train(probe, { ...base, runDir: join(dir, 'oom-probe'), config, maxSteps: 2 });
      const high = probe.memory().highWaterBytes;
      await probe.close();
      expect(r0.progress.globalStep).toBe(2);
      const e = await createEngine({ seed: 1, memoryLimit: Math.round(high * 0.9) });
      let err: unknown;
      try {
        await train(e, { ...base, runDir: join(dir, 'oom'), config, resume: ck });
      } catch (x) {
        err = x;
      } finally {
        await e.close();
      }
      expect(err).toBeInstanceOf(GpuOutOfMemoryError);
      expect(String((err as Error).message)).toMatch(
        new RegExp(
          /out of GPU memory: a new .* buffer would exceed the engine's limit of .* \(in /.source +
            /use: .*parameters .*optimizer .*\)\. Use a smaller batch or input size.* /.source +
            /Training stopped at step 4; the last complete checkpoint is /.source +
            /.*step-0000004\.safetensors/.source,
        ),
      );
      expect(loadCheckpoint(ck).progress.globalStep).toBe(4);
    },
  );

  it('segan train with DAWNGRAD_MEMORY_LIMIT too small: exit 1 and the out-of-memory message', async () => {
    const r = await segan(['train', ...smallRun, '--runs', join(dir, 'runs'), '--run', 'tiny-memory'], {
      env: { DAWNGRAD_MEMORY_LIMIT: '256KiB' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        /^segan train: .*out of GPU memory: .*limit of 256(\.0)? KiB.*Use a smaller /.source +
          /batch or input size, or a narrower model \(segan train: --batch, --size, /.source +
          /--width\)/.source,
      ),
    );
  });
});
