import { tmpdir } from 'node:os';
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
    // the slice cache's default folder: the tests' own, never the user's
    env: { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', XDG_CACHE_HOME: join(tmpdir(), `dawngrad-test-cache-${process.pid}`) },
  },
});
