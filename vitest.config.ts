import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every file drives lavapipe, which already uses every core: run files one at a time.
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // the slice cache's default folder: the tests' own, never the user's. Mesa's shader cache stays
    // where it was before (a fresh, empty shader-cache database per run, written by the test worker
    // and the CLI processes it spawns at once, coincided with workers hanging in Mesa's cache thread
    // at device teardown)
    env: {
      XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
      XDG_CACHE_HOME: join(tmpdir(), `dawngrad-test-cache-${process.pid}`),
      MESA_SHADER_CACHE_DIR:
        process.env.MESA_SHADER_CACHE_DIR ??
        join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mesa_shader_cache'),
    },
  },
});
