// The `segan` dispatcher: environment check, option parsing against the command table, then the
// command. Exit status: 0 done, 1 a failure found while working (data, checkpoint, disk, GPU), 2 a bad
// command line or environment (found before anything was opened or written), 130 interrupted.
import { checkEnvironment } from '../device/env.ts';
import {
  CACHE,
  COMMANDS,
  DEMO,
  ENGINE_DEMO,
  EVAL,
  INFO,
  INSPECT,
  PREDICT,
  PROFILE,
  SERVE,
  SYNTH,
  TRAIN,
  TUNE,
} from './commands.ts';
import { commandHelp, parseCommand, suggest, UsageError, type CommandSpec, type Values } from './options.ts';
import { ENV_VARS } from '../device/env.ts';
import { OOM_ADVICE } from '../runtime/pool.ts';

type Impl = (v: Values & { given: Set<string> }, io: Io) => Promise<number> | number;

/** Loaded on demand: `segan help` and a refused command never load the engine. */
const IMPLS: Record<string, () => Promise<Impl>> = {
  // each returns (values, io) => exit status
  [TRAIN.name]: async () => (await import('./train.ts')).trainCommand,
  [EVAL.name]: async () => (await import('./eval.ts')).evalCommand,
  [PREDICT.name]: async () => (await import('./predict.ts')).predictCommand,
  [SERVE.name]: async () => (await import('./serve.ts')).serveCommand,
  [SYNTH.name]: async () => (await import('./synth.ts')).synthCommand,
  [INSPECT.name]: async () => (await import('./inspect.ts')).inspectCommand,
  [CACHE.name]: async () => (await import('./cache.ts')).cacheCommand,
  [PROFILE.name]: async () => (await import('./profile.ts')).profileCommand,
  [TUNE.name]: async () => (await import('./tune.ts')).tuneCommand,
  [INFO.name]: async () => (await import('./info.ts')).infoCommand,
  [DEMO.name]: async () => (await import('./demo.ts')).demoCommand,
  [ENGINE_DEMO.name]: async () => (await import('./engine-demo.ts')).engineDemoCommand,
};

export function overview(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = [
    'segan — SegAN on dawngrad (WebGPU through Dawn, in Node.js)',
    '',
    'Usage: segan COMMAND [options]     segan help COMMAND: its options, ranges and defaults',
    '',
    'Commands:',
  ];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(w)}  ${c.summary.replace(/[.:] .*$|\.$/, '')}`);
  lines.push('', 'Environment:');
  const ew = Math.max(...ENV_VARS.map((e) => e.name.length));
  for (const e of ENV_VARS) lines.push(`  ${e.name.padEnd(ew)}  ${e.help}; ${e.accepts}`);
  lines.push(
    '',
    'Exit status: 0 done, 1 failed while working (data, checkpoint, disk, GPU), 2 bad command line or ' +
      'environment, 130 interrupted.',
  );
  return lines.join('\n') + '\n';
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const processIo: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** Parse and check a command line without running it (tests, the demo's own sub-commands). */
export async function parseCommandLine(
  argv: readonly string[],
): Promise<{ spec: CommandSpec; values: Values & { given: Set<string> } }> {
  const [cmd, ...rest] = argv;
  const spec = COMMANDS.find((c) => c.name === cmd && c.name !== 'help');
  if (!spec) {
    const near = suggest(
      cmd ?? '',
      COMMANDS.map((c) => c.name),
    );
    throw new UsageError(
      `segan: unknown command '${cmd}'${near ? ` (did you mean '${near}'?)` : ''}; 'segan help' lists the commands`,
    );
  }
  return { spec, values: await parseCommand(spec, rest) };
}

/** Run one `segan` command line; returns the exit status. Never throws. */
export async function run(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h') {
    io.out(overview());
    return 0;
  }
  if (cmd === 'help') {
    if (rest.length === 0) {
      io.out(overview());
      return 0;
    }
    const spec = COMMANDS.find((c) => c.name === rest[0]);
    if (!spec || rest.length > 1) {
      const near = suggest(
        rest[0],
        COMMANDS.map((c) => c.name),
      );
      const why =
        rest.length > 1
          ? `one command at a time (got ${rest.join(' ')})`
          : `unknown command '${rest[0]}'${near ? ` (did you mean '${near}'?)` : ''}`;
      io.err(`segan help: ${why}; 'segan help' lists the commands\n`);
      return 2;
    }
    io.out(commandHelp(spec));
    return 0;
  }
  let parsed: Awaited<ReturnType<typeof parseCommandLine>>;
  try {
    parsed = await parseCommandLine(argv);
    if (parsed.values.help) {
      io.out(commandHelp(parsed.spec));
      return 0;
    }
    const env = checkEnvironment();
    for (const w of env.warnings) io.err(`segan: warning: ${w}\n`);
    if (env.errors.length) throw new UsageError(`segan ${cmd}: ${env.errors[0]}`);
  } catch (e) {
    io.err(`${oneLine(e, `segan ${cmd}`)}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
  try {
    const impl = await IMPLS[parsed.spec.name]();
    return await impl(parsed.values, io);
  } catch (e) {
    io.err(`${oneLine(e, `segan ${cmd}`)}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

/** The engine's out-of-memory advice, with the `segan train` flags that act on it. */
const OOM_ADVICE_WITH_FLAGS = OOM_ADVICE.replace(/\.$/, ' (segan train: --batch, --size, --width).');

/** An error as the user sees it: its message, prefixed with the command unless it names it already. */
export function oneLine(e: unknown, prefix: string): string {
  let msg = e instanceof Error ? e.message : String(e);
  if (e instanceof Error && e.name === 'GpuOutOfMemoryError') msg = msg.replace(OOM_ADVICE, OOM_ADVICE_WITH_FLAGS);
  return msg.startsWith('segan') || msg.startsWith('dawngrad:') ? msg : `${prefix}: ${msg}`;
}
