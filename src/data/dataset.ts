// The BraTS slice dataset for 2-D SegAN training and evaluation.
//
// openDataset finds the cases under a folder, makes sure each is preprocessed in the on-disk cache
// (cache.ts; built once, reused while valid), splits them into train and validation at case level
// (case-split.ts: stratified by group folder, e.g. HGG/LGG, deterministic for the seed) and serves batches of 2-D
// axial slices read from the cache by offset:
//   train: random S×S crops (S = cropSize, default 160) of the 180×180 slices, optional random
//          left-right / up-down flips, shuffled; tumour-free slices optionally thinned (skipEmpty);
//   val:   centre S×S crops, in order, all slices.
// Every random choice comes from (seed, epoch): the same pair gives the same batches.
//
// Layouts (row-major, last index fastest):
//   image  [B, M, S, S]  modalities in the order asked for (default t1c, t2, flair), values in [0, 1]
//   label  [B, K, S, S]  0/1 masks: K = 1 (whole) or K = 3 (whole, core, enhancing)
//   inside a slice: row = canonical y (anterior → posterior), column = canonical x (right → left)
import path from 'node:path';
import { affineSampleMatrix, jitterIntensity, resampleAffine } from './augment.ts';
import { findCases, normaliseModalities, DEFAULT_MODALITIES } from './brats.ts';
import { SliceCache } from './cache.ts';
import { cacheKey, type CacheEntry } from './cache-key.ts';
import { splitCases } from './case-split.ts';
import { resample, sampleMatrix } from './crop-sampling.ts';
import type { Batch, BatchOptions, CaseSlices, Dataset, DatasetOptions, SampleInfo, Split } from './dataset-types.ts';
import { envValue } from '../device/env.ts';
import { readNiftiHeader } from './nifti.ts';
import { fromCanonical } from './orientation.ts';
import { DEFAULT_CROP, uncropVolume } from './preprocess.ts';
import { regionLookup, type Label3, type Region } from './regions.ts';
import { hashSeed, mulberry32, randInt, shuffleInPlace } from './rng.ts';

/** Opens (building the cache where needed) the BraTS dataset under dataDir. */
export async function openDataset(dataDir: string, opts: DatasetOptions): Promise<Dataset> {
  if (!opts || !opts.cacheDir) throw new Error('openDataset: cacheDir is required');
  const modalities = normaliseModalities(opts.modalities ?? DEFAULT_MODALITIES);
  const regions: Region[] = (opts.regions ?? 'all') === 'whole' ? ['whole'] : ['whole', 'core', 'enhancing'];
  if (opts.regions && opts.regions !== 'whole' && opts.regions !== 'all')
    throw new Error(`regions '${opts.regions}': use 'whole' or 'all'`);
  const cropShape = opts.cropShape ?? DEFAULT_CROP;
  const S = opts.cropSize ?? 160;
  const [W, H, Z] = cropShape;
  if (!(Number.isInteger(S) && S >= 1 && S <= W && S <= H))
    throw new Error(`cropSize ${S} must be an integer in 1..${Math.min(W, H)}`);
  const keepEmpty = opts.skipEmpty ?? 1;
  if (!(keepEmpty >= 0 && keepEmpty <= 1)) throw new Error(`skipEmpty ${keepEmpty} must be a fraction in [0, 1]`);
  const seed = opts.seed ?? 0;

  let found = await findCases(dataDir);
  if (opts.onlyCases) {
    const want = new Set(opts.onlyCases);
    const missing = opts.onlyCases.filter((id) => !found.some((c) => c.id === id));
    if (missing.length) throw new Error(`${dataDir}: case(s) not found: ${missing.join(', ')}`);
    found = found.filter((c) => want.has(c.id));
  }
  if (found.length === 0)
    throw new Error(
      `${dataDir}: no BraTS cases found (expected <case>/<case>_t1ce.nii.gz or <case>/<case>-t1c.nii.gz)`,
    );
  const bad = found.filter((c) => c.problems.length);
  if (bad.length) throw new Error(`${dataDir}: ${bad.map((c) => `${c.dir}: ${c.problems.join('; ')}`).join('\n')}`);
  const label3: Label3 = opts.label3 ?? (found.every((c) => c.layout === 'brats2023') ? 'enhancing' : 'core');
  const lut = regionLookup(regions, label3);
  const K = regions.length;
  const M = modalities.length;

  const cache = await SliceCache.open(opts.cacheDir, {
    maxBytes: opts.cacheMaxBytes ?? envValue<number>('DAWNGRAD_CACHE_MAX'),
  });
  const key = cacheKey({ modalities, cropShape, percentiles: opts.percentiles, normalise: opts.normalise });
  const entries = new Map<string, CacheEntry>();
  const built: string[] = [];
  const reused: string[] = [];
  try {
    for (const [i, c] of found.entries()) {
      const r = await cache.ensure(c, {
        modalities,
        cropShape,
        percentiles: opts.percentiles,
        normalise: opts.normalise,
        requireSeg: opts.requireSeg ?? true,
      });
      entries.set(c.id, r.entry);
      (r.built ? built : reused).push(c.id);
      opts.onProgress?.({ caseId: c.id, index: i, total: found.length, built: r.built });
    }
  } catch (e) {
    cache.close();
    throw e;
  }
  const { train, val } = splitCases(found, { valFraction: opts.valFraction, valCases: opts.valCases, seed });
  if (train.length === 0 && !opts.allowNoTraining)
    throw new Error(`${dataDir}: no training cases left after the split`);
  const ids = found.map((c) => c.id);

  const entry = (id: string): CacheEntry => {
    const e = entries.get(id);
    if (!e) throw new Error(`unknown case '${id}'`);
    return e;
  };

  // Sample lists: [caseIndex, z] pairs.
  const trainEmpty: Array<[number, number]> = [];
  const trainTumour: Array<[number, number]> = [];
  for (const id of train) {
    const ci = ids.indexOf(id);
    entry(id).sliceTumour.forEach((t, z) => (t > 0 ? trainTumour : trainEmpty).push([ci, z]));
  }
  const valSamples: Array<[number, number]> = [];
  for (const id of val) {
    const ci = ids.indexOf(id);
    for (let z = 0; z < Z; z++) valSamples.push([ci, z]);
  }
  const keptEmpty = Math.round(keepEmpty * trainEmpty.length);

  const samplesFor = (split: Split, rand: () => number, shuffle: boolean): Array<[number, number]> => {
    let list: Array<[number, number]>;
    if (split === 'train') {
      const empty =
        keptEmpty === trainEmpty.length ? trainEmpty : shuffleInPlace([...trainEmpty], rand).slice(0, keptEmpty);
      // keep slice order (case, z) before shuffling so the unshuffled order is stable
      list = [...trainTumour, ...empty].sort((p, q) => p[0] - q[0] || p[1] - q[1]);
    } else if (split === 'val') list = [...valSamples];
    else throw new Error(`unknown split '${split as string}'; use 'train' or 'val'`);
    return shuffle ? shuffleInPlace(list, rand) : list;
  };

  const sliceImage = new Float32Array(M * W * H);
  const sliceLabel = new Uint8Array(W * H);
  const regionPlanes = new Float32Array(K * W * H);
  const decodeRegions = (label: Uint8Array): void => {
    for (let k = 0; k < K; k++) {
      const bit = 1 << k;
      const off = k * W * H;
      for (let i = 0; i < W * H; i++) regionPlanes[off + i] = (lut[label[i]] & bit) !== 0 ? 1 : 0;
    }
  };

  function* batches(split: Split, batchSize: number, bo: BatchOptions = {}): Generator<Batch> {
    if (!(Number.isInteger(batchSize) && batchSize >= 1))
      throw new Error(`batchSize ${batchSize} must be a positive integer`);
    const train = split === 'train';
    const crop = bo.crop ?? (train ? 'random' : 'center');
    const flip = bo.flip ?? false;
    const aug = bo.augment ?? {};
    const tumourCrops = aug.tumourCrops ?? 0;
    const rotate = aug.rotate ?? 0;
    const zoomRange = aug.scale ?? 0;
    const intensity = aug.intensity ?? 0;
    const rand = mulberry32(hashSeed(bo.seed ?? seed, bo.epoch ?? 0, train ? 1 : 2));
    // augmentations draw from a stream of their own: switching one on leaves every crop position,
    // flip and sample order of the plain batches as they were
    const augRand = mulberry32(hashSeed(bo.seed ?? seed, bo.epoch ?? 0, 3));
    const uniform = () => 2 * augRand() - 1; // [-1, 1)
    const list = samplesFor(split, rand, bo.shuffle ?? train);
    const cx = Math.floor((W - S) / 2);
    const cy = Math.floor((H - S) / 2);
    for (let start = 0; start < list.length; start += batchSize) {
      const count = Math.min(batchSize, list.length - start);
      if (count < batchSize && bo.dropLast) return;
      const image = new Float32Array(count * M * S * S);
      const label = new Float32Array(count * K * S * S);
      const samples: SampleInfo[] = [];
      for (let b = 0; b < count; b++) {
        const [ci, z] = list[start + b];
        const e = entry(ids[ci]);
        let x0 = crop === 'random' ? randInt(rand, W - S + 1) : cx;
        let y0 = crop === 'random' ? randInt(rand, H - S + 1) : cy;
        const flipX = flip ? rand() < 0.5 : false;
        const flipY = flip ? rand() < 0.5 : false;
        cache.readSlice(e, z, sliceImage, sliceLabel);
        decodeRegions(sliceLabel);
        if (tumourCrops > 0 && augRand() < tumourCrops) {
          // centre on a random tumour pixel (the nth non-zero label), kept inside the slice
          let n = 0;
          for (let i = 0; i < W * H; i++) n += sliceLabel[i] ? 1 : 0;
          if (n > 0) {
            let pick = randInt(augRand, n);
            for (let i = 0; i < W * H; i++) {
              if (sliceLabel[i] && pick-- === 0) {
                x0 = Math.min(W - S, Math.max(0, (i % W) - Math.floor(S / 2)));
                y0 = Math.min(H - S, Math.max(0, Math.floor(i / W) - Math.floor(S / 2)));
                break;
              }
            }
          }
        }
        const degrees = rotate > 0 ? uniform() * rotate : 0;
        const zoom = zoomRange > 0 ? 1 + uniform() * zoomRange : 1;
        if (degrees !== 0 || zoom !== 1) {
          const m = affineSampleMatrix(x0 + (S - 1) / 2, y0 + (S - 1) / 2, S, degrees, zoom, flipX, flipY);
          resampleAffine(sliceImage, W, H, M, m, S, image, b * M * S * S, false);
          resampleAffine(regionPlanes, W, H, K, m, S, label, b * K * S * S, true);
        } else {
          const m = sampleMatrix(x0, y0, S, flipX, flipY);
          resample(sliceImage, W, H, M, m, S, image, b * M * S * S);
          resample(regionPlanes, W, H, K, m, S, label, b * K * S * S);
        }
        if (intensity > 0) jitterIntensity(image, b * M * S * S, M, S * S, intensity, uniform);
        samples.push({ caseId: ids[ci], z, x0, y0, flipX, flipY });
      }
      yield { image, label, count, samples };
    }
  }

  const caseSlices = (caseId: string): CaseSlices => {
    const e = entry(caseId);
    const image = new Float32Array(Z * M * S * S);
    const labels = new Float32Array(Z * K * S * S);
    const raw = new Uint8Array(Z * S * S);
    const m = sampleMatrix(Math.floor((W - S) / 2), Math.floor((H - S) / 2), S, false, false);
    for (let z = 0; z < Z; z++) {
      cache.readSlice(e, z, sliceImage, sliceLabel);
      decodeRegions(sliceLabel);
      resample(sliceImage, W, H, M, m, S, image, z * M * S * S);
      resample(regionPlanes, W, H, K, m, S, labels, z * K * S * S);
      resample(sliceLabel, W, H, 1, m, S, raw, z * S * S);
    }
    return { caseId, image, labels, raw, shape: { Z, M, K, S } };
  };

  const putBack = (caseId: string, predicted: Uint8Array): Uint8Array => {
    const e = entry(caseId);
    let full: Uint8Array;
    if (predicted.length === Z * S * S) {
      // S×S centre crops → the W×H×Z preprocessing crop
      full = new Uint8Array(W * H * Z);
      const ox = Math.floor((W - S) / 2);
      const oy = Math.floor((H - S) / 2);
      for (let z = 0; z < Z; z++)
        for (let y = 0; y < S; y++) {
          const s = (z * S + y) * S;
          full.set(predicted.subarray(s, s + S), (z * H + oy + y) * W + ox);
        }
    } else if (predicted.length === W * H * Z) full = predicted;
    else
      throw new Error(
        `putBack(${caseId}): ${predicted.length} labels given; expected ` +
          `[${Z}, ${S}, ${S}] = ${Z * S * S} (or [${Z}, ${H}, ${W}])`,
      );
    const canonical = uncropVolume(full, e.canonicalShape, e.cropOffset, e.cropShape);
    return fromCanonical(canonical, e.transform);
  };

  return {
    dataDir: path.resolve(dataDir),
    cases: ids,
    trainCases: train,
    valCases: val,
    modalities,
    regions,
    label3,
    M,
    K,
    S,
    Z,
    cache: { dir: cache.dir, key, built, reused },
    numSlices: (split: Split) => {
      if (split === 'train') return trainTumour.length + keptEmpty;
      if (split === 'val') return valSamples.length;
      throw new Error(`unknown split '${split as string}'; use 'train' or 'val'`);
    },
    batches,
    caseSlices,
    putBack,
    referenceHeader: (caseId: string) => readNiftiHeader(entry(caseId).referenceFile),
    caseEntry: entry,
    close: () => cache.close(),
  };
}
