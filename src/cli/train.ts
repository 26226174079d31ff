// `segan train`: the plan (src/cli/train-plan.ts), then the training loop (src/segan/train.ts) with
// its progress and Ctrl-C handling (src/cli/train-progress.ts), and what the run left where.
// Everything up to createEngine() only reads: a refused command leaves no trace.
import { findCases } from '../data/brats.ts';
import { foldSplits } from '../data/case-split.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine } from '../index.ts';
import { defaultCacheDir } from '../data/cache.ts';
import { CheckpointError } from '../segan/checkpoint.ts';
import { ensureWritableDir, OutputError } from '../segan/output.ts';
import { DataError, train } from '../segan/train.ts';
import type { Values } from './options.ts';
import { CommandError } from './command-errors.ts';
import { planTraining } from './train-plan.ts';
import { stopOnSigint, TrainProgress } from './train-progress.ts';

/** When the user's command started: the wrapper's start (bin/segan.mjs), else this process's. */
const startedAt = Number(process.env.DAWNGRAD_STARTED_AT) || Math.round(performance.timeOrigin);

export async function trainCommand(v: Values & { given: Set<string> }): Promise<number> {
  const p = planTraining(v);
  const { config, plan, runDir } = p;
  const precision = v.precision as 'f32' | 'f16';
  try {
    ensureWritableDir(p.runDir, 'the run folder'); // checks only: nothing is created yet
  } catch (e) {
    throw new CommandError(`segan train: --runs/--run: ${(e as Error).message}`, { cause: e });
  }
  // cross-validation: fold k's validation cases (unless --val-cases names them)
  let folds: { val: string[]; splits: { train: string[]; val: string[] }[] } | null = null;
  if (plan.folds && !plan.valCases) {
    const splits = foldSplits(
      (await findCases(plan.data)).map((c) => c.id),
      plan.folds.n,
      config.seed,
    );
    folds = { val: splits[plan.folds.k].val, splits };
  }
  let engine: Awaited<ReturnType<typeof createEngine>>;
  try {
    engine = await createEngine({ seed: config.seed, precision });
  } catch (e) {
    if (precision === 'f16' && /shader-f16/.test((e as Error).message))
      throw new CommandError(`segan train: --precision f16: ${(e as Error).message}`, { cause: e });
    throw e;
  }
  const deadline = v['max-minutes'] !== undefined ? startedAt + (v['max-minutes'] as number) * 60_000 : undefined;
  const progress = new TrainProgress(process.stderr.isTTY, deadline);
  const sigint = stopOnSigint();
  try {
    const on = engine.adapter.description || engine.adapter.device;
    if (p.resume) {
      const pr = p.resumeCheckpoint!.progress;
      console.log(`resuming ${runDir} from step ${pr.globalStep} (epoch ${pr.epoch + 1} of ${config.epochs}) on ${on}`);
      if (p.notes.length) console.log(`  changed on the command line: ${p.notes.join(', ')}`);
    } else
      console.log(
        `training SegAN (${config.preset} ` +
          `preset${precision === 'f16' ? ', float16 conv operands' : ''}) on ${on}; run folder ${runDir}`,
      );
    if (folds)
      console.log(
        `cross-validation fold ${plan.folds!.k} of ${plan.folds!.n} (cases split by ` +
          `seed ${config.seed}): validating on ${folds.val.join(', ')}; all folds in splits.json`,
      );
    if (plan.valCases && plan.folds)
      console.log('--val-cases decides the validation cases: --folds/--fold are ignored');
    const result = await train(engine, {
      dataDir: plan.data,
      runDir,
      config,
      resume: p.resume ?? undefined,
      resumeOverrides: p.resume ? p.overrides : undefined,
      runPlan: plan as unknown as Record<string, unknown>,
      replaceRunDir: p.replaceRunDir,
      keepCheckpoints: plan.keepCheckpoints,
      cacheDir: plan.cache ?? defaultCacheDir(),
      valCases: folds?.val ?? plan.valCases ?? undefined,
      splits: folds?.splits,
      checkpointEvery: plan.checkpointEvery,
      valEvery: plan.valEvery ?? undefined,
      logEvery: plan.logEvery,
      maxSteps: v['max-steps'] as number | undefined,
      flip: plan.flip,
      augment: plan.augment,
      onNan: plan.onNan,
      maxConsecutiveSkips: plan.maxSkips,
      onSkip: (r) => progress.skip(r),
      shouldStop: sigint.requested,
      deadline,
      onLog: (m) => progress.step(m),
      onEpoch: (m) => progress.validation(m),
    });
    progress.stop();
    const how = {
      interrupted: 'interrupted',
      maxSteps: `stopped after --max-steps ${v['max-steps']}`,
      time:
        `stopped within the --max-minutes ${v['max-minutes']} budget ` +
        `(${((Date.now() - startedAt) / 60000).toFixed(2)} min so far)`,
      done: 'finished',
    }[result.stopped];
    console.log(
      `\n${how} at epoch ${result.progress.epoch}, ` +
        `step ${result.progress.globalStep}${
          result.skippedSteps ? ` (${result.skippedSteps} steps skipped for non-finite values; see metrics.jsonl)` : ''
        }`,
    );
    const best = join(runDir, 'checkpoints', 'best.safetensors');
    const bestVal = existsSync(best)
      ? readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
          .split('\n')
          .filter((l) => l.includes('"best":true'))
          .pop()
      : undefined;
    const bestAt = bestVal ? (JSON.parse(bestVal) as { step: number; dice: number[] }) : null;
    console.log(
      `outputs in ${runDir}:\n  config.json, metrics.jsonl, loss-curve.svg, overlays/*.png\n  ` +
        `checkpoint ${result.lastCheckpoint}${
          bestAt
            ? `\n  best ${best} (step ${bestAt.step}, validation ` +
              `Dice ${bestAt.dice.map((d) => d.toFixed(3)).join(' / ')}); ` +
              `score it with segan eval --checkpoint ${best}`
            : ''
        }`,
    );
    return result.stopped === 'interrupted' ? 130 : 0;
  } catch (e) {
    progress.stop();
    if (e instanceof DataError)
      throw new CommandError(`segan train: --data ${plan.data}: ${e.message.replace(`${plan.data}: `, '')}`, {
        cause: e,
      });
    if (e instanceof CheckpointError)
      throw new CommandError(`segan train: --resume ${v.resume}: ${e.message}`, { cause: e });
    if (e instanceof OutputError) throw new CommandError(`segan train: ${e.message}`, { cause: e });
    throw e;
  } finally {
    sigint.release();
    await engine.close();
  }
}
