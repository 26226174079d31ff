// Writes synthetic phantoms (src/data/synth.ts) as BRATS-layout cases:
// <out>/<case>/<case>_{t1,t1ce,t2,flair,seg}.nii.gz, int16 images and uint8 labels, LPS like BraTS.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createNiftiHeader, writeNifti } from '../data/nifti.ts';
import { generatePhantom, type PhantomOptions } from '../data/synth.ts';

export interface SynthOptions {
  cases: number;
  seed?: number;
  shape?: [number, number, number];
  prefix?: string;
  onCase?: (id: string, index: number) => void;
  phantom?: Omit<PhantomOptions, 'shape'>;
}

export async function writeSyntheticCases(outDir: string, opts: SynthOptions): Promise<string[]> {
  const ids: string[] = [];
  const shape = opts.shape ?? [240, 240, 155];
  for (let i = 0; i < opts.cases; i++) {
    const seed = (opts.seed ?? 1) * 1000 + i;
    const id = `${opts.prefix ?? 'Synth'}_${String(i + 1).padStart(3, '0')}`;
    const p = generatePhantom(seed, { ...opts.phantom, shape, skullStrip: opts.phantom?.skullStrip ?? true });
    const dir = join(outDir, id);
    mkdirSync(dir, { recursive: true });
    // LPS voxel axes (x to the left, y to posterior), as BraTS volumes are stored.
    const [sx, sy, sz] = p.spacing;
    const [ox, oy, oz] = p.origin;
    const affine = [-sx, 0, 0, 0, 0, -sy, 0, 0, 0, 0, sz, 0, -ox, -oy, oz, 1];
    const like = createNiftiHeader(p.shape, affine, { description: `dawngrad synthetic phantom, seed ${seed}` });
    const files: [string, Float32Array | Uint8Array, 'int16' | 'uint8'][] = [
      ['t1', p.images.t1, 'int16'],
      ['t1ce', p.images.t1c, 'int16'],
      ['t2', p.images.t2, 'int16'],
      ['flair', p.images.flair, 'int16'],
      ['seg', p.seg, 'uint8'],
    ];
    for (const [suffix, data, datatype] of files)
      await writeNifti(join(dir, `${id}_${suffix}.nii.gz`), data, { like, datatype });
    ids.push(id);
    opts.onCase?.(id, i);
  }
  return ids;
}
