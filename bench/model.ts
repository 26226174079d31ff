// Whole-model suites (issue 5): segmentor forward, critic forward, D step, G step and D+G step at batch
// 1 and 8 on 3×160×160, at full width and at the small CPU-demo width, ours beside the same SegAN in
// TF.js on the same adapter. Each case waits for the GPU inside the timed region; warm-up excluded.
import { createEngine, type Tensor } from '../src/index.ts';
import { makeConfig } from '../src/segan/config.ts';
import { maskedBy } from '../src/segan/losses.ts';
import { SeganModel } from '../src/segan/model.ts';
import { SeganTrainer } from '../src/segan/trainer.ts';
import { loadTfjs } from './peers/tfjs.ts';
import { findTorchPython, torchStep } from './peers/torch.ts';
import { TfSegan } from './peers/segan-tfjs.ts';
import { time, save, table, type Row } from './harness.ts';
import { barChartSvg } from '../src/io/plot.ts';
import { writeFileSync } from 'node:fs';
import { ROOT } from './harness.ts';

const SLOW = { minSamples: Number(process.env.BENCH_SAMPLES ?? 2), maxTime: 0.5 };

export async function modelSuites(opts: {
  batches: number[];
  widths: number[];
  size: number;
  tfjs: boolean;
  torch?: boolean;
  only?: RegExp;
}): Promise<Row[]> {
  const rows: Row[] = [];
  const tf = opts.tfjs ? await loadTfjs() : null;
  // On a CPU adapter the peer a user would otherwise pick is PyTorch on the same CPU (Debian's python3-torch)
  const py = opts.torch ? findTorchPython() : null;
  if (opts.torch && !py) console.log('PyTorch peer skipped: no python3 with torch (apt-get install python3-torch)');
  for (const width of opts.widths) {
    for (const B of opts.batches) {
      const label = `batch ${B}, width ${width}`;
      if (opts.only && !opts.only.test(label)) continue;
      const size = opts.size;
      const cfg = makeConfig({
        model: { inChannels: 3, classes: 3, width, skip: 'add', slope: 0.2, seed: 1 },
        size,
        batch: B,
      });
      const xs = new Float32Array(B * 3 * size * size).map((_, i) => ((i * 2654435761) % 1000) / 1000);
      const ys = new Float32Array(B * 3 * size * size).map((_, i) => ((i * 40503) % 97 > 60 ? 1 : 0));
      const e = await createEngine({ seed: 1 });
      const model = new SeganModel(e, cfg);
      const trainer = new SeganTrainer(model, cfg);
      const x = e.tensor(xs, [B, 3, size, size]);
      const y = e.tensor(ys, [B, 3, size, size]);
      const sync = async (ts: Tensor | (Tensor | null)[]) => {
        await e.flush();
        for (const t of Array.isArray(ts) ? ts : [ts]) t?.dispose();
      };
      const ours = await time(
        `SegAN ${label} ours`,
        {
          'S forward': async () => sync(e.noGrad(() => model.S.forward(x))),
          'C forward': async () => sync(e.noGrad(() => e.tidy(() => model.critics[0].features(maskedBy(x, y, 0))))),
          'D step': async () => sync(trainer.stepCritic(x, y)),
          'G step': async () => sync(trainer.stepSegmentor(x, y)),
          'D+G step': async () => {
            const s = trainer.step(x, y);
            await sync(Object.values(s));
          },
        },
        SLOW,
      );
      model.dispose();
      await e.close();
      let peer: Record<string, number> = {};
      if (tf) {
        const net = new TfSegan(tf, cfg);
        const tx = tf.tidy(
          () => tf.tensor4d(xs, [B, 3, size, size]).transpose([0, 2, 3, 1]) as import('@tensorflow/tfjs').Tensor4D,
        );
        const ty = tf.tidy(
          () => tf.tensor4d(ys, [B, 3, size, size]).transpose([0, 2, 3, 1]) as import('@tensorflow/tfjs').Tensor4D,
        );
        peer = await time(
          `SegAN ${label} tfjs`,
          {
            'S forward': () => net.forwardS(tx),
            'C forward': () => net.forwardC(tx, ty),
            'D step': async () => void (await net.stepD(tx, ty)),
            'G step': async () => void (await net.stepG(tx, ty)),
            'D+G step': async () => void (await net.step(tx, ty)),
          },
          SLOW,
        );
        net.dispose();
        tx.dispose();
        ty.dispose();
      }
      for (const k of Object.keys(ours))
        rows.push({ suite: 'segan', case: `${k} (${label}, ${size}×${size}, K=3)`, ms: ours[k], peerMs: peer[k] });
      if (py) {
        const t = await torchStep(py, { batch: B, width, size, device: 'cpu', reps: 3 });
        if ('ms' in t) {
          rows.push({
            suite: 'segan-torch-cpu',
            case: `D+G step, PyTorch ${py.version} CPU (${label}, ${size}×${size}, K=3)`,
            ms: t.ms,
          });
          console.log(
            `D+G step (${label}): ours ${ours['D+G step'].toFixed(0)} ms, PyTorch ${py.version} on ` +
              `the CPU ${t.ms.toFixed(0)} ms (ours / PyTorch ${(ours['D+G step'] / t.ms).toFixed(2)}×)`,
          );
        } else console.log(`PyTorch peer failed: ${t.error}`);
      }
    }
  }
  return rows;
}

export async function runModelBench(): Promise<void> {
  const probe = await createEngine();
  const adapter = probe.adapter.description || probe.adapter.device;
  const probeSoftware = probe.adapter.isSoftware;
  await probe.close();
  const env = (k: string, d: string) => (process.env[k] ?? d).split(',').map(Number);
  const rows = await modelSuites({
    batches: env('BENCH_BATCHES', '1,8'),
    widths: env('BENCH_WIDTHS', '0.125,1'),
    size: Number(process.env.BENCH_SIZE ?? 160),
    tfjs: process.env.BENCH_TFJS !== '0',
    torch: probeSoftware && process.env.BENCH_TORCH !== '0',
    only: process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined,
  });
  console.log('\n' + table(rows) + '\n');
  const file = save('model', adapter, rows);
  const dg = rows.filter((r) => r.case.startsWith('D+G step') && r.peerMs);
  if (dg.length) {
    const svg = barChartSvg(
      dg.map((r) => ({
        label: r.case.replace(/^D\+G step \((.*), 160×160, K=3\)$/, '$1'),
        values: [
          { name: 'dawngrad', value: r.ms },
          { name: 'TF.js WebGPU', value: r.peerMs! },
        ],
      })),
      { title: `SegAN D+G step (ms, lower is better) — ${adapter}`, yLabel: 'ms', log: true },
    );
    writeFileSync(`${ROOT}docs/segan-step.svg`, svg);
  }
  console.log(`results: ${file}\n        docs/benchmarks.md (section 'model'), docs/segan-step.svg`);
}
