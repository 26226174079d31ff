// `segan profile`: per-kernel GPU times of one SegAN D+G step (timestamp queries around every
// dispatch), as a table and a Chrome trace (open in Perfetto). Without 'timestamp-query' it says so
// and times whole steps on the CPU instead.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createEngine } from '../index.ts';
import { chromeTrace, profileTable, summarizeRecords } from '../runtime/profiler.ts';
import type { Values } from './options.ts';
import { syntheticStep } from './synthetic-step.ts';

export async function profileCommand(f: Values): Promise<number> {
  const B = f.batch as number;
  const width = f.width as number;
  const size = f.size as number;
  const K = f.classes as number;
  const out = resolve(String(f.out));
  const e = await createEngine({ seed: 1 });
  try {
    const { model, trainer, x, y } = syntheticStep(e, B, width, size, K);
    const step = async () => {
      const s = trainer.step(x, y);
      await e.flush();
      for (const t of Object.values(s)) t?.dispose();
    };
    console.log(
      `profiling one D+G step: batch ${B}, width ${width}, ${size}×${size}, ` +
        `K = ${K} on ${e.adapter.description || e.adapter.device}`,
    );
    await step(); // warm-up: pipelines, pools
    const t0 = performance.now();
    await step();
    const wallMs = performance.now() - t0;
    if (!e.runtime.enableProfiling()) {
      console.log(
        `this adapter has no 'timestamp-query': per-kernel times are unavailable. ` +
          `Whole D+G step (CPU clock, incl. submit and wait): ${wallMs.toFixed(1)} ms`,
      );
      return 0;
    }
    await step();
    const records = e.runtime.profiler!.take();
    e.runtime.enableProfiling(false);
    const rows = summarizeRecords(records);
    const total = records.reduce((a, r) => a + r.ns, 0) / 1e6;
    console.log(profileTable(rows, total));
    console.log(
      `\nwall-clock D+G step without profiling: ${wallMs.toFixed(1)} ms (profiling runs one pass per dispatch)`,
    );
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'trace.json'), JSON.stringify(chromeTrace(records)));
    writeFileSync(
      join(out, 'kernels.json'),
      JSON.stringify(
        { batch: B, width, size, classes: K, adapter: e.adapter.description, wallMs, gpuMs: total, kernels: rows },
        null,
        2,
      ) + '\n',
    );
    console.log(`wrote ${join(out, 'trace.json')} (open in https://ui.perfetto.dev) and kernels.json`);
    model.dispose();
    return 0;
  } finally {
    await e.close();
  }
}
