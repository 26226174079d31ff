// interpolate: resampling of NCHW images, bilinear or nearest, with PyTorch's semantics
// (torch.nn.functional.interpolate with recompute_scale_factor=None, as computed by ATen's CPU
// kernels). Planning (sizes, the f32 coordinate scales, the backward's candidate windows) is pure TS;
// the kernels are shaders/resize/{bilinear,nearest}{,_backward}.wgsl, and bilinear{,_backward}_x2.wgsl
// for the exact ×2 upsampling without align_corners (SegAN's decoder). The backward is a gather (one
// thread per input-gradient element), so it needs no atomics and is deterministic.
import { record } from '../autograd/graph.ts';
import { defineUniforms } from '../runtime/uniforms.ts';
import type { PooledBuffer } from '../runtime/pool.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { fmtShape, ShapeError, type Shape } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { assertTensor, output, sameEngine } from './util.ts';
import type { Engine } from '../tensor/engine.ts';

export type InterpolateMode = 'bilinear' | 'nearest';

export interface InterpolateOptions {
  /** Output size [h, w] (a single number means [n, n]). Exactly one of size and scaleFactor. */
  size?: number | readonly [number, number];
  /** Output size floor(in · scaleFactor) per axis; the coordinate map uses 1/scaleFactor. */
  scaleFactor?: number | readonly [number, number];
  mode: InterpolateMode;
  /** Bilinear only (default false). Must be left undefined for 'nearest', as in PyTorch. */
  alignCorners?: boolean;
}

/** One spatial axis of a resize: sizes, the kernel's f32 scale and the backward's window map. */
export interface ResizeAxis {
  inSize: number;
  outSize: number;
  /** Source-index scale, rounded to f32 as PyTorch computes it. */
  scale: number;
  /** Candidate outputs of input i: [floor(inv·i + loOff) − 2, ceil(inv·i + hiOff) + 2]. */
  inv: number;
  loOff: number;
  hiOff: number;
}

export interface ResizePlan {
  mode: InterpolateMode;
  alignCorners: boolean;
  outShape: number[];
  h: ResizeAxis;
  w: ResizeAxis;
}

const OP = 'interpolate';
const MODES: readonly string[] = ['bilinear', 'nearest'];

function fmtValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => String(x)).join(', ')}]`;
  if (typeof v === 'string') return `'${v}'`;
  return String(v);
}

function pair(v: number | readonly number[], what: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [v[0], v[1]];
  throw new TypeError(`${OP}: ${what} must be a number or a pair [h, w], got ${fmtValue(v)}`);
}

function axisPlan(
  mode: InterpolateMode,
  alignCorners: boolean,
  inSize: number,
  outSize: number,
  scaleFactor: number | undefined,
): ResizeAxis {
  const f32 = Math.fround;
  let scale: number;
  if (mode === 'bilinear' && alignCorners) {
    // area_pixel_compute_scale with align_corners: (in − 1)/(out − 1) in f32, 0 for a single output.
    scale = outSize > 1 ? f32((inSize - 1) / (outSize - 1)) : 0;
  } else {
    // compute_scales_value: f32(1.0 / scaleFactor) when a factor was given, else f32(in) / out.
    scale = scaleFactor !== undefined ? f32(1 / scaleFactor) : f32(inSize / outSize);
  }
  // ATen's CPU special cases: an axis whose size is unchanged is copied (bilinear and nearest), and
  // nearest with out == 2·in takes o >> 1. These scales reproduce them exactly in the kernels:
  // src = 1·(o + 0.5) − 0.5 = o, floor(o · 1) = o, floor(o · 0.5) = o >> 1.
  if (outSize === inSize) scale = 1;
  else if (mode === 'nearest' && outSize === 2 * inSize) scale = 0.5;

  const inv = scale > 0 ? 1 / scale : 0;
  let loOff: number;
  let hiOff: number;
  if (mode === 'nearest') {
    // o · scale ∈ [i, i + 1)  <=>  o ∈ [inv·i, inv·(i + 1))
    loOff = 0;
    hiOff = inv;
  } else if (alignCorners) {
    // src = scale·o ∈ [i − 1, i + 1)  <=>  o ∈ [inv·(i − 1), inv·(i + 1))
    loOff = -inv;
    hiOff = inv;
  } else {
    // src = scale·(o + 0.5) − 0.5 ∈ [i − 1, i + 1)
    //   <=>  o ∈ [inv·(i − 0.5) − 0.5, inv·(i + 1.5) − 0.5)
    loOff = -0.5 * inv - 0.5;
    hiOff = 1.5 * inv - 0.5;
  }
  return { inSize, outSize, scale, inv, loOff, hiOff };
}

/** Validate the arguments of interpolate() and work out the output shape and per-axis maps. */
export function planInterpolate(shape: Shape, opts: InterpolateOptions): ResizePlan {
  if (typeof opts !== 'object' || opts === null)
    throw new TypeError(
      `${OP}: expected an options object { size | scaleFactor, mode, alignCorners? }, got ${fmtValue(opts)}`,
    );
  if (shape.length !== 4)
    throw new ShapeError(`${OP}: expected a 4-D NCHW input, got shape ${fmtShape(shape)} (rank ${shape.length})`);
  const { size, scaleFactor, mode, alignCorners } = opts;
  if (typeof mode !== 'string' || !MODES.includes(mode)) {
    throw new TypeError(`${OP}: unknown mode ${fmtValue(mode)} (expected 'bilinear' or 'nearest')`);
  }
  if (alignCorners !== undefined) {
    if (mode !== 'bilinear') {
      throw new TypeError(
        `${OP}: alignCorners can only be set with mode 'bilinear' (got mode '${mode}' ` +
          `with alignCorners ${String(alignCorners)}); leave it undefined for 'nearest'`,
      );
    }
    if (typeof alignCorners !== 'boolean')
      throw new TypeError(`${OP}: alignCorners must be a boolean, got ${fmtValue(alignCorners)}`);
  }
  if (size !== undefined && scaleFactor !== undefined) {
    throw new TypeError(
      `${OP}: give only one of size and scaleFactor (got ` +
        `size ${fmtValue(size)} and scaleFactor ${fmtValue(scaleFactor)})`,
    );
  }
  if (size === undefined && scaleFactor === undefined)
    throw new TypeError(`${OP}: give either size or scaleFactor (got neither) for input ${fmtShape(shape)}`);
  const [n, c, inH, inW] = shape;
  if (inH <= 0 || inW <= 0)
    throw new ShapeError(
      `${OP}: input ${fmtShape(shape)} has an empty spatial axis; input and output sizes must be positive`,
    );

  let out: [number, number];
  let factors: [number, number] | [undefined, undefined] = [undefined, undefined];
  if (size !== undefined) {
    out = pair(size, 'size');
    if (!out.every((d) => Number.isInteger(d) && d > 0)) {
      throw new ShapeError(`${OP}: size must be positive integers, got ${fmtValue(size)} for input ${fmtShape(shape)}`);
    }
  } else {
    const f = pair(scaleFactor!, 'scaleFactor');
    if (!f.every((s) => typeof s === 'number' && Number.isFinite(s) && s > 0)) {
      throw new ShapeError(`${OP}: scaleFactor must be positive and finite, got ${fmtValue(scaleFactor)}`);
    }
    factors = f;
    out = [Math.floor(inH * f[0]), Math.floor(inW * f[1])];
    if (out[0] <= 0 || out[1] <= 0) {
      throw new ShapeError(
        `${OP}: scaleFactor ${fmtValue(scaleFactor)} gives output size ${fmtValue(out)} ` +
          `for input ${fmtShape(shape)}; output sizes must be positive`,
      );
    }
  }
  const align = alignCorners ?? false;
  return {
    mode: mode as InterpolateMode,
    alignCorners: align,
    outShape: [n, c, out[0], out[1]],
    h: axisPlan(mode as InterpolateMode, align, inH, out[0], factors[0]),
    w: axisPlan(mode as InterpolateMode, align, inW, out[1], factors[1]),
  };
}

/** The uniform block every resize kernel reads (shaders/resize/params.wgsl). */
const RESIZE_PARAMS = defineUniforms('ResizeParams', {
  in_h: 'u32',
  in_w: 'u32',
  out_h: 'u32',
  out_w: 'u32',
  planes: { type: 'u32', doc: 'N·C' },
  plane_base: { type: 'u32', doc: 'first plane of this dispatch (grids taller than the z limit)' },
  align_corners: { type: 'u32', doc: 'bilinear only' },
  scale_h: { type: 'f32', doc: 'source-index scale per axis (f32, as PyTorch computes it)' },
  scale_w: 'f32',
  inv_h: { type: 'f32', doc: "the backward's candidate windows (see bilinear_backward.wgsl)" },
  lo_h: 'f32',
  hi_h: 'f32',
  inv_w: 'f32',
  lo_w: 'f32',
  hi_w: 'f32',
});

function params(p: ResizePlan, planes: number, planeBase: number): Uint32Array {
  return RESIZE_PARAMS.pack({
    in_h: p.h.inSize,
    in_w: p.w.inSize,
    out_h: p.h.outSize,
    out_w: p.w.outSize,
    planes,
    plane_base: planeBase,
    align_corners: p.alignCorners ? 1 : 0,
    scale_h: p.h.scale,
    scale_w: p.w.scale,
    inv_h: p.h.inv,
    lo_h: p.h.loOff,
    hi_h: p.h.hiOff,
    inv_w: p.w.inv,
    lo_w: p.w.loOff,
    hi_w: p.w.hiOff,
  });
}

/**
 * Record one resize kernel over a [planes, height, width] grid (the output's for the forward, the
 * input's for the backward). Threads per workgroup: 8 along x (one SIMD row of lavapipe, one 32-byte
 * segment on a GPU), and 8 rows × 4 planes, or 32 rows when there are fewer than 4 planes.
 */
function launch(
  rt: Runtime,
  kernel: string,
  p: ResizePlan,
  planes: number,
  height: number,
  width: number,
  dst: PooledBuffer,
  src: PooledBuffer,
  op: string,
): void {
  if (planes === 0) return;
  const [wx, wy, wz] = planes >= 4 ? [8, 8, 4] : [8, 32, 1];
  const k = rt.kernels.get(`resize/${kernel}`, { WG_X: wx, WG_Y: wy, WG_Z: wz }, `${op}.${kernel}`);
  const maxDim = rt.report.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  const gx = Math.ceil(width / wx);
  const gy = Math.ceil(height / wy);
  // More planes than one dispatch's z limit: several dispatches, each starting at plane_base.
  const planesPer = maxDim * wz;
  for (let base = 0; base < planes; base += planesPer) {
    const gz = Math.ceil(Math.min(planesPer, planes - base) / wz);
    rt.dispatch(k, [dst, src], params(p, planes, base), [gx, gy, gz], op);
  }
}

/**
 * The exact ×2 bilinear upsampling without align_corners (SegAN's decoder): both axes double and
 * the f32 scale is exactly 0.5, so bilinear_x2.wgsl / bilinear_backward_x2.wgsl apply.
 */
function isBilinearX2(e: Engine, p: ResizePlan): boolean {
  return (
    e.runtime.policy.resize.x2 &&
    p.mode === 'bilinear' &&
    !p.alignCorners &&
    [p.h, p.w].every((a) => a.outSize === 2 * a.inSize && a.scale === 0.5)
  );
}

function resizeBackward(g: Tensor, p: ResizePlan, inShape: Shape): Tensor {
  const op = `${OP}.backward`;
  const e = g.engine;
  const dx = output(e, inShape, op);
  const kernel = isBilinearX2(e, p) ? 'bilinear_backward_x2' : `${p.mode}_backward`;
  launch(e.runtime, kernel, p, inShape[0] * inShape[1], p.h.inSize, p.w.inSize, dx.buffer(op), g.buffer(op), op);
  return dx;
}

// Resize an NCHW float32 tensor like torch.nn.functional.interpolate:
// - output size: `size`, or floor(in · scaleFactor) per axis;
// - 'bilinear': src = max(0, (o + 0.5)·scale − 0.5) with scale = 1/scaleFactor (or in/out when a
//   size is given), or src = o·(in − 1)/(out − 1) with alignCorners; two taps per axis;
// - 'nearest' (PyTorch's legacy 'nearest'): src = min(floor(o·scale), in − 1); alignCorners must be
//   left undefined.
// Differentiable in x; the backward is a deterministic gather (no atomics).
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  assertTensor(x, OP);
  const e = sameEngine(OP, x);
  const p = planInterpolate(x.shape, opts);
  const y = output(e, p.outShape, OP);
  if (isBilinearX2(e, p)) {
    // four outputs per thread: the grid is the input's
    launch(
      e.runtime,
      'bilinear_x2',
      p,
      p.outShape[0] * p.outShape[1],
      p.h.inSize,
      p.w.inSize,
      y.buffer(OP),
      x.buffer(OP),
      OP,
    );
  } else {
    launch(
      e.runtime,
      p.mode,
      p,
      p.outShape[0] * p.outShape[1],
      p.h.outSize,
      p.w.outSize,
      y.buffer(OP),
      x.buffer(OP),
      OP,
    );
  }
  return record(y, 'interpolate', [x], (g) => [resizeBackward(g, p, x.shape)]);
}
