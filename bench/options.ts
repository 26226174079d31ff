// The benchmarks' settings, declared like the CLI's (src/cli/options.ts): the BENCH_* environment
// variables of `npm run bench` and the flags of the stand-alone scripts. A bad value stops the
// benchmark before it opens a device: one line naming the setting, exit status 2.
import {
  allowed,
  parseCommand,
  parseValue,
  UsageError,
  type CommandSpec,
  type OptionSpec,
  type Values,
} from '../src/cli/options.ts';

/** BENCH_* variables; `name` is the variable. Lists are comma-separated. */
export const BENCH_ENV: OptionSpec[] = [
  { name: 'BENCH_SUITES', type: 'list', help: 'which suites: kernels, layers, batchnorm, model, jax' },
  { name: 'BENCH_BATCHES', type: 'list', help: 'batch sizes of the whole-model suites' },
  { name: 'BENCH_WIDTHS', type: 'list', help: 'model widths of the model suite' },
  { name: 'BENCH_JAX_WIDTHS', type: 'list', help: 'model widths of the jax suite' },
  { name: 'BENCH_SIZE', type: 'int', min: 16, max: 1024, multipleOf: 16, help: 'input size' },
  { name: 'BENCH_BATCH', type: 'int', min: 1, max: 1024, help: 'batch of the layer suites' },
  { name: 'BENCH_TFJS', type: 'enum', values: ['0', '1'], help: '0 skips the TF.js peer' },
  {
    name: 'BENCH_TORCH',
    type: 'enum',
    values: ['0', '1'],
    help: '0 skips the PyTorch-on-the-CPU peer of the model suite (CPU adapters)',
  },
  { name: 'BENCH_SAMPLES', type: 'int', min: 1, max: 10000, help: "benny's minimum samples" },
  { name: 'BENCH_MAX_TIME', type: 'number', above: 0, max: 3600, help: "benny's time per case (s)" },
  { name: 'BENCH_ONLY', type: 'string', help: 'a regular expression: the layer cases to run' },
  { name: 'BENCH_REPEAT', type: 'int', min: 1, max: 100, help: 'runs of the kernels suite' },
  { name: 'BENCH_JAX_REPS', type: 'int', min: 1, max: 1000, help: 'repetitions in the jax suite' },
];

const SUITES = ['kernels', 'layers', 'batchnorm', 'model', 'jax'];
const positiveNumbers = (raw: string) => raw.split(',').every((s) => /^\d*\.?\d+(e-?\d+)?$/i.test(s) && Number(s) > 0);

/** Every BENCH_* variable that is set, checked; the first bad one is a UsageError. */
export function checkBenchEnv(env: Record<string, string | undefined> = process.env): void {
  for (const o of BENCH_ENV) {
    const raw = env[o.name];
    if (raw === undefined) continue;
    const bad = (what: string) => new UsageError(`npm run bench: ${o.name} must be ${what} (got '${raw}')`);
    if (o.name === 'BENCH_SUITES') {
      if (!raw.split(',').every((s) => SUITES.includes(s))) throw bad(`a comma-separated list of ${SUITES.join(', ')}`);
    } else if (o.type === 'list') {
      if (!positiveNumbers(raw)) throw bad('a comma-separated list of positive numbers');
    } else if (o.name === 'BENCH_ONLY') {
      try {
        new RegExp(raw);
      } catch {
        throw bad('a valid regular expression');
      }
    } else {
      try {
        parseValue('bench', o, raw);
      } catch {
        throw bad(allowed(o));
      }
    }
  }
}

/** A stand-alone benchmark script's flags; exits 2 with one line on a bad one. */
export async function benchFlags(spec: CommandSpec, argv = process.argv.slice(2)): Promise<Values> {
  try {
    checkBenchEnv();
    const v = await parseCommand(spec, argv);
    if (v.help) {
      const { commandHelp } = await import('../src/cli/options.ts');
      process.stdout.write(commandHelp(spec).replace(/^segan /, 'tsx bench/'));
      process.exit(0);
    }
    return v;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
}
