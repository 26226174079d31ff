// weight_layout.wgsl — the weight matrix the conv kernels read, in one pass (src/ops/conv-weights.ts,
// transposedWeight):
//   wt[(ci·nr + i)·nc + j, co] = w[ci, co, r0 + i·rstep, c0 + j·cstep]   (0 for co ≥ Cout: padding)
// with w's channel axes given by their strides (s_ci, s_co), so the same kernel reads a conv weight
// [Cout, Cin, kh, kw] (forward) and a transposed conv's [Cin_t, Cout_t, kh, kw], and with a start and a
// step (negative: reversed) per kernel axis, for the reversed sub-kernel of one phase of a transposed
// conv. wt is [rows, cout_pad] with rows = Cin·nr·nc and cout_pad a multiple of 4 (of the tile).
//
// Tiling: one thread per vec4 of wt (4 output channels of one tap): 4 scalar loads of w, one vec4
// store, the padding channels written as zeros (so no separate zero fill). 64 threads per workgroup,
// channels fastest; grids wider than 65535 workgroups fold into y.
// Memory traffic: w read once, wt written once (rows·cout_pad floats). Replaces a zero fill and a
// strided rank-4 map copy, whose per-element index arithmetic made it ~4× slower on lavapipe.

//#uniforms WeightLayout

@group(0) @binding(0) var<uniform> P: WeightLayout;
@group(0) @binding(1) var<storage, read_write> wt: array<vec4f>;
@group(0) @binding(2) var<storage, read> w: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * P.grid_x;
  if (i >= P.count) { return; }
  let k = i / P.c4;
  let co = (i % P.c4) * 4u + vec4u(0u, 1u, 2u, 3u);
  let j = k % P.nc;
  let t = k / P.nc;
  let ki = P.r0 + i32(t % P.nr) * P.rstep;
  let kj = P.c0 + i32(j) * P.cstep;
  let base = (t / P.nr) * P.s_ci + u32(ki) * P.kw + u32(kj);
  let ok = co < vec4u(P.Cout);
  let cc = min(co, vec4u(P.Cout - 1u)) * P.s_co + base;
  wt[i] = select(vec4f(0.0), vec4f(w[cc.x], w[cc.y], w[cc.z], w[cc.w]), ok);
}
