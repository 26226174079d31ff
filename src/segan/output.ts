// The run folder's health: can we create and write it, is there room for the next checkpoint, and
// what to tell the user when a write fails anyway. A training run that dies at hour three because
// the disk filled up must say so plainly, keep the last complete checkpoint, and say how to resume.
import { accessSync, constants, existsSync, statfsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fmtBytes } from '../device/bytes.ts';
import { configEma, type TrainConfig } from './config.ts';
import type { SeganModel } from './model.ts';

/** File-system error codes that mean "the output cannot be written", with what to tell the user. */
const OUTPUT_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'the path is a folder',
  EIO: 'an input/output error from the disk',
  EFBIG: 'the file is too large for this file system',
};

export class OutputError extends Error {
  override name = 'OutputError';
}

/** A Node file-system error whose code means the output cannot be written. */
export function isOutputError(err: unknown): err is NodeJS.ErrnoException {
  return (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    (err as NodeJS.ErrnoException).code! in OUTPUT_ERRORS
  );
}

/** Run a write to `path`; a failure without a path (write(2) errors have none) gets this one. */
export function writingTo<T>(path: string, write: () => T): T {
  try {
    return write();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err instanceof Error && typeof err.code === 'string' && !err.path) err.path = path;
    throw e;
  }
}

/** "cannot write PATH: no space left on the device (ENOSPC)". */
export function describeOutputError(err: NodeJS.ErrnoException): string {
  const code = err.code ?? 'unknown';
  return `cannot write ${err.path ?? '(unknown file)'}: ${OUTPUT_ERRORS[code] ?? err.message} (${code})`;
}

/**
 * Throw an OutputError unless `dir` exists as a writable folder or can be created: the nearest
 * existing ancestor must be a folder we may write into. Creates nothing (a failed start leaves no
 * trace).
 */
export function ensureWritableDir(dir: string, what: string): void {
  let probe = resolve(dir);
  while (!existsSync(probe)) {
    const up = dirname(probe);
    if (up === probe) break;
    probe = up;
  }
  let isDir: boolean;
  try {
    isDir = statSync(probe).isDirectory();
  } catch (e) {
    throw new OutputError(`${what} ${dir} cannot be used: ${(e as Error).message}`);
  }
  if (!isDir)
    throw new OutputError(
      `${what} ${dir} cannot be created: ${probe} is a file, not a folder. Choose another folder (--runs / --run).`,
    );
  try {
    accessSync(probe, constants.W_OK | constants.X_OK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = OUTPUT_ERRORS[err.code ?? ''] ?? err.message;
    const where =
      probe === resolve(dir) ? `${dir} is not writable` : `${dir} cannot be created: ${probe} is not writable`;
    throw new OutputError(
      `${what} ${where} (${why}, ${err.code}). Choose another folder (--runs / --run) or fix its permissions.`,
    );
  }
}

/** Free bytes for an unprivileged writer on the file system holding `path` (or its nearest ancestor). */
export type FreeSpace = (path: string) => number;

export const statfsFreeSpace: FreeSpace = (path) => {
  let probe = resolve(path);
  while (!existsSync(probe) && dirname(probe) !== probe) probe = dirname(probe);
  const s = statfsSync(probe);
  return Number(s.bavail) * Number(s.bsize);
};

/**
 * Throw an OutputError when the file system of `dir` has less than `bytes` (+ 16 MiB of slack) free:
 * before a checkpoint is written, not halfway through it.
 */
export function ensureFreeSpace(dir: string, bytes: number, what: string, free: FreeSpace = statfsFreeSpace): void {
  let avail: number;
  try {
    avail = free(dir);
  } catch {
    return; // statfs unsupported here: the write itself will report a full disk
  }
  const need = bytes + 16 * 2 ** 20;
  if (avail < need) {
    throw new OutputError(
      `not enough free space for ${what} in ${dir}: ${fmtBytes(avail, 'MiB')} free, ` +
        `about ${fmtBytes(need, 'MiB')} needed. Free some space or choose another folder (--runs).`,
    );
  }
}

/** The size of a training checkpoint of this model: its tensors and the two optimizers' state. */
export function checkpointBytes(model: SeganModel, config: TrainConfig): number {
  let floats = 0;
  for (const t of model.stateDict().values()) floats += t.size;
  const params =
    model.S.parameters().reduce((a, t) => a + t.size, 0) + model.criticParameters().reduce((a, t) => a + t.size, 0);
  floats += params * (config.optimizer === 'adam' ? 2 : 1);
  // the segmentor's weight average (avgS.*)
  if (configEma(config) > 0) for (const t of model.S.stateDict().values()) floats += t.size;
  return floats * 4 + 2 ** 20; // + header and metadata
}
