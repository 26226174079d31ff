// Kernel choice as data: one KernelPolicy per engine says which kernel variant each family uses and
// how many threads the grid-stride kernels launch. It is built once from the adapter's facts (software
// or not, subgroups, limits) and the overrides (createEngine({ plan }), DAWNGRAD_PLAN, DAWNGRAD_MATMUL);
// ops read it and decide nothing else. Tests and benchmarks switch variants by editing an engine's
// policy (withPolicy), never adapter facts or module globals.
//
// Two plans:
//   software  CPU adapters (lavapipe, SwiftShader): few threads (one per core's SIMD lane group does the
//             work), register tiles without workgroup memory, and on lavapipe with subgroups the
//             subgroup kernels (conv *_sg.wgsl, matmul subgroup tiles), which need 8- or 16-lane
//             subgroups of consecutive invocations that WebGPU does not promise elsewhere.
//   hardware  GPUs: many threads, workgroup-memory matmul tiles, workgroup reduction trees, the
//             portable conv kernels. DAWNGRAD_PLAN=hardware runs this plan on lavapipe (CI does).
import type { AdapterReport } from '../device/gpu.ts';
import { envValue } from '../device/env.ts';

export type PlanName = 'software' | 'hardware';
export type MatmulKernel = 'subgroup' | 'subgroup_wide' | 'register' | 'workgroup';
export type ConvFamily = 'subgroup' | 'portable';

export interface KernelPolicy {
  plan: PlanName;
  /** The adapter can run the subgroup tile kernels (lavapipe with 'subgroups'); the plan may still not use them. */
  subgroupTiles: boolean;
  conv: {
    family: ConvFamily;
    /** Subgroup kernels: 16 output channels per thread when Cout > 8 (else 8). */
    co16: boolean;
    /** forward_sg: a 4-channel tile for Cout ≤ 4. */
    co4: boolean;
    /** Subgroup kernels: read rows of x as runs (vec4 or scalar) instead of per-tap loads. */
    xRuns: boolean;
    /** weight_grad_sg: one kernel row per thread for 3-wide kernels too. */
    wgRows3: boolean;
  };
  matmul: MatmulKernel;
  /** interpolate: the exact ×2 bilinear kernels (SegAN's decoder) instead of the general one. */
  resize: { x2: boolean };
  /** Most threads a grid-stride launch uses: elementwise maps, conv dW chunks. */
  threads: { map: number; conv: number };
}

/** The plan an adapter gets by default. */
export function defaultPlan(report: AdapterReport): PlanName {
  return report.isSoftware ? 'software' : 'hardware';
}

/** Whether the subgroup tile kernels can run on this adapter (see the file comment). */
export function canRunSubgroupTiles(report: AdapterReport): boolean {
  return /llvmpipe|lavapipe/i.test(report.description) && report.features.includes('subgroups');
}

/** The policy for an adapter and a plan ('auto': software adapters get 'software', others 'hardware'). */
export function makePolicy(report: AdapterReport, plan: PlanName | 'auto' = 'auto'): KernelPolicy {
  const p: PlanName = plan === 'auto' ? defaultPlan(report) : plan;
  const subgroupTiles = canRunSubgroupTiles(report);
  const sg = p === 'software' && subgroupTiles;
  return {
    plan: p,
    subgroupTiles,
    conv: { family: sg ? 'subgroup' : 'portable', co16: true, co4: true, xRuns: true, wgRows3: true },
    matmul: envValue<MatmulKernel>('DAWNGRAD_MATMUL') ?? (sg ? 'subgroup' : p === 'software' ? 'register' : 'workgroup'),
    resize: { x2: true },
    threads: p === 'software' ? { map: 8192, conv: 8192 } : { map: 1 << 22, conv: 1 << 16 },
  };
}

/** What each kernel family uses under a policy, for `segan info` (family → variant and its settings). */
export function describePolicy(p: KernelPolicy): Record<string, { variant: string; config?: Record<string, unknown> }> {
  const sg = p.conv.family === 'subgroup';
  const convCfg = sg ? { co16: p.conv.co16, co4: p.conv.co4, xRuns: p.conv.xRuns } : {};
  return {
    'conv2d.forward': { variant: sg ? 'conv/forward_sg' : 'conv/forward', config: convCfg },
    'conv2d.dX': { variant: sg ? 'conv/forward_sg (stride-1 phases)' : 'conv/transpose', config: convCfg },
    'conv2d.dW': { variant: sg ? 'conv/weight_grad_sg' : 'conv/weight_grad', config: { ...(sg ? { co16: p.conv.co16, rows3: p.conv.wgRows3 } : {}), threads: p.threads.conv } },
    matmul: { variant: `matmul/${p.matmul === 'subgroup' ? 'subgroup_tile (subgroup_wide when N > 128)' : p.matmul === 'workgroup' ? 'workgroup_tile' : p.matmul === 'register' ? 'register_tile' : p.matmul}` },
    reduce: { variant: p.plan === 'software' ? 'split over chunks, serial tails' : 'workgroup trees' },
    batchnorm: { variant: 'norm/bn_*', config: { lanes: p.plan === 'software' ? 'few (CPU)' : 'many (GPU)' } },
    resize: { variant: p.resize.x2 ? 'resize/bilinear_x2 for exact ×2, else resize/bilinear' : 'resize/bilinear' },
    elementwise: { variant: 'elementwise/map, map_vec4', config: { threads: p.threads.map } },
  };
}
