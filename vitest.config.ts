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
    // XDG_CACHE_HOME: the slice cache's default folder is the tests' own, never the user's.
    // MESA_SHADER_CACHE_DISABLE: no Mesa shader disk cache, so no disk-cache thread in any test process.
    // While the cache was on, a test worker sometimes died silently between files (vitest then stops with "Channel
    // closed"), and earlier runs lost workers with "std::system_error: Invalid argument" or hung in a
    // futex at device teardown while that thread was alive. Shaders are recompiled in each process:
    // slower, measured in docs/reliability.md.
    env: {
      XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
      XDG_CACHE_HOME: join(tmpdir(), `dawngrad-test-cache-${process.pid}`),
      MESA_SHADER_CACHE_DISABLE: 'true',
    },
  },
});
