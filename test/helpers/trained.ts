// A tiny SegAN trained for a few steps on synthetic phantoms, through the command line: the checkpoint
// that the serve and browser tests segment with.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticCases } from '../../src/segan/synth-cases.ts';
import { run, type RunResult } from './spawn.ts';
import { argv } from './argv.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * segan in a child process, awaited (a long spawnSync starves vitest's worker RPC), run in `tmp` with
 * `env` (by default its own XDG cache, tmp/xdg).
 */
export function seganIn(
  tmp: string,
  env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: path.join(tmp, 'xdg') },
) {
  return (args: string[], timeout = 180_000): Promise<RunResult> =>
    run(process.execPath, [path.join(ROOT, 'bin/segan.mjs'), ...args], { cwd: tmp, env, timeout });
}

export interface Trained {
  tmp: string;
  data: string;
  checkpoint: string;
  env: NodeJS.ProcessEnv;
  segan(args: string[], timeout?: number): Promise<RunResult>;
  remove(): void;
}

export async function trainTiny(name: string, steps = 6): Promise<Trained> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `dawngrad-${name}-`));
  const data = path.join(tmp, 'data');
  const env = { ...process.env, XDG_CACHE_HOME: path.join(tmp, 'xdg') };
  const segan = seganIn(tmp, env);
  await writeSyntheticCases(data, { cases: 3, seed: 5, shape: [44, 40, 20] });
  const r = await segan(argv`train --data ${data} --runs ${path.join(tmp, 'runs')} --run m --width 0.0625 --size 32
    --crop 40x40x16 --batch 4 --val-cases Synth_003 --max-steps ${String(steps)}`);
  if (r.status !== 0) throw new Error(`training the test model failed:\n${r.stderr}`);
  return {
    tmp,
    data,
    checkpoint: path.join(tmp, 'runs', 'm', 'checkpoints', 'latest.safetensors'),
    env,
    segan,
    remove: () => fs.rmSync(tmp, { recursive: true, force: true }),
  };
}
