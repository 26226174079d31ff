// What `segan train` prints at a log point when stderr is not a terminal: one line, with an ETA that
// never runs past the --max-minutes budget.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TrainProgress } from '../../src/cli/train-progress.ts';
import type { StepMetrics } from '../../src/segan/training-log.ts';

const at = (step: number, stepsPerSec: number): StepMetrics => ({
  type: 'step',
  epoch: 0,
  step,
  critic: -0.01,
  segmentor: 0.9,
  dice: 0.5,
  lr: 2e-4,
  stepsPerSec,
  elapsedSec: 1,
  stepsTotal: 12_800,
});

const printed = (progress: TrainProgress, m: StepMetrics): string => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  progress.step(m);
  const line = String(log.mock.calls[0]?.[0]);
  log.mockRestore();
  return line;
};

describe('train progress lines', () => {
  afterEach(() => vi.useRealTimers());

  it('the ETA comes from the steps left and the rate when there is no budget', () => {
    expect(printed(new TrainProgress(false), at(800, 2))).toMatch(/step 800\/12800 .* 2\.00 steps\/s {2}ETA 1h40m$/);
  });

  it('with --max-minutes the ETA stops at the budget and says so', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const deadline = 1_000_000 + 44 * 60_000 + 30_000;
    expect(printed(new TrainProgress(false, deadline), at(800, 2))).toMatch(/ETA 44m30s \(budget\)$/);
    // a budget longer than the steps left: the steps' ETA, no note
    expect(printed(new TrainProgress(false, 1_000_000 + 3 * 3600_000), at(800, 2))).toMatch(/ETA 1h40m$/);
  });

  it('no rate yet: the ETA is unknown, not zero', () => {
    expect(printed(new TrainProgress(false), at(0, 0))).toMatch(/ETA \?$/);
  });
});
