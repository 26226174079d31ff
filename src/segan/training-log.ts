// A training run's record of itself: metrics.jsonl in the run folder (one JSON line per logged step,
// skipped step and validation), the history behind the loss plot (loss-curve.svg), and the steps per
// second and elapsed time of the progress lines. Resuming, the lines of steps after the checkpoint are
// dropped (those steps are trained again) and the best validation so far is read back.
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSvg } from '../io/plot.ts';
import type { SkipRecord } from './non-finite-policy.ts';
import { writingTo } from './output.ts';

export interface StepMetrics {
  type: 'step';
  epoch: number;
  step: number;
  critic: number;
  segmentor: number;
  dice: number;
  lr: number;
  stepsPerSec: number;
  elapsedSec: number;
  /** The step this command ends at: the last epoch's end, or sooner with --max-steps. */
  stepsTotal: number;
}

export interface EpochMetrics {
  type: 'val';
  epoch: number;
  step: number;
  /**
   * Per region (whole[, core, enhancing]): the mean over the validation cases of each case's 3-D Dice
   * in its own grid, scored as `segan eval` scores it.
   */
  dice: number[];
  /** Likewise the mean 95 % Hausdorff distance in mm. */
  hd95: number[];
  /** Validation cases scored. */
  cases: number;
  /** Whether this validation's mean Dice (over regions) is the best so far: checkpoints/best.safetensors holds it. */
  best: boolean;
  elapsedSec: number;
}

export class TrainingLog {
  /** metrics.jsonl */
  readonly file: string;
  /** The steps logged in this run (the loss plot's points). */
  readonly steps: StepMetrics[] = [];
  /** The validations of this run. */
  readonly validations: EpochMetrics[] = [];
  /** performance.now() when the log was opened: elapsedSec counts from here. */
  readonly t0 = performance.now();
  private lastRateTime = performance.now();
  private lastRateSteps = 0;

  constructor(readonly runDir: string) {
    this.file = join(runDir, 'metrics.jsonl');
  }

  /** Resuming at `step`: metrics of later steps were never kept in a checkpoint; they are trained again. */
  dropAfter(step: number): void {
    const lines = this.earlierLines();
    const kept = lines.filter((l) => !((readJsonLine(l)?.step ?? 0) > step));
    if (kept.length < lines.length)
      writingTo(this.file, () => writeFileSync(this.file, kept.map((l) => l + '\n').join('')));
  }

  /** The best validation (mean Dice over regions) among the lines already in metrics.jsonl; −∞ if none. */
  bestEarlierScore(): number {
    let best = -Infinity;
    for (const l of this.earlierLines()) {
      const j = readJsonLine(l) as { type?: string; dice?: number[] } | null;
      if (j?.type === 'val' && Array.isArray(j.dice) && j.dice.length)
        best = Math.max(best, j.dice.reduce((a, b) => a + b, 0) / j.dice.length);
    }
    return best;
  }

  /**
   * Steps per second since the previous call that advanced the window (`stepsThisRun`: steps done so
   * far; call it after the readback that proves them done), and now.
   */
  rate(stepsThisRun: number, advance = true): { stepsPerSec: number; now: number } {
    const now = performance.now();
    const stepsPerSec = (stepsThisRun - this.lastRateSteps) / Math.max(1e-9, (now - this.lastRateTime) / 1000);
    if (advance) {
      this.lastRateTime = now;
      this.lastRateSteps = stepsThisRun;
    }
    return { stepsPerSec, now };
  }

  /** Seconds since the log was opened (at `now`, a performance.now() time). */
  elapsedSec(now = performance.now()): number {
    return (now - this.t0) / 1000;
  }

  step(m: StepMetrics): void {
    this.steps.push(m);
    this.append(m);
  }

  skip(r: SkipRecord): void {
    this.append(r);
  }

  validation(m: EpochMetrics): void {
    this.validations.push(m);
    this.append(m);
  }

  /** loss-curve.svg from this run's steps and validations. */
  plot(): void {
    writePlot(this.runDir, this.steps, this.validations);
  }

  private append(line: object): void {
    writingTo(this.file, () => appendFileSync(this.file, JSON.stringify(line) + '\n'));
  }

  private earlierLines(): string[] {
    if (!existsSync(this.file) || !statSync(this.file).isFile()) return [];
    return readFileSync(this.file, 'utf8').split('\n').filter(Boolean);
  }
}

export function writePlot(runDir: string, history: StepMetrics[], val: EpochMetrics[]): void {
  const series = [
    { name: 'critic loss', points: history.map((m) => [m.step, m.critic] as [number, number]) },
    { name: 'segmentor loss', points: history.map((m) => [m.step, m.segmentor] as [number, number]) },
    { name: 'train Dice (whole)', points: history.map((m) => [m.step, m.dice] as [number, number]) },
    ...(val.length
      ? [{ name: 'validation Dice (whole)', points: val.map((m) => [m.step, m.dice[0]] as [number, number]) }]
      : []),
  ];
  const file = join(runDir, 'loss-curve.svg');
  writingTo(file, () =>
    writeFileSync(file, lineChartSvg(series, { title: 'SegAN training', xLabel: 'step', yLabel: 'loss / Dice' })),
  );
}

function readJsonLine(line: string): { step?: number } | null {
  try {
    return JSON.parse(line) as { step?: number };
  } catch {
    return null;
  }
}
