// The run folder's files other than checkpoints and metrics: creating it when a run starts (after
// everything that can fail before any work has been checked), config.json with the history of resumes,
// splits.json, and pruning old step-N checkpoints.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainConfig } from './config.ts';
import { writingTo } from './output.ts';

export interface RunFolderStart {
  /** Remove whatever is in the folder first (an earlier run); otherwise a resumed run appends. */
  replace: boolean;
  config: TrainConfig;
  data: { dir: string; train: string[]; val: string[] };
  runPlan: Record<string, unknown>;
  /** This start's resume record (appended to config.json's `resumes`), or null for a fresh run. */
  resumed: { from: string | undefined; step: number; at: string; overrides: object } | null;
  /** Cross-validation splits ({train, val} per fold), written to splits.json. */
  splits?: { train: string[]; val: string[] }[];
}

/** Create (or replace) the run folder with checkpoints/ and overlays/, and write config.json and splits.json. */
export function startRunFolder(runDir: string, s: RunFolderStart): void {
  const configFile = join(runDir, 'config.json');
  const earlier = !s.replace && existsSync(configFile) ? readJson(configFile) : null;
  if (s.replace) rmSync(runDir, { recursive: true, force: true });
  mkdirSync(join(runDir, 'checkpoints'), { recursive: true });
  mkdirSync(join(runDir, 'overlays'), { recursive: true });
  const resumes = Array.isArray(earlier?.resumes) ? (earlier.resumes as unknown[]) : [];
  if (s.resumed) resumes.push(s.resumed);
  const body = { ...s.config, data: s.data, run: s.runPlan, ...(resumes.length ? { resumes } : {}) };
  writingTo(configFile, () => writeFileSync(configFile, JSON.stringify(body, null, 2) + '\n'));
  if (s.splits) {
    const splitsFile = join(runDir, 'splits.json');
    writingTo(splitsFile, () => writeFileSync(splitsFile, JSON.stringify(s.splits, null, 1) + '\n'));
  }
}

/** Delete all but the newest `keep` step-N checkpoints (latest and best are never touched). */
export function pruneCheckpoints(dir: string, keep: number): string[] {
  const steps = readdirSync(dir)
    .filter((f) => /^step-\d+\.safetensors$/.test(f))
    .sort((a, b) => Number(a.slice(5, -12)) - Number(b.slice(5, -12)));
  const gone = steps.slice(0, Math.max(0, steps.length - keep));
  for (const f of gone) rmSync(join(dir, f), { force: true });
  return gone;
}

function readJson(file: string): Record<string, unknown> | null {
  try {
    if (!statSync(file).isFile()) return null;
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}
