// Kernel suites of the engine core: the device's measured peaks (copy bandwidth, our best matmul),
// matmul, a large reduction, elementwise ops, and the cost of a dispatch with one submit per step
// against one submit per op. Ours and TF.js's WebGPU backend on the same Dawn adapter.
//
// Our cases run first, before TF.js opens its device: once TF.js's device exists on the same
// lavapipe adapter, our kernels run ~20 % slower (1024³ matmul 16.8 → 13.7 GFLOP/s, 64 MiB sum 6.2 →
// 5.2 GB/s in one process, scratch measurement), with TF.js idle. Then TF.js's cases, with our device
// open and idle.
import { createEngine, matmul, sum, add, relu, type Engine, type Tensor } from '../src/index.ts';
import { loadTfjs, tfjsTimed } from './peers/tfjs.ts';
import { time, save, table, medianOfRuns, repeats, type Row } from './harness.ts';

export async function kernelSuites(opts: { tfjs?: boolean; repeat?: number } = {}): Promise<Row[]> {
  const runs: Row[][] = [];
  for (let i = 0; i < (opts.repeat ?? 1); i++) runs.push(await kernelPass(null, true));
  if (opts.tfjs !== false) {
    const tf = await loadTfjs();
    for (const rows of runs) {
      const peer = await kernelPass(tf, false);
      for (const r of rows) r.peerMs = peer.find((q) => q.suite === r.suite && q.case === r.case)?.peerMs;
    }
  }
  return medianOfRuns(runs);
}

/** One pass over the cases: ours (`ours`), and TF.js's where `tf` is given. */
async function kernelPass(tf: Awaited<ReturnType<typeof loadTfjs>> | null, ours: boolean): Promise<Row[]> {
  const e = await createEngine({ seed: 1 });
  const rows: Row[] = [];
  const adapter = e.adapter.description || e.adapter.device;
  if (ours) console.log(`adapter: ${adapter} (${e.adapter.backend}${e.adapter.isSoftware ? ', CPU adapter' : ''})`);
  try {
    // --- device peak: copy bandwidth --------------------------------------------------------
    const MB64 = 64 * 2 ** 20;
    const src = e.rand([MB64 / 4], { seed: 1 });
    const dst = e.zeros([MB64 / 4]);
    await e.flush();
    const copy = !ours
      ? {}
      : await time('copy', {
          'copyBufferToBuffer 64 MiB': async () => {
            e.runtime.copy(src.buffer(), 0, dst.buffer(), 0, MB64);
            await e.flush();
          },
        });
    rows.push({
      suite: 'peak',
      case: 'copy 64 MiB (read + write)',
      ms: copy['copyBufferToBuffer 64 MiB'],
      bytes: 2 * MB64,
    });

    // --- matmul ------------------------------------------------------------------------------
    for (const n of [256, 1024]) {
      const a = e.rand([n, n], { seed: 2 });
      const bm = e.rand([n, n], { seed: 3 });
      const ta = tf?.randomUniform([n, n]);
      const tb = tf?.randomUniform([n, n]);
      const r = await time(`matmul ${n}`, {
        ...(ours ? { ours: ourTimed(e, () => matmul(a, bm)) } : {}),
        ...(tf ? { tfjs: () => tfjsTimed(tf, () => tf.matMul(ta!, tb!).slice([0, 0], [1, 1])) } : {}),
      });
      rows.push({ suite: 'matmul', case: `${n}x${n}x${n}`, ms: r.ours, flops: 2 * n ** 3, peerMs: r.tfjs });
      a.dispose();
      bm.dispose();
      ta?.dispose();
      tb?.dispose();
    }

    // --- reduction ---------------------------------------------------------------------------
    {
      const tx = tf?.randomUniform([MB64 / 4]);
      const r = await time('sum 64 MiB', {
        ...(ours ? { ours: ourTimed(e, () => sum(src)) } : {}),
        ...(tf ? { tfjs: () => tfjsTimed(tf, () => tf.sum(tx!)) } : {}),
      });
      rows.push({ suite: 'reduce', case: 'sum of 64 MiB (16M floats)', ms: r.ours, bytes: MB64, peerMs: r.tfjs });
      const x2 = e.rand([64, MB64 / 4 / 64], { seed: 4 });
      const tx2 = tf?.randomUniform([64, MB64 / 4 / 64]);
      const r2 = await time('sum rows', {
        ...(ours ? { ours: ourTimed(e, () => sum(x2, 1)) } : {}),
        ...(tf ? { tfjs: () => tfjsTimed(tf, () => tf.sum(tx2!, 1)) } : {}),
      });
      rows.push({
        suite: 'reduce',
        case: 'sum over axis 1 of [64, 262144]',
        ms: r2.ours,
        bytes: MB64,
        peerMs: r2.tfjs,
      });
      const x3 = e.rand([8, 64, 128, 128], { seed: 5 });
      const tx3 = tf?.randomUniform([8, 64, 128, 128]);
      const r3 = await time('per-channel sum', {
        ...(ours ? { ours: ourTimed(e, () => sum(x3, [0, 2, 3])) } : {}),
        ...(tf ? { tfjs: () => tfjsTimed(tf, () => tf.sum(tx3!, [0, 2, 3])) } : {}),
      });
      rows.push({
        suite: 'reduce',
        case: 'per-channel sum of NCHW [8, 64, 128, 128]',
        ms: r3.ours,
        bytes: 8 * 64 * 128 * 128 * 4,
        peerMs: r3.tfjs,
      });
      tx?.dispose();
      tx2?.dispose();
      tx3?.dispose();
      x2.dispose();
      x3.dispose();
    }

    // --- elementwise -------------------------------------------------------------------------
    {
      const n = MB64 / 4;
      const x = e.rand([n], { seed: 6 });
      const y = e.rand([n], { seed: 7 });
      const tx = tf?.randomUniform([n]);
      const ty = tf?.randomUniform([n]);
      const r = await time('add', {
        ...(ours ? { ours: ourTimed(e, () => add(x, y)) } : {}),
        ...(tf ? { tfjs: () => tfjsTimed(tf, () => tf.add(tx!, ty!).slice([0], [1])) } : {}),
      });
      rows.push({
        suite: 'elementwise',
        case: 'add, 2 x 64 MiB in, 64 MiB out',
        ms: r.ours,
        bytes: 3 * MB64,
        peerMs: r.tfjs,
      });
      const r2 = await time('relu', {
        ...(ours ? { ours: ourTimed(e, () => relu(x)) } : {}),
        ...(tf ? { tfjs: () => tfjsTimed(tf, () => tf.relu(tx!).slice([0], [1])) } : {}),
      });
      rows.push({
        suite: 'elementwise',
        case: 'relu, 64 MiB in, 64 MiB out',
        ms: r2.ours,
        bytes: 2 * MB64,
        peerMs: r2.tfjs,
      });
      const xb = e.rand([8, 64, 128, 128], { seed: 8 });
      const bias = e.rand([1, 64, 1, 1], { seed: 9 });
      const r3 = !ours ? {} : await time('bias add', { ours: ourTimed(e, () => add(xb, bias)) });
      rows.push({
        suite: 'elementwise',
        case: 'broadcast add of a [1, 64, 1, 1] bias to [8, 64, 128, 128]',
        ms: r3.ours,
        bytes: 2 * xb.size * 4,
      });
      for (const t of [x, y, xb, bias]) t.dispose();
      tx?.dispose();
      ty?.dispose();
    }

    // --- dispatch cost: one submit per step vs one per op -------------------------------------
    {
      const ops = 200;
      const v = e.rand([1024], { seed: 10 });
      const chain = (submitEach: boolean) => async () => {
        e.tidy(() => {
          let t: Tensor = v;
          for (let i = 0; i < ops; i++) {
            t = add(t, 1);
            if (submitEach) e.runtime.submit();
          }
        });
        await e.flush();
      };
      const r = !ours
        ? {}
        : await time('dispatch', { 'one submit per step': chain(false), 'one submit per op': chain(true) });
      rows.push({
        suite: 'dispatch',
        case: `${ops} small ops, one submit per step`,
        ms: r['one submit per step'],
        perOp: ops,
      });
      rows.push({
        suite: 'dispatch',
        case: `${ops} small ops, one submit per op`,
        ms: r['one submit per op'],
        perOp: ops,
      });
      v.dispose();
    }
    src.dispose();
    dst.dispose();
    return rows;
  } finally {
    await e.close();
  }
}

function ourTimed(e: Engine, fn: () => Tensor): () => Promise<void> {
  return async () => {
    const t = fn();
    await e.flush();
    t.dispose();
  };
}

export async function runKernelBench(): Promise<void> {
  const { createEngine: ce } = await import('../src/index.ts');
  const probe = await ce();
  const adapter = probe.adapter.description || probe.adapter.device;
  await probe.close();
  // short enough to run three times: the published figure is the median of the runs
  const rows = await kernelSuites({ tfjs: process.env.BENCH_TFJS !== '0', repeat: repeats(3) });
  console.log('\n' + table(rows) + '\n');
  const file = save('kernels', adapter, rows);
  console.log(`results: ${file}\n        docs/benchmarks.md (section 'kernels')`);
}
