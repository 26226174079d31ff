// Smarter polling for Dawn's node binding.
//
// While a GPU promise (mapAsync, onSubmittedWorkDone) is pending, dawn.node re-arms a native callback
// with the global `setImmediate` to pump Dawn's events, spinning one CPU core. On a 2-core machine
// running lavapipe (Vulkan on the CPU) that core is taken from the GPU work itself, and long dispatches
// run ~1.5x slower. We wrap `setImmediate`: native callbacks (Dawn's pump) run immediately for a short
// spin window after a wait begins — short waits keep their ~0.1 ms latency — and then each call first
// sleeps 0.25 ms (Atomics.wait, which leaves the core to the driver). JavaScript callbacks are never
// touched.
//
// Waits that repeat (a training step, a benchmark loop: the same kernels on the same shapes) are
// predicted: the runtime names each wait by a key of what was submitted (kernels, grids, uniform
// blocks), and a wait whose key took at least `minPredictMs` before sleeps through 80 % of its
// expected time in one go, then naps briefly: no spin, no pump every 0.25 ms. Each pump and each spin
// takes CPU from the two cores lavapipe works on; a 64 MiB sum went from 14.6–15.7 to 11.8–13.4 ms
// median (interleaved A/B, scratch measurement). Shorter waits (a 1 MiB sum, ~1.5 ms) measured no
// better predicted, because a nap wakes ~0.1–0.4 ms late where a spin sees the end at once, so they
// keep the spin.

import { envValue } from './env.ts';

export const pollSettings = {
  /** Unknown or short waits: pump without sleeping for this long after the wait begins. */
  spinMs: 1.0,
  /** A native callback after this long without one starts a new wait (waits the engine did not announce). */
  quietResetMs: 4.0,
  /** After the spin window (or the predicted sleep), each pump first sleeps this long. */
  sleepMs: 0.25,
  /** Predict repeated waits from their history (see beginWait). */
  predict: true,
  /** Waits expected to take at least this long sleep through `predictFraction` of it first. */
  minPredictMs: 4.0,
  predictFraction: 0.8,
  /** Longest single sleep: between sleeps Dawn's events are pumped. */
  maxSleepMs: 20,
};

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

let installed = false;
let originalSetImmediate: typeof setImmediate | null = null;
/** Start of the current burst of pumps: the spin window counts from here. */
let burstStart = 0;
let lastNativeCall = 0;

/** The wait the engine announced (beginWait → endWait), if any. */
let waiting = false;
let waitKey: string | null = null;
/** When the awaited work was submitted, and how long such a wait took before (0: unknown). */
let waitSince = 0;
let expectedMs = 0;
/** Whether this wait slept through its predicted part, and how many pumps came after that sleep. */
let sleptPredicted = false;
let pumpsAfter = 0;

/** Durations (ms, from the first submit to the end of the wait) of the last few waits for each key. */
const HISTORY = 3;
const MAX_KEYS = 512;
const history = new Map<string, number[]>();

const fnToString = Function.prototype.toString;
const nativeCache = new WeakMap<Function, boolean>();
function isNative(fn: Function): boolean {
  let v = nativeCache.get(fn);
  if (v === undefined) {
    v = fnToString.call(fn).includes('[native code]');
    nativeCache.set(fn, v);
  }
  return v;
}

/** How long to sleep before the pump that runs at `now`. */
function sleepBeforePump(now: number): number {
  if (waiting && expectedMs >= pollSettings.minPredictMs) {
    const until = waitSince + expectedMs * pollSettings.predictFraction;
    if (now < until) {
      sleptPredicted = true;
      pumpsAfter = 0;
      return Math.min(until - now, pollSettings.maxSleepMs);
    }
    pumpsAfter++;
    // Near the expected end: short naps, scaled to the job (about 40 over its length).
    return Math.min(pollSettings.sleepMs, Math.max(0.05, expectedMs / 40));
  }
  return now - burstStart > pollSettings.spinMs ? pollSettings.sleepMs : 0;
}

/** Install the wrapper once per process (idempotent). */
export function installPolling(): void {
  if (installed || envValue('DAWNGRAD_POLL') === 'spin') return;
  installed = true;
  const orig = globalThis.setImmediate;
  originalSetImmediate = orig;
  const wrapped = function (this: unknown, fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (typeof fn === 'function' && isNative(fn)) {
      const now = performance.now();
      if (now - lastNativeCall > pollSettings.quietResetMs) burstStart = now;
      const ms = sleepBeforePump(now);
      // Sleep, then pump. setTimeout(fn, 0) would wait ≥ 1 ms (Node's timer floor) and added ~1.2 ms
      // to every wait longer than the spin window.
      if (ms > 0) sleep(ms);
      lastNativeCall = ms > 0 ? performance.now() : now;
    }
    return orig(fn, ...args);
  } as unknown as typeof setImmediate;
  Object.assign(wrapped, orig);
  globalThis.setImmediate = wrapped;
}

/**
 * Called when the engine starts waiting on the GPU: restart the spin window. `key` names what was
 * submitted since the last wait, and `since` is when the first of it was submitted; a key seen at
 * least twice before predicts this wait's length (the shortest of its last three: a first run's
 * pipeline compilation or a busy moment does not count).
 */
export function beginWait(key?: string, since = performance.now()): void {
  burstStart = performance.now();
  lastNativeCall = burstStart;
  waiting = true;
  waitKey = key ?? null;
  waitSince = since;
  expectedMs = key !== undefined && pollSettings.predict ? expectedWait(key) : 0;
  sleptPredicted = false;
  pumpsAfter = 0;
}

/** Called when the announced wait has ended: remember how long it took, and spin again briefly for
 *  the pumps that follow (the batch's error scopes resolve right after). */
export function endWait(): void {
  if (!waiting) return;
  const now = performance.now();
  waiting = false;
  burstStart = now;
  lastNativeCall = now;
  if (waitKey === null) return;
  let h = history.get(waitKey);
  if (h)
    history.delete(waitKey); // re-inserted below: the map's order is least recently used first
  else h = [];
  // Done at the first pump after the predicted sleep: the work may have ended earlier, and this
  // wait's length says only "at most". Remember a little less, so that an over-long prediction
  // (the job got faster) shrinks until the first wake-up comes just before the end again.
  const took = now - waitSince;
  h.push(sleptPredicted && pumpsAfter === 0 ? Math.min(took, 0.9 * expectedMs) : took);
  if (h.length > HISTORY) h.shift();
  history.set(waitKey, h);
  if (history.size > MAX_KEYS) history.delete(history.keys().next().value as string);
  waitKey = null;
}

/** The expected length (ms) of a wait with this key, or 0 when it cannot be predicted yet. */
export function expectedWait(key: string): number {
  const h = history.get(key);
  return h && h.length >= 2 ? Math.min(...h) : 0;
}

/** Forget every wait's history (tests). */
export function resetWaitHistory(): void {
  history.clear();
}

/** Restore Node's own setImmediate (used by tests). */
export function uninstallPolling(): void {
  if (!installed || !originalSetImmediate) return;
  globalThis.setImmediate = originalSetImmediate;
  installed = false;
}
