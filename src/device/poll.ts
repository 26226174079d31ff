// Smarter polling for Dawn's node binding.
//
// While a GPU promise (mapAsync, onSubmittedWorkDone) is pending, dawn.node re-arms a native callback
// with the global `setImmediate` to pump Dawn's events, spinning one CPU core. On a 2-core machine
// running lavapipe (Vulkan on the CPU) that core is taken from the GPU work itself, and long dispatches
// run ~1.5x slower. We wrap `setImmediate`: native callbacks (Dawn's pump) run immediately for a short
// spin window after a wait begins — short waits keep their ~0.1 ms latency — and then each call first
// sleeps 0.25 ms (Atomics.wait, which leaves the core to the driver). JavaScript callbacks are never
// touched.

const SPIN_WINDOW_MS = 1.0;
const QUIET_RESET_MS = 4.0;
/** After the spin window, each pump call first sleeps this long (Atomics.wait: the core is free). */
const SLEEP_MS = 0.25;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

let installed = false;
let originalSetImmediate: typeof setImmediate | null = null;
let burstStart = 0;
let lastNativeCall = 0;

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

/** Install the wrapper once per process (idempotent). */
export function installPolling(): void {
  if (installed || process.env.DAWNGRAD_POLL === 'spin') return;
  installed = true;
  const orig = globalThis.setImmediate;
  originalSetImmediate = orig;
  const wrapped = function (this: unknown, fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (typeof fn === 'function' && isNative(fn)) {
      const now = performance.now();
      if (now - lastNativeCall > QUIET_RESET_MS) burstStart = now;
      lastNativeCall = now;
      if (now - burstStart > SPIN_WINDOW_MS) {
        // Sleep, then pump: ~4 polls per millisecond at almost no CPU. setTimeout(fn, 0) would wait
        // ≥ 1 ms (Node's timer floor) and added ~1.2 ms to every wait longer than the spin window.
        Atomics.wait(sleeper, 0, 0, SLEEP_MS);
      }
    }
    return orig(fn, ...args);
  } as unknown as typeof setImmediate;
  Object.assign(wrapped, orig);
  globalThis.setImmediate = wrapped;
}

/** Called when the engine starts waiting on the GPU: restart the spin window. */
export function beginWait(): void {
  burstStart = performance.now();
  lastNativeCall = burstStart;
}

/** Restore Node's own setImmediate (used by tests). */
export function uninstallPolling(): void {
  if (!installed || !originalSetImmediate) return;
  globalThis.setImmediate = originalSetImmediate;
  installed = false;
}
