#!/usr/bin/env node
// The `segan` command itself: src/cli/main.ts through tsx's loader (TypeScript sources, no build step).
// bin/segan.mjs runs this file in a child process so that it can filter Dawn's native warnings.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
