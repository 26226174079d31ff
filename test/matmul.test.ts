import { afterEach, describe, expect, it } from 'vitest';
import { TILE_SHAPES } from '../src/runtime/policy.ts';
import { tileName } from '../src/runtime/tuner.ts';
import { matmul, ShapeError, subgroupTilesRun } from '../src/index.ts';
import { checkOp } from './helpers/check.ts';
import { setPolicy, useEngine } from './helpers/engine.ts';
import { matmulRef } from './helpers/reference.ts';

const engine = useEngine();

/** a @ b against the float64 reference: the values, and the gradients unless noGrad. */
function checkMatmul(name: string, sa: number[], sb: number[], opts: { atol?: number; noGrad?: boolean } = {}) {
  return checkOp(engine(), {
    name,
    inputs: [{ shape: sa }, { shape: sb }],
    gpu: (a, b) => matmul(a, b),
    ref: matmulRef,
    rtol: 1e-4,
    atol: opts.atol ?? 1e-4,
    ...(opts.noGrad ? { noGrad: true } : {}),
  });
}

const SHAPES: [number[], number[]][] = [
  [
    [3, 4],
    [4, 5],
  ],
  [
    [1, 1],
    [1, 1],
  ],
  [
    [5, 7],
    [7, 3],
  ], // K not a multiple of 4: zero-padded
  [
    [17, 33],
    [33, 19],
  ], // partial tiles everywhere
  [
    [70, 12],
    [12, 130],
  ], // several workgroups in both directions
  [
    [2, 3, 6],
    [2, 6, 5],
  ], // batched
  [
    [2, 3, 6],
    [6, 5],
  ], // broadcast right operand
  [
    [4, 1, 3, 8],
    [5, 8, 2],
  ], // broadcast batch axes on both sides
  [[6], [6, 3]], // 1-D left operand
  [[2, 4, 6], [6]], // 1-D right operand
  [[6], [6]], // dot product
];

describe.each([
  ['subgroup', ' (run on lavapipe only: its 8- or 16-lane subgroups)'],
  ['subgroup_wide', ' (run on lavapipe only: its 8- or 16-lane subgroups)'],
  ['register', ''],
  ['workgroup', ''],
] as const)('matmul with %s tiles%s', (kind, _plan) => {
  let restore = () => {};
  afterEach(() => restore());
  /** Subgroup tiles need lavapipe's 8- or 16-lane subgroups: elsewhere say so and skip. */
  const use = (ctx: { skip: () => void }) => {
    if (kind.startsWith('subgroup') && !subgroupTilesRun(engine())) {
      console.warn(`subgroup tiles skipped: ${engine().adapter.description} is not lavapipe with subgroups`);
      ctx.skip();
    }
    restore = setPolicy(engine(), (p) => ({ ...p, matmul: kind }));
  };
  it.for(SHAPES)('%j x %j', async ([sa, sb], ctx) => {
    use(ctx);
    await checkMatmul(`matmul-${kind}`, sa, sb);
  });

  it.for([
    [
      [70, 12],
      [12, 37],
    ], // K % 8 == 4: the last step of 8 along k is half empty
    [
      [3, 65, 20],
      [20, 16],
    ], // M just past a 64-row workgroup, N exactly one 16-column block
    [
      [17, 8],
      [8, 52],
    ], // N = 52: the last block has 1 of its 4 vec4 columns
    [
      [66, 20],
      [20, 268],
    ], // N = 268: a second 256-column workgroup of subgroup_wide with 3 vec4 columns; M past 64
    [
      [2, 9, 44],
      [44, 300],
    ], // batched, K % 8 == 4, N % 64 == 44 (subgroup's N > 128 path: subgroup_wide)
    [
      [5, 6],
      [6, 257],
    ], // N % 4 == 1 and K % 4 == 2: both zero-padded
  ] as number[][][])('edges of the tiles: %j x %j', async ([sa, sb], ctx) => {
    use(ctx);
    await checkMatmul(`matmul-${kind}-edges`, sa, sb, { noGrad: true });
  });

  it('an infinity in A or B reaches only the outputs it belongs to', async (ctx) => {
    use(ctx);
    const e = engine();
    const [M, K, N] = [70, 20, 270];
    const a = Array.from({ length: M * K }, (_, i) => ((i * 7) % 11) / 11 + 0.1);
    const b = Array.from({ length: K * N }, (_, i) => ((i * 5) % 13) / 13 + 0.1);
    a[3 * K + 2] = Infinity; // row 3 of C is +Inf everywhere (B is positive)
    b[5 * N + 261] = -Infinity; // column 261 of C is -Inf (A is positive) except row 3: NaN
    const got = await matmul(e.tensor(a, [M, K]), e.tensor(b, [K, N])).toArray();
    const want = matmulRef(
      { data: Float64Array.from(a), shape: [M, K] },
      { data: Float64Array.from(b), shape: [K, N] },
    ).data;
    for (let i = 0; i < M * N; i++) {
      const [g, w] = [got[i], want[i]];
      if (!Number.isFinite(w)) expect(g, `C[${Math.floor(i / N)}][${i % N}]`).toBe(w);
      else expect(Math.abs(g - w), `C[${Math.floor(i / N)}][${i % N}]`).toBeLessThan(1e-4 * (1 + Math.abs(w)));
    }
  });

  it('a larger product matches float64', async (ctx) => {
    use(ctx);
    await checkMatmul('matmul-big', [129, 200], [200, 131], { atol: 1e-3, noGrad: true });
  });
});

describe('matmul errors', () => {
  it('names the op and both shapes', () => {
    const e = engine();
    expect(() => matmul(e.zeros([2, 3]), e.zeros([4, 5]))).toThrow(/matmul: shapes \[2, 3\] and \[4, 5\] do not match/);
    expect(() => matmul(e.zeros([2, 2, 3]), e.zeros([3, 3, 5]))).toThrow(ShapeError);
  });
  it('an empty inner axis gives zeros', async () => {
    const e = engine();
    expect([...(await matmul(e.zeros([2, 0]), e.zeros([0, 2])).toArray())]).toEqual([0, 0, 0, 0]);
  });
});

// The workgroup tiles (the hardware plan) with every tile shape the tuner may choose.
describe.each(TILE_SHAPES.map((c) => [tileName(c), c] as const))('matmul with the workgroup tile %s', (_, tile) => {
  let restore = () => {};
  afterEach(() => restore());
  it.for([
    [
      [17, 33],
      [33, 19],
    ], // partial tiles everywhere, K odd
    [
      [2, 3, 6],
      [6, 5],
    ], // broadcast right operand
  ] as number[][][])('%j x %j (values and gradients)', async ([sa, sb]) => {
    restore = setPolicy(engine(), (p) => ({ ...p, matmul: 'workgroup', tiles: [tile] }));
    await checkMatmul(`matmul-${tileName(tile)}`, sa, sb);
  });
  it.for([
    [
      [2, 9, 44],
      [44, 300],
    ], // batched, N past 256
    [
      [129, 200],
      [200, 131],
    ], // past 128 rows and columns, K several steps
  ] as number[][][])('%j x %j', async ([sa, sb]) => {
    restore = setPolicy(engine(), (p) => ({ ...p, matmul: 'workgroup', tiles: [tile] }));
    await checkMatmul(`matmul-${tileName(tile)}`, sa, sb, { atol: 1e-3, noGrad: true });
  });
});
