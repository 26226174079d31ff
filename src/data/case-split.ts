// Splitting cases into training and validation: one stratified split (openDataset) or patient-level folds.
import type { BratsCase } from './brats.ts';
import { hashSeed, mulberry32, shuffleInPlace } from './rng.ts';

/** Case-level split, stratified by group, deterministic for the seed. */
export function splitCases(
  cases: ReadonlyArray<Pick<BratsCase, 'id' | 'group'>>,
  opts: { valFraction?: number; valCases?: readonly string[]; seed?: number },
): { train: string[]; val: string[] } {
  const ids = cases.map((c) => c.id);
  if (opts.valCases) {
    const known = new Set(ids);
    const unknown = opts.valCases.filter((v) => !known.has(v));
    if (unknown.length) throw new Error(`valCases: unknown case id(s) ${unknown.join(', ')}`);
    const val = new Set(opts.valCases);
    return { train: ids.filter((i) => !val.has(i)), val: ids.filter((i) => val.has(i)) };
  }
  const f = opts.valFraction ?? 0.2;
  if (!(f >= 0 && f < 1)) throw new Error(`valFraction ${f} must be in [0, 1)`);
  const groups = new Map<string, string[]>();
  for (const c of [...cases].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (!groups.has(c.group)) groups.set(c.group, []);
    groups.get(c.group)!.push(c.id);
  }
  const val = new Set<string>();
  const rand = mulberry32(hashSeed(opts.seed ?? 0, 0x5eed));
  let largest: string[] = [];
  for (const g of [...groups.keys()].sort()) {
    const members = shuffleInPlace([...groups.get(g)!], rand);
    if (members.length > largest.length) largest = members;
    const n = Math.round(f * members.length);
    for (const id of members.slice(0, n)) val.add(id);
  }
  if (val.size === 0 && f > 0 && ids.length >= 2) val.add(largest[0]);
  return { train: ids.filter((i) => !val.has(i)), val: ids.filter((i) => val.has(i)) };
}

/**
 * Patient-level folds (nnU-Net's splits_final.json layout: one {train, val} per fold): the case IDs
 * sorted, shuffled with the seed, and dealt round-robin into n folds; fold j validates on its own
 * cases and trains on the rest. Every case is validated in exactly one fold.
 */
export function foldSplits(ids: readonly string[], n: number, seed = 0): { train: string[]; val: string[] }[] {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`folds must be an integer ≥ 2, got ${n}`);
  if (ids.length < n) throw new RangeError(`${n} folds need at least ${n} cases, found ${ids.length}`);
  const order = shuffleInPlace([...ids].sort(), mulberry32(hashSeed(seed, 0xf01d5)));
  const folds = Array.from({ length: n }, (_, j) => order.filter((_, i) => i % n === j).sort());
  return folds.map((val) => ({ train: [...ids].sort().filter((id) => !val.includes(id)), val }));
}
