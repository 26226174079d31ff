// The `segan` command line's process entry: run one command, set the exit status, and make sure that
// nothing, not even an error thrown outside a command's own code, ends in a stack trace.
import { run } from './run.ts';

const fatal = (e: unknown) => {
  process.stderr.write(`segan: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
};
process.on('uncaughtException', fatal);
// Run by bin/segan.mjs, whose stderr filter is a pipe: keep the progress bar when that stderr is a terminal,
// and end with the parent (it forwards signals; if it is killed, nothing else would stop this process).
const ttyColumns = Number(process.env.DAWNGRAD_STDERR_TTY);
if (ttyColumns > 0) Object.assign(process.stderr, { isTTY: true, columns: ttyColumns });
const parent = Number(process.env.DAWNGRAD_CHILD_OF);
if (parent > 0) {
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  }, 250).unref();
}
process.on('unhandledRejection', fatal);

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, fatal);
