// One engine per test file. createEngine() failing (no adapter) fails the file with the set-up
// instruction; GPU tests are never skipped silently.
import { afterAll, beforeAll } from 'vitest';
import { createEngine, type Engine } from '../../src/index.ts';
import { makePolicy, type KernelPolicy, type PlanName } from '../../src/runtime/policy.ts';

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
 * Replace the engine's kernel policy: a plan ('hardware' runs a GPU's kernel choices on lavapipe) or an
 * edit of the current policy. Returns a function that restores the previous one.
 */
export function setPolicy(e: Engine, change: PlanName | ((p: KernelPolicy) => KernelPolicy)): () => void {
  const saved = e.runtime.policy;
  e.runtime.policy = typeof change === 'string' ? makePolicy(e.runtime.report, change) : change(saved);
  return () => {
    e.runtime.policy = saved;
  };
}

/** Run `fn` under a changed kernel policy (see setPolicy); the previous policy is restored afterwards. */
export async function withPolicy<T>(
  e: Engine,
  change: PlanName | ((p: KernelPolicy) => KernelPolicy),
  fn: () => Promise<T>,
): Promise<T> {
  const restore = setPolicy(e, change);
  try {
    return await fn();
  } finally {
    restore();
  }
}
