// On-disk cache of preprocessed BraTS cases, so that an epoch never decompresses NIfTI again.
//
// <cacheDir>/index.json               { format, version, entries: { "<key>/<source>": CacheEntry } }
// <cacheDir>/<id>.<key>.<source>.bin  image [Z, M, Y, X] float32 little-endian, then label [Z, Y, X] uint8
//
// The cache lives outside the data (by default under the user's cache folder, defaultCacheDir()), so a
// read-only dataset works and nothing is ever written beside an input case. <source> is a hash of the
// case's input file paths: two datasets with the same case IDs never share or evict each other's
// entries. The folder is bounded (DAWNGRAD_CACHE_MAX, default 20 GiB): after a case is built, the
// least recently used entries that this process has not touched are deleted until it fits.
//
// <key> is a hash of everything that changes the preprocessed bytes (cache format version, modalities and
// their order, crop size, percentiles, canonical orientation); region choices and label-3 meaning do
// not change the bytes (labels are stored raw) and are not part of it. An entry is reused only when its
// key matches, its .bin file has the recorded size and every source file still has the recorded size
// and modification time; otherwise the case is rebuilt. Files are written to a temporary name and
// renamed; the index is re-read and merged before each write, so two processes building different cases
// lose nothing (two building the same case both write the same bytes).
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
import { CANONICAL, type OrientationTransform, type Shape3 } from './orientation.ts';
import { DEFAULT_CROP, DEFAULT_PERCENTILES, preprocessCase, type NormaliseStats } from './preprocess.ts';

export const CACHE_FORMAT = 'dawngrad-brats-cache';
/** Bump when the preprocessing or the file layout changes: every entry is rebuilt. */
export const CACHE_VERSION = 2;

/** Default bound of the cache folder's size (DAWNGRAD_CACHE_MAX overrides). */
export const DEFAULT_CACHE_MAX = 20 * 2 ** 30;

/** The slice cache's default folder: $XDG_CACHE_HOME/dawngrad, else ~/.cache/dawngrad. */
export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  return userCacheDir(env);
}

/** 12 hex digits naming a case's input files (their resolved paths). */
export function sourceKey(sources: readonly string[]): string {
  return crypto.createHash('sha256').update(JSON.stringify(sources.map((s) => path.resolve(s)))).digest('hex').slice(0, 12);
}

export interface CacheOptions {
  modalities: readonly Modality[];
  cropShape?: Shape3;
  percentiles?: [number, number];
}

/** 12 hex digits identifying the preprocessing (see the top of this file). */
export function cacheKey(o: CacheOptions): string {
  const desc = {
    format: CACHE_FORMAT,
    version: CACHE_VERSION,
    modalities: [...o.modalities],
    cropShape: o.cropShape ?? DEFAULT_CROP,
    percentiles: o.percentiles ?? DEFAULT_PERCENTILES,
    brain: '>0',
    orientation: CANONICAL,
    layout: 'Z,M,Y,X f32le + Z,Y,X u8',
  };
  return crypto.createHash('sha256').update(JSON.stringify(desc)).digest('hex').slice(0, 12);
}

export interface SourceStamp {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface CacheEntry {
  id: string;
  key: string;
  /** File name of the .bin inside the cache folder. */
  file: string;
  bytes: number;
  /** Byte offset of the label section. */
  labelOffset: number;
  modalities: Modality[];
  /** Crop [X, Y, Z] and its offset in the canonical grid. */
  cropShape: Shape3;
  cropOffset: Shape3;
  canonicalShape: Shape3;
  transform: OrientationTransform;
  /** The first modality's file: header of the original grid, for writing predictions back. */
  referenceFile: string;
  sources: SourceStamp[];
  hasSeg: boolean;
  /** Voxels with a label > 0 in each of the Z slices. */
  sliceTumour: number[];
  /** sourceKey() of the input files. */
  source: string;
  /** When this entry was last opened (ISO time; updated at most once an hour). */
  usedAt?: string;
  /** Voxel count per label value present in the crop. */
  labelCounts: Record<string, number>;
  stats: Array<NormaliseStats & { modality: Modality }>;
  createdAt: string;
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
      throw new Error(`${dir}: cannot create cache folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
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
        this.notes.push(`${this.indexPath}: cache format ${j.format}/${j.version} is not ${CACHE_FORMAT}/${CACHE_VERSION}; rebuilding`);
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
    if (e.sources.length !== sources.length || e.sources.some((s, i) => s.path !== path.resolve(sources[i]))) return 'source files changed';
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
      if (stale) await this.writeIndex({ ...old!, usedAt: new Date().toISOString() }).catch(() => undefined); // a read-only cache still serves
      return { entry: old!, built: false };
    }

    const stamps = await Promise.all(sources.map(stamp));
    const loaded = await loadCase(c, { modalities: o.modalities, requireSeg: o.requireSeg });
    const p = preprocessCase(loaded, { cropShape: o.cropShape, percentiles: o.percentiles });
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
        throw new Error(`${path.join(this.dir, file)}: cannot open cache file (${(e as NodeJS.ErrnoException).code}); reopen the dataset to rebuild it`);
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
      if (n === 0) throw new Error(`${path.join(this.dir, e.file)}: cache file ends at ${position + done} (truncated?); delete it to rebuild`);
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
    if (image.length !== M * plane || label.length !== plane) throw new Error('readSlice: buffer sizes do not match the cached slice');
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
