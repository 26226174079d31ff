// The dataset's options and what openDataset (dataset.ts) returns: batches, samples and whole cases.
import type { Augment } from './augment.ts';
import type { Modality } from './brats.ts';
import type { CacheEntry } from './cache-key.ts';
import type { NiftiHeader } from './nifti.ts';
import type { Shape3 } from './orientation.ts';
import type { Label3, Region } from './regions.ts';
import type { Normalisation } from './preprocess.ts';

export type Split = 'train' | 'val';

export interface DatasetOptions {
  /** Folder for the preprocessed cache (created if needed). */
  cacheDir: string;
  /** Bound of the cache folder's size (default DAWNGRAD_CACHE_MAX, else 20 GiB). */
  cacheMaxBytes?: number;
  /** Input channels, in order (default t1c, t2, flair). */
  modalities?: readonly Modality[];
  /** 'whole' → K = 1; 'all' → K = 3 (whole, core, enhancing). Default 'all'. */
  regions?: 'whole' | 'all';
  /** Meaning of label 3; default 'enhancing' when the cases use BraTS 2023 names, else 'core'. */
  label3?: Label3;
  /** Fraction of cases (per group) held out for validation; default 0.2. Ignored when valCases is given. */
  valFraction?: number;
  /** Explicit validation case ids. */
  valCases?: readonly string[];
  /** Use only these cases (the others are not read or cached): evaluation and prediction. */
  onlyCases?: readonly string[];
  /** Allow a dataset without training cases (evaluation / prediction only). */
  allowNoTraining?: boolean;
  /** Seed of the case split and the default seed of batches(). Default 0. */
  seed?: number;
  /** Side of the square crops served (default 160). */
  cropSize?: number;
  /** Fraction of tumour-free slices kept in each training epoch (default 1: all). */
  skipEmpty?: number;
  /** Preprocessing crop [X, Y, Z] (default 180×180×128), normalisation and its percentiles (preprocess.ts). */
  cropShape?: Shape3;
  percentiles?: [number, number];
  normalise?: Normalisation;
  /** Cases without a segmentation are an error unless this is false (then their labels are 0). */
  requireSeg?: boolean;
  /** Called after each case is ready. */
  onProgress?: (p: { caseId: string; index: number; total: number; built: boolean }) => void;
}

export interface BatchOptions {
  /** Default: the dataset's seed. */
  seed?: number;
  epoch?: number;
  /** Default 'random' for train, 'center' for val. */
  crop?: 'random' | 'center';
  /** Random left-right and up-down flips (each with probability 1/2). Default false. */
  flip?: boolean;
  /** Default true for train, false for val. */
  shuffle?: boolean;
  /** Drop a last batch smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Augmentations of training crops (all off by default); see Augment. */
  augment?: Augment;
}

export interface SampleInfo {
  caseId: string;
  /** Slice index within the 128 cached slices. */
  z: number;
  /** Crop origin within the 180×180 slice (column x0, row y0). */
  x0: number;
  y0: number;
  flipX: boolean;
  flipY: boolean;
}

export interface Batch {
  /** [count, M, S, S] */
  image: Float32Array;
  /** [count, K, S, S] 0/1 */
  label: Float32Array;
  /** Samples in this batch (batchSize except perhaps the last). */
  count: number;
  samples: SampleInfo[];
}

export interface CaseSlices {
  caseId: string;
  /** [Z, M, S, S] centre crops of every cached slice. */
  image: Float32Array;
  /** [Z, K, S, S] 0/1 region masks. */
  labels: Float32Array;
  /** [Z, S, S] raw BraTS labels. */
  raw: Uint8Array;
  shape: { Z: number; M: number; K: number; S: number };
}

export interface Dataset {
  dataDir: string;
  cases: string[];
  trainCases: string[];
  valCases: string[];
  modalities: Modality[];
  regions: Region[];
  label3: Label3;
  /** Channels in, channels out, crop side, slices per case. */
  M: number;
  K: number;
  S: number;
  Z: number;
  /** Which cases were preprocessed now and which came from the cache. */
  cache: { dir: string; key: string; built: string[]; reused: string[] };
  numSlices(split: Split): number;
  batches(split: Split, batchSize: number, opts?: BatchOptions): Generator<Batch>;
  caseSlices(caseId: string): CaseSlices;
  /**
   * Puts predicted labels [Z, S, S] (centre crops, as from caseSlices; BraTS labels 0/1/2/4) back into
   * the case's original file grid (e.g. 240×240×155), zero outside the crop — ready for
   * writeNifti(path, result, { like: await referenceHeader(caseId) }).
   */
  putBack(caseId: string, predicted: Uint8Array): Uint8Array;
  /** Header of the case's first modality (its original grid), for writing predictions. */
  referenceHeader(caseId: string): Promise<NiftiHeader>;
  caseEntry(caseId: string): CacheEntry;
  close(): void;
}
