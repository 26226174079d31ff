// `segan cache [info|clear] [--cache DIR]`: where the slice cache is, what it holds, and emptying it.
// Only the cache's own files are deleted (index.json, <case>.<key>.<source>.bin, temporary files).
import { resolve } from 'node:path';
import { defaultCacheDir, DEFAULT_CACHE_MAX } from '../data/cache.ts';
import { cacheFiles, clearCache } from '../data/cache-files.ts';
import { envValue } from '../device/env.ts';
import { fmtBytes } from '../device/bytes.ts';
import type { Values } from './options.ts';

export function cacheCommand(v: Values): number {
  const dir = v.cache !== undefined ? resolve(String(v.cache)) : defaultCacheDir();
  const action = v._[0] ?? 'info';
  if (action === 'clear') {
    const r = clearCache(dir);
    console.log(r.files ? `cleared ${dir}: ${r.files} files, ${fmtBytes(r.bytes)}` : `nothing to clear in ${dir}`);
    return 0;
  }
  const files = cacheFiles(dir);
  const cases = files.filter((f) => f.name.endsWith('.bin'));
  const bytes = files.reduce((a, f) => a + f.bytes, 0);
  const max = envValue<number>('DAWNGRAD_CACHE_MAX') ?? DEFAULT_CACHE_MAX;
  console.log(
    `slice cache ${dir}\n  ${cases.length} preprocessed case files, ${fmtBytes(bytes)} ` +
      `(bound ${fmtBytes(max)}, DAWNGRAD_CACHE_MAX)\n  'segan cache ` +
      `clear' deletes them; they are rebuilt from the NIfTI files when needed`,
  );
  return 0;
}
