import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { add, createEngine, mul, sum, matmul, relu, KernelCompileError, type Tensor } from '../src/index.ts';
import { threefry2x32, uniformReference, normalReference } from '../src/tensor/random.ts';
import { useEngine } from './helpers/engine.ts';
import { run } from './helpers/spawn.ts';

const engine = useEngine();
const root = fileURLToPath(new URL('..', import.meta.url));
/** A script in a child process, awaited (spawnSync would block the worker's RPC with vitest). */
const tsx = (script: string, env: Record<string, string> = {}) =>
  run(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 });

describe('creating tensors', () => {
  it('tensor, zeros, ones, full, shape, item', async () => {
    const e = engine();
    const t = e.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect([...(await t.toArray())]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...(await e.zeros([2, 2]).toArray())]).toEqual([0, 0, 0, 0]);
    expect([...(await e.ones([3]).toArray())]).toEqual([1, 1, 1]);
    expect([...(await e.full([2], 7.5).toArray())]).toEqual([7.5, 7.5]);
    expect(await e.tensor(3).item()).toBe(3);
    expect(e.tensor(3).shape).toEqual([]);
    await expect(t.item()).rejects.toThrow(/item: tensor has 6 elements/);
    expect(() => e.tensor([1, 2, 3], [2, 2])).toThrow(/tensor: 3 values do not fill shape \[2, 2\]/);
    expect(() => e.zeros([2, -1])).toThrow(/invalid shape/);
    expect(e.zeros([0, 3]).size).toBe(0);
  });

  it('Threefry-2x32-20 matches the Random123 known-answer test', () => {
    expect(threefry2x32(0, 0, 0, 0)).toEqual([0x6b200159, 0x99ba4efe]);
    expect(threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)).toEqual([0x1cb996fc, 0xbb002be7]);
    expect(threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3)).toEqual([0xc4923a9c, 0x483df7a0]);
  });

  it('rand gives the same bits as the CPU mirror for the same seed; randn the same values', async () => {
    const e = engine();
    const u = await e.rand([1001], { seed: 42 }).toArray();
    expect(Buffer.from(u.buffer).equals(Buffer.from(uniformReference(1001, 42).buffer))).toBe(true);
    const v = await e.rand([7], { seed: 42, low: -3, high: 5 }).toArray();
    expect([...v]).toEqual([...uniformReference(7, 42, -3, 5)]);
    const n = await e.randn([1001], { seed: 9, mean: 1, std: 2 }).toArray();
    const ref = normalReference(1001, 9, 1, 2);
    n.forEach((x, i) => expect(Math.abs(x - ref[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref[i]))));
    // statistics of a large draw
    const big = await e.randn([100_000], { seed: 3 }).toArray();
    const mean = big.reduce((a, b) => a + b, 0) / big.length;
    const sd = Math.sqrt(big.reduce((a, b) => a + (b - mean) ** 2, 0) / big.length);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(sd - 1)).toBeLessThan(0.01);
    // different seeds differ; no seed draws from the engine's counter
    const a = await e.rand([4], { seed: 1 }).toArray();
    const b = await e.rand([4], { seed: 2 }).toArray();
    expect([...a]).not.toEqual([...b]);
  });
});

describe('scopes and lifetime', () => {
  it('tidy frees what it does not return, and nests', async () => {
    const e = engine();
    const before = e.memory().liveBytes;
    const x = e.tensor([1, 2, 3], [3]);
    const kept = e.tidy(() => {
      const a = mul(x, 2);
      const inner = e.tidy(() => add(a, mul(a, a)));
      return { result: inner, list: [relu(a)] };
    });
    expect([...(await kept.result.toArray())]).toEqual([6, 20, 42]);
    expect([...(await kept.list[0].toArray())]).toEqual([2, 4, 6]);
    kept.result.dispose();
    kept.list[0].dispose();
    x.dispose();
    expect(e.memory().liveBytes).toBe(before);
  });

  it('using a disposed tensor is an error that names the op', () => {
    const e = engine();
    const x = e.zeros([2]);
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expect(() => add(x, 1)).toThrow(/addScalar: tensor #\d+ \[2\] was disposed/);
    x.dispose(); // twice is fine
  });

  it('tidy refuses async functions', () => {
    const e = engine();
    expect(() => e.tidy((async () => 1) as () => unknown)).toThrow(/tidy: the function returned a Promise/);
  });

  it('200 iterations of forward + backward leave live bytes flat', async () => {
    const e = engine();
    const w = e.randn([32, 16], { seed: 1, requiresGrad: true });
    const x = e.randn([8, 32], { seed: 2 });
    const step = () =>
      e.tidy(() => {
        const loss = sum(relu(matmul(x, w)).mul(0.5));
        loss.backward();
        return loss.detach();
      });
    for (let i = 0; i < 5; i++) step().dispose();
    await e.flush();
    const start = e.memory();
    for (let i = 0; i < 200; i++) {
      step().dispose();
      if (i % 50 === 49) await e.flush();
    }
    await e.flush();
    const end = e.memory();
    expect(end.liveBytes).toBe(start.liveBytes);
    expect(end.buffersCreated).toBe(start.buffersCreated); // the pool serves every step
    expect(end.byCategory.gradients).toBe(w.grad!.buffer().size);
  });

  it('records a whole step into one submit; uniforms and bind groups are reused', async () => {
    const e = engine();
    const w = e.randn([16, 16], { seed: 1, requiresGrad: true });
    const x = e.randn([4, 16], { seed: 2 });
    const step = () =>
      e.tidy(() => {
        sum(relu(matmul(x, w))).backward();
      });
    for (let i = 0; i < 4; i++) {
      step(); // warm-up: pipelines, uniforms, and the pool settling into a fixed buffer assignment
      await e.flush();
    }
    const s0 = { ...e.runtime.stats };
    step();
    await e.flush();
    const s1 = e.runtime.stats;
    expect(s1.submits - s0.submits).toBe(1);
    expect(s1.dispatches - s0.dispatches).toBeGreaterThan(5);
    expect(s1.uniformWrites - s0.uniformWrites).toBe(0);
    expect(s1.bindGroupsCreated - s0.bindGroupsCreated).toBe(0);
  });

  it('memory() reports categories and the high-water mark', async () => {
    const e = engine();
    await e.flush();
    const m0 = e.memory();
    const p = e.zeros([1000], { category: 'parameters' });
    const big = e.zeros([1 << 18]); // 1 MiB of activations
    const m1 = e.memory();
    expect(m1.byCategory.parameters - m0.byCategory.parameters).toBe(p.buffer().size);
    expect(m1.byCategory.activations - m0.byCategory.activations).toBe(big.buffer().size);
    expect(m1.liveBytes - m0.liveBytes).toBe(p.buffer().size + big.buffer().size);
    expect(m1.highWaterBytes).toBeGreaterThanOrEqual(m1.liveBytes);
    big.dispose();
    const m2 = e.memory();
    expect(m1.liveBytes - m2.liveBytes).toBe(1 << 20); // freed at once (pooled after the next submit)
    expect(m2.byCategory.activations).toBe(m0.byCategory.activations);
    expect(m2.highWaterBytes).toBe(m1.highWaterBytes); // the mark stays at the peak
    // backward's gradients count as gradients
    const w = e.randn([64, 64], { seed: 5, requiresGrad: true });
    const g0 = e.memory().byCategory.gradients;
    sum(relu(w)).backward();
    expect(e.memory().byCategory.gradients - g0).toBe(w.grad!.buffer().size);
    for (const t of [p, w.grad!, w]) t.dispose();
  });
});

describe('device and runtime rules', () => {
  it("the device gets the adapter's real limits and every optional feature it has", async () => {
    const { create } = await import('webgpu');
    const { LIMIT_NAMES, OPTIONAL_FEATURES } = await import('../src/device/gpu.ts');
    // DAWNGRAD_LIMITS=default (npm run test:hardware-plan) asks for WebGPU's defaults on purpose
    const e = process.env.DAWNGRAD_LIMITS === 'default' ? await createEngine({ limits: 'adapter' }) : engine();
    const adapter = (await create([]).requestAdapter())!;
    const device = e.runtime.device;
    let aboveDefault = 0;
    for (const key of LIMIT_NAMES) {
      const want = (adapter.limits as unknown as Record<string, number>)[key];
      expect([key, (device.limits as unknown as Record<string, number>)[key]]).toEqual([key, want]);
      expect([key, e.adapter.limits[key]]).toEqual([key, want]);
      if (key.startsWith('max') && want > WEBGPU_DEFAULT_LIMITS[key]!) aboveDefault++;
    }
    // lavapipe and real GPUs both offer more than WebGPU's defaults for some of these (e.g.
    // maxBufferSize, maxComputeInvocationsPerWorkgroup): without requiredLimits this test fails.
    expect(aboveDefault).toBeGreaterThan(0);
    for (const f of OPTIONAL_FEATURES) expect([f, device.features.has(f)]).toEqual([f, adapter.features.has(f)]);
    expect(e.adapter.features).toEqual([...device.features].sort());
    if (e !== engine()) await e.close();
  });

  it('`segan info` prints the adapter, backend, features and limits (and --json the report)', async () => {
    const e = engine();
    const segan = (args: string[]) => run(process.execPath, ['bin/segan.mjs', ...args], { cwd: root, timeout: 60_000 });
    const r = await segan(['info']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`adapter      ${e.adapter.description}`);
    expect(r.stdout).toMatch(/^backend {6}\w+$/m);
    expect(r.stdout).toContain(`features     ${e.adapter.features.join(', ')}`);
    expect(r.stdout).toMatch(
      new RegExp(`^  maxComputeInvocationsPerWorkgroup +${e.adapter.limits.maxComputeInvocationsPerWorkgroup}$`, 'm'),
    );
    const j = await segan(['info', '--json']);
    expect(j.status).toBe(0);
    const { describePolicy } = await import('../src/runtime/policy.ts');
    const t = e.runtime.tuner;
    const tuning = { mode: t.mode, file: t.file, recorded: t.mode === 'off' ? 0 : t.recorded.size };
    expect(JSON.parse(j.stdout)).toEqual(
      JSON.parse(
        JSON.stringify({
          ...e.adapter,
          plan: e.runtime.policy.plan,
          kernels: describePolicy(e.runtime.policy),
          tuning,
        }),
      ),
    );
  });

  it('pipelines are cached by kernel variant, not by shape', async () => {
    const e = engine();
    // The same ops on new shapes that take the same kernels (elementwise with a broadcast column,
    // a one-pass sum of at most 512 elements; sizes not a multiple of 4, which would take the vec4 variants): no new
    // pipeline.
    // Shapes and strides travel in uniforms.
    const run = async (shape: [number, number]) => {
      const a = e.rand(shape, { seed: 1 });
      const b = e.rand([shape[0], 1], { seed: 2 });
      const y = sum(relu(add(mul(a, 2), b)));
      const [got, av, bv] = await Promise.all([y.item(), a.toArray(), b.toArray()]);
      let want = 0;
      for (let i = 0; i < av.length; i++) want += Math.max(0, 2 * av[i]! + bv[Math.floor(i / shape[1])]!);
      expect(got).toBeCloseTo(want, 3);
      for (const t of [a, b, y]) t.dispose();
    };
    await run([3, 5]);
    const kernels = e.runtime.kernels.size;
    for (const shape of [
      [7, 33],
      [15, 31],
      [1, 501],
      [151, 3],
    ] as [number, number][])
      await run(shape);
    expect(e.runtime.kernels.size).toBe(kernels);
  });

  it('a safety cap on queued dispatches submits without a sync point; results stay right', async () => {
    const { createEngine } = await import('../src/index.ts');
    const e = await createEngine({ seed: 3, maxQueuedDispatches: 4 });
    try {
      let t: Tensor = e.tensor([1, 2, 3]);
      const s0 = e.runtime.stats.submits;
      for (let i = 0; i < 10; i++) t = add(t, 1); // 10 dispatches, no flush, no readback
      expect(e.runtime.stats.submits - s0).toBe(2); // after the 4th and the 8th
      expect([...(await t.toArray())]).toEqual([11, 12, 13]);
    } finally {
      await e.close();
    }
  });

  it('a buffer freed while commands that read it are still unsubmitted is not handed to an upload', async () => {
    const e = engine();
    const n = 4096;
    const x = e.tensor(
      Float32Array.from({ length: n }, (_, i) => i - 100),
      [n],
    );
    await e.flush();
    const y = relu(x); // recorded, not submitted: reads x's buffer later
    x.dispose();
    // uploads go through queue.writeBuffer, which runs before the pending dispatch: reusing x's
    // buffer here would make y = relu(z)
    const z = e.tensor(new Float32Array(n).fill(-5), [n]);
    const w = relu(z); // a GPU writer may reuse freed buffers in the same batch (ordered after y)
    const [ya, za, wa] = await Promise.all([y.toArray(), z.toArray(), w.toArray()]);
    expect(ya[0]).toBe(0);
    expect(ya[n - 1]).toBe(n - 101);
    expect(za.every((v) => v === -5)).toBe(true);
    expect(wa.every((v) => v === 0)).toBe(true);
    for (const t of [y, z, w]) t.dispose();
  });
});

/** WebGPU's default limits (the spec's table) for the limits we request. */
const WEBGPU_DEFAULT_LIMITS: Record<string, number> = {
  maxBufferSize: 268435456,
  maxStorageBufferBindingSize: 134217728,
  maxUniformBufferBindingSize: 65536,
  maxStorageBuffersPerShaderStage: 8,
  maxUniformBuffersPerShaderStage: 12,
  maxBindGroups: 4,
  maxBindingsPerBindGroup: 1000,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupsPerDimension: 65535,
};

describe('errors', () => {
  it('a WGSL compile error names the kernel and shows the offending line', async () => {
    const e = engine();
    const code = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1)
fn main() {
  let x: f32 = 1u;
  out[0] = x;
}`;
    const k = e.runtime.kernels.compile('broken_kernel', code);
    const buf = e.zeros([1]);
    e.runtime.dispatch(k, [], null, [1]);
    let err: unknown;
    try {
      await e.flush();
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(KernelCompileError);
    expect(String((err as Error).message)).toMatch(/kernel 'broken_kernel'/);
    expect(String((err as Error).message)).toMatch(/>\s+4 \|\s+let x: f32 = 1u;/);
    // the engine keeps working afterwards, and the module's device error does not surface later
    expect(await sum(e.ones([3])).item()).toBe(3);
    buf.dispose();
  });

  it(
    'a compile error inside an open batch, and a pipeline ' + 'the adapter refuses, are KernelCompileErrors too',
    async () => {
      const e = engine();
      const pending = add(e.ones([4]), 1); // a batch is open: its error scopes are pushed
      const broken = e.runtime.kernels.compile(
        'broken_in_batch',
        '@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }',
      );
      e.runtime.dispatch(broken, [], null, [1]);
      await expect(e.flush()).rejects.toThrow(/kernel 'broken_in_batch'/);
      pending.dispose();
      // valid WGSL, but more invocations per workgroup than any adapter allows: refused at pipeline creation
      const tooWide = e.runtime.kernels.compile('too_wide', '@compute @workgroup_size(1024, 1024) fn main() {}');
      e.runtime.dispatch(tooWide, [], null, [1]);
      const err = await e.flush().then(
        () => null,
        (x: Error) => x,
      );
      expect(err).toBeInstanceOf(KernelCompileError);
      expect(err?.message).toMatch(/kernel 'too_wide' .*the pipeline could not be created on this adapter:\n.*/s);
      expect(await sum(e.ones([5])).item()).toBe(5);
    },
  );

  it('a validation error becomes a thrown error naming the op that caused it and its batch', async () => {
    const e = engine();
    const code = `@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1)
fn main() { out[0] = 1.0; }`;
    const k = e.runtime.kernels.compile('needs_a_buffer', code);
    const x = e.tensor([1, 2]);
    const y = mul(add(x, 1), 2); // two good ops before, one after, in the same batch
    e.runtime.dispatch(k, [], null, [1], 'myop'); // binding 1 missing from the bind group
    const z = relu(y);
    const err = await e.flush().then(
      () => null,
      (x: Error) => x,
    );
    expect(err?.message).toMatch(/^GPU validation error in op 'myop': /);
    expect(err?.message).toMatch(/\(while running ops: addScalar, mulScalar, myop, relu\)$/);
    expect(await sum(e.ones([2])).item()).toBe(2);
    for (const t of [x, y, z]) t.dispose();
  });

  it('an error outside any batch (an upload) is thrown at the next sync point, naming the object', async () => {
    const e = engine();
    const t = e.tensor([1, 2, 3]);
    await e.flush();
    // out of the buffer's range: Dawn rejects it with no error scope open
    e.runtime.device.queue.writeBuffer(t.buffer().buffer, 1 << 20, new Float32Array(4));
    await expect(e.flush()).rejects.toThrow(/^GPU error in 'tensor': .*Write range/s);
    expect(await sum(e.ones([3])).item()).toBe(3);
    t.dispose();
  });

  it('culpritOp picks the batch op a Dawn message labels', async () => {
    const { culpritOp } = await import('../src/runtime/gpu-errors.ts');
    expect(culpritOp('While calling [Device].CreateBindGroup([BindGroupDescriptor ""myop""]).', ['add', 'myop'])).toBe(
      'myop',
    );
    expect(culpritOp('[ComputePipeline "sum.splitseq"] is invalid', ['relu', 'sum'])).toBe('sum');
    expect(culpritOp('[Buffer "other"] is destroyed', ['relu', 'sum'])).toBeNull();
    expect(culpritOp('no labels here', ['relu'])).toBeNull();
  });

  it('without a Vulkan driver, createEngine explains what is missing and how to install it', async () => {
    const r = await tsx('test/fixtures/no-adapter.ts', {
      VK_DRIVER_FILES: '/nonexistent/icd.json',
      VK_ICD_FILENAMES: '/nonexistent/icd.json',
    });
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(/NoAdapterError/);
    expect(r.stdout).toMatch(/no WebGPU adapter/);
    expect(r.stdout).toMatch(
      /Missing on this machine:\n  - the Vulkan driver file that VK_DRIVER_FILES names: \/nonexistent\/icd\.json/,
    );
    expect(r.stdout).toMatch(/sudo bash scripts\/setup\.sh/);
    expect(r.stdout).toMatch(/apt-get install -y -t bookworm-backports libvulkan1 mesa-vulkan-drivers/);
  });

  it('an unknown adapter name lists the adapters Dawn has', async () => {
    const r = await tsx('test/fixtures/no-adapter.ts', { DAWNGRAD_ADAPTER: 'no-such-gpu' });
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(/adapter 'no-such-gpu'/);
    // Dawn's own list
    expect(r.stdout).toMatch(/Dawn said:[\s\S]*Available adapters:\n\s+\* backend: '\w+', name: '[^']+'/);
    expect(r.stdout).toMatch(/DAWNGRAD_ADAPTER/);
  });
});

describe('close', () => {
  it('the process exits on its own after engine.close()', async () => {
    const t0 = Date.now();
    const r = await tsx('test/fixtures/exit-after-close.ts');
    expect(r.signal).toBeNull(); // not killed at the timeout
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/done true/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('ops after close fail clearly', async () => {
    const { createEngine } = await import('../src/index.ts');
    const e = await createEngine();
    const x: Tensor = e.ones([2]);
    await e.close();
    await e.close(); // idempotent
    expect(() => add(x, 1)).toThrow(/the engine is closed/);
  });
});

describe('environment faults', () => {
  it('a memory limit: idle buffers are freed first, then GpuOutOfMemoryError lists what holds the memory', async () => {
    const { createEngine, GpuOutOfMemoryError } = await import('../src/index.ts');
    const MiB = 2 ** 20;
    const e = await createEngine({ memoryLimit: 4 * MiB + 64 * 1024 }); // 4 MiB of tensors + room for small results
    try {
      const kept = [0, 1, 2].map((k) => e.full([MiB / 4], k, { category: 'parameters' })); // 3 MiB
      const idle = e.zeros([MiB / 8]); // 0.5 MiB, freed below: must give way to a new buffer
      idle.dispose();
      await e.flush();
      expect(e.memory().pooledBytes).toBeGreaterThan(0);
      const fits = e.zeros([MiB / 4 - 1000]); // its 1 MiB size class fits only once the idle 0.5 MiB is gone
      expect(e.memory().pooledBytes).toBe(0);
      let err: unknown;
      try {
        e.zeros([MiB / 4]);
      } catch (x) {
        err = x;
      }
      expect(err).toBeInstanceOf(GpuOutOfMemoryError);
      expect(String((err as Error).message)).toMatch(
        new RegExp(
          /out of GPU memory: a new 1\.0 MiB buffer would exceed the engine's limit of /.source +
            /4\.\d MiB \(in use: 4\.0 MiB — parameters 3\.0 MiB, activations 1\.0 MiB.*Use a /.source +
            /smaller batch/.source,
        ),
      );
      // the engine states facts and names no command-line flag (segan adds its own: src/cli/run.ts)
      expect((err as Error).message).not.toMatch(/--/);
      expect((err as InstanceType<typeof GpuOutOfMemoryError>).facts).toMatchObject({
        kind: 'limit',
        what: 'full',
        requestedBytes: MiB,
        liveBytes: 4 * MiB,
        byCategory: { parameters: 3 * MiB, activations: MiB },
      });
      // nothing was half-done: free some memory and the same allocation works
      fits.dispose();
      await e.flush();
      const again = e.zeros([MiB / 4]);
      expect(await again.sum().item()).toBe(0);
      expect(await kept[2].sum().item()).toBe(2 * (MiB / 4));
    } finally {
      await e.close();
    }
  });

  it('DAWNGRAD_MEMORY_LIMIT sets the limit; a bad value is refused before a device opens', async () => {
    const { createEngine, parseBytes } = await import('../src/index.ts');
    expect(parseBytes('6GiB')).toBe(6 * 2 ** 30);
    expect(parseBytes('512 MiB')).toBe(512 * 2 ** 20);
    expect(parseBytes('1e9')).toBe(1e9);
    expect(() => parseBytes('lots')).toThrow(/must look like 6GiB/);
    const old = process.env.DAWNGRAD_MEMORY_LIMIT;
    try {
      process.env.DAWNGRAD_MEMORY_LIMIT = 'plenty';
      await expect(createEngine()).rejects.toThrow(
        /DAWNGRAD_MEMORY_LIMIT must be a size such as 6GiB, 512MiB or 1e9 \(got 'plenty'\)/,
      );
      process.env.DAWNGRAD_MEMORY_LIMIT = '1MiB';
      const e = await createEngine();
      try {
        expect(() => e.zeros([2 ** 19])).toThrow(/limit of 1\.0 MiB/);
      } finally {
        await e.close();
      }
    } finally {
      if (old === undefined) delete process.env.DAWNGRAD_MEMORY_LIMIT;
      else process.env.DAWNGRAD_MEMORY_LIMIT = old;
    }
  });

  it('a lost device: pending readbacks reject and later ops throw, saying so, never hang', async () => {
    const { createEngine, GpuError } = await import('../src/index.ts');
    const e = await createEngine();
    try {
      const a = e.rand([4096], { seed: 1 });
      expect(await a.sum().item()).toBeGreaterThan(0);
      const pending = a.mul(2).sum(); // recorded, not yet submitted
      e.runtime.device.destroy(); // what a driver reset or an unplugged GPU looks like to WebGPU
      const t0 = Date.now();
      await expect(pending.item()).rejects.toThrow(GpuError);
      await expect(pending.item()).rejects.toThrow(/the GPU device was lost \(destroyed/);
      expect(() => a.add(1)).toThrow(
        /addScalar: the GPU device was lost .*Create a new engine; saved checkpoints are unaffected/,
      );
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await e.close();
    }
  });
});
