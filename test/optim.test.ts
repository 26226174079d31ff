// Optimizers against float64 CPU implementations of PyTorch's update rules (written here, from the
// torch.optim source), plus the properties the training loop relies on: in-place updates, no submit
// and no new uniforms per step, skipped parameters, and bitwise-exact resume from state().
import { describe, expect, it } from 'vitest';
import { add, mul, sub, sum, type Engine, type Tensor } from '../src/index.ts';
import {
  Adam,
  clampParameters,
  ParameterAverage,
  readNonFiniteFlag,
  RMSprop,
  SGD,
  type OptimizerState,
} from '../src/optim/index.ts';
import { assertClose } from './helpers/check.ts';
import { useEngine } from './helpers/engine.ts';
import { values } from './helpers/random.ts';

const engine = useEngine();

type Opt = Adam | RMSprop | SGD;

// ---- the problem: loss = 0.5 Σ_k Σ_i a_k[i] (p_k[i] - c_k[i])², so g_k = a_k ⊙ (p_k - c_k) ----------

const SHAPES = [[3, 4], [5]];
const sizeOf = (s: number[]) => s.reduce((x, y) => x * y, 1);

interface Problem {
  shapes: number[][];
  p0: Float64Array[];
  a: Float64Array[];
  c: Float64Array[];
}

function problem(seed: number, shapes = SHAPES): Problem {
  return {
    shapes,
    p0: shapes.map((s, k) => values(sizeOf(s), seed * 1000 + k, -2, 2)),
    a: shapes.map((s, k) => values(sizeOf(s), seed * 1000 + k + 300, 0.5, 2)),
    c: shapes.map((s, k) => values(sizeOf(s), seed * 1000 + k + 600, -1, 1)),
  };
}

interface Gpu {
  params: Tensor[];
  a: Tensor[];
  c: Tensor[];
}

function upload(e: Engine, prob: Problem, p0 = prob.p0): Gpu {
  return {
    params: p0.map((d, k) =>
      e.tensor(Float32Array.from(d), prob.shapes[k], { requiresGrad: true, category: 'parameters' }),
    ),
    a: prob.a.map((d, k) => e.tensor(Float32Array.from(d), prob.shapes[k])),
    c: prob.c.map((d, k) => e.tensor(Float32Array.from(d), prob.shapes[k])),
  };
}

function freeGpu(g: Gpu): void {
  for (const t of [...g.params, ...g.a, ...g.c]) {
    t.grad?.dispose();
    t.grad = null;
    t.dispose();
  }
}

/** Uploads the problem, makes an optimizer over it, runs `body`, then frees both (also when it throws). */
async function withOptimizer<O extends Opt>(
  e: Engine,
  prob: Problem,
  make: (params: Tensor[]) => O,
  body: (g: Gpu, opt: O) => Promise<void> | void,
): Promise<void> {
  const g = upload(e, prob);
  const opt = make(g.params);
  try {
    await body(g, opt);
  } finally {
    opt.dispose();
    freeGpu(g);
  }
}

/** Forward and backward of the loss over the `active` parameters (the others get no gradient). */
function backward(e: Engine, g: Gpu, active: boolean[] = g.params.map(() => true)): void {
  e.tidy(() => {
    let total: Tensor | null = null;
    for (let k = 0; k < g.params.length; k++) {
      if (!active[k]) continue;
      const d = sub(g.params[k], g.c[k]);
      const l = sum(mul(mul(d, d), g.a[k]));
      total = total ? add(total, l) : l;
    }
    mul(total!, 0.5).backward();
  });
}

function trainStep(e: Engine, g: Gpu, opt: Opt, active?: boolean[]): void {
  opt.zeroGrad();
  backward(e, g, active);
  opt.step();
}

// ---- float64 references of torch.optim (single-tensor, foreach=False code paths) --------------------

interface RefOptimizer {
  step(params: Float64Array[], grads: (Float64Array | null)[]): void;
}

/** torch.optim.Adam. `stepShift` makes a deliberately wrong bias correction (for the tolerance check). */
function refAdam(
  sizes: number[],
  h: { lr: number; betas: [number, number]; eps: number; weightDecay: number },
  stepShift = 0,
): RefOptimizer {
  const m = sizes.map((n) => new Float64Array(n));
  const v = sizes.map((n) => new Float64Array(n));
  const t = sizes.map(() => 0);
  const [b1, b2] = h.betas;
  return {
    step(params, grads) {
      params.forEach((p, k) => {
        const gk = grads[k];
        if (!gk) return;
        t[k] += 1;
        const bc1 = 1 - b1 ** (t[k] + stepShift);
        const bc2 = 1 - b2 ** (t[k] + stepShift);
        const stepSize = h.lr / bc1;
        for (let i = 0; i < p.length; i++) {
          const g = gk[i] + h.weightDecay * p[i];
          m[k][i] += (1 - b1) * (g - m[k][i]);
          v[k][i] = v[k][i] * b2 + (1 - b2) * g * g;
          const denom = Math.sqrt(v[k][i]) / Math.sqrt(bc2) + h.eps;
          p[i] -= stepSize * (m[k][i] / denom);
        }
      });
    },
  };
}

/** torch.optim.RMSprop (centered=False, momentum=0). */
function refRMSprop(sizes: number[], h: { lr: number; alpha: number; eps: number; weightDecay: number }): RefOptimizer {
  const s = sizes.map((n) => new Float64Array(n));
  return {
    step(params, grads) {
      params.forEach((p, k) => {
        const gk = grads[k];
        if (!gk) return;
        for (let i = 0; i < p.length; i++) {
          const g = gk[i] + h.weightDecay * p[i];
          s[k][i] = s[k][i] * h.alpha + (1 - h.alpha) * g * g;
          p[i] -= h.lr * (g / (Math.sqrt(s[k][i]) + h.eps));
        }
      });
    },
  };
}

/** torch.optim.SGD (dampening=0, nesterov=False): buf = g on the first step, then momentum·buf + g. */
function refSGD(sizes: number[], h: { lr: number; momentum: number; weightDecay: number }): RefOptimizer {
  const buf: (Float64Array | null)[] = sizes.map(() => null);
  return {
    step(params, grads) {
      params.forEach((p, k) => {
        const gk = grads[k];
        if (!gk) return;
        const d = gk.map((g, i) => g + h.weightDecay * p[i]);
        let dir: Float64Array = d;
        if (h.momentum !== 0) {
          const b = buf[k];
          if (!b) buf[k] = Float64Array.from(d);
          else for (let i = 0; i < b.length; i++) b[i] = h.momentum * b[i] + d[i];
          dir = buf[k]!;
        }
        for (let i = 0; i < p.length; i++) p[i] -= h.lr * dir[i];
      });
    },
  };
}

function refGrads(prob: Problem, params: Float64Array[], active: boolean[]): (Float64Array | null)[] {
  return params.map((p, k) => (active[k] ? p.map((x, i) => prob.a[k][i] * (x - prob.c[k][i])) : null));
}

/** Run the reference for `steps` steps; active(step) says which parameters get a gradient. */
function runRef(
  prob: Problem,
  opt: RefOptimizer,
  steps: number,
  active: (s: number) => boolean[] = () => prob.shapes.map(() => true),
): Float64Array[] {
  const params = prob.p0.map((p) => Float64Array.from(p));
  for (let s = 0; s < steps; s++) opt.step(params, refGrads(prob, params, active(s)));
  return params;
}

async function read(ts: Tensor[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const t of ts) out.push(await t.toArray());
  return out;
}

const RTOL = 1e-5;
const ATOL = 1e-6;

function assertParamsClose(actual: Float32Array[], expected: Float64Array[], what: string): void {
  actual.forEach((a, k) => assertClose(a, expected[k], RTOL, ATOL, `${what}: parameter ${k}`));
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

// ---- cases ---------------------------------------------------------------------------------------

const SIZES = SHAPES.map(sizeOf);

interface Case {
  name: string;
  make: (ps: Tensor[]) => Opt;
  ref: () => RefOptimizer;
}

const adamH = { lr: 0.05, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0 };
const rmsH = { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0 };

const CASES: Case[] = [
  { name: 'Adam', make: (ps) => new Adam(ps, { lr: 0.05 }), ref: () => refAdam(SIZES, adamH) },
  {
    name: 'Adam, weight decay, other betas',
    make: (ps) => new Adam(ps, { lr: 0.02, betas: [0.5, 0.9], eps: 1e-6, weightDecay: 0.1 }),
    ref: () => refAdam(SIZES, { lr: 0.02, betas: [0.5, 0.9], eps: 1e-6, weightDecay: 0.1 }),
  },
  { name: 'RMSprop', make: (ps) => new RMSprop(ps), ref: () => refRMSprop(SIZES, rmsH) },
  {
    name: 'RMSprop, weight decay',
    make: (ps) => new RMSprop(ps, { lr: 0.003, alpha: 0.9, eps: 1e-6, weightDecay: 0.2 }),
    ref: () => refRMSprop(SIZES, { lr: 0.003, alpha: 0.9, eps: 1e-6, weightDecay: 0.2 }),
  },
  {
    name: 'SGD',
    make: (ps) => new SGD(ps, { lr: 0.1 }),
    ref: () => refSGD(SIZES, { lr: 0.1, momentum: 0, weightDecay: 0 }),
  },
  {
    name: 'SGD, momentum',
    make: (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }),
    ref: () => refSGD(SIZES, { lr: 0.1, momentum: 0.9, weightDecay: 0 }),
  },
  {
    name: 'SGD, momentum, weight decay',
    make: (ps) => new SGD(ps, { lr: 0.05, momentum: 0.5, weightDecay: 0.3 }),
    ref: () => refSGD(SIZES, { lr: 0.05, momentum: 0.5, weightDecay: 0.3 }),
  },
  {
    name: 'SGD, weight decay',
    make: (ps) => new SGD(ps, { lr: 0.1, weightDecay: 0.5 }),
    ref: () => refSGD(SIZES, { lr: 0.1, momentum: 0, weightDecay: 0.5 }),
  },
];

/**
 * Runs `prepare(i)` then `act()` for i = 1 … times and checks that `act` only records: `dispatches`
 * dispatches each time, no submit, and no new uniform buffer after the third time. Returns the submit
 * count before the loop.
 */
async function expectRecordsOnly(
  e: Engine,
  times: number,
  dispatches: number,
  prepare: (i: number) => void,
  act: () => void,
): Promise<number> {
  await e.flush();
  const submits = e.runtime.stats.submits;
  let uniforms = 0;
  for (let i = 1; i <= times; i++) {
    prepare(i);
    const d0 = e.runtime.stats.dispatches;
    act();
    expect(e.runtime.stats.dispatches - d0).toBe(dispatches);
    if (i === 3) uniforms = e.runtime.stats.uniformWrites;
    if (i > 3) expect(e.runtime.stats.uniformWrites).toBe(uniforms);
  }
  expect(e.runtime.stats.submits).toBe(submits);
  return submits;
}

describe('optimizers match float64 PyTorch update rules', () => {
  for (const c of CASES) {
    it(`${c.name}: 5 steps`, async () => {
      const e = engine();
      const prob = problem(1);
      await withOptimizer(e, prob, c.make, async (g, opt) => {
        for (let s = 0; s < 5; s++) trainStep(e, g, opt);
        const got = await read(g.params);
        assertParamsClose(got, runRef(prob, c.ref(), 5), c.name);
        // the parameters moved well beyond the tolerance (the test is not vacuous)
        expect(Math.abs(got[0][0] - prob.p0[0][0])).toBeGreaterThan(1e-3);
      });
    });
  }

  it('the tolerance catches a wrong Adam bias correction (step off by one, or none)', async () => {
    const e = engine();
    const prob = problem(2);
    await withOptimizer(
      e,
      prob,
      (params) => new Adam(params, { lr: 0.05 }),
      async (g, opt) => {
        for (let s = 0; s < 5; s++) trainStep(e, g, opt);
        const got = await read(g.params);
        assertParamsClose(got, runRef(prob, refAdam(SIZES, adamH), 5), 'Adam');
        expect(() => assertParamsClose(got, runRef(prob, refAdam(SIZES, adamH, 1), 5), 'Adam, t + 1')).toThrow(
          /element/,
        );
        expect(() =>
          assertParamsClose(got, runRef(prob, refAdam(SIZES, adamH, 1e9), 5), 'Adam, no correction'),
        ).toThrow(/element/);
      },
    );
  });

  it('Adam bias corrections stay accurate over many steps (t up to 300)', async () => {
    const e = engine();
    // targets 1 away from the start: 300 steps of at most lr = 1e-3 never reach them, so the
    // gradients stay large and the comparison measures the update rule, not rounding near a minimum
    const base = problem(3);
    const prob = { ...base, c: base.p0.map((p) => p.map((x) => Math.fround(x + 1))) };
    const g = upload(e, prob);
    const h = { lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0 };
    const opt = new Adam(g.params, h);
    try {
      for (let s = 0; s < 300; s++) {
        trainStep(e, g, opt);
        if (s % 100 === 99) await e.flush();
      }
      assertParamsClose(await read(g.params), runRef(prob, refAdam(SIZES, h), 300), 'Adam x300');
    } finally {
      opt.dispose();
      freeGpu(g);
    }
  });
});

describe('multi-tensor steps: one dispatch over flat arrays', () => {
  // 41 tensors: sizes around the 256-element chunks, a 1-element one, and a larger one
  const MANY = [
    [1],
    [255],
    [256],
    [257],
    [3, 170],
    [1000],
    ...Array.from({ length: 35 }, (_, k) => [(k % 7) + 1, 2 * k + 3]),
  ];

  it.each([
    [
      'Adam',
      (ps: Tensor[]) => new Adam(ps, { lr: 0.05, weightDecay: 0.01 }),
      () => refAdam(MANY.map(sizeOf), { ...adamH, weightDecay: 0.01 }),
    ],
    ['RMSprop', (ps: Tensor[]) => new RMSprop(ps, { lr: 0.01 }), () => refRMSprop(MANY.map(sizeOf), rmsH)],
    [
      'SGD momentum',
      (ps: Tensor[]) => new SGD(ps, { lr: 0.1, momentum: 0.9 }),
      () => refSGD(MANY.map(sizeOf), { lr: 0.1, momentum: 0.9, weightDecay: 0 }),
    ],
  ] as const)(
    '%s: 41 tensors of awkward sizes, some without a gradient, match float64 in 2 dispatches per step',
    async (_name, make, ref) => {
      const e = engine();
      const prob = problem(31, MANY);
      // every third tensor sits out steps 1 and 3 (its step count and state must not move)
      const active = (s: number) => MANY.map((_, k) => s % 2 === 0 || k % 3 !== 0);
      await withOptimizer<Opt>(e, prob, make, async (g, opt) => {
        for (let s = 0; s < 4; s++) {
          opt.zeroGrad();
          backward(e, g, active(s));
          const d0 = e.runtime.stats.dispatches;
          opt.step();
          expect(e.runtime.stats.dispatches - d0).toBe(2);
        }
        const got = await read(g.params);
        assertParamsClose(got, runRef(prob, ref(), 4, active), _name);
      });
    },
  );

  it('a parameter written by someone else between steps (loadState, an upload) is picked up', async () => {
    const e = engine();
    const prob = problem(32);
    await withOptimizer(
      e,
      prob,
      (params) => new Adam(params, { lr: 0.05 }),
      async (g, opt) => {
        trainStep(e, g, opt);
        // overwrite parameter 1 in stream order, as Module.loadState does
        const fresh = Float32Array.from({ length: g.params[1].size }, (_, i) => 0.25 * i - 0.5);
        e.runtime.write(g.params[1].buffer(), fresh);
        const refOpt = refAdam(SIZES, adamH);
        const params = prob.p0.map((p) => Float64Array.from(p));
        refOpt.step(params, refGrads(prob, params, [true, true]));
        params[1] = Float64Array.from(fresh);
        refOpt.step(params, refGrads(prob, params, [true, true]));
        trainStep(e, g, opt);
        assertParamsClose(await read(g.params), params, 'after an outside write');
      },
    );
  });

  it('step({ clamp }) is bitwise step() followed by clampParameters(), and rejects bad bounds', async () => {
    const e = engine();
    const prob = problem(33, MANY);
    const a = upload(e, prob);
    const b = upload(e, prob);
    const optA = new RMSprop(a.params, { lr: 0.05 });
    const optB = new RMSprop(b.params, { lr: 0.05 });
    try {
      for (let s = 0; s < 3; s++) {
        trainStep(e, a, optA);
        clampParameters(a.params, -0.4, 0.3);
        optB.zeroGrad();
        backward(e, b);
        optB.step({ clamp: [-0.4, 0.3] });
      }
      const got = await read(b.params);
      const want = await read(a.params);
      got.forEach((x, k) => expect(Array.from(bits(x)), `parameter ${k}`).toEqual(Array.from(bits(want[k]))));
      expect(
        got.some((x) => x.some((v) => v === Math.fround(0.3))) &&
          got.some((x) => x.some((v) => v === Math.fround(-0.4))),
      ).toBe(true);
      expect(() => optB.step({ clamp: [1, -1] })).toThrow(/clamp's lo \(1\) is greater than its hi \(-1\)/);
      expect(() => optB.step({ clamp: [0, NaN] as unknown as [number, number] })).toThrow(
        /clamp must be a pair of numbers/,
      );
    } finally {
      optA.dispose();
      optB.dispose();
      freeGpu(a);
      freeGpu(b);
    }
  });
});

describe('optimizer behaviour', () => {
  it('updates parameters in place and keeps its state in the optimizer category, out of tidy()', async () => {
    const e = engine();
    const prob = problem(4);
    const g = upload(e, prob);
    const buffers = g.params.map((p) => p.buffer());
    const before = e.memory().byCategory.optimizer;
    const opt = e.tidy(() => new Adam(g.params)); // state made inside a tidy survives it
    try {
      // exp_avg + exp_avg_sq per parameter, plus the step counters
      expect(e.memory().byCategory.optimizer - before).toBeGreaterThanOrEqual(2 * 4 * (12 + 5));
      e.tidy(() => trainStep(e, g, opt));
      g.params.forEach((p, k) => {
        expect(p.isDisposed).toBe(false);
        expect(p.buffer()).toBe(buffers[k]);
      });
      const got = await read(g.params);
      expect(Array.from(got[1])).not.toEqual(Array.from(Float32Array.from(prob.p0[1])));
      const st = await opt.state();
      expect(Object.keys(st.buffers).sort()).toEqual([
        'exp_avg.0',
        'exp_avg.1',
        'exp_avg_sq.0',
        'exp_avg_sq.1',
        'step.0',
        'step.1',
      ]);
      expect(st.step).toBe(1);
      expect(st.buffers['step.0'][0]).toBe(1);
    } finally {
      opt.dispose();
      freeGpu(g);
    }
    expect(e.memory().byCategory.optimizer).toBe(before);
  });

  it('zeroGrad disposes the gradients and sets them to null', async () => {
    const e = engine();
    await withOptimizer(
      e,
      problem(5),
      (params) => new SGD(params, { lr: 0.1 }),
      async (g, opt) => {
        backward(e, g);
        const grads = g.params.map((p) => p.grad!);
        opt.zeroGrad();
        g.params.forEach((p, k) => {
          expect(p.grad).toBeNull();
          expect(grads[k].isDisposed).toBe(true);
        });
      },
    );
  });

  it('skips parameters without a gradient; each parameter keeps its own step count (Adam, SGD momentum)', async () => {
    const e = engine();
    const prob = problem(6);
    // parameter 1 gets a gradient only from the third step on
    const active = (s: number) => [true, s >= 2];
    const cases: [string, (ps: Tensor[]) => Opt, () => RefOptimizer][] = [
      ['Adam', (ps) => new Adam(ps, { lr: 0.05 }), () => refAdam(SIZES, adamH)],
      [
        'SGD',
        (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }),
        () => refSGD(SIZES, { lr: 0.1, momentum: 0.9, weightDecay: 0 }),
      ],
    ];
    for (const [name, make, ref] of cases) {
      await withOptimizer(e, prob, make, async (g, opt) => {
        for (let s = 0; s < 2; s++) trainStep(e, g, opt, active(s));
        expect(g.params[1].grad).toBeNull();
        const mid = await read(g.params);
        expect(Array.from(bits(mid[1]))).toEqual(Array.from(bits(Float32Array.from(prob.p0[1])))); // untouched
        for (let s = 2; s < 5; s++) trainStep(e, g, opt, active(s));
        assertParamsClose(await read(g.params), runRef(prob, ref(), 5, active), `${name} with a skipped parameter`);
        const st = await opt.state();
        expect([st.buffers['step.0'][0], st.buffers['step.1'][0], st.step]).toEqual([5, 3, 5]);
      });
    }
  });

  it('SGD momentum: the buffer is the gradient itself on the first step', async () => {
    const e = engine();
    const prob = problem(7);
    await withOptimizer(
      e,
      prob,
      (params) => new SGD(params, { lr: 0.1, momentum: 0.9 }),
      async (g, opt) => {
        opt.zeroGrad();
        backward(e, g);
        const grads = await read(g.params.map((p) => p.grad!));
        opt.step();
        const st = await opt.state();
        grads.forEach((gr, k) =>
          expect(Array.from(bits(st.buffers[`momentum_buffer.${k}`]))).toEqual(Array.from(bits(gr))),
        );
        const got = await read(g.params);
        got.forEach((p, k) =>
          assertClose(
            p,
            prob.p0[k].map((x, i) => x - 0.1 * grads[k][i]),
            RTOL,
            ATOL,
            `SGD first step ${k}`,
          ),
        );
      },
    );
  });

  it('SGD without momentum keeps no buffer', async () => {
    const e = engine();
    await withOptimizer(
      e,
      problem(8),
      (params) => new SGD(params, { lr: 0.1 }),
      async (g, opt) => {
        trainStep(e, g, opt);
        expect(Object.keys((await opt.state()).buffers).sort()).toEqual(['step.0', 'step.1']);
      },
    );
  });

  it('step() records only: no submit, and no new uniform buffer after the first steps', async () => {
    const e = engine();
    const g = upload(e, problem(9));
    for (const make of [
      (ps: Tensor[]) => new Adam(ps),
      (ps: Tensor[]) => new RMSprop(ps),
      (ps: Tensor[]) => new SGD(ps, { lr: 0.01, momentum: 0.9 }),
    ]) {
      const opt = make(g.params);
      try {
        const submits = await expectRecordsOnly(
          e,
          6,
          2, // one step-counter dispatch plus one fused update for all parameters
          () => {
            opt.zeroGrad();
            backward(e, g);
          },
          () => opt.step(),
        );
        await g.params[0].toArray();
        expect(e.runtime.stats.submits).toBe(submits + 1);
      } finally {
        opt.dispose();
      }
    }
    freeGpu(g);
  });

  it('the lr setter changes the step size', async () => {
    const e = engine();
    const prob = problem(10);
    await withOptimizer(
      e,
      prob,
      (params) => new SGD(params, { lr: 0.1 }),
      async (g, opt) => {
        trainStep(e, g, opt);
        opt.lr = 0.01;
        expect(opt.lr).toBe(0.01);
        trainStep(e, g, opt);
        const ref = refSGD(SIZES, { lr: 0.1, momentum: 0, weightDecay: 0 });
        const params = prob.p0.map((p) => Float64Array.from(p));
        ref.step(params, refGrads(prob, params, [true, true]));
        const ref2 = refSGD(SIZES, { lr: 0.01, momentum: 0, weightDecay: 0 });
        ref2.step(params, refGrads(prob, params, [true, true]));
        assertParamsClose(await read(g.params), params, 'SGD with an lr change');
        expect(() => (opt.lr = -1)).toThrow(/SGD: lr must be >= 0/);
      },
    );
  });

  it('rejects bad arguments with clear errors', () => {
    const e = engine();
    const p = e.zeros([2], { requiresGrad: true });
    expect(() => new Adam([])).toThrow(/Adam: got an empty parameter list/);
    expect(() => new Adam([p, p])).toThrow(/appears more than once/);
    expect(() => new Adam([p], { betas: [1, 0.999] })).toThrow(/Adam: betas\[0\] must be in \[0, 1\)/);
    expect(() => new RMSprop([p], { eps: -1 })).toThrow(/RMSprop: eps must be >= 0/);
    expect(() => new SGD([p], { lr: 0.1, momentum: -0.5 })).toThrow(/SGD: momentum must be >= 0/);
    expect(() => new SGD([p], {} as never)).toThrow(/SGD: options must give lr/);
    const opt = new Adam([p]);
    p.grad = e.zeros([3]);
    expect(() => opt.step()).toThrow(/Adam.step: parameter 0 has shape \[2\] but its gradient has shape \[3\]/);
    p.grad.dispose();
    p.grad = null;
    opt.dispose();
    expect(() => opt.step()).toThrow(/disposed/);
    p.dispose();
  });
});

describe('state() and load()', () => {
  const kinds: [string, (ps: Tensor[], lr?: number) => Opt][] = [
    ['Adam', (ps, lr = 0.05) => new Adam(ps, { lr, weightDecay: 0.01 })],
    ['RMSprop', (ps, lr = 0.01) => new RMSprop(ps, { lr })],
    ['SGD', (ps, lr = 0.1) => new SGD(ps, { lr, momentum: 0.9 })],
  ];
  for (const [name, make] of kinds) {
    it(`${name}: 3 steps + save + load into a new optimizer + 3 steps is bitwise 6 steps`, async () => {
      const e = engine();
      const prob = problem(11);
      // uninterrupted
      const a = upload(e, prob);
      const optA = make(a.params);
      for (let s = 0; s < 6; s++) trainStep(e, a, optA);
      const straight = await read(a.params);
      // interrupted: save the parameters and the optimizer, rebuild both from the saved values
      const b = upload(e, prob);
      const optB = make(b.params);
      for (let s = 0; s < 3; s++) trainStep(e, b, optB);
      const saved: OptimizerState = JSON.parse(
        JSON.stringify(await optB.state(), (_k, v) => (v instanceof Float32Array ? { f32: Array.from(v) } : v)),
        (_k, v) => (v && typeof v === 'object' && Array.isArray(v.f32) ? Float32Array.from(v.f32) : v),
      ); // through JSON: a plain, serialisable object
      const savedParams = (await read(b.params)).map((x) => Float64Array.from(x));
      optB.dispose();
      freeGpu(b);
      const c = upload(e, prob, savedParams);
      const optC = make(c.params, 123); // a different lr: load() restores the saved one
      optC.load(saved);
      expect(optC.lr).toBe(optA.lr);
      expect(optC.stepsTaken).toBe(3);
      for (let s = 0; s < 3; s++) trainStep(e, c, optC);
      const resumed = await read(c.params);
      resumed.forEach((r, k) =>
        expect(Array.from(bits(r)), `${name} parameter ${k}`).toEqual(Array.from(bits(straight[k]))),
      );
      const sa = await optA.state();
      const sc = await optC.state();
      expect(sc.step).toBe(6);
      for (const key of Object.keys(sa.buffers))
        expect(Array.from(bits(sc.buffers[key])), key).toEqual(Array.from(bits(sa.buffers[key])));
      optA.dispose();
      optC.dispose();
      freeGpu(a);
      freeGpu(c);
    });
  }

  it('load() rejects a state of another kind, parameter count or shape with clear errors', async () => {
    const e = engine();
    const g = upload(e, problem(12));
    const adam = new Adam(g.params);
    trainStep(e, g, adam);
    const st = await adam.state();
    const other = [e.zeros([4, 3], { requiresGrad: true }), e.zeros([5], { requiresGrad: true })];
    const wrongShape = new Adam(other);
    expect(() => wrongShape.load(st)).toThrow(
      "Adam.load: parameter 0 has shape [4, 3] but the state's parameter 0 has shape [3, 4]",
    );
    const fewer = new Adam([other[1]]);
    expect(() => fewer.load(st)).toThrow('Adam.load: the state has 2 parameters, this optimizer has 1');
    const rms = new RMSprop(g.params);
    expect(() => rms.load(st)).toThrow("RMSprop.load: the state is for the 'adam' optimizer, not 'rmsprop'");
    const fresh = new Adam(g.params);
    const missing = { ...st, buffers: { ...st.buffers } };
    delete missing.buffers['exp_avg_sq.1'];
    expect(() => fresh.load(missing)).toThrow("Adam.load: the state lacks the Float32Array buffer 'exp_avg_sq.1'");
    const short = { ...st, buffers: { ...st.buffers, 'exp_avg.0': new Float32Array(11) } };
    expect(() => fresh.load(short)).toThrow("Adam.load: buffer 'exp_avg.0' has 11 values, parameter 0 [3, 4] needs 12");
    const badHyper = { ...st, hyper: { ...st.hyper, betas: [0.9, 1.5] as [number, number] } };
    expect(() => fresh.load(badHyper)).toThrow(
      "Adam.load: the state's hyperparameters are invalid: Adam: betas[1] must be in [0, 1), got 1.5",
    );
    // a failed load changes nothing
    expect((await fresh.state()).step).toBe(0);
    for (const o of [adam, wrongShape, fewer, rms, fresh]) o.dispose();
    for (const t of other) t.dispose();
    freeGpu(g);
  });
});

describe('guarded steps: step({ skipNonFinite: true })', () => {
  const kinds: [string, (ps: Tensor[]) => Opt][] = [
    ['Adam', (ps) => new Adam(ps, { lr: 0.05, weightDecay: 0.01 })],
    ['RMSprop', (ps) => new RMSprop(ps, { lr: 0.01 })],
    ['SGD momentum', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 })],
    ['SGD', (ps) => new SGD(ps, { lr: 0.1 })],
  ];
  /** Replace parameter k's gradient by its values with `bad` at index i. */
  async function poison(e: Engine, g: Gpu, k: number, i: number, bad: number): Promise<void> {
    const grad = await g.params[k].grad!.toArray();
    grad[i] = bad;
    g.params[k].grad!.dispose();
    g.params[k].grad = e.tensor(grad, g.params[k].shape);
  }
  for (const [name, make] of kinds) {
    it(
      `${name}: a finite step equals an unguarded one bitwise; ` +
        `a non-finite one changes nothing, even the step counts`,
      async () => {
        const e = engine();
        const prob = problem(21);
        const a = upload(e, prob);
        const b = upload(e, prob);
        const optA = make(a.params);
        const optB = make(b.params);
        // step 1: both finite
        trainStep(e, a, optA);
        optB.zeroGrad();
        backward(e, b);
        const loss = e.tensor([1.5], [1]);
        const flag1 = optB.step({ skipNonFinite: true, check: [loss] })!;
        expect(await readNonFiniteFlag(flag1)).toBeNull();
        expect(Array.from(await flag1.toArray())).toEqual([0, 0]);
        const afterA = await read(a.params);
        const afterB = await read(b.params);
        afterB.forEach((x, k) => expect(Array.from(bits(x)), `parameter ${k}`).toEqual(Array.from(bits(afterA[k]))));
        const state1 = await optB.state();
        // step 2 in B: a NaN in parameter 1's gradient, an Inf in parameter 0's: nothing changes, and
        // the reported slot is the first offender (check.length + 0)
        optB.zeroGrad();
        backward(e, b);
        await poison(e, b, 1, 2, NaN);
        await poison(e, b, 0, 5, -Infinity);
        const flag2 = optB.step({ skipNonFinite: true, check: [loss] })!;
        expect(await readNonFiniteFlag(flag2)).toBe(1);
        expect((await flag2.toArray())[0]).toBe(1);
        const still = await read(b.params);
        still.forEach((x, k) =>
          expect(Array.from(bits(x)), `parameter ${k} after a skipped step`).toEqual(Array.from(bits(afterB[k]))),
        );
        const state2 = await optB.state();
        for (const key of Object.keys(state1.buffers))
          expect(Array.from(bits(state2.buffers[key])), key).toEqual(Array.from(bits(state1.buffers[key])));
        // step 3 in B = step 2 in A: the skipped step left no trace (Adam's bias correction included)
        trainStep(e, a, optA);
        optB.zeroGrad();
        backward(e, b);
        expect(await readNonFiniteFlag(optB.step({ skipNonFinite: true })!)).toBeNull();
        const endA = await read(a.params);
        const endB = await read(b.params);
        endB.forEach((x, k) =>
          expect(Array.from(bits(x)), `parameter ${k} after the next step`).toEqual(Array.from(bits(endA[k]))),
        );
        for (const t of [loss, flag1, flag2]) t.dispose();
        optA.dispose();
        optB.dispose();
        freeGpu(a);
        freeGpu(b);
      },
    );
  }

  it(
    'flags NaN, +Inf and -Inf in a checked tensor (slot 0) but ' +
      'not the largest finite floats, nor stale data past the end',
    async () => {
      const e = engine();
      const g = upload(e, problem(22));
      const opt = new Adam(g.params, { lr: 0.01 });
      // leave a freed pooled buffer full of NaN: a smaller tensor may get it, with NaN past its end
      const junk = e.full([1000], NaN);
      await junk.toArray();
      junk.dispose();
      await e.flush();
      const cases: [string, number[], number | null][] = [
        ['NaN', [0, NaN, 1], 0],
        ['+Inf', [Infinity, 0, 0], 0],
        ['-Inf', [0, 0, -Infinity], 0],
        ['max float', [3.4028234663852886e38, -3.4028234663852886e38, 1e-45], null],
      ];
      for (const [what, vals, want] of cases) {
        const before = await read(g.params);
        opt.zeroGrad();
        backward(e, g);
        const check = e.tensor(vals, [vals.length]);
        const short = e.zeros([997]);
        const flag = opt.step({ skipNonFinite: true, check: [short, check] })!;
        expect(await readNonFiniteFlag(flag), what).toBe(want === null ? null : want + 1);
        const after = await read(g.params);
        const changed = after.some((x, k) => x.some((v, i) => v !== before[k][i]));
        expect(changed, `${what}: parameters ${want === null ? 'updated' : 'untouched'}`).toBe(want === null);
        for (const t of [check, short, flag]) t.dispose();
      }
      await expect(readNonFiniteFlag(e.zeros([3]))).rejects.toThrow(/2-element flag tensor/);
      expect(() => opt.step({ check: [1 as unknown as Tensor] })).toThrow(/check\[0\] is not a Tensor/);
      opt.dispose();
      freeGpu(g);
    },
  );

  it('an unguarded step() returns null and binds no flag of its own', () => {
    const e = engine();
    const g = upload(e, problem(23));
    const opt = new SGD(g.params, { lr: 0.1 });
    backward(e, g);
    expect(opt.step()).toBeNull();
    opt.dispose();
    freeGpu(g);
  });
});

describe('clampParameters', () => {
  it('clamps in place, one dispatch per tensor, recorded only', async () => {
    const e = engine();
    const prob = problem(13);
    const g = upload(e, prob);
    const buffers = g.params.map((p) => p.buffer());
    await e.flush();
    const s0 = { ...e.runtime.stats };
    clampParameters(g.params, -0.5, 0.25);
    expect(e.runtime.stats.dispatches - s0.dispatches).toBe(g.params.length);
    expect(e.runtime.stats.submits).toBe(s0.submits);
    const got = await read(g.params);
    got.forEach((p, k) => {
      expect(g.params[k].buffer()).toBe(buffers[k]);
      expect(Array.from(p)).toEqual(
        Array.from(Float32Array.from(prob.p0[k].map((x) => Math.min(Math.max(x, -0.5), 0.25)))),
      );
      for (const x of p) {
        expect(x).toBeGreaterThanOrEqual(-0.5);
        expect(x).toBeLessThanOrEqual(0.25);
      }
    });
    expect(() => clampParameters(g.params, 1, -1)).toThrow('clampParameters: lo (1) is greater than hi (-1)');
    freeGpu(g);
  });

  it('holds the bounds through a WGAN-style loop (RMSprop step, then clamp)', async () => {
    const e = engine();
    const g = upload(e, problem(14));
    const opt = new RMSprop(g.params, { lr: 0.05 });
    for (let s = 0; s < 4; s++) {
      trainStep(e, g, opt);
      clampParameters(g.params, -0.01, 0.01);
    }
    for (const p of await read(g.params)) for (const x of p) expect(Math.abs(x)).toBeLessThanOrEqual(Math.fround(0.01));
    opt.dispose();
    freeGpu(g);
  });
});

describe('ParameterAverage: an exponential moving average of tensors on the GPU', () => {
  // awkward sizes: one element, a chunk of 256 plus one, a 3-D tensor
  const AVG_SHAPES = [[1], [257], [3, 5, 7]];

  /** float64 reference: avg = x₀ after the first update, then d·avg + (1 − d)·x with d = min(decay, (1+n)/(10+n)). */
  function referenceAverage(history: Float64Array[][], decay: number): Float64Array[] {
    let avg = history[0].map((x) => Float64Array.from(x));
    for (let n = 1; n < history.length; n++) {
      const d = Math.min(decay, (1 + n) / (10 + n));
      avg = avg.map((a, k) => a.map((v, i) => d * v + (1 - d) * history[n][k][i]));
    }
    return avg;
  }

  it('matches the float64 rule over 40 updates (warm-up window, then the decay), recorded only', async () => {
    const e = engine();
    const ts = AVG_SHAPES.map((s, k) => e.tensor(Float32Array.from(values(sizeOf(s), 700 + k)), s));
    const avg = new ParameterAverage(ts, 0.9);
    const history: Float64Array[][] = [];
    try {
      await expectRecordsOnly(
        e,
        40,
        2, // one averaging dispatch and one counter dispatch, whatever the number of tensors
        (n) => {
          const now = AVG_SHAPES.map((s, k) => Float32Array.from(values(sizeOf(s), 1000 * n + k, -3, 3)));
          now.forEach((v, k) => e.runtime.write(ts[k].buffer('test'), v));
          history.push(now.map((v) => Float64Array.from(v)));
        },
        () => avg.update(),
      );
      expect(avg.updates).toBe(40);
      const got = await avg.state();
      const want = referenceAverage(history, 0.9);
      got.values.forEach((v, k) => assertClose(v, want[k], 1e-5, 1e-5, `average of tensor ${k}`));
      // the tolerance catches a missing warm-up (a constant decay from the second update on)
      const noWarmup = history[0].map((x) => Float64Array.from(x));
      for (let n = 1; n < history.length; n++)
        noWarmup.forEach((a, k) => a.forEach((v, i) => (a[i] = 0.9 * v + 0.1 * history[n][k][i])));
      expect(() => assertClose(got.values[1], noWarmup[1], 1e-5, 1e-5, 'no warm-up')).toThrow();
    } finally {
      avg.dispose();
      for (const t of ts) t.dispose();
    }
  });

  it('withAverage() swaps the average in and the own values back; state() and load() round-trip', async () => {
    const e = engine();
    const ts = AVG_SHAPES.map((s, k) => e.tensor(Float32Array.from(values(sizeOf(s), 800 + k)), s));
    const avg = new ParameterAverage(ts, 0.5);
    const other = new ParameterAverage(ts, 0.5);
    try {
      // before any update the tensors keep their own values, and state() gives them
      const own = await Promise.all(ts.map((t) => t.toArray()));
      expect(await avg.withAverage(() => ts[1].toArray())).toEqual(own[1]);
      expect((await avg.state()).values).toEqual(own);
      avg.update();
      const moved = AVG_SHAPES.map((s, k) => Float32Array.from(values(sizeOf(s), 900 + k)));
      moved.forEach((v, k) => e.runtime.write(ts[k].buffer('test'), v));
      avg.update();
      const state = await avg.state();
      const inside = await avg.withAverage(() => Promise.all(ts.map((t) => t.toArray())));
      expect(inside).toEqual(state.values);
      expect(inside[2]).not.toEqual(moved[2]);
      expect(await Promise.all(ts.map((t) => t.toArray()))).toEqual(moved);
      // the values come back even when the body throws
      await expect(
        avg.withAverage(async () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await ts[0].toArray()).toEqual(moved[0]);
      // a loaded state continues exactly where the original does
      other.load(state);
      expect(other.updates).toBe(2);
      avg.update();
      other.update();
      expect((await other.state()).values).toEqual((await avg.state()).values);
      expect(() => other.load({ updates: 1, values: state.values.slice(1) })).toThrow(/expected 3 tensors/);
      expect(() => other.load({ updates: -1, values: state.values })).toThrow(/integer ≥ 0/);
      expect(() => new ParameterAverage(ts, 1)).toThrow(/decay must be a number in \(0, 1\)/);
      expect(() => new ParameterAverage([], 0.9)).toThrow(/non-empty/);
    } finally {
      avg.dispose();
      other.dispose();
      for (const t of ts) t.dispose();
    }
  });
});
