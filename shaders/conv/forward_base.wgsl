// forward_base.wgsl — what the implicit-GEMM conv2d forward kernels (forward.wgsl, forward_sg.wgsl)
// share: the uniform block ConvForward, the bindings 0–4 (uniforms; y, written; x; the
// pre-transposed weights wt[k, co] as vec4 of 4 output channels; bias), the fused activation
// (activate.wgsl) and the input of one kernel row at four neighbouring output pixels, zero in the
// padding.
//#uniforms ConvForward

@group(0) @binding(0) var<uniform> P: ConvForward;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> wt: array<vec4f>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

//#include "conv/activate"

/** Input row iy of the plane starting at `plane`: its offset (clamped into the image) and whether iy lies inside (else padding). */
struct InputRow { row: u32, ok: bool }

fn input_row(plane: u32, iy: i32) -> InputRow {
  return InputRow(plane + u32(clamp(iy, 0, i32(P.H) - 1)) * P.W, iy >= 0 && iy < i32(P.H));
}

/** x at columns ix of input row r for 4 pixels: 0 where the column or the row is padding or the pixel lies past OW (ok_px false). */
fn load_quad(r: InputRow, ix: vec4i, ok_px: vec4<bool>) -> vec4f {
  let ok = ok_px & (ix >= vec4i(0)) & (ix < vec4i(i32(P.W))) & vec4<bool>(r.ok);
  let cx = vec4u(clamp(ix, vec4i(0), vec4i(i32(P.W) - 1)));
  return select(vec4f(0.0), vec4f(x[r.row + cx.x], x[r.row + cx.y], x[r.row + cx.z], x[r.row + cx.w]), ok);
}
