// `segan info`: what WebGPU adapter Dawn gives us and what it can do.
import { createEngine } from '../index.ts';
import { fmtBytes } from '../device/bytes.ts';
import { defaultPlan, describePolicy } from '../runtime/policy.ts';
import type { Values } from './options.ts';

export async function infoCommand(flags: Values): Promise<number> {
  const engine = await createEngine();
  try {
    const a = engine.adapter;
    const policy = engine.runtime.policy;
    const kernels = describePolicy(policy);
    const t = engine.runtime.tuner;
    const tuning = { mode: t.mode, file: t.file, recorded: t.mode === 'off' ? 0 : t.recorded.size };
    if (flags.json) {
      process.stdout.write(JSON.stringify({ ...a, plan: policy.plan, kernels, tuning }, null, 2) + '\n');
      return 0;
    }
    const kind = a.isSoftware ? 'software (CPU) adapter' : 'hardware adapter';
    const planNote =
      policy.plan === defaultPlan(a)
        ? ` (the default for a ${a.isSoftware ? 'software' : 'hardware'} adapter)`
        : ' (DAWNGRAD_PLAN)';
    const offNote = a.isSoftware
      ? ' (the default on a software adapter; DAWNGRAD_TUNE=on times the tiled kernels)'
      : ' (DAWNGRAD_TUNE)';
    const tuningNote =
      tuning.mode === 'off'
        ? offNote
        : `, ${tuning.recorded} shape${tuning.recorded === 1 ? '' : 's'} tuned in ${tuning.file} (segan tune)`;
    const lines = [
      `adapter      ${a.description || a.device || '(unnamed)'}`,
      `vendor       ${a.vendor || '-'}   architecture ${a.architecture || '-'}   ${kind}`,
      `backend      ${a.backend}`,
      `features     ${a.features.join(', ') || '(none)'}`,
      `plan         ${policy.plan}${planNote}`,
      `tuning       ${tuning.mode}${tuningNote}`,
      'kernels',
      ...Object.entries(kernels).map(
        ([k, v]) =>
          `  ${k.padEnd(16)} ${v.variant}` +
          (v.config && Object.keys(v.config).length ? `  ${JSON.stringify(v.config)}` : ''),
      ),
      'limits',
      ...Object.entries(a.limits).map(
        ([k, v]) => `  ${k.padEnd(36)} ${/Size$/.test(k) && v > 65536 ? `${v} (${fmtBytes(v)})` : v}`,
      ),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  } finally {
    await engine.close();
  }
}
