// One engine per test file. createEngine() failing (no adapter) fails the file with the set-up
// instruction; GPU tests are never skipped silently.
import { afterAll, beforeAll } from 'vitest';
import { createEngine, type Engine } from '../../src/index.ts';

export function useEngine(): () => Engine {
  let engine: Engine | null = null;
  beforeAll(async () => {
    engine = await createEngine({ seed: 1234 });
  });
  afterAll(async () => {
    await engine?.close();
  });
  return () => {
    if (!engine) throw new Error('engine not created (see the beforeAll error above)');
    return engine;
  };
}
