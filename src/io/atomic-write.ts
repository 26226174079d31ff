// Atomic file writes: readers see either the old file or the complete new one, never a torn one
// (checkpoints, safetensors files).
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Write errors (ENOSPC from write(2)) carry no path in Node: name the file the caller asked for. */
function namePath(e: unknown, path: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err instanceof Error && typeof err.code === 'string' && !err.path) err.path = path;
  return e;
}

function tmpPath(path: string): string {
  return `${path}.tmp-${process.pid}`;
}

/** fsync a directory so a rename in it is durable; platforms that cannot open directories are skipped. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch {
    return; // e.g. Windows: directories cannot be opened
  }
  try {
    await handle.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR' && code !== 'EBADF') throw e;
  } finally {
    await handle.close();
  }
}

/**
 * Writes `bytes` to `path` atomically: to `path.tmp-<pid>` first, fsync, rename over `path`, then fsync the
 * directory. Readers see either the old file or the complete new one. The temporary file is removed on error.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = tmpPath(path);
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw namePath(e, path);
  }
  await syncDir(dirname(path));
}

/** Synchronous writeFileAtomic. */
export function writeFileAtomicSync(path: string, bytes: Uint8Array): void {
  const tmp = tmpPath(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw namePath(e, path);
  }
  let fd: number | undefined;
  try {
    fd = openSync(dirname(path), 'r');
    fsyncSync(fd);
  } catch {
    /* directory fsync unsupported here */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
