// The training loop: data → D+G steps recorded on the GPU → periodic metrics (one readback every
// `logEvery` steps) → validation, overlays and a loss-curve plot per epoch → checkpoints every
// `checkpointEvery` steps and at the end of each epoch. Resuming continues bit-for-bit: the data order
// is a function of (seed, epoch), and the checkpoint holds the parameters, running statistics and
// optimizer state.
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset, type Dataset } from '../data/dataset.ts';
import { overlayPng } from '../io/png.ts';
import { lineChartSvg } from '../io/plot.ts';
import type { Engine } from '../tensor/engine.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { TrainConfig } from './config.ts';
import { loadCheckpoint, restore, saveCheckpoint, type Progress } from './checkpoint.ts';
import { predictSlices, validateSlices } from './infer.ts';
import { SeganModel, SeganTrainer } from './trainer.ts';

export interface TrainOptions {
  dataDir: string;
  runDir: string;
  config: TrainConfig;
  /** Checkpoint to resume from (its config wins, except `epochs`). */
  resume?: string;
  cacheDir?: string;
  valCases?: string[];
  valFraction?: number;
  checkpointEvery?: number;
  logEvery?: number;
  /** Stop after this many steps in this run (tests, demos). */
  maxSteps?: number;
  /** Validation batches per epoch (all by default). */
  maxValBatches?: number;
  /** Called at every log point. */
  onLog?: (m: StepMetrics) => void;
  onEpoch?: (m: EpochMetrics) => void;
  /** Checked after every step; true stops the run after saving a checkpoint. */
  shouldStop?: () => boolean;
  flip?: boolean;
}

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
  stepsTotal: number;
}

export interface EpochMetrics {
  type: 'val';
  epoch: number;
  step: number;
  /** Hard Dice per class on the validation crops (whole[, core, enhancing]). */
  dice: number[];
  elapsedSec: number;
}

export interface TrainResult {
  progress: Progress;
  lastCheckpoint: string | null;
  val: number[] | null;
  stopped: 'done' | 'maxSteps' | 'interrupted';
  dataset: Pick<Dataset, 'trainCases' | 'valCases' | 'K' | 'M' | 'S'>;
}

export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}

export async function train(engine: Engine, opts: TrainOptions): Promise<TrainResult> {
  const ckpt = opts.resume ? loadCheckpoint(opts.resume) : null;
  const config: TrainConfig = ckpt ? { ...ckpt.config, epochs: opts.config.epochs } : opts.config;
  const { runDir } = opts;
  const ds = await openDataset(opts.dataDir, {
    cacheDir: opts.cacheDir ?? join(runDir, '..', '.cache'),
    regions: config.model.classes === 1 ? 'whole' : 'all',
    valCases: opts.valCases,
    valFraction: opts.valFraction,
    seed: config.seed,
    cropSize: config.size,
    cropShape: config.volumeCrop,
  });
  if (ds.M !== config.model.inChannels) throw new Error(`the data has ${ds.M} modalities but the model expects ${config.model.inChannels}`);
  // folders only once the data is known to be good: a failed start leaves nothing behind
  mkdirSync(join(runDir, 'checkpoints'), { recursive: true });
  mkdirSync(join(runDir, 'overlays'), { recursive: true });
  writeFileSync(join(runDir, 'config.json'), JSON.stringify({ ...config, data: { dir: opts.dataDir, train: ds.trainCases, val: ds.valCases } }, null, 2) + '\n');
  const model = new SeganModel(engine, config);
  const trainer = new SeganTrainer(model, config);
  let progress: Progress = { epoch: 0, stepInEpoch: 0, globalStep: 0 };
  if (ckpt) {
    restore(ckpt, model, trainer);
    progress = { ...ckpt.progress };
  }
  const metricsFile = join(runDir, 'metrics.jsonl');
  const history: StepMetrics[] = [];
  const valHistory: EpochMetrics[] = [];
  const logEvery = opts.logEvery ?? 10;
  const checkpointEvery = opts.checkpointEvery ?? 200;
  const B = config.batch;
  const stepsPerEpoch = Math.floor(ds.numSlices('train') / B);
  if (stepsPerEpoch === 0) throw new Error(`only ${ds.numSlices('train')} training slices for batch ${B}: use a smaller --batch or more cases`);
  const t0 = performance.now();
  let lastCheckpoint: string | null = null;
  let stepsThisRun = 0;
  let pending: { step: number; epoch: number; losses: { critic: Tensor; segmentor: Tensor; dice: Tensor } }[] = [];
  let lastLogTime = performance.now();
  let lastLogSteps = 0;

  const save = async () => {
    const name = `step-${String(progress.globalStep).padStart(7, '0')}.safetensors`;
    const path = join(runDir, 'checkpoints', name);
    await saveCheckpoint(path, model, trainer, config, progress);
    await saveCheckpoint(join(runDir, 'checkpoints', 'latest.safetensors'), model, trainer, config, progress);
    lastCheckpoint = path;
  };

  const flushMetrics = async () => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    const now = performance.now();
    const rate = (stepsThisRun - lastLogSteps) / Math.max(1e-9, (now - lastLogTime) / 1000);
    lastLogTime = now;
    lastLogSteps = stepsThisRun;
    for (const p of batch) {
      const [critic, segmentor, dice] = await Promise.all([p.losses.critic.item(), p.losses.segmentor.item(), p.losses.dice.item()]);
      p.losses.critic.dispose();
      p.losses.segmentor.dispose();
      p.losses.dice.dispose();
      const bad = !Number.isFinite(critic) ? 'critic' : !Number.isFinite(segmentor) ? 'segmentor' : null;
      if (bad) {
        for (const q of batch) for (const t of Object.values(q.losses)) t.dispose();
        throw new NonFiniteLossError(`the ${bad} loss became ${bad === 'critic' ? critic : segmentor} at step ${p.step} (epoch ${p.epoch}); training stopped. The last good checkpoint is ${lastCheckpoint ?? '(none yet)'}; try a lower learning rate.`);
      }
      const m: StepMetrics = { type: 'step', epoch: p.epoch, step: p.step, critic, segmentor, dice, lr: trainer.lrAt(p.epoch), stepsPerSec: rate, elapsedSec: (now - t0) / 1000, stepsTotal: config.epochs * stepsPerEpoch };
      history.push(m);
      appendFileSync(metricsFile, JSON.stringify(m) + '\n');
      if (p === batch[batch.length - 1]) opts.onLog?.(m);
    }
  };

  const endOfEpoch = async (epoch: number) => {
    const dice = await validateSlices(engine, model.S, ds, B, opts.maxValBatches);
    const m: EpochMetrics = { type: 'val', epoch, step: progress.globalStep, dice, elapsedSec: (performance.now() - t0) / 1000 };
    valHistory.push(m);
    appendFileSync(metricsFile, JSON.stringify(m) + '\n');
    opts.onEpoch?.(m);
    await writeOverlays(engine, model, ds, runDir, epoch, B);
    writePlot(runDir, history, valHistory);
    return dice;
  };

  let stopped: TrainResult['stopped'] = 'done';
  let lastVal: number[] | null = null;
  outer: for (let epoch = progress.epoch; epoch < config.epochs; epoch++) {
    trainer.setEpoch(epoch);
    let index = 0;
    for (const batch of ds.batches('train', B, { seed: config.seed, epoch, crop: 'random', flip: opts.flip ?? false, dropLast: true })) {
      if (index++ < progress.stepInEpoch) continue; // resuming mid-epoch: same order, skip what was done
      const x = engine.tensor(batch.image, [B, ds.M, ds.S, ds.S]);
      const y = engine.tensor(batch.label, [B, ds.K, ds.S, ds.S]);
      const losses = trainer.step(x, y);
      x.dispose();
      y.dispose();
      progress = { epoch, stepInEpoch: progress.stepInEpoch + 1, globalStep: progress.globalStep + 1 };
      stepsThisRun++;
      pending.push({ step: progress.globalStep, epoch, losses });
      if (progress.globalStep % logEvery === 0) await flushMetrics();
      if (progress.globalStep % checkpointEvery === 0) {
        await flushMetrics();
        await save();
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
    progress = { epoch: epoch + 1, stepInEpoch: 0, globalStep: progress.globalStep };
    lastVal = await endOfEpoch(epoch);
    await save();
  }
  await flushMetrics();
  if (stopped !== 'done') {
    await save();
    writePlot(runDir, history, valHistory);
  }
  model.dispose();
  return { progress, lastCheckpoint, val: lastVal, stopped, dataset: { trainCases: ds.trainCases, valCases: ds.valCases, K: ds.K, M: ds.M, S: ds.S } };
}

function writePlot(runDir: string, history: StepMetrics[], val: EpochMetrics[]): void {
  const series = [
    { name: 'critic loss', points: history.map((m) => [m.step, m.critic] as [number, number]) },
    { name: 'segmentor loss', points: history.map((m) => [m.step, m.segmentor] as [number, number]) },
    { name: 'train Dice (whole)', points: history.map((m) => [m.step, m.dice] as [number, number]) },
    ...(val.length ? [{ name: 'validation Dice (whole)', points: val.map((m) => [m.step, m.dice[0]] as [number, number]) }] : []),
  ];
  writeFileSync(join(runDir, 'loss-curve.svg'), lineChartSvg(series, { title: 'SegAN training', xLabel: 'step', yLabel: 'loss / Dice' }));
}

/** Overlay PNGs of predictions vs ground truth on the validation slices with the most tumour. */
async function writeOverlays(engine: Engine, model: SeganModel, ds: Dataset, runDir: string, epoch: number, batch: number, count = 2): Promise<void> {
  for (const caseId of ds.valCases.slice(0, count)) {
    const cs = ds.caseSlices(caseId);
    const { labels } = await predictSlices(engine, model.S, cs, batch);
    const { Z, M, S } = cs.shape;
    const plane = S * S;
    let best = 0;
    let bestCount = -1;
    for (let z = 0; z < Z; z++) {
      let c = 0;
      for (let i = 0; i < plane; i++) c += cs.raw[z * plane + i] ? 1 : 0;
      if (c > bestCount) {
        bestCount = c;
        best = z;
      }
    }
    // the last modality (FLAIR by default) shows the tumour best
    const img = cs.image.subarray((best * M + (M - 1)) * plane, (best * M + M) * plane);
    const png = overlayPng(img, cs.raw.subarray(best * plane, (best + 1) * plane), labels.subarray(best * plane, (best + 1) * plane), S, S);
    const dir = join(runDir, 'overlays');
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `epoch-${String(epoch).padStart(3, '0')}-${caseId}-z${best}.png`), png);
  }
}
