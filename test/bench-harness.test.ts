// The benchmark harness's arithmetic: several runs of a suite merge into each case's median, and the
// time per operation follows the merged figure.
import { describe, expect, it } from 'vitest';
import { medianOfRuns, repeats, table, type Row } from '../bench/harness.ts';

const run = (sumMs: number, peer: number, dispatchMs: number): Row[] => [
  { suite: 'reduce', case: 'sum of 64 MiB', ms: sumMs, bytes: 64 * 2 ** 20, peerMs: peer },
  { suite: 'dispatch', case: '200 small ops', ms: dispatchMs, perOp: 200 },
];

describe('bench harness', () => {
  it("merges runs into each case's median, keeping every run", () => {
    const rows = medianOfRuns([run(14, 80, 30), run(12, 90, 20), run(13, 70, 40)]);
    expect(rows[0]).toMatchObject({ ms: 13, peerMs: 80, runsMs: [14, 12, 13], runsPeerMs: [80, 90, 70] });
    expect(rows[1]).toMatchObject({ ms: 30, runsMs: [30, 20, 40] });
    expect(medianOfRuns([run(14, 80, 30), run(12, 90, 20)])[0]!.ms).toBe(13); // even count: the middle two's mean
    const one = run(14, 80, 30);
    expect(medianOfRuns([one])).toBe(one);
  });

  it('the table shows rates and the time per op of the merged figure', () => {
    const t = table(medianOfRuns([run(14, 80, 30), run(12, 90, 20), run(13, 70, 40)]));
    expect(t).toContain('| reduce | sum of 64 MiB | 13.00 | 5.16 GB/s | 80.00 | 0.84 GB/s | 6.15x |');
    expect(t).toContain('| dispatch | 200 small ops (150.0 µs per op) | 30.00 |');
  });

  it('BENCH_REPEAT must be a whole number', () => {
    const old = process.env.BENCH_REPEAT;
    try {
      delete process.env.BENCH_REPEAT;
      expect(repeats(3)).toBe(3);
      process.env.BENCH_REPEAT = '5';
      expect(repeats(3)).toBe(5);
      process.env.BENCH_REPEAT = '0';
      expect(() => repeats(3)).toThrow(/BENCH_REPEAT must be a whole number/);
    } finally {
      if (old === undefined) delete process.env.BENCH_REPEAT;
      else process.env.BENCH_REPEAT = old;
    }
  });
});
