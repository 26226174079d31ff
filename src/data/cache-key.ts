// What names a slice-cache entry (cache.ts): the key of the preprocessing, the key of a case's input
// files, and the entry recorded in the cache's index.json.
//
// <key> is a hash of everything that changes the preprocessed bytes (cache format version, modalities and
// their order, crop size, normalisation, canonical orientation); region choices and label-3 meaning do
// not change the bytes (labels are stored raw) and are not part of it. <source> is a hash of the case's
// input file paths: two datasets with the same case IDs never share or evict each other's entries.
import crypto from 'node:crypto';
import path from 'node:path';
import type { Modality } from './brats.ts';
import { CANONICAL, type OrientationTransform, type Shape3 } from './orientation.ts';
import { DEFAULT_CROP, DEFAULT_PERCENTILES, type NormaliseStats, type Normalisation } from './preprocess.ts';

export const CACHE_FORMAT = 'dawngrad-brats-cache';
/** Bump when the preprocessing or the file layout changes: every entry is rebuilt. */
export const CACHE_VERSION = 2;

/** 12 hex digits naming a case's input files (their resolved paths). */
export function sourceKey(sources: readonly string[]): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify(sources.map((s) => path.resolve(s))))
    .digest('hex')
    .slice(0, 12);
}

export interface CacheOptions {
  modalities: readonly Modality[];
  cropShape?: Shape3;
  percentiles?: [number, number];
  normalise?: Normalisation;
}

/** 12 hex digits identifying the preprocessing (see the top of this file). */
export function cacheKey(o: CacheOptions): string {
  const desc = {
    format: CACHE_FORMAT,
    version: CACHE_VERSION,
    modalities: [...o.modalities],
    cropShape: o.cropShape ?? DEFAULT_CROP,
    percentiles: o.percentiles ?? DEFAULT_PERCENTILES,
    // only when not the default, so the keys of existing percentile caches stay as they were
    ...(o.normalise && o.normalise !== 'percentile' ? { normalise: o.normalise } : {}),
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
