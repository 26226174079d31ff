// A training run's wall-clock deadline (TrainOptions.deadline). Steps are recorded without waiting for
// the GPU, so the time a step really takes is known only at sync points (the metric readbacks): from
// those, the average step time, and from it when the queued steps will be done. Before each step the
// run stops if the step, the final checkpoint and a safety second would not fit; a validation is
// skipped (and the run stopped) if it would not fit either. Saves and validations are timed as they
// happen; until then, a save is assumed to take 0.5 s + 100 MB/s and a validation one training step
// per batch.
export class TimeBudget {
  private readonly start = Date.now();
  private syncedAt = this.start;
  private syncedSteps = 0;
  private saveMs: number;
  private valMs: number | null = null;

  /**
   * `deadline`: Date.now() milliseconds (undefined: no budget, everything fits); `stepsRecorded`: the
   * steps recorded so far in this run; `valBatches`: the batches of one validation.
   */
  constructor(
    readonly deadline: number | undefined,
    checkpointBytes: number,
    private readonly valBatches: number,
    private readonly stepsRecorded: () => number,
  ) {
    this.saveMs = 500 + checkpointBytes / 1e5;
  }

  /** The average step time so far (ms), or null before the first sync point. */
  stepMs(): number | null {
    return this.syncedSteps > 0 ? (this.syncedAt - this.start) / this.syncedSteps : null;
  }

  /** Steps recorded since the last sync point. */
  unsyncedSteps(): number {
    return this.stepsRecorded() - this.syncedSteps;
  }

  /** When the work recorded so far will be done (ms since the epoch), by the average step time. */
  private doneAt(): number {
    return Math.max(Date.now(), this.syncedAt + (this.stepsRecorded() - this.syncedSteps) * (this.stepMs() ?? 0));
  }

  /** Whether `ms` more work, then the final checkpoint and a safety second, end before the deadline. */
  fits(ms: number): boolean {
    return this.deadline === undefined || this.doneAt() + ms + this.saveMs + 1000 <= this.deadline;
  }

  /** Whether one more step fits (with a margin of half a step). */
  stepFits(): boolean {
    return this.fits(1.5 * (this.stepMs() ?? 0));
  }

  /** Whether a validation fits. */
  validationFits(): boolean {
    return this.fits(this.valMs ?? this.valBatches * (this.stepMs() ?? 0));
  }

  /** A sync point: everything recorded so far is done. */
  synced(): void {
    this.syncedAt = Date.now();
    this.syncedSteps = this.stepsRecorded();
  }

  /** Run a save, timing it (and a sync point after it). */
  timedSave<T>(fn: () => Promise<T>): Promise<T> {
    return this.timed(fn, (ms) => (this.saveMs = ms));
  }

  /** Run a validation, timing it (and a sync point after it). */
  timedValidation<T>(fn: () => Promise<T>): Promise<T> {
    return this.timed(fn, (ms) => (this.valMs = ms));
  }

  private async timed<T>(fn: () => Promise<T>, set: (ms: number) => void): Promise<T> {
    const t = Date.now();
    const r = await fn();
    set(Date.now() - t);
    this.synced();
    return r;
  }
}
