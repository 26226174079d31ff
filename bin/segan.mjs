#!/usr/bin/env node
// The `segan` command. Dawn's native code prints two "maxDynamic…BuffersPerPipelineLayout artificially
// reduced" warnings straight to file descriptor 2 whenever it creates an adapter (it clamps limits that
// lavapipe and most drivers report as huge); requesting other limits does not prevent them and no
// JavaScript hook sees them. So the command runs in a child process (bin/segan-child.mjs) whose
// stderr passes through here, less those two lines. The child gets its own process group: every
// signal reaches it exactly once, forwarded from here (Ctrl-C twice still means "quit at once"), and
// it ends itself if this process is killed. DAWNGRAD_RAW_STDERR=1 runs the command in this process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./segan-child.mjs', import.meta.url));
if (process.env.DAWNGRAD_RAW_STDERR === '1') {
  await import(child);
} else {
  const tty = process.stderr.isTTY ? String(process.stderr.columns || 80) : '';
  const proc = spawn(process.execPath, [...process.execArgv, child, ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'pipe'],
    // DAWNGRAD_STARTED_AT: when the user's command started (segan train --max-minutes counts from it)
    env: {
      ...process.env,
      DAWNGRAD_CHILD_OF: String(process.pid),
      DAWNGRAD_STARTED_AT: String(Math.round(performance.timeOrigin)),
      ...(tty ? { DAWNGRAD_STDERR_TTY: tty } : {}),
    },
    detached: true,
  });
  const DAWN_WARNING = new RegExp(
    /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced /.source +
      /from \d+ to \d+ to fit dynamic offset allocation limit\.\r?$/.source,
  );
  let pending = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    const keep = lines.filter((l) => !DAWN_WARNING.test(l));
    if (keep.length) process.stderr.write(keep.join('\n') + '\n');
    // a partial line (a progress bar redraws with '\r', no newline) goes on at once unless it may be a warning
    const head = 'Warning: maxDynamic';
    if (pending && !pending.startsWith(head) && !head.startsWith(pending)) {
      process.stderr.write(pending);
      pending = '';
    }
  });
  proc.stderr.on('end', () => {
    if (pending && !DAWN_WARNING.test(pending)) process.stderr.write(pending);
  });
  const forward = (sig) => () => {
    try {
      proc.kill(sig);
    } catch {
      /* already gone */
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']) process.on(sig, forward(sig));
  proc.on('error', (e) => {
    process.stderr.write(`segan: cannot start ${child}: ${e.message}\n`);
    process.exit(1);
  });
  proc.on('close', (code, signal) => {
    if (signal) {
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']) process.removeAllListeners(sig);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}
