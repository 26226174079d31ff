import { describe, expect, it } from 'vitest';
import { sum, mean, max, l1Loss, expand } from '../src/index.ts';
import { checkOp } from './helpers/check.ts';
import { withPolicy, useEngine } from './helpers/engine.ts';
import { reduceRef, binaryRef, unaryRef, type Arr } from './helpers/reference.ts';

const engine = useEngine();

const CASES: [number[], number | number[] | undefined, boolean][] = [
  [[7], undefined, false],
  [[3, 5], 1, false],
  [[3, 5], 0, true],
  [[3, 5], -1, true],
  [[2, 3, 5, 7], [0, 2, 3], false], // NCHW per-channel statistics
  [[2, 3, 5, 7], [1], true],
  [[2, 3, 5, 7], [-1, -3], false],
  [[4, 1, 6], [1], false],
  [[1, 1, 1], undefined, true],
  [[5, 300], 1, false], // a tail after the vec4 part (lavapipe) / tree kernel (GPUs)
  [[3000, 3], 1, false], // serial kernel, many outputs
  [[40, 700], 0, true], // strided reduction axis
  [[2, 70000], 1, false], // several stages
  [[3000, 50], 0, false], // column sums: outputs fastest across threads
  [[2, 3, 8, 16], [0, 2, 3], true], // per-channel with long contiguous runs: runs first, then runs' sums
  [[3, 2, 65], [0, 2], false], // runs not a multiple of 4
  [[35], undefined, false], // split into 2 partials with 3 tail elements
  [[700], 0, true], // a 43-partial middle stage with a tail
  // lavapipe: split_seq (groups of 8 lanes, each one contiguous stretch), then one serial pass
  [[70001], undefined, false], // one tail element; the last groups' stretches are empty
  [[65538], 0, true], // two tail elements, n4 not a multiple of 8
  [[4, 20003 * 4], 1, true], // rows (kept stride a multiple of 4), keepdim
  [[3, 2, 40000], [2], false], // six rows through kept axes of rank 2
  [[2, 3, 64, 129], [0, 2, 3], false], // per-channel runs of 8256 (not a multiple of 8 vec4s)
];

describe('reductions against float64', () => {
  for (const kind of ['sum', 'mean', 'max'] as const) {
    it.each(CASES)(`${kind} of %j over %j keepdim=%s`, async (shape, axes, keepdim) => {
      const big = shape.reduce((a, b) => a * b, 1) > 2000;
      const op = { sum, mean, max }[kind];
      await checkOp(engine(), {
        name: `${kind}${JSON.stringify(axes)}`,
        inputs: [{ shape }],
        gpu: (x) => op(x, axes, keepdim),
        ref: (x) =>
          reduceRef(kind, x, axes === undefined ? undefined : typeof axes === 'number' ? [axes] : axes, keepdim),
        rtol: 1e-5,
        atol: 1e-4,
        noGrad: big, // finite differences over 100k elements would be slow; small cases cover backward
      });
    });
  }

  it('sums, averages and takes the max of more than 5 million elements accurately', async () => {
    const e = engine();
    const n = 5_300_001;
    const data = new Float32Array(n);
    let ref = 0;
    let refMax = -Infinity;
    for (let i = 0; i < n; i++) {
      data[i] = (Math.imul(i, 2654435761) >>> 0) / 2 ** 32 - 0.4;
      ref += data[i];
      refMax = Math.max(refMax, data[i]);
    }
    const x = e.tensor(data, [n]);
    const s = await sum(x).item();
    expect(Math.abs(s - ref) / Math.abs(ref)).toBeLessThan(1e-5);
    const m = await mean(x).item();
    expect(Math.abs(m - ref / n)).toBeLessThan(1e-6);
    const mx = await max(x).item();
    expect(mx).toBe(refMax);
    x.dispose();
  });

  it("gives the float64 values with a hardware GPU's plan (split_vec4 and tree kernels)", async () => {
    // The plan depends on the adapter kind: run a hardware GPU's plan here.
    const e = engine();
    await withPolicy(e, 'hardware', async () => {
      // vec4 rows split into partials (≥ 1 Mi elements: one long row with a tail of 3; 3 rows), and a tree per output
      // (300 rows)
      for (const [shape, axis] of [
        [[1_200_003], 0],
        [[3, 400_000], 1],
        [[300, 1027], 1],
      ] as [number[], number][]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = (Math.imul(i + 7, 2654435761) >>> 0) / 2 ** 32 - 0.45;
        const x = e.tensor(data, shape);
        const rows = n / shape[shape.length - 1];
        const len = shape[shape.length - 1];
        const [s, m] = [await sum(x, axis).toArray(), await max(x, axis).toArray()];
        for (let r = 0; r < rows; r++) {
          let ref = 0;
          let refMax = -Infinity;
          for (let k = 0; k < len; k++) {
            ref += data[r * len + k];
            refMax = Math.max(refMax, data[r * len + k]);
          }
          expect(Math.abs(s[r] - ref)).toBeLessThan(1e-4 * Math.sqrt(len));
          expect(m[r]).toBe(refMax);
        }
        x.dispose();
      }
    });
  });

  it('is bitwise repeatable', async () => {
    const e = engine();
    const x = e.randn([3, 1_000_003], { seed: 5 });
    const a = await sum(x, 1).toArray();
    const b = await sum(x, 1).toArray();
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    const c = await sum(x).toArray();
    const d = await sum(x).toArray();
    expect(c[0]).toBe(d[0]);
    x.dispose();
  });

  it('max over long rows of negative values is exact and repeatable (identity -inf in empty stretches)', async () => {
    const e = engine();
    const rows = 3;
    const len = 33_340; // rows of 8335 vec4s: groups of 8 lanes with a ragged last stretch
    const data = new Float32Array(rows * len);
    for (let i = 0; i < data.length; i++) data[i] = -1 - ((Math.imul(i, 2654435761) >>> 0) / 2 ** 32) * 100;
    data[len - 1] = -0.5; // the last element of row 0 (a tail of the vec4 part: len % 4 == 0, last stretch)
    data[len + 17] = -0.25;
    const x = e.tensor(data, [rows, len]);
    const m = await max(x, 1).toArray();
    for (let r = 0; r < rows; r++) expect(m[r]).toBe(Math.max(...data.subarray(r * len, (r + 1) * len)));
    const s1 = await sum(x, 1).toArray();
    const s2 = await sum(x, 1).toArray();
    expect(Buffer.from(s1.buffer).equals(Buffer.from(s2.buffer))).toBe(true);
    for (let r = 0; r < rows; r++) {
      let ref = 0;
      for (let i = r * len; i < (r + 1) * len; i++) ref += data[i];
      expect(Math.abs(s1[r] - ref) / Math.abs(ref)).toBeLessThan(1e-5);
    }
    x.dispose();
  });

  it('max shares the gradient among ties, like torch.amax', async () => {
    const e = engine();
    const x = e.tensor([1, 3, 3, 2], [4], { requiresGrad: true });
    max(x).backward();
    expect([...(await x.grad!.toArray())]).toEqual([0, 0.5, 0.5, 0]);
  });

  it('axis errors name the op', () => {
    const e = engine();
    expect(() => sum(e.zeros([2, 3]), 2)).toThrow(/sum: axis 2 is out of range for a tensor of rank 2/);
    expect(() => mean(e.zeros([2, 3]), [0, 0])).toThrow(/mean: axis 0 given twice/);
    expect(() => max(e.zeros([2, 0]), 1)).toThrow(/max: cannot take the max over an empty axis/);
  });
});

describe('l1Loss and expand', () => {
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    it(`l1Loss reduction=${reduction}`, async () => {
      await checkOp(engine(), {
        name: `l1Loss-${reduction}`,
        inputs: [{ shape: [2, 3, 5] }, { shape: [2, 3, 5] }],
        gpu: (a, b) => l1Loss(a, b, reduction),
        ref: (a, b) => {
          const d = unaryRef('abs(a)', binaryRef('a - b', a, b));
          return reduction === 'none' ? d : reduceRef(reduction, d, undefined, false);
        },
      });
    });
  }
  it('l1Loss checks shapes and reduction', () => {
    const e = engine();
    expect(() => l1Loss(e.zeros([2, 3]), e.zeros([3, 2]))).toThrow(/l1Loss: input \[2, 3\] and target \[3, 2\]/);
    expect(() => l1Loss(e.zeros([2]), e.zeros([2]), 'avg' as never)).toThrow(/reduction must be/);
  });
  it('expand broadcasts and its gradient sums back', async () => {
    await checkOp(engine(), {
      name: 'expand',
      inputs: [{ shape: [3, 1, 2] }],
      gpu: (x) => expand(x, [4, 3, 5, 2]),
      ref: (x: Arr) => binaryRef('a + b', x, { data: new Float64Array(120), shape: [4, 3, 5, 2] }),
    });
  });
});
