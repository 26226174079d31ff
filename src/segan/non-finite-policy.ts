// What a training run does with a step whose loss or gradients are not finite (NaN or infinity).
// The trainer's guarded optimizer steps have already skipped such an update on the GPU; the flags are
// read with the periodic metrics, and here the run stops (`onNan: 'stop'`, the default) or goes on
// (`'skip'`, up to `maxConsecutiveSkips` skipped steps in a row). An unguarded trainer cannot skip:
// a non-finite loss always stops it.
import { RUN_DEFAULTS } from './config.ts';
import type { SkippedStep } from './trainer.ts';

export type OnNan = 'stop' | 'skip';

/** A skipped step, as metrics.jsonl records it. */
export interface SkipRecord {
  type: 'skip';
  epoch: number;
  step: number;
  /** e.g. ['segmentor loss (NaN)', 'critic gradient of C0.enc1.weight'] */
  what: string[];
}

/** A NaN or an infinity in a loss or a gradient (onNan 'stop'), or too many skipped steps in a row. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}

export class NonFiniteStepPolicy {
  /** Steps skipped so far in this run. */
  skipped = 0;
  private inARow = 0;
  readonly onNan: OnNan;
  readonly maxSkips: number;

  constructor(onNan: OnNan | undefined, maxConsecutiveSkips: number | undefined) {
    this.onNan = onNan ?? RUN_DEFAULTS.onNan;
    if (this.onNan !== 'stop' && this.onNan !== 'skip')
      throw new Error(`onNan must be 'stop' or 'skip', got '${String(this.onNan)}'`);
    this.maxSkips = maxConsecutiveSkips ?? RUN_DEFAULTS.maxConsecutiveSkips;
    if (!Number.isInteger(this.maxSkips) || this.maxSkips < 1)
      throw new Error(`maxConsecutiveSkips must be a positive integer, got ${this.maxSkips}`);
  }

  /**
   * One step as read back: its loss values and what its guarded optimizer steps found (null: taken).
   * Returns false for a finite step; true for a skipped one, after handing its record to `onSkip`;
   * throws NonFiniteLossError when the run is to stop. `guarded`: whether the trainer can skip.
   */
  judge(
    at: { step: number; epoch: number },
    loss: { critic: number; segmentor: number },
    found: (SkippedStep | null)[],
    guarded: boolean,
    lastCheckpoint: string | null,
    onSkip: (r: SkipRecord) => void,
  ): boolean {
    const { critic, segmentor } = loss;
    const skipped = found.filter((f): f is SkippedStep => f !== null);
    // an unguarded trainer cannot skip, but a non-finite loss is still caught here
    for (const [which, v] of [
      ['critic', critic],
      ['segmentor', segmentor],
    ] as const) {
      if (!Number.isFinite(v) && !skipped.some((f) => f.which === which)) skipped.push({ which, culprit: 'loss' });
    }
    if (!skipped.length) {
      this.inARow = 0;
      return false;
    }
    const what = skipped.map((f) =>
      f.culprit === 'loss'
        ? `${f.which} loss (${f.which === 'critic' ? critic : segmentor})`
        : `${f.which} ${f.culprit}`,
    );
    const where = `at step ${at.step} (epoch ${at.epoch})`;
    const advice =
      `The last good checkpoint is ${lastCheckpoint ?? '(none yet)'}; resume from it with a lower learning ` +
      `rate (--resume … --lr …)${this.onNan === 'stop' ? ', or use --on-nan skip to skip such batches' : ''}.`;
    if (this.onNan === 'stop' || !guarded) {
      const first = skipped[0];
      const value = first.which === 'critic' ? critic : segmentor;
      const head =
        first.culprit === 'loss'
          ? `the ${first.which} loss became ${value}`
          : `the ${first.which} ${first.culprit} became non-finite (NaN or infinity; the loss was ${value})`;
      throw new NonFiniteLossError(
        `${head} ${where}${skipped.length > 1 ? ` (also: ${what.slice(1).join(', ')})` : ''}; ` +
          `the update was not applied and training stopped. ${advice}`,
      );
    }
    this.skipped++;
    this.inARow++;
    onSkip({ type: 'skip', epoch: at.epoch, step: at.step, what });
    if (this.inARow >= this.maxSkips) {
      throw new NonFiniteLossError(
        `${this.inARow} steps in a row were skipped for non-finite values ` +
          `(the last ${where}: ${what.join(', ')}); training stopped. ${advice}`,
      );
    }
    return true;
  }
}
