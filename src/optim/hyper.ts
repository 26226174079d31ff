// Hyperparameters: the ones every optimizer has, and their validation.

/** The hyperparameters every optimizer has. */
export interface BaseHyper {
  lr: number;
  weightDecay: number;
}

export function checkHyper(op: string, name: string, v: unknown, lo: number, hi = Infinity, hiOpen = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new TypeError(`${op}: ${name} must be a finite number, got ${String(v)}`);
  if (v < lo || v > hi || (hiOpen && v === hi)) {
    const range = hi === Infinity ? `>= ${lo}` : `in [${lo}, ${hi}${hiOpen ? ')' : ']'}`;
    throw new RangeError(`${op}: ${name} must be ${range}, got ${v}`);
  }
  return v;
}
