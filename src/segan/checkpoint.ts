// Checkpoints in the safetensors format (loadable by PyTorch's safetensors.torch.load_file):
// model tensors under their state-dict names (S.enc1.weight, C0.conv2_bn.running_mean, ...), the
// optimizers' state under optS.* / optC.*, the segmentor's weight average (runs with --ema) under
// avgS.*, and in the metadata the training config, the progress (epoch, step) and a SHA-256 of all
// tensor bytes, verified on load. Written to a temporary file, flushed, then renamed: a crash
// mid-write leaves the previous checkpoint intact.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.ts';
import type { OptimizerState } from '../optim/index.ts';
import type { TrainConfig } from './config.ts';
import type { SeganModel } from './model.ts';
import type { SeganTrainer } from './trainer.ts';

export const CHECKPOINT_FORMAT = 'dawngrad-segan/1';

export interface Progress {
  epoch: number;
  /** Batches of `epoch` already trained. */
  stepInEpoch: number;
  /** Steps since the start of training. */
  globalStep: number;
}

export interface LoadedCheckpoint {
  config: TrainConfig;
  progress: Progress;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  optimizers: { S: OptimizerState<object>; C: OptimizerState<object> } | null;
  /** The segmentor's weight average (its values are the avgS.* tensors), if the run kept one. */
  average: { decay: number; updates: number } | null;
  /** The run's plan beyond the config (data folder, validation cases, checkpoint cadence, ...), if recorded. */
  run: Record<string, unknown> | null;
}

type Entry = { dtype: 'F32'; shape: number[]; data: Float32Array };

function checksum(entries: [string, Entry][]): string {
  const h = createHash('sha256');
  for (const [name, e] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    h.update(name);
    h.update(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength));
  }
  return h.digest('hex');
}

/** Read every model tensor and optimizer buffer (a sync point) and write the checkpoint atomically. */
export async function saveCheckpoint(
  path: string,
  model: SeganModel,
  trainer: SeganTrainer | null,
  config: TrainConfig,
  progress: Progress,
  run?: Record<string, unknown>,
): Promise<void> {
  const entries: [string, Entry][] = [];
  for (const [name, t] of model.stateDict())
    entries.push([name, { dtype: 'F32', shape: [...t.shape], data: await t.toArray() }]);
  const meta: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(config),
    progress: JSON.stringify(progress),
  };
  if (run) meta.run = JSON.stringify(run);
  if (trainer) {
    for (const [prefix, opt] of [
      ['optS', trainer.optS],
      ['optC', trainer.optC],
    ] as const) {
      const st = await opt.state();
      for (const [k, v] of Object.entries(st.buffers))
        entries.push([`${prefix}.${k}`, { dtype: 'F32', shape: [v.length], data: v }]);
      meta[prefix] = JSON.stringify({ kind: st.kind, hyper: st.hyper, step: st.step, shapes: st.shapes });
    }
    if (trainer.average) {
      const st = await trainer.average.state();
      trainer.averageNames.forEach((name, k) => {
        const t = trainer.average!.tensors[k];
        entries.push([`avgS.${name}`, { dtype: 'F32', shape: [...t.shape], data: st.values[k] }]);
      });
      meta.average = JSON.stringify({ decay: st.decay, updates: st.updates });
    }
  }
  meta.sha256 = checksum(entries);
  const bytes = encodeSafetensors(Object.fromEntries(entries), meta);
  await writeFileAtomic(path, bytes);
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export function loadCheckpoint(path: string): LoadedCheckpoint {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path)); // a private, 0-offset copy (Node pools small Buffers)
  } catch (e) {
    throw new CheckpointError(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  return checkpointFromBytes(bytes, path, { verify: true });
}

/**
 * A checkpoint from its bytes (`path` names it in errors). `verify: false` skips the SHA-256 check, for a
 * browser that received the bytes from a server which verified the file (node:crypto hashes
 * synchronously; a browser's crypto.subtle only asynchronously).
 */
export function checkpointFromBytes(bytes: Uint8Array, path: string, opts: { verify: boolean }): LoadedCheckpoint {
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (e) {
    throw new CheckpointError(
      `checkpoint ${path} is not a valid safetensors file (${(e as Error).message}); ` +
        `it may be truncated or corrupted — use an earlier checkpoint`,
    );
  }
  const meta = decoded.metadata ?? {};
  if (meta.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(
      `checkpoint ${path} has format '${meta.format ?? 'none'}', expected ` +
        `'${CHECKPOINT_FORMAT}' (is it a SegAN checkpoint written by dawngrad?)`,
    );
  const entries: [string, Entry][] = [];
  for (const [name, t] of Object.entries(decoded.tensors)) {
    if (t.dtype !== 'F32')
      throw new CheckpointError(`checkpoint ${path}: tensor '${name}' has dtype ${t.dtype}, expected F32`);
    entries.push([name, { dtype: 'F32', shape: t.shape, data: t.data as Float32Array }]);
  }
  if (opts.verify && meta.sha256 !== checksum(entries))
    throw new CheckpointError(
      `checkpoint ${path} is corrupted: its SHA-256 does not match ` +
        `the one recorded when it was written — use an earlier checkpoint`,
    );
  let config: TrainConfig;
  let progress: Progress;
  let run: Record<string, unknown> | null;
  let average: LoadedCheckpoint['average'];
  try {
    config = JSON.parse(meta.config) as TrainConfig;
    progress = JSON.parse(meta.progress) as Progress;
    run = meta.run ? (JSON.parse(meta.run) as Record<string, unknown>) : null;
    average = meta.average ? (JSON.parse(meta.average) as { decay: number; updates: number }) : null;
  } catch {
    throw new CheckpointError(`checkpoint ${path}: unreadable config or progress metadata`);
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const opt: Record<'optS' | 'optC', OptimizerState<object> | null> = { optS: null, optC: null };
  for (const prefix of ['optS', 'optC'] as const) {
    if (!meta[prefix]) continue;
    const head = JSON.parse(meta[prefix]) as Omit<OptimizerState<object>, 'buffers'>;
    const buffers: Record<string, Float32Array> = {};
    for (const [name, e] of entries) if (name.startsWith(`${prefix}.`)) buffers[name.slice(prefix.length + 1)] = e.data;
    opt[prefix] = { ...head, buffers } as OptimizerState<object>;
  }
  for (const [name, e] of entries)
    if (!name.startsWith('optS.') && !name.startsWith('optC.')) tensors.set(name, { shape: e.shape, data: e.data });
  return {
    config,
    progress,
    tensors,
    optimizers: opt.optS && opt.optC ? { S: opt.optS, C: opt.optC } : null,
    average,
    run,
  };
}

/**
 * Put a checkpoint's tensors into a model (names and shapes must match) and, with a trainer (resuming),
 * its optimizer states and weight average. Without a trainer (inference) the segmentor gets the
 * checkpoint's weight average when it has one: the weights its run validated.
 */
export function restore(ckpt: LoadedCheckpoint, model: SeganModel, trainer: SeganTrainer | null): void {
  type Values = Map<string, { shape: number[]; data: Float32Array }>;
  const S: Values = new Map();
  const avgS: Values = new Map();
  const C = model.critics.map((): Values => new Map());
  for (const [name, v] of ckpt.tensors) {
    if (name.startsWith('S.')) S.set(name.slice(2), v);
    if (name.startsWith('avgS.')) avgS.set(name.slice(5), v);
    const m = /^C(\d+)\.(.*)$/.exec(name);
    if (m && C[Number(m[1])]) C[Number(m[1])].set(m[2], v);
  }
  const averaged = ckpt.average !== null && avgS.size > 0;
  if (trainer === null && averaged) model.S.loadState(avgS, "segmentor's weight average");
  else model.S.loadState(S, 'segmentor');
  model.critics.forEach((c, k) => c.loadState(C[k], `critic ${k}`));
  if (trainer && ckpt.optimizers) {
    trainer.optS.load(ckpt.optimizers.S);
    trainer.optC.load(ckpt.optimizers.C);
  }
  if (trainer?.average && averaged) {
    const values = trainer.averageNames.map((name) => {
      const v = avgS.get(name);
      if (!v) throw new CheckpointError(`the checkpoint's weight average has no tensor '${name}'`);
      return v.data;
    });
    trainer.average.load({ updates: ckpt.average!.updates, values });
  }
}
