#!/usr/bin/env node
// The `segan` command: runs src/cli/main.ts through tsx's loader (TypeScript sources, no build step).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
