// The slice cache folder's own files (cache.ts): what `segan cache` lists and `segan cache clear` deletes,
// and nothing else that may be in the folder.
import fs from 'node:fs';
import path from 'node:path';

/** What `segan cache clear` removes: the index, case files and temporary files of a cache folder. */
const CACHE_FILE = /^(index\.json|.+\.[0-9a-f]{12}(\.[0-9a-f]{12})?\.bin|.+\.tmp)$/;

/** The cache folder's own files (nothing else that may be in the folder). */
export function cacheFiles(dir: string): { name: string; bytes: number }[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => CACHE_FILE.test(n))
    .map((n) => {
      try {
        return { name: n, bytes: fs.statSync(path.join(dir, n)).size };
      } catch {
        return { name: n, bytes: 0 };
      }
    });
}

/** Delete the cache folder's own files (and the folder, when that leaves it empty); returns what went. */
export function clearCache(dir: string): { files: number; bytes: number } {
  const files = cacheFiles(dir);
  for (const f of files) fs.rmSync(path.join(dir, f.name), { force: true });
  try {
    if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
  } catch {
    /* already gone */
  }
  return { files: files.length, bytes: files.reduce((a, f) => a + f.bytes, 0) };
}
