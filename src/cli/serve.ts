// `segan serve`: start the web server (src/web/serve.ts), print its address, stop on Ctrl-C.
import { startServer, ServeError } from '../web/serve.ts';
import { CheckpointError } from '../segan/checkpoint.ts';
import type { Values } from './options.ts';
import { CommandError, withoutCheckpointPath } from './command-errors.ts';
import { inferenceOf } from './inference-setup.ts';

export async function serveCommand(v: Values): Promise<number> {
  let server;
  try {
    server = await startServer({
      dataDir: String(v.data),
      checkpoint: String(v.checkpoint),
      host: String(v.host),
      port: v.port as number,
      inference: inferenceOf(v),
    });
  } catch (e) {
    if (e instanceof ServeError) throw new CommandError(`segan serve: ${e.message}`, { cause: e });
    if (e instanceof CheckpointError)
      throw new CommandError(`segan serve: --checkpoint ${String(v.checkpoint)}: ${withoutCheckpointPath(e.message)}`, {
        cause: e,
      });
    throw e;
  }
  console.log(
    `serving ${server.cases.length} case${server.cases.length === 1 ? '' : 's'} ` +
      `at ${server.url} (open it in a browser with WebGPU; Ctrl-C stops)`,
  );
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  console.log('stopped');
  return 0;
}
