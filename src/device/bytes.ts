// Byte counts as people write them: parsed from "6GiB" (DAWNGRAD_MEMORY_LIMIT, DAWNGRAD_CACHE_MAX) and
// formatted for messages. One home for both, in the lowest layer that uses them.

/** "6GiB", "512MiB", "1e9" → bytes (> 0). */
export function parseBytes(text: string): number {
  const m = /^\s*([\d.e+]+)\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?\s*$/i.exec(text);
  const units: Record<string, number> = {
    b: 1,
    kib: 2 ** 10,
    mib: 2 ** 20,
    gib: 2 ** 30,
    tib: 2 ** 40,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
    tb: 1e12,
  };
  const v = m ? Number(m[1]) * units[(m[2] ?? 'b').toLowerCase()] : NaN;
  if (!Number.isFinite(v) || v <= 0)
    throw new RangeError(`a memory size must look like 6GiB, 512MiB or 1e9 (bytes), got '${text}'`);
  return v;
}

/**
 * Bytes in the largest binary unit that fits ("1.5 MiB", "2.00 GiB"); with `unit` 'MiB', always in
 * MiB, with one decimal below 16 MiB and none above ("10.0 MiB", "46 MiB").
 */
export function fmtBytes(n: number, unit?: 'MiB'): string {
  if (unit === 'MiB') return `${(n / 2 ** 20).toFixed(n < 2 ** 24 ? 1 : 0)} MiB`;
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}
