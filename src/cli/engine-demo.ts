// `segan engine-demo`: a small end-to-end engine demo (`segan demo` is SegAN's). It fits a two-layer
// network to a smooth 2-D function on the GPU (forward, backward and SGD recorded into one command
// stream per step) and reports the loss curve and what one step costs.
import { createEngine, matmul, mean, sub, relu, add, type Tensor } from '../index.ts';
import type { Values } from './options.ts';

export async function engineDemoCommand(flags: Values): Promise<number> {
  const steps = flags.steps as number;
  const hidden = flags.hidden as number;
  const batch = flags.batch as number;
  const e = await createEngine({ seed: 7 });
  try {
    const a = e.adapter;
    console.log(
      `dawngrad engine demo on ${a.description || a.device} (${a.backend}${a.isSoftware ? ', CPU adapter' : ''})`,
    );
    console.log(
      `task: fit y = sin(3·x0)·cos(2·x1) with a ${2}→${hidden}→1 ReLU network, ` +
        `batch ${batch}, ${steps} SGD steps\n`,
    );
    // data: inputs in [-1, 1]^2 and targets, computed once on the CPU
    const xs = new Float32Array(batch * 2);
    const ys = new Float32Array(batch);
    let s = 12345;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    for (let i = 0; i < batch; i++) {
      xs[2 * i] = rnd();
      xs[2 * i + 1] = rnd();
      ys[i] = Math.sin(3 * xs[2 * i]) * Math.cos(2 * xs[2 * i + 1]);
    }
    const x = e.tensor(xs, [batch, 2]);
    const y = e.tensor(ys, [batch, 1]);
    let params: Tensor[] = [
      e.randn([2, hidden], { seed: 1, std: Math.sqrt(2 / 2), requiresGrad: true, category: 'parameters' }),
      e.zeros([1, hidden], { requiresGrad: true, category: 'parameters' }),
      e.randn([hidden, 1], { seed: 2, std: Math.sqrt(1 / hidden), requiresGrad: true, category: 'parameters' }),
      e.zeros([1, 1], { requiresGrad: true, category: 'parameters' }),
    ];
    const lr = 0.1;
    const step = (): Tensor =>
      e.tidy(() => {
        const [w1, b1, w2, b2] = params;
        const pred = add(matmul(relu(add(matmul(x, w1), b1)), w2), b2);
        const loss = mean(sub(pred, y).pow(2));
        loss.backward();
        // SGD: p <- p - lr * grad (new tensors; the optimizers of the next milestone update in place)
        params = e.noGrad(() =>
          params.map((p) => {
            const next = sub(p, p.grad!.mul(lr));
            next.requiresGrad = true;
            next.kept = true;
            next.setCategory('parameters');
            p.grad!.dispose();
            p.dispose();
            return next;
          }),
        );
        return loss.detach();
      });
    const t0 = performance.now();
    const before = { ...e.runtime.stats };
    let first = NaN;
    for (let i = 1; i <= steps; i++) {
      const loss = step();
      if (i === 1 || i % Math.max(1, Math.floor(steps / 6)) === 0 || i === steps) {
        const v = await loss.item(); // a sync point: read the loss only now and then
        if (i === 1) first = v;
        console.log(`  step ${String(i).padStart(4)}   loss ${v.toFixed(5)}`);
      }
      loss.dispose();
    }
    await e.flush();
    const ms = (performance.now() - t0) / steps;
    const st = e.runtime.stats;
    const m = e.memory();
    console.log(
      `\n${ms.toFixed(2)} ms per step (forward + backward + ` +
        `SGD), ${((st.dispatches - before.dispatches) / steps).toFixed(1)} dispatches per step, ` +
        `${st.submits - before.submits} submits in ${steps} steps`,
    );
    console.log(
      `GPU memory: ${(m.liveBytes / 1024).toFixed(1)} KiB live, ${(m.highWaterBytes / 1024).toFixed(1)} ` +
        `KiB high-water, ${m.buffersCreated} buffers created in all`,
    );
    const last = await step().item();
    if (!(last < first)) {
      console.error(`the loss did not decrease (${first} -> ${last})`);
      return 1;
    }
    console.log(`loss ${first.toFixed(4)} -> ${last.toFixed(4)}: the engine trains.`);
    return 0;
  } finally {
    await e.close();
  }
}
