// `segan info`: what WebGPU adapter Dawn gives us and what it can do.
import { createEngine } from '../index.ts';
import { fmtBytes } from '../runtime/pool.ts';
import type { Values } from './options.ts';

export async function infoCommand(flags: Values): Promise<number> {
  const engine = await createEngine();
  try {
    const a = engine.adapter;
    if (flags.json) {
      process.stdout.write(JSON.stringify(a, null, 2) + '\n');
      return 0;
    }
    const lines = [
      `adapter      ${a.description || a.device || '(unnamed)'}`,
      `vendor       ${a.vendor || '-'}   architecture ${a.architecture || '-'}   ${a.isSoftware ? 'software (CPU) adapter' : 'hardware adapter'}`,
      `backend      ${a.backend}`,
      `features     ${a.features.join(', ') || '(none)'}`,
      'limits',
      ...Object.entries(a.limits).map(([k, v]) => `  ${k.padEnd(36)} ${/Size$/.test(k) && v > 65536 ? `${v} (${fmtBytes(v)})` : v}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  } finally {
    await engine.close();
  }
}
