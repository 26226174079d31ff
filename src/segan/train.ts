// The training loop: data → D+G steps recorded on the GPU → periodic metrics (one readback every
// `logEvery` steps) → validation, overlays and a loss-curve plot per epoch → checkpoints every
// `checkpointEvery` steps and at the end of each epoch. Resuming continues bit-for-bit: the data order
// is a function of (seed, epoch), and the checkpoint holds the parameters, running statistics and
// optimizer state. Beside it: the metrics log (training-log.ts), what a non-finite step does
// (non-finite-policy.ts) and the wall-clock budget (time-budget.ts).
//
// Faults: every optimizer step is guarded on the GPU (a NaN or an infinity in a loss or a gradient
// skips the update there); the flags are read with the periodic metrics and the policy stops the run
// or skips the step. The output folder is checked before anything is loaded, free space before every
// checkpoint, and a failed write, a lost device or an out-of-memory error stops the run with the last
// complete checkpoint named.
import { startRunFolder, pruneCheckpoints } from './run-folder.ts';
import { join } from 'node:path';
import type { Augment } from '../data/augment.ts';
import { openDataset } from '../data/dataset.ts';
import type { Dataset } from '../data/dataset-types.ts';
import { defaultCacheDir } from '../data/cache.ts';
import type { Engine } from '../tensor/engine.ts';
import { configModalities, configNormalisation, RUN_DEFAULTS, type TrainConfig } from './config.ts';
import { loadCheckpoint, restore, saveCheckpoint, type Progress } from './checkpoint.ts';
import { validateVolumes, writeOverlays } from './validate.ts';
import { SeganModel } from './model.ts';
import { SeganTrainer, type SkippedStep, type StepLosses } from './trainer.ts';
import { checkpointBytes, ensureFreeSpace, ensureWritableDir } from './output.ts';
import { withResumeHint } from './resume-hint.ts';
import { NonFiniteStepPolicy, type OnNan, type SkipRecord } from './non-finite-policy.ts';
import { TrainingLog, type EpochMetrics, type StepMetrics } from './training-log.ts';
import { TimeBudget } from './time-budget.ts';

export interface TrainOptions {
  dataDir: string;
  runDir: string;
  config: TrainConfig;
  /** Checkpoint to resume from (its config wins, except what `resumeOverrides` replaces). */
  resume?: string;
  /** Settings that replace the checkpoint's when resuming (more epochs, a lower learning rate after a NaN). */
  resumeOverrides?: Partial<TrainConfig>;
  /** The run's plan beyond the config, stored in every checkpoint so that --resume can continue it. */
  runPlan?: Record<string, unknown>;
  /** Replace whatever is in runDir (an earlier run) once this run has started; without it, a resumed run appends. */
  replaceRunDir?: boolean;
  /** step-N checkpoints kept besides latest and best (default 5; 0: latest only). */
  keepCheckpoints?: number;
  cacheDir?: string;
  valCases?: string[];
  /** Cross-validation splits ({train, val} per fold), written to splits.json in the run folder. */
  splits?: { train: string[]; val: string[] }[];
  valFraction?: number;
  checkpointEvery?: number;
  logEvery?: number;
  /** Stop after this many steps in this run (tests, demos). */
  maxSteps?: number;
  /** Validation cases scored at each validation (all by default; tests use fewer). */
  maxValCases?: number;
  /** Validate every N steps as well as after every epoch (default: after every epoch only). */
  valEvery?: number;
  /** Called at every log point. */
  onLog?: (m: StepMetrics) => void;
  onEpoch?: (m: EpochMetrics) => void;
  /** Checked after every step; true stops the run after saving a checkpoint. */
  shouldStop?: () => boolean;
  /**
   * Wall-clock deadline (Date.now() milliseconds): the run stops early enough to save its checkpoint,
   * metrics and plot before it, skipping a validation that would not fit (src/segan/time-budget.ts).
   */
  deadline?: number;
  flip?: boolean;
  /** Augmentations of the training crops (src/data/augment.ts, Augment); all off by default. */
  augment?: Augment;
  /** What to do with a step whose loss or gradients are not finite: stop the run (default) or skip it. */
  onNan?: OnNan;
  /** With onNan 'skip': stop anyway after this many skipped steps in a row (default 10). */
  maxConsecutiveSkips?: number;
  /** Called for every skipped step (onNan 'skip'). */
  onSkip?: (s: SkipRecord) => void;
}

export interface TrainResult {
  progress: Progress;
  lastCheckpoint: string | null;
  val: number[] | null;
  stopped: 'done' | 'maxSteps' | 'interrupted' | 'time';
  /** Steps whose update was skipped for a non-finite loss or gradient (onNan 'skip'). */
  skippedSteps: number;
  dataset: Pick<Dataset, 'trainCases' | 'valCases' | 'K' | 'M' | 'S'>;
}

/** The data folder could not be opened as a dataset (missing cases, bad files, a cache that cannot be written). */
export class DataError extends Error {
  override name = 'DataError';
}

export async function train(engine: Engine, opts: TrainOptions): Promise<TrainResult> {
  const policy = new NonFiniteStepPolicy(opts.onNan, opts.maxConsecutiveSkips);
  // before any work: a run folder we cannot create or write fails now, not after the data is loaded
  ensureWritableDir(opts.runDir, 'the run folder');
  const ckpt = opts.resume ? loadCheckpoint(opts.resume) : null;
  const config: TrainConfig = ckpt ? { ...ckpt.config, ...(opts.resumeOverrides ?? {}) } : opts.config;
  const keep = opts.keepCheckpoints ?? RUN_DEFAULTS.keepCheckpoints;
  if (!Number.isInteger(keep) || keep < 0) throw new Error(`keepCheckpoints must be an integer ≥ 0, got ${keep}`);
  const { runDir } = opts;
  let ds: Dataset;
  try {
    ds = await openDataset(opts.dataDir, {
      cacheDir: opts.cacheDir ?? defaultCacheDir(),
      regions: config.model.classes === 1 ? 'whole' : 'all',
      valCases: opts.valCases,
      valFraction: opts.valFraction,
      seed: config.seed,
      cropSize: config.size,
      cropShape: config.volumeCrop,
      modalities: configModalities(config),
      normalise: configNormalisation(config),
    });
  } catch (e) {
    throw new DataError((e as Error).message, { cause: e });
  }
  if (ds.M !== config.model.inChannels)
    throw new Error(`the data has ${ds.M} modalities but the model expects ${config.model.inChannels}`);
  const model = new SeganModel(engine, config);
  const trainer = new SeganTrainer(model, config);
  const ckptBytes = checkpointBytes(model, config);
  // two files per save (step-N and latest) plus a temporary copy while one is written
  ensureFreeSpace(runDir, 3 * ckptBytes, 'the first checkpoints');
  let progress: Progress = { epoch: 0, stepInEpoch: 0, globalStep: 0 };
  if (ckpt) {
    restore(ckpt, model, trainer);
    progress = { ...ckpt.progress };
  }
  // The run has started: only now is the run folder touched (a failed start leaves it as it was).
  startRunFolder(runDir, {
    replace: opts.replaceRunDir ?? false,
    config,
    data: { dir: opts.dataDir, train: ds.trainCases, val: ds.valCases },
    runPlan: opts.runPlan ?? {},
    resumed: ckpt
      ? {
          from: opts.resume,
          step: progress.globalStep,
          at: new Date().toISOString(),
          overrides: opts.resumeOverrides ?? {},
        }
      : null,
    splits: opts.splits,
  });
  const log = new TrainingLog(runDir);
  // The best validation so far (mean Dice over regions); on resume, from the run's earlier metrics.
  let bestScore = -Infinity;
  if (ckpt) {
    log.dropAfter(progress.globalStep);
    bestScore = log.bestEarlierScore();
  }
  const logEvery = opts.logEvery ?? RUN_DEFAULTS.logEvery;
  const checkpointEvery = opts.checkpointEvery ?? RUN_DEFAULTS.checkpointEvery;
  const B = config.batch;
  const stepsPerEpoch = Math.floor(ds.numSlices('train') / B);
  if (stepsPerEpoch === 0)
    throw new Error(
      `only ${ds.numSlices('train')} training slices for batch ${B}: use a smaller --batch or more cases`,
    );
  // where this command will end: the last epoch's last step, or sooner with maxSteps (progress lines, ETA)
  const stepsTotal = Math.min(
    config.epochs * stepsPerEpoch,
    opts.maxSteps !== undefined ? progress.globalStep + opts.maxSteps : Infinity,
  );
  let lastCheckpoint: string | null = opts.resume ?? null;
  let stepsThisRun = 0;
  let pending: { step: number; epoch: number; losses: StepLosses }[] = [];

  const save = async () => {
    ensureFreeSpace(runDir, 2 * ckptBytes, `checkpoint step ${progress.globalStep}`);
    const dir = join(runDir, 'checkpoints');
    const latest = join(dir, 'latest.safetensors');
    // step-N first, then latest: a failed write leaves the previous pair whole
    if (keep > 0) {
      const path = join(dir, `step-${String(progress.globalStep).padStart(7, '0')}.safetensors`);
      await saveCheckpoint(path, model, trainer, config, progress, opts.runPlan);
      lastCheckpoint = path;
    }
    await saveCheckpoint(latest, model, trainer, config, progress, opts.runPlan);
    if (keep === 0) lastCheckpoint = latest;
    pruneCheckpoints(dir, keep);
  };

  /**
   * Read back the pending steps' losses and flags (a sync point): log them, or skip / stop by the policy;
   * `report`: also show the last one (onLog).
   */
  const flushMetrics = async (report = true) => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    // read everything back first: the rate is measured when the steps are done, not when recorded
    const read: { critic: number; segmentor: number; dice: number; found: (SkippedStep | null)[] }[] = [];
    try {
      for (const p of batch) {
        const [critic, segmentor, dice] = await Promise.all([
          p.losses.critic.item(),
          p.losses.segmentor.item(),
          p.losses.dice.item(),
        ]);
        const found = await Promise.all([
          trainer.explainFlag('critic', p.losses.criticFlag),
          trainer.explainFlag('segmentor', p.losses.segmentorFlag),
        ]);
        read.push({ critic, segmentor, dice, found });
      }
    } finally {
      for (const q of batch) for (const t of Object.values(q.losses)) t?.dispose();
    }
    const { stepsPerSec, now } = log.rate(stepsThisRun, report); // over the steps since the last log point
    for (const [i, p] of batch.entries()) {
      const { critic, segmentor, dice, found } = read[i];
      const skipped = policy.judge(p, { critic, segmentor }, found, trainer.guard, lastCheckpoint, (r) => {
        log.skip(r);
        opts.onSkip?.(r);
      });
      if (skipped) continue;
      const m: StepMetrics = {
        type: 'step',
        epoch: p.epoch,
        step: p.step,
        critic,
        segmentor,
        dice,
        lr: trainer.lrAt(p.epoch),
        stepsPerSec,
        elapsedSec: log.elapsedSec(now),
        stepsTotal,
      };
      log.step(m);
      if (report && p === batch[batch.length - 1]) opts.onLog?.(m);
    }
  };

  /** 3-D validation, scored as segan eval does; keeps checkpoints/best.safetensors; overlays after an epoch. */
  const validate = async (epoch: number, overlays: boolean) => {
    // with a weight average (--ema), validation and the overlays see the average, as inference will
    const withWeights = <T>(body: () => Promise<T>) => (trainer.average ? trainer.average.withAverage(body) : body());
    const v = await withWeights(() => validateVolumes(engine, model, ds, B, config.model.classes, opts.maxValCases));
    const score = v.dice.reduce((a, b) => a + b, 0) / v.dice.length;
    const best = score > bestScore;
    if (best) {
      bestScore = score;
      ensureFreeSpace(runDir, ckptBytes, `the best checkpoint (step ${progress.globalStep})`);
      await saveCheckpoint(
        join(runDir, 'checkpoints', 'best.safetensors'),
        model,
        trainer,
        config,
        progress,
        opts.runPlan,
      );
    }
    const m: EpochMetrics = {
      type: 'val',
      epoch,
      step: progress.globalStep,
      dice: v.dice,
      hd95: v.hd95,
      cases: v.cases,
      best,
      elapsedSec: log.elapsedSec(),
    };
    log.validation(m);
    opts.onEpoch?.(m);
    if (overlays) await withWeights(() => writeOverlays(engine, model, ds, runDir, epoch, B, v.labels));
    log.plot();
    return v.dice;
  };

  const budget = new TimeBudget(opts.deadline, ckptBytes, Math.ceil(ds.numSlices('val') / B), () => stepsThisRun);
  let stopped: TrainResult['stopped'] = 'done';
  let lastVal: number[] | null = null;
  try {
    outer: for (let epoch = progress.epoch; epoch < config.epochs; epoch++) {
      trainer.setEpoch(epoch);
      let index = 0;
      for (const batch of ds.batches('train', B, {
        seed: config.seed,
        epoch,
        crop: 'random',
        flip: opts.flip ?? false,
        augment: opts.augment,
        dropLast: true,
      })) {
        if (index++ < progress.stepInEpoch) continue; // resuming mid-epoch: same order, skip what was done
        if (!budget.stepFits()) {
          stopped = 'time';
          break outer;
        }
        const x = engine.tensor(batch.image, [B, ds.M, ds.S, ds.S]);
        const y = engine.tensor(batch.label, [B, ds.K, ds.S, ds.S]);
        const losses = trainer.step(x, y);
        x.dispose();
        y.dispose();
        progress = { epoch, stepInEpoch: progress.stepInEpoch + 1, globalStep: progress.globalStep + 1 };
        stepsThisRun++;
        pending.push({ step: progress.globalStep, epoch, losses });
        // with a deadline, sync at least every 8 steps (the step time is measured at sync points)
        const logPoint = progress.globalStep % logEvery === 0;
        if (logPoint || (opts.deadline !== undefined && budget.unsyncedSteps() >= 8)) {
          await flushMetrics(logPoint);
          budget.synced();
        }
        if (progress.globalStep % checkpointEvery === 0) {
          await flushMetrics();
          await budget.timedSave(save);
          log.rate(stepsThisRun); // the step rate leaves saves and validations out
        }
        if (
          opts.valEvery !== undefined &&
          progress.globalStep % opts.valEvery === 0 &&
          progress.stepInEpoch < stepsPerEpoch
        ) {
          await flushMetrics();
          if (!budget.validationFits()) {
            stopped = 'time';
            break outer;
          }
          lastVal = await budget.timedValidation(() => validate(epoch, false));
          log.rate(stepsThisRun);
        }
        if (opts.shouldStop?.()) {
          stopped = 'interrupted';
          break outer;
        }
        if (opts.maxSteps !== undefined && stepsThisRun >= opts.maxSteps) {
          stopped = 'maxSteps';
          break outer;
        }
      }
      await flushMetrics();
      budget.synced();
      progress = { epoch: epoch + 1, stepInEpoch: 0, globalStep: progress.globalStep };
      if (!budget.validationFits()) {
        stopped = 'time';
        break outer;
      }
      lastVal = await budget.timedValidation(() => validate(epoch, true));
      await budget.timedSave(save);
      log.rate(stepsThisRun);
    }
    await flushMetrics();
    if (stopped !== 'done') {
      await save();
      log.plot();
    }
  } catch (err) {
    throw withResumeHint(err, progress.globalStep, lastCheckpoint);
  } finally {
    for (const p of pending) for (const t of Object.values(p.losses)) t?.dispose();
    if (!engine.runtime.isClosed) {
      trainer.dispose();
      model.dispose();
    }
  }
  return {
    progress,
    lastCheckpoint,
    val: lastVal,
    stopped,
    skippedSteps: policy.skipped,
    dataset: { trainCases: ds.trainCases, valCases: ds.valCases, K: ds.K, M: ds.M, S: ds.S },
  };
}
