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

/**
 * Run `fn` with the engine planning as for a hardware GPU (isSoftware false): kernel plans depend on
 * the adapter kind, and this runs a GPU's plan on lavapipe. The flag is restored afterwards.
 */
export async function asHardwareAdapter<T>(e: Engine, fn: () => Promise<T>): Promise<T> {
  const report = e.runtime.report;
  const software = report.isSoftware;
  report.isSoftware = false;
  try {
    return await fn();
  } finally {
    report.isSoftware = software;
  }
}
