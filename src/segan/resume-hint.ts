// What a training run says when it has to stop on a failure it cannot get past (a failed write, a lost
// device, GPU memory): where it stopped and how to continue.
import { describeOutputError, isOutputError, OutputError } from './output.ts';

/**
 * Failed writes (disk full, permissions), a lost device and GPU out-of-memory errors end the run:
 * say where it stopped and how to continue. Other errors pass through unchanged.
 */
export function withResumeHint(err: unknown, step: number, lastCheckpoint: string | null): unknown {
  if (!(err instanceof Error)) return err;
  const resume = lastCheckpoint
    ? `the last complete checkpoint is ${lastCheckpoint}; resume with --resume ${lastCheckpoint}`
    : 'no checkpoint was written yet';
  if (isOutputError(err))
    return new OutputError(
      `${describeOutputError(err)}. Training stopped at step ${step}; ${resume} once that is fixed.`,
      { cause: err },
    );
  if (err instanceof OutputError) {
    err.message += ` Training stopped at step ${step}; ${resume} once that is fixed.`;
    return err;
  }
  if (err.name === 'GpuError' || err.name === 'GpuOutOfMemoryError') {
    err.message += ` Training stopped at step ${step}; ${resume}.`;
  }
  return err;
}
