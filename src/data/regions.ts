// BraTS tumour regions from label volumes, for training targets (data/dataset.ts) and scores (segan/metrics.ts).
//
// Labels: 0 background, 1 necrotic / non-enhancing core, 2 oedema, 4 enhancing tumour (2017–2021).
// Label 3 means "non-enhancing core" in BraTS 2015 and "enhancing tumour" in BraTS 2023+; `label3` says
// which. Regions: whole = {1,2,4} (+3), core = {1,4} (+3), enhancing = {4} (+3 when label3 = 'enhancing').

export const REGIONS = ['whole', 'core', 'enhancing'] as const;
export type Region = (typeof REGIONS)[number];
export type Label3 = 'enhancing' | 'core';

/** The labels that make up a region. */
export function regionLabels(region: Region, label3: Label3 = 'core'): number[] {
  switch (region) {
    case 'whole':
      return [1, 2, 3, 4];
    case 'core':
      return [1, 3, 4];
    case 'enhancing':
      return label3 === 'enhancing' ? [3, 4] : [4];
    default:
      throw new Error(`unknown region '${region as string}'; known: ${REGIONS.join(', ')}`);
  }
}

/** 256-entry lookup: bit r set when label belongs to regions[r]. */
export function regionLookup(regions: readonly Region[], label3: Label3 = 'core'): Uint8Array {
  if (regions.length > 8) throw new Error('at most 8 regions');
  const lut = new Uint8Array(256);
  regions.forEach((r, k) => {
    for (const l of regionLabels(r, label3)) lut[l] |= 1 << k;
  });
  return lut;
}

/** One 0/1 mask per region over a label volume (label 3 read as `label3`; default 'core', the BraTS 2015 meaning). */
export function regionMasks(
  seg: Uint8Array,
  regions: Region | readonly Region[],
  opts: { label3?: Label3 } = {},
): Uint8Array[] {
  const rs = typeof regions === 'string' ? [regions] : regions;
  const lut = regionLookup(rs, opts.label3 ?? 'core');
  return rs.map((_, k) => {
    const m = new Uint8Array(seg.length);
    const bit = 1 << k;
    for (let i = 0; i < seg.length; i++) m[i] = (lut[seg[i]] & bit) !== 0 ? 1 : 0;
    return m;
  });
}
