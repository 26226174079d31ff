import { describe, expect, it } from 'vitest';
import { reshape, permute, transpose, slice, cat, mul, ShapeError } from '../src/index.ts';
import { checkOp } from './helpers/check.ts';
import { useEngine } from './helpers/engine.ts';
import { permuteRef, sliceRef, catRef, type Arr } from './helpers/reference.ts';

const engine = useEngine();

describe('movement ops', () => {
  it.each([
    [
      [2, 3, 4],
      [0, 2, 1],
    ],
    [
      [2, 3, 4],
      [2, 0, 1],
    ],
    [
      [5, 7],
      [1, 0],
    ],
    [
      [2, 3, 5, 7],
      [0, 2, 3, 1],
    ],
    [
      [1, 3, 1, 2],
      [3, 2, 1, 0],
    ],
  ])('permute %j by %j', async (shape, dims) => {
    await checkOp(engine(), {
      name: 'permute',
      inputs: [{ shape }],
      gpu: (x) => permute(x, dims),
      ref: (x) => permuteRef(x, dims),
    });
  });

  it('transpose swaps the last two axes by default', async () => {
    await checkOp(engine(), {
      name: 'transpose',
      inputs: [{ shape: [3, 4, 5] }],
      gpu: (x) => transpose(x),
      ref: (x) => permuteRef(x, [0, 2, 1]),
    });
  });

  it('reshape is a view with the gradient reshaped back', async () => {
    const e = engine();
    await checkOp(e, {
      name: 'reshape',
      inputs: [{ shape: [2, 6] }],
      gpu: (x) => mul(reshape(x, [3, -1]), 2),
      ref: (x: Arr) => ({ data: x.data.map((v) => 2 * v), shape: [3, 4] }),
    });
    const x = e.zeros([2, 6]);
    const before = e.memory().liveBuffers;
    const y = reshape(x, [4, 3]);
    expect(e.memory().liveBuffers).toBe(before);
    expect(y.shape).toEqual([4, 3]);
    expect(() => reshape(x, [5, 3])).toThrow(/reshape: cannot reshape \[2, 6\] \(12 elements\) to \[5, 3\]/);
  });

  it.each([
    [[5, 4], 0, 1, 4],
    [[5, 4], 1, 2, 3],
    [[2, 7, 3], 1, -3, undefined],
    [[2, 7, 3], -1, 0, 1],
  ])('slice %j axis %i from %i to %s', async (shape, axis, start, end) => {
    const n = shape[(axis + shape.length) % shape.length];
    const s = start < 0 ? start + n : start;
    const t = end === undefined ? n : end;
    await checkOp(engine(), {
      name: 'slice',
      inputs: [{ shape }],
      gpu: (x) => slice(x, axis, start, end),
      ref: (x) => sliceRef(x, (axis + shape.length) % shape.length, s, t),
    });
  });

  it.each([
    [
      [
        [2, 3],
        [4, 3],
      ],
      0,
    ],
    [
      [
        [2, 3],
        [2, 1],
        [2, 5],
      ],
      1,
    ],
    [
      [
        [2, 3, 4],
        [2, 1, 4],
      ],
      -2,
    ],
    [
      [
        [1, 2, 2, 3],
        [1, 3, 2, 3],
      ],
      1,
    ], // channel concatenation (U-Net skips)
  ] as [number[][], number][])('cat %j along %i', async (shapes, axis) => {
    const ax = (axis + shapes[0].length) % shapes[0].length;
    await checkOp(engine(), {
      name: 'cat',
      inputs: shapes.map((shape) => ({ shape })),
      gpu: (...xs) => cat(xs, axis),
      ref: (...xs) => catRef(xs, ax),
    });
  });

  it('shape errors name the op and both shapes', () => {
    const e = engine();
    expect(() => cat([e.zeros([2, 3]), e.zeros([3, 3])], 1)).toThrow(
      /cat: shapes \[2, 3\] and \[3, 3\] differ outside axis 1/,
    );
    expect(() => permute(e.zeros([2, 3]), [0, 0])).toThrow(ShapeError);
    expect(() => slice(e.zeros([2, 3]), 2, 0, 1)).toThrow(/slice: axis 2 is out of range/);
  });
});
