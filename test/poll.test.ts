// The GPU-wait poller (src/device/poll.ts): predicted waits sleep, unknown waits spin, and the
// runtime names each wait by what was submitted.
import { afterEach, describe, expect, it } from 'vitest';
import { sum } from '../src/index.ts';
import {
  beginWait,
  endWait,
  expectedWait,
  installPolling,
  pollSettings,
  resetWaitHistory,
} from '../src/device/poll.ts';
import { useEngine } from './helpers/engine.ts';

const engine = useEngine();
const settings = { ...pollSettings };
afterEach(() => {
  Object.assign(pollSettings, settings);
  resetWaitHistory();
});

/** Wait history entries of a given length: a wait announced `ms` before it ended. */
function recordWait(key: string, ms: number): void {
  beginWait(key, performance.now() - ms);
  endWait();
}

/** How long the poller blocks before it schedules one of Dawn's pumps (a native callback). */
function blockBeforePump(): number {
  const t0 = performance.now();
  const handle = setImmediate(Math.max as unknown as () => void); // any native function counts as Dawn's pump
  const ms = performance.now() - t0;
  clearImmediate(handle);
  return ms;
}

describe.skipIf(process.env.DAWNGRAD_POLL === 'spin')('predicting GPU waits', () => {
  it('needs two waits with a key, then expects the shortest of the last three', () => {
    expect(expectedWait('a')).toBe(0);
    recordWait('a', 30);
    expect(expectedWait('a')).toBe(0); // one wait may include a first run's compilation
    recordWait('a', 12);
    expect(expectedWait('a')).toBeGreaterThanOrEqual(12);
    expect(expectedWait('a')).toBeLessThan(14);
    recordWait('a', 20);
    recordWait('a', 25);
    recordWait('a', 22); // 12 has left the last three
    expect(expectedWait('a')).toBeGreaterThanOrEqual(20);
    expect(expectedWait('a')).toBeLessThan(22);
    expect(expectedWait('b')).toBe(0);
  });

  it('sleeps through most of a predicted wait before pumping, and spins on an unknown one', () => {
    installPolling(); // the engine installs it too; idempotent
    recordWait('long', 40);
    recordWait('long', 40);
    pollSettings.maxSleepMs = 100;
    beginWait('long');
    const slept = blockBeforePump();
    endWait();
    // 0.8 of 40 ms, less the little time since beginWait
    expect(slept).toBeGreaterThan(25);
    expect(slept).toBeLessThan(60);
    beginWait('never seen');
    expect(blockBeforePump()).toBeLessThan(5);
    endWait();
  });

  it('a wait that ends at the first pump after its predicted sleep lowers the prediction', () => {
    installPolling();
    recordWait('shrinks', 20);
    recordWait('shrinks', 20);
    pollSettings.maxSleepMs = 100;
    for (let i = 0; i < 3; i++) {
      const before = expectedWait('shrinks');
      beginWait('shrinks');
      blockBeforePump(); // the predicted sleep (0.8 of the expected time)
      const t = performance.now();
      while (performance.now() - t < 0.4 * before); // the work is seen done at the first pump, later than expected
      endWait();
      expect(expectedWait('shrinks')).toBeLessThanOrEqual(0.9 * before + 1e-9);
    }
  });

  it('with prediction off, a known wait spins like an unknown one', () => {
    installPolling();
    recordWait('off', 40);
    recordWait('off', 40);
    pollSettings.predict = false;
    beginWait('off');
    expect(blockBeforePump()).toBeLessThan(5);
    endWait();
  });
});

describe('the runtime names its waits by what was submitted', () => {
  it('same kernels and shapes: same key; same grid but another length: another key', async () => {
    const e = engine();
    const a = e.rand([1 << 18], { seed: 1 });
    const b = e.rand([(1 << 18) + 4096], { seed: 2 }); // the same reduction grid, another length in the uniforms
    await e.flush();
    const keyOf = (f: () => void) => {
      f();
      return e.runtime.pendingWaitKey;
    };
    const k1 = keyOf(() => sum(a));
    await e.flush();
    const k2 = keyOf(() => sum(a));
    await e.flush();
    const k3 = keyOf(() => sum(b));
    await e.flush();
    expect(k2).toBe(k1);
    expect(k3).not.toBe(k1);
    // after a wait the key starts afresh
    expect(e.runtime.pendingWaitKey).toBe(keyOf(() => undefined));
    // and the flushes were remembered
    sum(a);
    expect(expectedWait(`f${e.runtime.pendingWaitKey}`)).toBeGreaterThan(0);
    await e.flush();
  });
});
