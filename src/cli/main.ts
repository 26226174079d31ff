// The `segan` command line. Subcommands: info, demo (more arrive with the SegAN model).
import { infoCommand } from './info.ts';
import { demoCommand } from './demo.ts';

const HELP = `segan — SegAN on dawngrad (WebGPU through Dawn, in Node.js)

Usage:
  segan info [--json]          the WebGPU adapter, backend, limits and features
  segan demo [--steps N]       a small engine demo: train a 2-layer network on the GPU
  segan help                   this text

Environment:
  DAWNGRAD_BACKEND   Dawn backend (vulkan, metal, d3d12, ...)
  DAWNGRAD_ADAPTER   adapter name as Dawn lists it (an unknown name prints the list)
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'info':
      return infoCommand(rest);
    case 'demo':
      return demoCommand(rest);
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
