// The convolution kernels' uniform layouts and the geometry types their launchers share
// (src/ops/conv.ts, src/ops/conv-tiled.ts).
import { defineUniforms } from '../runtime/uniforms.ts';
import type { Tensor } from '../tensor/tensor.ts';

// ---- uniform layouts (shaders/conv/*.wgsl say //#uniforms NAME) -------------------------------------

/** The convolution geometry every conv kernel reads, in the kernels' field names. */
const GEOMETRY = {
  kh: 'u32',
  kw: 'u32',
  sh: 'u32',
  sw: 'u32',
  ph: { type: 'u32', doc: 'leading padding (top)' },
  pw: { type: 'u32', doc: 'leading padding (left)' },
  dh: 'u32',
  dw: 'u32',
} as const;

/** The input and output sizes every conv kernel reads but weight_layout.wgsl. */
const SIZES = {
  N: 'u32',
  Cin: 'u32',
  H: { type: 'u32', doc: 'x: [N, Cin, H, W]' },
  W: 'u32',
  Cout: 'u32',
  OH: { type: 'u32', doc: 'the output grid (y or dy: [N, Cout, OH, OW])' },
  OW: 'u32',
} as const;

/** forward.wgsl and forward_sg.wgsl (forward.wgsl ignores the out_* fields: its grid is y's). */
export const CONV_FORWARD = defineUniforms('ConvForward', {
  ...SIZES,
  co_groups: { type: 'u32', doc: 'output-channel groups of the grid (forward.wgsl: ceil(Cout / 8))' },
  ...GEOMETRY,
  cout_pad: { type: 'u32', doc: "row length of wt (Cout padded to the kernel's channel tile)" },
  act: { type: 'u32', doc: '0 none, 1 ReLU, 2 LeakyReLU' },
  slope: 'f32',
  has_bias: 'u32',
  out_sh: {
    type: 'u32',
    doc: 'forward_sg: output pixel (oy, ox) goes to row oy·out_sh + out_ry, column ox·out_sw + out_rx',
  },
  out_sw: 'u32',
  out_ry: 'u32',
  out_rx: 'u32',
  out_h: { type: 'u32', doc: "y's height and width (a plain conv: OH, OW; a transposed conv's phase: the whole y)" },
  out_w: 'u32',
  grid_x: { type: 'u32', doc: 'tiled_forward: workgroups along x (pixel tiles past them continue in z)' },
});

/** transpose.wgsl (a transposed conv in gather form, also conv2d's dX). */
export const CONV_TRANSPOSE = defineUniforms('ConvTranspose', {
  ...SIZES,
  co_groups: { type: 'u32', doc: 'ceil(Cout / 8)' },
  ...GEOMETRY,
  cout_pad: 'u32',
  has_bias: 'u32',
  qh: { type: 'u32', doc: 'rows per phase: ceil(OH / sh)' },
  qw: { type: 'u32', doc: 'columns per phase: ceil(OW / sw)' },
});

/** weight_grad.wgsl and weight_grad_sg.wgsl. */
export const CONV_WEIGHT_GRAD = defineUniforms('ConvWeightGrad', {
  ...SIZES,
  taps: { type: 'u32', doc: 'Cin·kh·kw' },
  ...GEOMETRY,
  rows_per_chunk: { type: 'u32', doc: 'image rows (n, oy) per partial' },
  pixels_per_chunk: { type: 'u32', doc: 'tiled_weight_grad: output pixels per partial' },
});

/** weight_layout.wgsl. */
export const WEIGHT_LAYOUT = defineUniforms('WeightLayout', {
  count: { type: 'u32', doc: 'rows · cout_pad / 4' },
  grid_x: 'u32',
  c4: { type: 'u32', doc: 'cout_pad / 4' },
  Cout: 'u32',
  nr: { type: 'u32', doc: 'taps per kernel row in wt' },
  nc: { type: 'u32', doc: 'taps per kernel column in wt' },
  s_ci: { type: 'u32', doc: "stride of w's input-channel axis" },
  s_co: { type: 'u32', doc: "stride of w's output-channel axis" },
  kw: { type: 'u32', doc: "w's kernel width (row stride of its taps)" },
  r0: { type: 'i32', doc: "w's kernel row for wt's tap row i: r0 + i·rstep" },
  rstep: 'i32',
  c0: { type: 'i32', doc: 'and column: c0 + j·cstep' },
  cstep: 'i32',
});

/** Kernel geometry: sizes along h and w, padding as leading (top/left) and trailing (bottom/right). */
export interface ConvGeometry {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pb: number;
  pl: number;
  pr: number;
  dh: number;
  dw: number;
}

/** The grid of one forward-kernel dispatch (a whole conv, or one phase of a transposed conv). */
export interface SgGrid {
  /** Kernel rows and columns as the matrix wt holds them, stride, leading padding, dilation. */
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
  /** The grid of output pixels this dispatch computes. */
  OH: number;
  OW: number;
  /** Where pixel (oy, ox) of that grid goes in y [N, Cout, outH, outW]: (oy·outSh + ry, ox·outSw + rx). */
  outSh: number;
  outSw: number;
  ry: number;
  rx: number;
}

/** GEOMETRY's values: kernel size, stride, leading padding, dilation. */
export type GeometryValues = Pick<SgGrid, 'kh' | 'kw' | 'sh' | 'sw' | 'ph' | 'pw' | 'dh' | 'dw'>;

/** GEOMETRY's values of a convolution's kernel geometry (its leading padding: top and left). */
export function convGeometry(g: ConvGeometry): GeometryValues {
  return { kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, ph: g.pt, pw: g.pl, dh: g.dh, dw: g.dw };
}

/** GEOMETRY's values of one forward-kernel dispatch's grid. */
export function gridGeometry(g: SgGrid): GeometryValues {
  return { kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, ph: g.ph, pw: g.pw, dh: g.dh, dw: g.dw };
}

/** What a forward dispatch adds to its grid: wt's row length, bias, activation and its grid layout. */
export interface ForwardLaunch {
  coutPad: number;
  hasBias: boolean;
  act: number;
  slope: number;
  /** forward_sg: output-channel groups of the grid; tiled_forward: 0. */
  coGroups: number;
  /** tiled_forward: workgroups along x; forward_sg: 0. */
  gridX: number;
}

/** One forward-kernel dispatch: x [N, Cin, H, W] ⊛ wt [Cin·kh·kw, coutPad] over grid g into (part of) y. */
export interface ForwardDispatch {
  y: Tensor;
  x: Tensor;
  wt: Tensor;
  coutPad: number;
  bias: Tensor | null;
  g: SgGrid;
  act: number;
  slope: number;
  op: string;
}

/** SIZES' values: x [N, Cin, H, W] and the output grid y (or dy) [N, Cout, OH, OW]. */
function sizes(xShape: readonly number[], yShape: readonly number[]) {
  const [N, Cin, H, W] = xShape;
  const [, Cout, OH, OW] = yShape;
  return { N, Cin, H, W, Cout, OH, OW };
}

/** CONV_FORWARD packed for one dispatch of grid g: x [N, Cin, H, W] into y [N, Cout, outH, outW]. */
export function packForward(
  xShape: readonly number[],
  yShape: readonly number[],
  g: SgGrid,
  f: ForwardLaunch,
): Uint32Array {
  return CONV_FORWARD.pack({
    ...sizes(xShape, yShape),
    OH: g.OH,
    OW: g.OW,
    co_groups: f.coGroups,
    ...gridGeometry(g),
    cout_pad: f.coutPad,
    act: f.act,
    slope: f.slope,
    has_bias: f.hasBias ? 1 : 0,
    out_sh: g.outSh,
    out_sw: g.outSw,
    out_ry: g.ry,
    out_rx: g.rx,
    out_h: yShape[2],
    out_w: yShape[3],
    grid_x: f.gridX,
  });
}

/** CONV_WEIGHT_GRAD packed: x [N, Cin, H, W] and dy [N, Cout, OH, OW], split into partials by rows or pixels. */
export function packWeightGrad(
  xShape: readonly number[],
  dyShape: readonly number[],
  g: ConvGeometry,
  chunk: { rowsPerChunk: number; pixelsPerChunk: number },
): Uint32Array {
  return CONV_WEIGHT_GRAD.pack({
    ...sizes(xShape, dyShape),
    taps: xShape[1] * g.kh * g.kw,
    ...convGeometry(g),
    rows_per_chunk: chunk.rowsPerChunk,
    pixels_per_chunk: chunk.pixelsPerChunk,
  });
}
