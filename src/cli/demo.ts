// `segan demo` (the README's main command): synthetic BRATS-layout phantoms → a few minutes of SegAN
// training on them → 3-D evaluation on held-out phantoms → a predicted label volume, all outputs listed.
// Sized for a CPU adapter (lavapipe): a small model (width 1/8) on 64×64 crops of 96×96×48 phantoms.
// Each stage is a `segan` command line, parsed and checked like the user's own.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Values } from './options.ts';
import { run } from './run.ts';

export async function demoCommand(f: Values): Promise<number> {
  const out = resolve(String(f.out));
  const data = join(out, 'data');
  const cases = f.cases as number;
  const t0 = performance.now();
  if (existsSync(out) && !f.keep) rmSync(out, { recursive: true, force: true });
  console.log(`== 1/4 synthetic data: ${cases} phantoms (96×96×48) in ${data}`);
  if (!existsSync(data)) {
    const rc = await run(['synth', '--out', data, '--cases', String(cases), '--shape', '96x96x48']);
    if (rc !== 0) return rc;
  }
  const ids = readdirSync(data)
    .filter((d) => d.startsWith('Synth_'))
    .sort();
  const val = ids.slice(-2);
  console.log(`\n== 2/4 training (validation cases: ${val.join(', ')})`);
  const trainArgs = [
    'train',
    '--data',
    data,
    '--runs',
    out,
    '--run',
    'train',
    '--width',
    String(f.width),
    '--size',
    '64',
    '--crop',
    '72x72x32',
    '--classes',
    String(f.classes),
    '--batch',
    '8',
    '--epochs',
    String(f.epochs),
    '--lr',
    '0.001',
    '--log-every',
    '16',
    '--checkpoint-every',
    '1000',
    '--val-cases',
    val.join(','),
    '--cache',
    join(out, 'cache'),
    ...(f.keep ? ['--overwrite'] : []),
  ];
  let rc = await run(trainArgs);
  if (rc !== 0) return rc;
  const ckpt = join(out, 'train', 'checkpoints', 'latest.safetensors');
  console.log(`\n== 3/4 evaluation in 3-D on ${val.join(', ')}`);
  rc = await run([
    'eval',
    '--data',
    data,
    '--checkpoint',
    ckpt,
    '--cases',
    val.join(','),
    '--out',
    join(out, 'eval'),
    '--cache',
    join(out, 'cache'),
  ]);
  if (rc !== 0) return rc;
  console.log(`\n== 4/4 prediction for ${val[0]}`);
  const seg = join(out, `${val[0]}_pred.nii.gz`);
  rc = await run([
    'predict',
    '--checkpoint',
    ckpt,
    '--case',
    join(data, val[0]),
    '--out',
    seg,
    '--cache',
    join(out, 'cache'),
  ]);
  if (rc !== 0) return rc;
  const list = (dir: string, indent = '  '): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
      d.isDirectory()
        ? d.name === 'data' || d.name === 'cache'
          ? [`${indent}${d.name}/ ...`]
          : [`${indent}${d.name}/`, ...list(join(dir, d.name), indent + '  ')]
        : [`${indent}${d.name}`],
    );
  console.log(
    `\ndone in ${((performance.now() - t0) / 60000).toFixed(1)} min. Outputs in ${out}:\n${list(out).join('\n')}`,
  );
  return 0;
}
