// What `segan train` shows while it runs, and how Ctrl-C stops it: a progress bar on a terminal
// (else one line per log point), the validation and skipped-step lines, and a SIGINT handler that
// asks the training loop to stop after the current step and save (a second Ctrl-C quits at once).
import cliProgress from 'cli-progress';
import type { SkipRecord } from '../segan/non-finite-policy.ts';
import type { EpochMetrics, StepMetrics } from '../segan/training-log.ts';

export const fmtTime = (s: number) =>
  s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
      : `${s.toFixed(0)}s`;

const REGION_NAMES = ['whole', 'core', 'enhancing'];

/** The training's progress on stderr (a bar on a terminal) and stdout (log and validation lines). */
export class TrainProgress {
  private bar: cliProgress.SingleBar | null = null;
  /** `deadline`: the --max-minutes end (ms since the epoch); the ETA never runs past it. */
  constructor(
    private readonly tty = process.stderr.isTTY,
    private readonly deadline?: number,
  ) {}

  /** A log point (TrainOptions.onLog). */
  step(m: StepMetrics): void {
    const bySteps = m.stepsPerSec > 0 ? (m.stepsTotal - m.step) / m.stepsPerSec : Infinity;
    const byBudget = this.deadline !== undefined ? Math.max(0, (this.deadline - Date.now()) / 1000) : Infinity;
    const eta = Math.min(bySteps, byBudget);
    const etaText = Number.isFinite(eta) ? fmtTime(eta) + (byBudget < bySteps ? ' (budget)' : '') : '?';
    const payload = {
      epoch: m.epoch + 1,
      critic: m.critic.toFixed(4),
      seg: m.segmentor.toFixed(4),
      dice: m.dice.toFixed(3),
      speed: m.stepsPerSec.toFixed(2),
      etaText,
    };
    if (this.tty) {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          {
            format:
              'epoch {epoch} |{bar}| step {value}/{total} | D {critic} ' +
              '| G {seg} | Dice {dice} | {speed} steps/s | ETA {etaText}',
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(m.stepsTotal, m.step, payload);
      }
      this.bar.update(m.step, payload);
    } else {
      console.log(
        `epoch ${payload.epoch} step ${m.step}/${m.stepsTotal}  D ${payload.critic}  ` +
          `G ${payload.seg}  Dice ${payload.dice}  ${payload.speed} steps/s  ETA ${payload.etaText}`,
      );
    }
  }

  /** A validation (TrainOptions.onEpoch): the bar ends, the line is printed. */
  validation(m: EpochMetrics): void {
    const line =
      `validation at step ${m.step} (epoch ${m.epoch + 1}, ${m.cases} case${m.cases === 1 ? '' : 's'} in 3-D): ` +
      m.dice.map((d, i) => `${REGION_NAMES[i]} Dice ${d.toFixed(3)} HD95 ${m.hd95[i].toFixed(1)} mm`).join(', ') +
      (m.best ? '  (best so far: checkpoints/best.safetensors)' : '');
    this.stop();
    console.log(line);
  }

  /** A skipped step (TrainOptions.onSkip). */
  skip(r: SkipRecord): void {
    const line =
      `step ${r.step}: skipped (not finite: ${r.what.join(', ')}); ` +
      `parameters and optimizer state left as they were`;
    if (this.bar) process.stderr.write(`\n${line}\n`);
    else console.log(line);
  }

  /** End the bar (if one is drawn). */
  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/**
 * Ctrl-C asks the run to stop after the current step and save a checkpoint (`requested()` turns
 * true); a second Ctrl-C exits at once with 130. `release()` removes the handler.
 */
export function stopOnSigint(): { requested: () => boolean; release: () => void } {
  let stop = false;
  const onSigint = () => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write(
      '\nSIGINT: finishing the current step and saving a checkpoint (Ctrl-C again to quit at once)\n',
    );
  };
  process.on('SIGINT', onSigint);
  return { requested: () => stop, release: () => process.off('SIGINT', onSigint) };
}
