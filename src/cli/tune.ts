// `segan tune`: time the tiled kernels' candidate tiles for every conv shape of one SegAN D+G step and
// keep the fastest per shape in the tuning cache (src/runtime/tuner.ts), with a progress bar. Training
// with the same model shapes then starts tuned. On a software adapter the default plan has no tiled
// kernels: it says so (DAWNGRAD_PLAN=hardware tunes them there).
import cliProgress from 'cli-progress';
import { createEngine } from '../index.ts';
import { envValue } from '../device/env.ts';
import { tileName, type TuneResult } from '../runtime/tuner.ts';
import type { Io } from './run.ts';
import type { Values } from './options.ts';
import { syntheticStep } from './synthetic-step.ts';

export async function tuneCommand(f: Values, io: Io): Promise<number> {
  if (envValue('DAWNGRAD_TUNE') === 'off') {
    io.err('segan tune: DAWNGRAD_TUNE=off turns tuning off; unset it (or set it to on) to tune\n');
    return 2;
  }
  const B = f.batch as number;
  const width = f.width as number;
  const size = f.size as number;
  const K = f.classes as number;
  const precision = f.precision as 'f32' | 'f16';
  let e: Awaited<ReturnType<typeof createEngine>>;
  try {
    e = await createEngine({ seed: 1, tune: f.force ? 'force' : 'on', precision });
  } catch (err) {
    if (!/shader-f16/.test((err as Error).message)) throw err;
    io.err(`segan tune: --precision f16: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    const tuner = e.runtime.tuner;
    const adapter = e.adapter.description || e.adapter.device;
    if (e.runtime.policy.conv.family !== 'tiled') {
      // (precision f16 always uses the tiled kernels)
      io.out(
        `the ${e.runtime.policy.plan} plan on ${adapter} uses no tunable kernels (its conv ` +
          `kernels are ` +
          `conv/${e.runtime.policy.conv.family === 'subgroup' ? '*_sg' : 'forward, transpose, weight_grad'}); ` +
          `DAWNGRAD_PLAN=hardware tunes the GPU kernels on this adapter\n`,
      );
      return 0;
    }
    const { model, trainer, x, y } = syntheticStep(e, B, width, size, K);
    // One step records every conv shape; the ones not in the cache are queued for timing.
    const before = tuner.recorded.size;
    const s = trainer.step(x, y);
    const queued = tuner.pendingCount;
    if (!f.json)
      io.out(
        `tuning ${queued} conv shape${queued === 1 ? '' : 's'} of a SegAN D+G step ` +
          `(batch ${B}, width ${width}, ${size}×${size}, K = ${K}${precision === 'f16' ? ', f16' : ''}) ` +
          `on ${adapter}; ${before} already in ${tuner.file}\n`,
      );
    let bar: cliProgress.SingleBar | null = null;
    if (!f.json && queued > 0) {
      bar = new cliProgress.SingleBar(
        { format: 'tuning |{bar}| {value}/{total} shapes | {last}', hideCursor: true, stream: process.stdout },
        cliProgress.Presets.shades_classic,
      );
      bar.start(queued, 0, { last: '' });
    }
    let results: TuneResult[];
    try {
      results = await e.runtime.tune((done, _total, r) => bar?.update(done, { last: r.key.split('|')[0] }));
    } finally {
      bar?.stop();
    }
    await e.flush();
    for (const t of Object.values(s)) t?.dispose();
    model.dispose();
    if (f.json) {
      io.out(
        JSON.stringify(
          { adapter, file: tuner.file, tuned: results.map((r) => ({ key: r.key, choice: r.choice, times: r.times })) },
          null,
          2,
        ) + '\n',
      );
      return 0;
    }
    if (results.length === 0) {
      io.out('every shape was already tuned (--force re-times them)\n');
      return 0;
    }
    for (const r of results) {
      const [family, shape] = r.key.split('|');
      const best = r.times.find((t) => t.config === r.choice)!;
      const worst = Math.max(...r.times.filter((t) => Number.isFinite(t.ms)).map((t) => t.ms));
      io.out(
        `  ${family.padEnd(15)} ${shape.padEnd(58)} ${tileName(r.choice).padEnd(50)} ${best.ms.toFixed(3)} ` +
          `ms (slowest candidate ${worst.toFixed(3)} ms)\n`,
      );
    }
    io.out(`kept the fastest tile for ${results.length} shape${results.length === 1 ? '' : 's'} in ${tuner.file}\n`);
    return 0;
  } finally {
    await e.close();
  }
}
