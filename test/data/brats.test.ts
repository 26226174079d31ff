import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCases, loadCase, normaliseModality } from '../../src/data/brats.ts';
import { regionLabels, regionMasks } from '../../src/data/regions.ts';
import { readNiftiHeader } from '../../src/data/nifti.ts';
import {
  affineFromRows,
  BRATS_DEV,
  HAS_BRATS,
  SKIP_NOTE,
  tempDir,
  writeSyntheticCase,
  firstDifference,
} from './helpers.ts';

const tmp = tempDir('brats');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const IDS = [
  'Brats18_2013_11_1',
  'Brats18_CBICA_ABM_1',
  'Brats18_TCIA01_201_1',
  'Brats18_TCIA02_135_1',
  'Brats18_TCIA10_628_1',
];

describe(`BraTS 2018 dev cases ${HAS_BRATS ? '' : SKIP_NOTE}`, () => {
  it.skipIf(!HAS_BRATS)('finds the five cases with all four modalities and a segmentation', async () => {
    const cases = await findCases(BRATS_DEV);
    expect(cases.map((c) => c.id)).toEqual(IDS);
    for (const c of cases) {
      expect(c.layout).toBe('brats2018');
      expect(Object.keys(c.files).sort()).toEqual(['flair', 't1', 't1c', 't2']);
      expect(c.files.t1c!.endsWith(`${c.id}_t1ce.nii.gz`)).toBe(true);
      expect(c.seg!.endsWith(`${c.id}_seg.nii.gz`)).toBe(true);
      expect(c.problems).toEqual([]);
      expect(c.group).toBe('');
    }
  });

  it.skipIf(!HAS_BRATS)('headers: int16 images, seg int16 or uint8, scl_slope 0 means no scaling', async () => {
    const lines: string[] = [];
    for (const id of IDS) {
      const dir = path.join(BRATS_DEV, id);
      const t1c = await readNiftiHeader(path.join(dir, `${id}_t1ce.nii.gz`));
      const seg = await readNiftiHeader(path.join(dir, `${id}_seg.nii.gz`));
      expect(t1c.shape).toEqual([240, 240, 155]);
      expect(t1c.datatype).toBe('int16');
      expect(t1c.voxelSize).toEqual([1, 1, 1]);
      expect(seg.datatype).toBe(id === 'Brats18_2013_11_1' ? 'int16' : 'uint8');
      const zeroSlope = id === 'Brats18_CBICA_ABM_1' || id === 'Brats18_TCIA10_628_1';
      expect(t1c.sclSlope).toBe(zeroSlope ? 0 : 1);
      expect(t1c.scaled).toBe(false);
      lines.push(
        `  ${id.padEnd(22)} t1ce ${t1c.datatype} qform ${t1c.qformCode} ` +
          `sform ${t1c.sformCode} scl_slope ${t1c.sclSlope}  seg ${seg.datatype}`,
      );
    }
    console.log(`BraTS headers:\n${lines.join('\n')}`);
  });

  it.skipIf(!HAS_BRATS)(
    'loads every case: 240×240×155, LPS kept as is, ' + 'labels ⊆ {0,1,2,4} with tumour',
    async () => {
      const lines: string[] = [];
      for (const [n, id] of IDS.entries()) {
        // the first case with the default modalities, the others with FLAIR only (keeps the test quick)
        const c = await loadCase(path.join(BRATS_DEV, id), n === 0 ? {} : { modalities: ['flair'] });
        expect(c.id).toBe(id);
        expect(c.modalities).toEqual(n === 0 ? ['t1c', 't2', 'flair'] : ['flair']);
        expect(c.shape).toEqual([240, 240, 155]);
        expect(c.images).toHaveLength(n === 0 ? 3 : 1);
        expect(c.transform.identity).toBe(true); // BraTS is already in the canonical orientation
        expect(c.transform.sourceOrientation).toBe('LPS');
        expect(c.reference.path.endsWith(n === 0 ? `${id}_t1ce.nii.gz` : `${id}_flair.nii.gz`)).toBe(true);
        for (const img of c.images) {
          expect(img).toBeInstanceOf(Float32Array);
          expect(img.length).toBe(240 * 240 * 155);
        }
        const hist = new Uint32Array(256);
        for (const l of c.seg!) hist[l]++;
        const counts = new Map<number, number>();
        hist.forEach((k, l) => k && counts.set(l, k));
        const labels = [...counts.keys()];
        expect(labels.every((l) => [0, 1, 2, 4].includes(l))).toBe(true);
        const tumour = c.seg!.length - (counts.get(0) ?? 0);
        expect(tumour).toBeGreaterThan(10_000); // whole tumour: tens of thousands of mm³
        expect(tumour).toBeLessThan(0.05 * c.seg!.length);
        const [whole, core, enh] = regionMasks(c.seg!, ['whole', 'core', 'enhancing']);
        const ones = (m: Uint8Array) => {
          let k = 0;
          for (let i = 0; i < m.length; i++) k += m[i];
          return k;
        };
        expect(ones(whole)).toBe(tumour);
        expect(ones(core)).toBe((counts.get(1) ?? 0) + (counts.get(4) ?? 0));
        expect(ones(enh)).toBe(counts.get(4) ?? 0);
        lines.push(
          `  ${id.padEnd(22)} ${labels.map((l) => `${l}:${counts.get(l)}`).join('  ')}   ` +
            `whole ${ones(whole)} core ${ones(core)} enhancing ${ones(enh)}`,
        );
      }
      console.log(`BraTS label counts:\n${lines.join('\n')}`);
    },
  );
});

describe('case discovery and regions (synthetic)', () => {
  it('finds 2018 and 2023 layouts, nested groups, and reports problems', async () => {
    const root = path.join(tmp, 'mixed');
    await writeSyntheticCase(path.join(root, 'HGG'), 'Brats18_A_1', { shape: [6, 5, 4] });
    await writeSyntheticCase(path.join(root, 'LGG'), 'Brats18_B_1', { shape: [6, 5, 4], withSeg: false });
    await writeSyntheticCase(root, 'BraTS-GLI-00001-000', { shape: [6, 5, 4], layout: 'brats2023' });
    await writeSyntheticCase(root, 'Brats18_C_1', { shape: [6, 5, 4], omit: ['t2'] });
    fs.copyFileSync(
      path.join(root, 'Brats18_C_1', 'Brats18_C_1_t1.nii.gz'),
      path.join(root, 'Brats18_C_1', 'Brats18_C_1_T1.nii'),
    );
    fs.writeFileSync(path.join(root, 'Brats18_C_1', 'notes.txt'), 'x');
    const cases = await findCases(root);
    expect(cases.map((c) => [c.id, c.group, c.layout])).toEqual([
      ['BraTS-GLI-00001-000', '', 'brats2023'],
      ['Brats18_A_1', 'HGG', 'brats2018'],
      ['Brats18_B_1', 'LGG', 'brats2018'],
      ['Brats18_C_1', '', 'brats2018'],
    ]);
    const g = cases[0];
    expect(Object.keys(g.files).sort()).toEqual(['flair', 't1', 't1c', 't2']);
    expect(g.files.flair!.endsWith('-t2f.nii.gz')).toBe(true);
    expect(cases[2].seg).toBeNull();
    const c = cases[3];
    expect(c.files.t2).toBeUndefined();
    expect(c.other).toEqual(['notes.txt']);
    expect(c.problems[0]).toMatch(/two t1 files/);
    await expect(loadCase(c)).rejects.toThrow(/has no t2 volume/);
    await expect(loadCase(cases[2], { requireSeg: true })).rejects.toThrow(/has no segmentation/);
    const b = await loadCase(cases[2], { modalities: ['t1', 'flair'] });
    expect(b.seg).toBeNull();
    expect(b.modalities).toEqual(['t1', 'flair']);
  });

  it('finds cases whose files lie side by side in one folder, and cases linked in', async () => {
    const flat = path.join(tmp, 'flat');
    await writeSyntheticCase(path.join(tmp, 'src'), 'P_1', { shape: [4, 4, 4] });
    await writeSyntheticCase(path.join(tmp, 'src'), 'P_2', { shape: [4, 4, 4], layout: 'brats2023' });
    fs.mkdirSync(flat);
    for (const id of ['P_1', 'P_2'])
      for (const f of fs.readdirSync(path.join(tmp, 'src', id)))
        fs.copyFileSync(path.join(tmp, 'src', id, f), path.join(flat, f));
    const cases = await findCases(flat);
    expect(cases.map((c) => [c.id, c.layout, Object.keys(c.files).length, c.seg !== null, c.problems.length])).toEqual([
      ['P_1', 'brats2018', 4, true, 0],
      ['P_2', 'brats2023', 4, true, 0],
    ]);
    const linked = path.join(tmp, 'linked');
    fs.mkdirSync(linked);
    fs.symlinkSync(path.join(tmp, 'src', 'P_1'), path.join(linked, 'P_1'));
    expect((await findCases(linked)).map((c) => c.id)).toEqual(['P_1']);
    expect((await loadCase((await findCases(linked))[0], { modalities: ['t1ce' as never] })).modalities).toEqual([
      't1c',
    ]);
  });

  it('normalises modality names', () => {
    expect(
      ['t1', 'T1N', 't1ce', 't1c', 't1gd', 't2', 't2w', 'flair', 't2f', 'seg', 'dwi'].map(normaliseModality),
    ).toEqual(['t1', 't1', 't1c', 't1c', 't1c', 't2', 't2', 'flair', 'flair', null, null]);
  });

  it('label 3 is enhancing (2023+) or non-enhancing core (2015) as configured', () => {
    const seg = Uint8Array.from([0, 1, 2, 3, 4]);
    expect(regionLabels('whole')).toEqual([1, 2, 3, 4]);
    const asCore = regionMasks(seg, ['whole', 'core', 'enhancing'], { label3: 'core' }).map((m) => Array.from(m));
    expect(asCore).toEqual([
      [0, 1, 1, 1, 1],
      [0, 1, 0, 1, 1],
      [0, 0, 0, 0, 1],
    ]);
    const asEnh = regionMasks(seg, ['whole', 'core', 'enhancing'], { label3: 'enhancing' }).map((m) => Array.from(m));
    expect(asEnh).toEqual([
      [0, 1, 1, 1, 1],
      [0, 1, 0, 1, 1],
      [0, 0, 0, 1, 1],
    ]);
    expect(Array.from(regionMasks(seg, 'enhancing')[0])).toEqual([0, 0, 0, 0, 1]);
  });

  it('loads a non-LPS case into canonical orientation and rejects mismatched grids', async () => {
    const root = path.join(tmp, 'ras');
    const ras = affineFromRows([
      [0, 1, 0, -3], // i → anterior
      [1, 0, 0, 2], // j → right
      [0, 0, -1, 4], // k → inferior
    ]);
    const { dir, seg } = await writeSyntheticCase(root, 'Case_R', { shape: [6, 5, 4], affine: ras });
    const c = await loadCase(dir);
    expect(c.transform.sourceOrientation).toBe('ARI');
    expect(c.shape).toEqual([5, 6, 4]);
    expect(c.transform.identity).toBe(false);
    const { fromCanonical } = await import('../../src/data/orientation.ts');
    expect(firstDifference(fromCanonical(c.seg!, c.transform), seg)).toBe(-1);
    // a modality on another grid
    await writeSyntheticCase(path.join(root, 'other'), 'Case_R', { shape: [6, 5, 3], affine: ras });
    fs.copyFileSync(path.join(root, 'other', 'Case_R', 'Case_R_flair.nii.gz'), path.join(dir, 'Case_R_flair.nii.gz'));
    await expect(loadCase(dir)).rejects.toThrow(/Case_R_flair\.nii\.gz: shape 6×5×3 differs from 6×5×4/);
  });
});
