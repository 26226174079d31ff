// The `segan` command line: demo, train, eval, predict, inspect, synth, profile, info, engine-demo.
import { infoCommand } from './info.ts';
import { demoCommand } from './demo.ts';
import { evalCommand, predictCommand, synthCommand, trainCommand } from './segan-commands.ts';
import { inspectCommand } from './inspect.ts';
import { seganDemoCommand } from './segan-demo.ts';
import { profileCommand } from './profile.ts';

const HELP = `segan — SegAN on dawngrad (WebGPU through Dawn, in Node.js)

Usage:
  segan demo                   synthetic data → a few minutes of training → eval → predict
  segan train --data DIR [--preset code|paper] [--epochs N] [--batch B] [--resume FILE [--lr LR]]
              [--width W] [--size S] [--classes 1|3] [--run NAME] [--max-steps N]
              [--on-nan stop|skip] [--max-skips N]   a NaN/Inf loss or gradient: stop, or skip
                                                    the batch (stop after N skips in a row)
  segan eval --data DIR --checkpoint FILE [--cases A,B] [--out DIR]
  segan predict --checkpoint FILE --case DIR --out seg.nii.gz
  segan inspect --data DIR [--json]   check BRATS data before a long run (exit 1 on problems)
  segan synth --out DIR --cases N [--shape 240x240x155]   BRATS-layout synthetic phantoms
  segan profile [--batch B] [--width W] [--size S]      per-kernel GPU times of one D+G step
  segan info [--json]          the WebGPU adapter, backend, limits and features
  segan engine-demo            a small engine demo: a 2-layer network trained on the GPU
  segan help                   this text

Environment:
  DAWNGRAD_BACKEND   Dawn backend (vulkan, metal, d3d12, ...)
  DAWNGRAD_ADAPTER   adapter name as Dawn lists it (an unknown name prints the list)
  DAWNGRAD_MEMORY_LIMIT   most GPU memory the engine may hold, e.g. 6GiB (default: the device's)
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'info':
      return infoCommand(rest);
    case 'demo':
      return seganDemoCommand(rest);
    case 'profile':
      return profileCommand(rest);
    case 'engine-demo':
      return demoCommand(rest);
    case 'train':
      return trainCommand(rest);
    case 'eval':
      return evalCommand(rest);
    case 'predict':
      return predictCommand(rest);
    case 'synth':
      return synthCommand(rest);
    case 'inspect':
      return inspectCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`segan: unknown command '${cmd}'\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`segan: ${err.message}\n`);
    process.exitCode = 1;
  },
);
