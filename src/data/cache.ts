// On-disk cache of preprocessed BraTS cases, so that an epoch never decompresses NIfTI again.
//
// <cacheDir>/index.json               { format, version, entries: { "<key>/<source>": CacheEntry } }
// <cacheDir>/<id>.<key>.<source>.bin  image [Z, M, Y, X] float32 little-endian, then label [Z, Y, X] uint8
//
// <key> names the preprocessing and <source> the case's input files (cache-key.ts). The cache lives
// outside the data (by default under the user's cache folder, defaultCacheDir()), so a read-only dataset
// works and nothing is ever written beside an input case. The folder is bounded (DAWNGRAD_CACHE_MAX,
// default 20 GiB): after a case is built, the least recently used entries that this process has not
// touched are deleted until it fits; cache-files.ts lists and clears the folder's files.
//
// An entry is reused only when its key matches, its .bin file has the recorded size and every source
// file still has the recorded size and modification time; otherwise the case is rebuilt. Files are
// written to a temporary name and renamed; the index is re-read and merged before each write, so two
// processes building different cases lose nothing (two building the same case both write the same bytes).
//
// Slices are read with positioned reads (fs.readSync at an offset) into caller buffers: memory use does
// not grow with the number of cases.
import { userCacheDir } from '../device/env.ts';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BratsCase, Modality } from './brats.ts';
import { loadCase } from './brats.ts';
import {
  CACHE_FORMAT,
  CACHE_VERSION,
  cacheKey,
  sourceKey,
  type CacheEntry,
  type CacheOptions,
  type SourceStamp,
} from './cache-key.ts';
import { preprocessCase } from './preprocess.ts';

/** Default bound of the cache folder's size (DAWNGRAD_CACHE_MAX overrides). */
export const DEFAULT_CACHE_MAX = 20 * 2 ** 30;

/** The slice cache's default folder: $XDG_CACHE_HOME/dawngrad, else ~/.cache/dawngrad. */
export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  return userCacheDir(env);
}

interface IndexFile {
  format: string;
  version: number;
  entries: Record<string, CacheEntry>;
}

async function stamp(p: string): Promise<SourceStamp> {
  const st = await fsp.stat(p);
  return { path: path.resolve(p), size: st.size, mtimeMs: st.mtimeMs };
}

function caseSources(c: BratsCase, modalities: readonly Modality[]): string[] {
  const out: string[] = [];
  for (const m of modalities) {
    const f = c.files[m];
    if (!f) throw new Error(`${c.dir}: case ${c.id} has no ${m} volume`);
    out.push(f);
  }
  if (c.seg) out.push(c.seg);
  return out;
}

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw new Error(`${file}: cannot write cache file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function leBytes(a: Float32Array): Uint8Array {
  const b = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  if (os.endianness() === 'LE') return b;
  const c = Buffer.from(b);
  c.swap32();
  return c;
}

export interface EnsureResult {
  entry: CacheEntry;
  /** True when the case was (re)built now, false when the cached copy was reused. */
  built: boolean;
  /** Why it was rebuilt ('missing', 'sources changed', ...). */
  reason?: string;
}

/** The cache folder: builds, validates and reads preprocessed cases. */
export class SliceCache {
  private entries: Record<string, CacheEntry>;
  private fds = new Map<string, number>();
  /** Entries this process ensured: never evicted by it. */
  private touched = new Set<string>();
  /** Most bytes of .bin files the folder may hold. */
  maxBytes = DEFAULT_CACHE_MAX;
  /** Entries deleted to stay under maxBytes (ids), in this process. */
  readonly evicted: string[] = [];
  /** Index problems met when opening (unreadable or from another version); the index then starts empty. */
  readonly notes: string[] = [];

  private constructor(
    readonly dir: string,
    entries: Record<string, CacheEntry>,
  ) {
    this.entries = entries;
  }

  get indexPath(): string {
    return path.join(this.dir, 'index.json');
  }

  static async open(dir: string, opts: { maxBytes?: number } = {}): Promise<SliceCache> {
    try {
      await fsp.mkdir(dir, { recursive: true });
    } catch (e) {
      throw new Error(
        `${dir}: cannot create cache folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    const c = new SliceCache(dir, {});
    if (opts.maxBytes !== undefined) c.maxBytes = opts.maxBytes;
    c.entries = await c.readIndex();
    return c;
  }

  private async readIndex(): Promise<Record<string, CacheEntry>> {
    let text: string;
    try {
      text = await fsp.readFile(this.indexPath, 'utf8');
    } catch {
      return {};
    }
    try {
      const j = JSON.parse(text) as IndexFile;
      if (j.format !== CACHE_FORMAT || j.version !== CACHE_VERSION || typeof j.entries !== 'object' || !j.entries) {
        this.notes.push(
          `${this.indexPath}: cache format ${j.format}/${j.version} ` +
            `is not ${CACHE_FORMAT}/${CACHE_VERSION}; rebuilding`,
        );
        return {};
      }
      return j.entries;
    } catch (e) {
      this.notes.push(`${this.indexPath}: unreadable index (${(e as Error).message}); rebuilding`);
      return {};
    }
  }

  private async writeIndex(update: CacheEntry | null, remove: string[] = []): Promise<void> {
    const onDisk = await this.readIndex();
    this.entries = { ...onDisk, ...this.entries, ...(update ? { [`${update.key}/${update.source}`]: update } : {}) };
    for (const k of remove) delete this.entries[k];
    const j: IndexFile = { format: CACHE_FORMAT, version: CACHE_VERSION, entries: this.entries };
    await writeAtomic(this.indexPath, JSON.stringify(j));
  }

  entry(key: string, source: string): CacheEntry | undefined {
    return this.entries[`${key}/${source}`];
  }

  /** All entries and the bytes of their .bin files. */
  summary(): { entries: number; bytes: number } {
    const all = Object.values(this.entries);
    return { entries: all.length, bytes: all.reduce((a, e) => a + e.bytes, 0) };
  }

  /** Delete least recently used entries this process has not touched until the folder fits maxBytes. */
  private async evict(): Promise<void> {
    let total = this.summary().bytes;
    if (total <= this.maxBytes) return;
    const lastUse = (e: CacheEntry) => Date.parse(e.usedAt ?? e.createdAt) || 0;
    const victims = Object.entries(this.entries)
      .filter(([k]) => !this.touched.has(k))
      .sort(([, a], [, b]) => lastUse(a) - lastUse(b));
    const removed: string[] = [];
    for (const [k, e] of victims) {
      if (total <= this.maxBytes) break;
      this.closeFile(e.file);
      await fsp.rm(path.join(this.dir, e.file), { force: true });
      removed.push(k);
      this.evicted.push(e.id);
      total -= e.bytes;
    }
    if (removed.length) await this.writeIndex(null, removed);
  }

  /** null when the entry can be used for this case as it is on disk now; else why not. */
  async invalidReason(e: CacheEntry | undefined, sources: string[]): Promise<string | null> {
    if (!e) return 'not cached';
    if (e.sources.length !== sources.length || e.sources.some((s, i) => s.path !== path.resolve(sources[i])))
      return 'source files changed';
    for (const s of e.sources) {
      let now: SourceStamp;
      try {
        now = await stamp(s.path);
      } catch {
        return `source ${s.path} is gone`;
      }
      if (now.size !== s.size || now.mtimeMs !== s.mtimeMs) return `source ${path.basename(s.path)} was modified`;
    }
    try {
      const st = await fsp.stat(path.join(this.dir, e.file));
      if (st.size !== e.bytes) return `cache file ${e.file} has ${st.size} bytes, expected ${e.bytes}`;
    } catch {
      return `cache file ${e.file} is missing`;
    }
    return null;
  }

  /** Returns a valid entry for the case, preprocessing it (reading its NIfTI files) only when needed. */
  async ensure(c: BratsCase, o: CacheOptions & { requireSeg?: boolean }): Promise<EnsureResult> {
    const key = cacheKey(o);
    const sources = caseSources(c, o.modalities);
    const source = sourceKey(sources);
    this.touched.add(`${key}/${source}`);
    const old = this.entry(key, source);
    const reason = await this.invalidReason(old, sources);
    if (reason === null) {
      const stale = Date.now() - (Date.parse(old!.usedAt ?? old!.createdAt) || 0) > 3600_000;
      // a read-only cache still serves
      if (stale) await this.writeIndex({ ...old!, usedAt: new Date().toISOString() }).catch(() => undefined);
      return { entry: old!, built: false };
    }

    const stamps = await Promise.all(sources.map(stamp));
    const loaded = await loadCase(c, { modalities: o.modalities, requireSeg: o.requireSeg });
    const p = preprocessCase(loaded, {
      cropShape: o.cropShape,
      percentiles: o.percentiles,
      normalise: o.normalise,
    });
    const [cx, cy, cz] = p.cropShape;
    const plane = cx * cy;
    const sliceTumour: number[] = [];
    const labelCounts: Record<string, number> = {};
    for (let z = 0; z < cz; z++) {
      let t = 0;
      for (let i = z * plane; i < (z + 1) * plane; i++) {
        const l = p.label[i];
        if (l > 0) t++;
        labelCounts[l] = (labelCounts[l] ?? 0) + 1;
      }
      sliceTumour.push(t);
    }
    const file = `${c.id.replace(/[^A-Za-z0-9_.-]/g, '_')}.${key}.${source}.bin`;
    const imageBytes = p.image.byteLength;
    await writeAtomic(path.join(this.dir, file), Buffer.concat([leBytes(p.image), p.label]));
    const entry: CacheEntry = {
      id: c.id,
      key,
      file,
      bytes: imageBytes + p.label.byteLength,
      labelOffset: imageBytes,
      modalities: p.modalities,
      cropShape: p.cropShape,
      cropOffset: p.cropOffset,
      canonicalShape: p.canonicalShape,
      transform: loaded.transform,
      referenceFile: path.resolve(loaded.reference.path),
      sources: stamps,
      hasSeg: p.hasSeg,
      sliceTumour,
      source,
      labelCounts,
      stats: p.stats,
      createdAt: new Date().toISOString(),
    };
    this.closeFile(file);
    await this.writeIndex(entry);
    await this.evict();
    return { entry, built: true, reason };
  }

  private fd(file: string): number {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      if (this.fds.size >= 16) {
        const [oldest, ofd] = this.fds.entries().next().value as [string, number];
        fs.closeSync(ofd);
        this.fds.delete(oldest);
      }
      try {
        fd = fs.openSync(path.join(this.dir, file), 'r');
      } catch (e) {
        throw new Error(
          `${path.join(this.dir, file)}: cannot open cache file ` +
            `(${(e as NodeJS.ErrnoException).code}); reopen the dataset to rebuild it`,
        );
      }
      this.fds.set(file, fd);
    } else {
      // keep most recently used last
      this.fds.delete(file);
      this.fds.set(file, fd);
    }
    return fd;
  }

  private closeFile(file: string): void {
    const fd = this.fds.get(file);
    if (fd !== undefined) {
      fs.closeSync(fd);
      this.fds.delete(file);
    }
  }

  private readExact(e: CacheEntry, into: Uint8Array, position: number): void {
    const fd = this.fd(e.file);
    let done = 0;
    while (done < into.length) {
      const n = fs.readSync(fd, into, done, into.length - done, position + done);
      if (n === 0)
        throw new Error(
          `${path.join(this.dir, e.file)}: cache file ends at ${position + done} (truncated?); delete it to rebuild`,
        );
      done += n;
    }
  }

  /**
   * Reads slice z of a cached case: image [M, Y, X] into `image` (length M*Y*X) and label [Y, X] into
   * `label` (length Y*X). Two positioned reads; no allocation.
   */
  readSlice(e: CacheEntry, z: number, image: Float32Array, label: Uint8Array): void {
    const [cx, cy, cz] = e.cropShape;
    const M = e.modalities.length;
    const plane = cx * cy;
    if (!(z >= 0 && z < cz)) throw new Error(`slice ${z} out of range 0..${cz - 1} for case ${e.id}`);
    if (image.length !== M * plane || label.length !== plane)
      throw new Error('readSlice: buffer sizes do not match the cached slice');
    const ib = new Uint8Array(image.buffer, image.byteOffset, image.byteLength);
    this.readExact(e, ib, z * M * plane * 4);
    if (os.endianness() !== 'LE') Buffer.from(ib.buffer, ib.byteOffset, ib.byteLength).swap32();
    this.readExact(e, label, e.labelOffset + z * plane);
  }

  close(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
  }
}
