// The error of a command that failed after its checks (exit 1), and the helpers that turn a failure
// into one line naming the command, the option and its value.

/** A failure after the checks (a checkpoint, the data, the disk): exit 1, one line naming the option. */
export class CommandError extends Error {
  override name = 'CommandError';
}

/**
 * A checkpoint error's message without the path the line names already ("checkpoint X: ..." → "the checkpoint ...").
 */
export function withoutCheckpointPath(message: string): string {
  return message.replace(/^(cannot read )?checkpoint \S+?:? /, (_m, read) =>
    read ? 'cannot read it: ' : 'the checkpoint ',
  );
}

/** Run `fn`; a failure becomes one line naming the command, the option and its value. */
export async function naming<T>(cmd: string, flag: string, value: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new CommandError(`segan ${cmd}: --${flag} ${value}: ${withoutCheckpointPath((e as Error).message)}`, {
      cause: e,
    });
  }
}
