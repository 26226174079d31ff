// What the training tests share: a temp folder of synthetic cases written once for the file, and the
// tiny model they train (32² slices from 40×40×16 crops, width 1/16, batch 4).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { makeConfig } from '../../src/segan/config.ts';
import { writeSyntheticCases } from '../../src/segan/synth-cases.ts';

/** A temp folder dawngrad-NAME-…; its data/ holds `cases` synthetic cases (typical tumours) before the tests. */
export function syntheticCases(name: string, cases: number, seed: number): { dir: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), `dawngrad-${name}-`));
  const data = join(dir, 'data');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    await writeSyntheticCases(data, { cases, seed, shape: [48, 48, 24], phantom: { tumourSize: 'typical' } });
  });
  return { dir, data };
}

export function tinyConfig(opts: { epochs: number; classes: number; seed: number }) {
  const { epochs, classes, seed } = opts;
  return makeConfig({
    lr: 1e-3,
    epochs,
    batch: 4,
    size: 32,
    volumeCrop: [40, 40, 16],
    seed,
    model: { inChannels: 3, classes, width: 1 / 16, skip: 'add', slope: 0.2, seed },
  });
}
