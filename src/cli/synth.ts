// `segan synth`: BraTS-layout synthetic phantoms (src/segan/synth-cases.ts) for tests and demos.
import { writeSyntheticCases } from '../segan/synth-cases.ts';
import { ensureWritableDir } from '../segan/output.ts';
import type { Values } from './options.ts';
import { naming } from './command-errors.ts';

export async function synthCommand(v: Values): Promise<number> {
  const out = String(v.out);
  await naming('synth', 'out', out, () => ensureWritableDir(out, 'the output folder'));
  const n = v.cases as number;
  const shape = v.shape as [number, number, number];
  const ids = await naming('synth', 'out', out, () =>
    writeSyntheticCases(out, {
      cases: n,
      seed: v.seed as number,
      shape,
      onCase: (id, i) => process.stderr.write(`phantom ${i + 1}/${n}: ${id}\n`),
    }),
  );
  console.log(`wrote ${ids.length} BRATS-layout cases to ${out}`);
  return 0;
}
