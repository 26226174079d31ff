// `segan train | eval | predict | synth`: the user-facing SegAN commands.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { createEngine } from '../index.ts';
import { openDataset } from '../data/dataset.ts';
import { writeNifti } from '../data/nifti.ts';
import { findCases } from '../data/brats.ts';
import { makeConfig, PRESETS, type PresetName, type TrainConfig } from '../segan/config.ts';
import { loadCheckpoint, restore } from '../segan/checkpoint.ts';
import { predictSlices, scoreCase } from '../segan/infer.ts';
import { scoresCsv, scoresTable, summarize, type CaseScores } from '../segan/metrics.ts';
import { SeganModel } from '../segan/trainer.ts';
import { train, type StepMetrics } from '../segan/train.ts';
import { writeSyntheticCases } from '../segan/synth-cases.ts';
import { ensureWritableDir } from '../segan/output.ts';
import { parseFlags } from './args.ts';

const fmtTime = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);

function requireDir(flag: string, dir: unknown): string {
  if (typeof dir !== 'string' || !dir) throw new Error(`--${flag} DIR is required`);
  if (!existsSync(dir)) throw new Error(`--${flag}: '${dir}' does not exist`);
  return dir;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, {
    data: 'string', preset: 'string', epochs: 'number', batch: 'number', resume: 'string', run: 'string', runs: 'string',
    width: 'number', size: 'number', classes: 'number', crop: 'string', lr: 'number', seed: 'number', skip: 'string', 'val-cases': 'string',
    'checkpoint-every': 'number', 'log-every': 'number', 'max-steps': 'number', flip: 'boolean', 'lambda-dice': 'number', clamp: 'number', cache: 'string',
    'on-nan': 'string', 'max-skips': 'number',
  });
  const onNan = String(f['on-nan'] ?? 'stop');
  if (onNan !== 'stop' && onNan !== 'skip') throw new Error(`--on-nan must be 'stop' or 'skip', got '${onNan}'`);
  const maxSkips = f['max-skips'] !== undefined ? Number(f['max-skips']) : undefined;
  if (maxSkips !== undefined && !(Number.isInteger(maxSkips) && maxSkips >= 1)) throw new Error(`--max-skips must be a positive integer, got '${f['max-skips']}'`);
  const dataDir = requireDir('data', f.data);
  const preset = (f.preset ?? 'code') as PresetName;
  if (!(preset in PRESETS)) throw new Error(`--preset must be ${Object.keys(PRESETS).join(' or ')}, got '${preset}'`);
  const config: TrainConfig = makeConfig({
    preset,
    ...(f.lr !== undefined ? { lr: Number(f.lr) } : {}),
    ...(f['lambda-dice'] !== undefined ? { lambdaDice: Number(f['lambda-dice']) } : {}),
    ...(f.clamp !== undefined ? { clamp: Number(f.clamp) } : {}),
    epochs: Number(f.epochs ?? 10),
    batch: Number(f.batch ?? 8),
    size: Number(f.size ?? 160),
    volumeCrop: f.crop ? (String(f.crop).split(/[x,]/).map(Number) as [number, number, number]) : [180, 180, 128],
    seed: Number(f.seed ?? 666),
    model: { inChannels: 3, classes: Number(f.classes ?? 3), width: Number(f.width ?? 1), skip: (f.skip ?? 'add') as 'add' | 'concat', slope: 0.2, seed: Number(f.seed ?? 666) },
  });
  const runName = String(f.run ?? `${preset}-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}`);
  const runDir = resolve(String(f.runs ?? 'runs'), runName);
  ensureWritableDir(runDir, 'the run folder'); // before the GPU and the data: fail in a second, not a minute
  const engine = await createEngine({ seed: config.seed });
  const tty = process.stderr.isTTY;
  let bar: cliProgress.SingleBar | null = null;
  let stop = false;
  const onSigint = () => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write('\nSIGINT: finishing the current step and saving a checkpoint (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  try {
    console.log(`training SegAN (${preset} preset) on ${engine.adapter.description || engine.adapter.device}; run folder ${runDir}`);
    const result = await train(engine, {
      dataDir,
      runDir,
      config,
      resume: f.resume ? String(f.resume) : undefined,
      resumeOverrides: f.resume && f.lr !== undefined ? { lr: Number(f.lr) } : undefined,
      cacheDir: f.cache ? String(f.cache) : undefined,
      valCases: f['val-cases'] ? String(f['val-cases']).split(',') : undefined,
      checkpointEvery: f['checkpoint-every'] !== undefined ? Number(f['checkpoint-every']) : undefined,
      logEvery: f['log-every'] !== undefined ? Number(f['log-every']) : undefined,
      maxSteps: f['max-steps'] !== undefined ? Number(f['max-steps']) : undefined,
      flip: !!f.flip,
      onNan,
      maxConsecutiveSkips: maxSkips,
      onSkip: (r) => {
        const line = `step ${r.step}: skipped (not finite: ${r.what.join(', ')}); parameters and optimizer state left as they were`;
        if (bar) process.stderr.write(`\n${line}\n`);
        else console.log(line);
      },
      shouldStop: () => stop,
      onLog: (m: StepMetrics) => {
        const eta = m.stepsPerSec > 0 ? (m.stepsTotal - m.step) / m.stepsPerSec : 0;
        const payload = { epoch: m.epoch + 1, critic: m.critic.toFixed(4), seg: m.segmentor.toFixed(4), dice: m.dice.toFixed(3), speed: m.stepsPerSec.toFixed(2), etaText: fmtTime(eta) };
        if (tty) {
          if (!bar) {
            bar = new cliProgress.SingleBar({ format: 'epoch {epoch} |{bar}| step {value}/{total} | D {critic} | G {seg} | Dice {dice} | {speed} steps/s | ETA {etaText}', hideCursor: true }, cliProgress.Presets.shades_classic);
            bar.start(m.stepsTotal, m.step, payload);
          }
          bar.update(m.step, payload);
        } else {
          console.log(`epoch ${payload.epoch} step ${m.step}/${m.stepsTotal}  D ${payload.critic}  G ${payload.seg}  Dice ${payload.dice}  ${payload.speed} steps/s  ETA ${payload.etaText}`);
        }
      },
      onEpoch: (m) => {
        const names = ['whole', 'core', 'enhancing'];
        const line = `validation after epoch ${m.epoch + 1}: ` + m.dice.map((d, i) => `${names[i]} Dice ${d.toFixed(3)}`).join(', ');
        if (bar) bar.stop(), (bar = null);
        console.log(line);
      },
    });
    (bar as cliProgress.SingleBar | null)?.stop();
    console.log(`\n${result.stopped === 'interrupted' ? 'interrupted' : 'finished'} at epoch ${result.progress.epoch}, step ${result.progress.globalStep}${result.skippedSteps ? ` (${result.skippedSteps} steps skipped for non-finite values; see metrics.jsonl)` : ''}`);
    console.log(`outputs in ${runDir}:\n  config.json, metrics.jsonl, loss-curve.svg, overlays/*.png\n  checkpoint ${result.lastCheckpoint}`);
    return result.stopped === 'interrupted' ? 130 : 0;
  } finally {
    process.off('SIGINT', onSigint);
    await engine.close();
  }
}

export async function evalCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, { data: 'string', checkpoint: 'string', out: 'string', cases: 'string', batch: 'number', cache: 'string' });
  const dataDir = requireDir('data', f.data);
  if (!f.checkpoint) throw new Error('--checkpoint FILE is required');
  const ckpt = loadCheckpoint(String(f.checkpoint));
  const config = ckpt.config;
  const engine = await createEngine();
  try {
    const model = new SeganModel(engine, config);
    restore(ckpt, model, null);
    const all = (await findCases(dataDir)).map((c) => c.id);
    const cases = f.cases ? String(f.cases).split(',') : all;
    const ds = await openDataset(dataDir, { cacheDir: String(f.cache ?? join(dataDir, '.dawngrad-cache')), regions: config.model.classes === 1 ? 'whole' : 'all', onlyCases: cases, valCases: cases, allowNoTraining: true, cropSize: config.size, cropShape: config.volumeCrop, seed: config.seed });
    const scores: CaseScores[] = [];
    for (const id of cases) {
      const cs = ds.caseSlices(id);
      const { labels } = await predictSlices(engine, model.S, cs, Number(f.batch ?? config.batch));
      // 3-D scores in the case's own grid: predictions put back, against the full label volume
      const pred = ds.putBack(id, labels);
      const truth = ds.putBack(id, cs.raw);
      scores.push(scoreCase(id, pred, truth, config.model.classes, ds.label3 === 'enhancing'));
      process.stderr.write(`evaluated ${id}\n`);
    }
    console.log(scoresTable(scores));
    const out = resolve(String(f.out ?? join('runs', `eval-${basename(String(f.checkpoint), '.safetensors')}`)));
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'scores.csv'), scoresCsv(scores));
    writeFileSync(join(out, 'scores.json'), JSON.stringify({ checkpoint: f.checkpoint, cases: scores, summary: summarize(scores) }, null, 2) + '\n');
    console.log(`\nwrote ${join(out, 'scores.csv')} and scores.json`);
    model.dispose();
    return 0;
  } finally {
    await engine.close();
  }
}

export async function predictCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, { checkpoint: 'string', case: 'string', out: 'string', batch: 'number', cache: 'string' });
  const caseDir = requireDir('case', f.case);
  if (!f.checkpoint) throw new Error('--checkpoint FILE is required');
  if (!f.out) throw new Error('--out FILE.nii.gz is required');
  const ckpt = loadCheckpoint(String(f.checkpoint));
  const config = ckpt.config;
  const engine = await createEngine();
  try {
    const model = new SeganModel(engine, config);
    restore(ckpt, model, null);
    const root = resolve(caseDir, '..');
    const id = basename(resolve(caseDir));
    const ds = await openDataset(root, { cacheDir: String(f.cache ?? join(resolve(caseDir), '..', '.dawngrad-cache')), regions: config.model.classes === 1 ? 'whole' : 'all', onlyCases: [id], valCases: [id], allowNoTraining: true, cropSize: config.size, cropShape: config.volumeCrop, requireSeg: false });
    const cs = ds.caseSlices(id);
    const { labels } = await predictSlices(engine, model.S, cs, Number(f.batch ?? config.batch));
    const grid = ds.putBack(id, labels);
    await writeNifti(String(f.out), grid, { like: await ds.referenceHeader(id), datatype: 'uint8' });
    const counts = { 1: 0, 2: 0, 4: 0 } as Record<number, number>;
    for (const v of grid) if (v) counts[v]++;
    console.log(`wrote ${f.out}: ${grid.length} voxels, labels 1: ${counts[1]}, 2: ${counts[2]}, 4: ${counts[4]}`);
    model.dispose();
    return 0;
  } finally {
    await engine.close();
  }
}

export async function synthCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, { out: 'string', cases: 'number', seed: 'number', shape: 'string' });
  if (!f.out) throw new Error('--out DIR is required');
  const shape = f.shape ? (String(f.shape).split(/[x,]/).map(Number) as [number, number, number]) : undefined;
  if (shape && (shape.length !== 3 || !shape.every((n) => Number.isInteger(n) && n > 0))) throw new Error(`--shape must look like 240x240x155, got '${f.shape}'`);
  const n = Number(f.cases ?? 5);
  const ids = await writeSyntheticCases(String(f.out), { cases: n, seed: Number(f.seed ?? 1), shape, onCase: (id, i) => process.stderr.write(`phantom ${i + 1}/${n}: ${id}\n`) });
  console.log(`wrote ${ids.length} BRATS-layout cases to ${f.out}`);
  return 0;
}
