import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run as segan } from '../../src/cli/run.ts';
import type { InspectReport } from '../../src/data/inspect.ts';
import { createNiftiHeader, writeNifti } from '../../src/data/nifti.ts';
import { affineFromRows, BRATS_DEV, HAS_BRATS, SKIP_NOTE, tempDir, writeSyntheticCase } from './helpers.ts';

const tmp = tempDir('inspect');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await segan(['inspect', ...argv], { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('segan inspect', () => {
  it('lists every problem and exits 1', async () => {
    const root = path.join(tmp, 'bad');
    const shape: [number, number, number] = [8, 7, 6];
    await writeSyntheticCase(root, 'Good_1', { shape });
    await writeSyntheticCase(root, 'Missing_1', { shape, omit: ['flair'] });
    const mm = await writeSyntheticCase(root, 'Mismatch_1', { shape });
    await writeSyntheticCase(path.join(tmp, 'other'), 'Mismatch_1', { shape: [8, 7, 5] });
    fs.copyFileSync(
      path.join(tmp, 'other', 'Mismatch_1', 'Mismatch_1_t2.nii.gz'),
      path.join(mm.dir, 'Mismatch_1_t2.nii.gz'),
    );
    const l3 = await writeSyntheticCase(root, 'Label3_1', { shape, enhancingLabel: 3 });
    void l3;
    const un = await writeSyntheticCase(root, 'Broken_1', { shape });
    fs.writeFileSync(path.join(un.dir, 'Broken_1_t1.nii.gz'), Buffer.from('definitely not a volume'));
    // a seg with a fractional value
    const fr = await writeSyntheticCase(root, 'Frac_1', { shape, withSeg: false });
    const like = createNiftiHeader(
      shape,
      affineFromRows([
        [-1, 0, 0, 0],
        [0, -1, 0, 0],
        [0, 0, 1, 0],
      ]),
    );
    await writeNifti(path.join(fr.dir, 'Frac_1_seg.nii.gz'), new Float32Array(8 * 7 * 6).fill(0.5), { like });

    const { code, out } = await run(['--data', root]);
    console.log(out);
    expect(code).toBe(1);
    const { code: jcode, out: jout } = await run(['--data', root, '--json']);
    expect(jcode).toBe(1);
    const r = JSON.parse(jout) as InspectReport;
    expect(r.cases.map((c) => c.id)).toEqual(['Broken_1', 'Frac_1', 'Good_1', 'Label3_1', 'Mismatch_1', 'Missing_1']);
    const probs = (id: string) => r.cases.find((c) => c.id === id)!.problems.join('\n');
    expect(probs('Good_1')).toBe('');
    expect(probs('Missing_1')).toMatch(/missing flair volume/);
    expect(probs('Mismatch_1')).toMatch(/shape mismatch: t2 \(Mismatch_1_t2\.nii\.gz\) is 8×7×5/);
    expect(probs('Label3_1')).toMatch(/unexpected label\(s\) 3 in seg/);
    expect(probs('Broken_1')).toMatch(/unreadable t1: .*Broken_1_t1\.nii\.gz: not a NIfTI file/);
    expect(probs('Frac_1')).toMatch(/not an integer label/);
    expect(r.problems).toHaveLength(5);
    expect(out).toMatch(/5 problem\(s\)/);
    const good = r.cases.find((c) => c.id === 'Good_1')!;
    expect(good.volumes.map((v) => [v.kind, v.orientation, v.datatype])).toEqual([
      ['t1', 'LPS', 'int16'],
      ['t1c', 'LPS', 'int16'],
      ['t2', 'LPS', 'int16'],
      ['flair', 'LPS', 'int16'],
      ['seg', 'LPS', 'uint8'],
    ]);
    const labels = Object.keys(good.volumes[4].labelCounts!);
    expect(labels.every((l) => ['0', '1', '2', '4'].includes(l)) && labels.includes('2')).toBe(true);
  });

  it('usage errors exit 2; an empty folder is a problem', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['--bogus'])).err).toMatch(/^segan inspect: unknown option --bogus; see 'segan help inspect'\n$/);
    fs.mkdirSync(path.join(tmp, 'empty'));
    const r = await run(['--data', path.join(tmp, 'empty')]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/no BraTS cases found/);
  });

  it.skipIf(!HAS_BRATS)(`a real BraTS case has no problems ${HAS_BRATS ? '' : SKIP_NOTE}`, async () => {
    const { code, out } = await run(['--data', path.join(BRATS_DEV, 'Brats18_CBICA_ABM_1')]);
    console.log(out);
    expect(code).toBe(0);
    expect(out).toMatch(/Brats18_CBICA_ABM_1\s+t1\s+240×240×155\s+int16\s+1×1×1\s+LPS/);
    expect(out).toMatch(/seg .* 0:8\.89M 1:3398 2:30\.2k 4:6159/);
    expect(out).toMatch(/no problems/);
  });
});
