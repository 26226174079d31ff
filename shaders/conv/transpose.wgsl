// transpose.wgsl — transposed convolution in gather form; also conv2d's input gradient dX.
//   y[n, co, oy, ox] = bias[co] + Σ_{ci, ki, kj : oy = iy·sh − ph + ki·dh, ox = ix·sw − pw + kj·dw} x[n, ci, iy, ix] · w[ci, co, ki, kj]
// For conv2d's backward, x = dY (Cin here = the conv's Cout), w = the conv's weight [Cout, Cin, kh, kw]
// read as [Cin_t, Cout_t, kh, kw], and the output size is the conv's input size.
//
// Gather, not scatter: each output element sums its own terms, so there are no atomics and the order
// of additions is fixed (bitwise repeatable). The stride holes are handled by phase decomposition:
// with stride s, the output pixels with oy ≡ ry (mod sh) and ox ≡ rx (mod sw) receive exactly the taps
// ki with (ry + ph − ki·dh) ≡ 0 (mod sh) (and likewise kj), the same for the whole phase. The grid's z
// axis enumerates (image, phase, channel group), so each workgroup works on one phase and the tap
// tests are uniform branches: no time is spent on taps that do not contribute (3/4 of them for stride 2).
// Within a phase, 4 neighbouring pixels (ox = rx + sw·q, q = q0..q0+3) read 4 neighbouring input
// columns ix = q + (rx + pw − kj·dw)/sw.
//
// Tiling: thread owns 8 output channels × 4 pixels (8 vec4 accumulators over channels); per tap it
// loads 4 input values and 2 vec4 of pre-transposed weights wt[(ci, ki, kj), co] (co padded to 8),
// then 32 FMAs. No workgroup memory. FLOPs: 2·N·Cin·H·W·Cout·kh·kw (x: [N, Cin, H, W]) (the useful ones).

//#uniforms ConvTranspose

@group(0) @binding(0) var<uniform> P: ConvTranspose;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> wt: array<vec4f>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  // z = ((n · sh + ry) · sw + rx) · co_groups + g
  let g = gid.z % P.co_groups;
  let phase = gid.z / P.co_groups;
  let rx = phase % P.sw;
  let ry = (phase / P.sw) % P.sh;
  let n = phase / (P.sw * P.sh);
  let co0 = g * 8u;
  // x enumerates (phase row, pixel quad) pairs, so that small outputs still fill whole workgroups.
  let quads = (P.qw + 3u) / 4u;
  let qy = gid.x / quads;                         // row within the phase
  let q0 = (gid.x % quads) * 4u;                  // phase column of the first pixel
  let oy = ry + qy * P.sh;
  if (qy >= P.qh || oy >= P.OH) { return; }
  let ox = vec4u(q0, q0 + 1u, q0 + 2u, q0 + 3u) * P.sw + rx;
  let pixel_ok = ox < vec4u(P.OW);
  let plane_in = P.H * P.W;
  let c4 = P.cout_pad / 4u;
  var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);
  var b0 = vec4f(0.0); var b1 = vec4f(0.0); var b2 = vec4f(0.0); var b3 = vec4f(0.0);
  for (var ci = 0u; ci < P.Cin; ci++) {
    let plane = (n * P.Cin + ci) * plane_in;
    for (var ki = 0u; ki < P.kh; ki++) {
      let num_y = i32(ry + P.ph) - i32(ki * P.dh);
      if (num_y % i32(P.sh) != 0) { continue; }     // uniform: the tap misses this phase
      let iy = i32(qy) + num_y / i32(P.sh);
      if (iy < 0 || iy >= i32(P.H)) { continue; }
      let row = plane + u32(iy) * P.W;
      for (var kj = 0u; kj < P.kw; kj++) {
        let num_x = i32(rx + P.pw) - i32(kj * P.dw);
        if (num_x % i32(P.sw) != 0) { continue; }
        let ix = vec4i(vec4u(q0, q0 + 1u, q0 + 2u, q0 + 3u)) + vec4i(num_x / i32(P.sw));
        let ok = pixel_ok & (ix >= vec4i(0)) & (ix < vec4i(i32(P.W)));
        let cx = vec4u(clamp(ix, vec4i(0), vec4i(i32(P.W) - 1)));
        let v = select(vec4f(0.0), vec4f(x[row + cx.x], x[row + cx.y], x[row + cx.z], x[row + cx.w]), ok);
        let k = (ci * P.kh + ki) * P.kw + kj;
        let w0 = wt[k * c4 + co0 / 4u];
        let w1 = wt[k * c4 + co0 / 4u + 1u];
        a0 = fma(vec4f(v.x), w0, a0); a1 = fma(vec4f(v.y), w0, a1); a2 = fma(vec4f(v.z), w0, a2); a3 = fma(vec4f(v.w), w0, a3);
        b0 = fma(vec4f(v.x), w1, b0); b1 = fma(vec4f(v.y), w1, b1); b2 = fma(vec4f(v.z), w1, b2); b3 = fma(vec4f(v.w), w1, b3);
      }
    }
  }
  let plane_out = P.OH * P.OW;
  let accs = array<vec4f, 8>(a0, a1, a2, a3, b0, b1, b2, b3);
  for (var c = 0u; c < 8u; c++) {
    let co = co0 + c;
    if (co >= P.Cout) { break; }
    let bv = select(0.0, bias[co], P.has_bias == 1u);
    let base = (n * P.Cout + co) * plane_out + oy * P.OW;
    for (var t = 0u; t < 4u; t++) {
      if (pixel_ok[t]) { y[base + ox[t]] = accs[(c / 4u) * 4u + t][c % 4u] + bv; }
    }
  }
}
