// Axis scales for the SVG charts of src/io/plot.ts: "nice" ticks, tick labels, linear and log scales.

/** "Nice" ticks (steps of 1, 2, 2.5 or 5 × 10^k) covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw * 0.999) ?? 10 * mag;
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last && ticks.length < 100; i++) ticks.push(cleanFloat(i * step));
  return ticks;
}

function cleanFloat(v: number): number {
  return Math.abs(v) < 1e-12 ? 0 : Number(v.toPrecision(12));
}

/** Tick label: plain for ordinary magnitudes, exponent form for very large or small values. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) {
    const s = v
      .toExponential(2)
      .replace(/\.?0+e/, 'e')
      .replace('e+', 'e');
    return s;
  }
  return String(cleanFloat(Number(v.toPrecision(6))));
}

export interface Scale {
  map(v: number): number;
  ticks: number[];
  lo: number;
  hi: number;
}

export function linearScale(lo: number, hi: number, p0: number, p1: number, extend: boolean, count = 5): Scale {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  let ticks = niceTicks(lo, hi, count);
  if (extend && ticks.length >= 2) {
    const step = ticks[1] - ticks[0];
    if (ticks[0] > lo + 1e-12 * Math.abs(lo)) lo = cleanFloat(ticks[0] - step);
    if (ticks[ticks.length - 1] < hi - 1e-12 * Math.abs(hi)) hi = cleanFloat(ticks[ticks.length - 1] + step);
    ticks = niceTicks(lo, hi, count);
  }
  const k = (p1 - p0) / (hi - lo);
  return { map: (v) => p0 + (v - lo) * k, ticks, lo, hi };
}

export function logScale(lo: number, hi: number, p0: number, p1: number): Scale {
  if (!(lo > 0)) lo = hi > 0 ? hi / 10 : 1;
  if (!(hi > lo)) hi = lo * 10;
  const e0 = Math.floor(Math.log10(lo) + 1e-9);
  const e1 = Math.ceil(Math.log10(hi) - 1e-9);
  const l0 = 10 ** e0;
  const l1 = 10 ** Math.max(e1, e0 + 1);
  const ticks: number[] = [];
  const decades = Math.log10(l1 / l0);
  for (let e = e0; e <= Math.log10(l1) + 1e-9; e++) {
    ticks.push(cleanFloat(10 ** e));
    if (decades <= 2 && e < Math.log10(l1) - 1e-9) ticks.push(cleanFloat(2 * 10 ** e), cleanFloat(5 * 10 ** e));
  }
  const a = Math.log10(l0);
  const k = (p1 - p0) / (Math.log10(l1) - a);
  return { map: (v) => p0 + (Math.log10(v) - a) * k, ticks, lo: l0, hi: l1 };
}
