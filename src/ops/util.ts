// Small helpers shared by the op files: views of tensors, output allocation, argument checks.
import type { View } from '../runtime/map.ts';
import { defaultTile } from '../runtime/policy.ts';
import type { TileConfig } from '../runtime/tuner.ts';
import type { Engine } from '../tensor/engine.ts';
import { broadcastStrides, contiguousStrides, type Shape } from '../tensor/shape.ts';
import { Tensor } from '../tensor/tensor.ts';

/** The whole tensor as a dense row-major view. */
export function dense(t: Tensor, op: string): View {
  return { buffer: t.buffer(op), offset: 0, strides: contiguousStrides(t.shape) };
}

/** The tensor read as if broadcast to `shape`. */
export function broadcastView(t: Tensor, shape: Shape, op: string): View {
  return { buffer: t.buffer(op), offset: 0, strides: broadcastStrides(t.shape, shape) };
}

export function output(engine: Engine, shape: Shape, op: string): Tensor {
  return engine.empty(shape, {}, op);
}

export function assertTensor(x: unknown, op: string, what = 'input'): asserts x is Tensor {
  if (!(x instanceof Tensor))
    throw new TypeError(`${op}: ${what} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
}

export function sameEngine(op: string, ...ts: Tensor[]): Engine {
  const e = ts[0].engine;
  for (const t of ts) if (t.engine !== e) throw new Error(`${op}: tensors belong to different engines`);
  if (e.runtime.isClosed) throw new Error(`${op}: the engine is closed`);
  return e;
}

export function assertFinite(op: string, name: string, v: number): void {
  if (typeof v !== 'number' || Number.isNaN(v))
    throw new TypeError(`${op}: ${name} must be a number, got ${String(v)}`);
}

/**
 * The tile for one tiled-kernel launch (conv family 'tiled', matmul 'workgroup'): `forced` (the tuner
 * timing a candidate), the only candidate when there is one, else the tuner's choice for the shape,
 * else the policy's default for `rows` output rows (and the shape is queued for timing: `launch`
 * reruns the same computation on random inputs of `shapes` with a given tile).
 */
export function chooseTile(
  e: Engine,
  family: string,
  key: string,
  rows: number,
  shapes: readonly (readonly number[])[],
  launch: (inputs: Tensor[], c: TileConfig) => Tensor,
  forced: TileConfig | undefined,
): TileConfig {
  if (forced) return forced;
  const p = e.runtime.policy;
  if (p.tiles.length === 1) return p.tiles[0];
  return e.runtime.tuner.choose(family, key, defaultTile(p, rows), {
    candidates: p.tiles,
    setup: () => {
      const inputs = shapes.map((s, i) => e.randn([...s], { seed: 101 + i }));
      return { run: (c) => launch(inputs, c).dispose(), dispose: () => inputs.forEach((t) => t.dispose()) };
    },
  });
}
