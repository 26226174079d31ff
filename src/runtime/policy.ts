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
//   hardware  GPUs: many threads, workgroup-memory tiles for matmul and conv (tiled_*.wgsl, whose
//             tile shape per layer the tuner picks from tileCandidates()), workgroup reduction
//             trees. DAWNGRAD_PLAN=hardware runs this plan on lavapipe (CI does).
import type { AdapterReport } from '../device/gpu.ts';
import { envValue } from '../device/env.ts';
import { tileShort, type TileConfig } from './tuner.ts';

export type PlanName = 'software' | 'hardware';
export type MatmulKernel = 'subgroup' | 'subgroup_wide' | 'register' | 'workgroup';
export type ConvFamily = 'subgroup' | 'portable' | 'tiled';

export type Precision = 'f32' | 'f16';

export interface KernelPolicy {
  plan: PlanName;
  /**
   * 'f16': the conv kernels read float16 copies of their operands and accumulate in float32 (the
   * tiled kernels, whatever the plan: only they have an f16 variant). Everything else stays float32.
   */
  precision: Precision;
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
  /** Tile shapes the tiled kernels (conv family 'tiled', matmul 'workgroup') may use: the tuner's candidates. */
  tiles: readonly TileConfig[];
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

/** Why an adapter cannot run a precision (one line for the user), or null. */
export function precisionProblem(report: AdapterReport, precision: Precision): string | null {
  if (precision === 'f16' && !report.features.includes('shader-f16')) {
    return (
      `precision 'f16' needs the adapter feature 'shader-f16', ` +
      `which ${report.description || report.device || 'this adapter'} ` +
      `does not have: use precision 'f32' (the default)`
    );
  }
  return null;
}

/** The policy for an adapter and a plan ('auto': software adapters get 'software', others 'hardware'). */
export function makePolicy(
  report: AdapterReport,
  plan: PlanName | 'auto' = 'auto',
  precision: Precision = 'f32',
): KernelPolicy {
  const p: PlanName = plan === 'auto' ? defaultPlan(report) : plan;
  const subgroupTiles = canRunSubgroupTiles(report);
  const sg = p === 'software' && subgroupTiles && precision === 'f32';
  return {
    plan: p,
    precision,
    subgroupTiles,
    conv: {
      family: sg ? 'subgroup' : p === 'hardware' || precision === 'f16' ? 'tiled' : 'portable',
      co16: true,
      co4: true,
      xRuns: true,
      wgRows3: true,
    },
    tiles: tileCandidates(report.limits),
    matmul:
      envValue<MatmulKernel>('DAWNGRAD_MATMUL') ?? (sg ? 'subgroup' : p === 'software' ? 'register' : 'workgroup'),
    resize: { x2: true },
    threads: p === 'software' ? { map: 8192, conv: 8192 } : { map: 1 << 22, conv: 1 << 18 },
  };
}

/**
 * Tile shapes of the tiled GEMM kernels (threads wgM × wgN, tm × tn outputs each, k-step tk, 1 or 2
 * workgroup-memory buffers): output tiles from 8×256 (few output channels: SegAN's last layers) to
 * 128×128. Those that do not fit the device's limits (invocations per workgroup, workgroup storage:
 * 4·bufs·tk·(tile rows + tile columns) bytes) are left out, so every candidate runs within WebGPU's
 * defaults unless the adapter grants more.
 */
export const TILE_SHAPES: readonly TileConfig[] = [
  { wgM: 16, wgN: 16, tm: 4, tn: 4, tk: 16, bufs: 1 }, // 64×64
  { wgM: 16, wgN: 16, tm: 4, tn: 4, tk: 32, bufs: 1 }, // 64×64, longer k-step (16 KiB)
  { wgM: 16, wgN: 16, tm: 4, tn: 4, tk: 16, bufs: 2 }, // 64×64, double-buffered (16 KiB)
  { wgM: 16, wgN: 16, tm: 8, tn: 4, tk: 8, bufs: 1 }, // 128×64
  { wgM: 16, wgN: 16, tm: 4, tn: 8, tk: 8, bufs: 1 }, // 64×128
  { wgM: 16, wgN: 16, tm: 8, tn: 8, tk: 8, bufs: 1 }, // 128×128
  { wgM: 16, wgN: 16, tm: 8, tn: 8, tk: 8, bufs: 2 }, // 128×128, double-buffered (16 KiB)
  { wgM: 8, wgN: 16, tm: 4, tn: 4, tk: 16, bufs: 1 }, // 32×64
  { wgM: 4, wgN: 32, tm: 4, tn: 4, tk: 16, bufs: 1 }, // 16×128
  { wgM: 2, wgN: 64, tm: 4, tn: 4, tk: 8, bufs: 1 }, // 8×256
];

export function tileFits(c: TileConfig, limits: Record<string, number>): boolean {
  const wg = c.wgM * c.wgN;
  const bytes = 4 * c.bufs * c.tk * (c.wgM * c.tm + c.wgN * c.tn);
  return (
    wg <= (limits.maxComputeInvocationsPerWorkgroup ?? 256) &&
    wg <= (limits.maxComputeWorkgroupSizeX ?? 256) &&
    bytes <= (limits.maxComputeWorkgroupStorageSize ?? 16384)
  );
}

export function tileCandidates(limits: Record<string, number>): TileConfig[] {
  return TILE_SHAPES.filter((c) => tileFits(c, limits));
}

/**
 * The untuned tile for a GEMM with `rows` output rows (channels): the smallest tile row count that covers them, else
 * 64×64.
 */
export function defaultTile(p: KernelPolicy, rows: number): TileConfig {
  const tiles = p.tiles;
  const byRows = (r: number) => tiles.find((c) => c.wgM * c.tm === r);
  if (rows <= 8 && byRows(8)) return byRows(8)!;
  if (rows <= 16 && byRows(16)) return byRows(16)!;
  if (rows <= 32 && byRows(32)) return byRows(32)!;
  return tiles[0] ?? TILE_SHAPES[0];
}

/** What each kernel family uses under a policy, for `segan info` (family → variant and its settings). */
export function describePolicy(p: KernelPolicy): Record<string, { variant: string; config?: Record<string, unknown> }> {
  const sg = p.conv.family === 'subgroup';
  if (p.conv.family === 'tiled') {
    const tiles = {
      precision: p.precision,
      tiles: p.tiles.map(tileShort),
      untuned: 'the smallest tile covering the output channels (8, 16, 32), else 64x64',
    };
    return {
      'conv2d.forward': { variant: 'conv/tiled_forward', config: tiles },
      'conv2d.dX': { variant: 'conv/tiled_forward (stride-1 phases; conv/transpose for dilated ones)', config: tiles },
      'conv2d.dW': {
        variant: 'conv/tiled_weight_grad (split over pixels)',
        config: { ...tiles, threads: p.threads.conv },
      },
      ...describeRest(p),
    };
  }
  const convCfg = sg ? { co16: p.conv.co16, co4: p.conv.co4, xRuns: p.conv.xRuns } : {};
  return {
    'conv2d.forward': { variant: sg ? 'conv/forward_sg' : 'conv/forward', config: convCfg },
    'conv2d.dX': { variant: sg ? 'conv/forward_sg (stride-1 phases)' : 'conv/transpose', config: convCfg },
    'conv2d.dW': {
      variant: sg ? 'conv/weight_grad_sg' : 'conv/weight_grad',
      config: { ...(sg ? { co16: p.conv.co16, rows3: p.conv.wgRows3 } : {}), threads: p.threads.conv },
    },
    ...describeRest(p),
  };
}

function describeRest(p: KernelPolicy): Record<string, { variant: string; config?: Record<string, unknown> }> {
  return {
    matmul:
      p.matmul === 'workgroup'
        ? {
            variant: 'matmul/workgroup_tile',
            config: { tiles: p.tiles.map(tileShort), untuned: 'the smallest tile covering M (8, 16, 32), else 64x64' },
          }
        : {
            variant: `matmul/${
              p.matmul === 'subgroup'
                ? 'subgroup_tile (subgroup_wide when N > 128)'
                : p.matmul === 'register'
                  ? 'register_tile'
                  : p.matmul
            }`,
          },
    reduce: { variant: p.plan === 'software' ? 'split over chunks, serial tails' : 'workgroup trees' },
    batchnorm: { variant: 'norm/bn_*', config: { lanes: p.plan === 'software' ? 'few (CPU)' : 'many (GPU)' } },
    resize: { variant: p.resize.x2 ? 'resize/bilinear_x2 for exact ×2, else resize/bilinear' : 'resize/bilinear' },
    elementwise: { variant: 'elementwise/map, map_vec4', config: { threads: p.threads.map } },
  };
}
