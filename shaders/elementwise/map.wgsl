// map.wgsl — elementwise map: out[view] = EXPR(in0[view], in1[view], in2[view]).
//
// What it computes: one output element per thread. Every operand is a strided view of a buffer over
// the same logical shape (rank <= 8): element (i0..ir) of operand k lives at
// offsets[k] + sum_d i_d * strides[k][d]. Broadcasting is a stride of 0, a permute is a reordering of
// strides, a slice is an offset, `cat` writes each input into a strided window of the output. So this
// one file implements every elementwise op of the op table (src/ops/optable.ts), forward and backward,
// and the movement ops (expand, permute, slice, cat).
//
// Variants (template values, chosen in src/runtime/map.ts, never by shape):
//   INDEXING = 0   every operand is a dense row-major array of the logical shape: index = i.
//   INDEXING = 1   rank <= 3 after merging axes: a 3-D grid gives the coordinates directly
//                  (gid.x innermost), no division at all (broadcast biases over NCHW, permutes).
//   INDEXING = 2   the general case: decompose i into coordinates (rank divisions per element;
//                  integer division has no SIMD form on CPUs, so this is the slow path).
//   ARGS / CALL = the inputs as parameters of apply() and the loads that feed it;
//   EXPR = the op table's WGSL expression.
// Dense operands whose sizes and offsets are multiples of 4 take map_vec4.wgsl instead.
//
// Tiling: 256 threads per workgroup, 1 element per thread; grids wider than 65535 workgroups fold
// into y (element i = gid.x + gid.y * grid_x).
// Memory traffic: (inputs + 1) x 4 bytes per element; 0 FLOP-bound ops, so it runs at copy bandwidth.

//#uniforms MapParams

@group(0) @binding(0) var<uniform> P: MapParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
{{BINDINGS}}

fn dim(d: u32) -> u32 { return P.shape[d / 4u][d % 4u]; }
fn stride(k: u32, d: u32) -> u32 { return P.strides[k * 2u + d / 4u][d % 4u]; }

// Helpers the op table's expressions use (spow, stanh, ssigmoid, nan_f32).
//#include "elementwise/helpers"

// The op: one expression of the op table over scalars.
fn apply({{ARGS}}) -> f32 { return {{EXPR}}; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  var o: vec4u;
  if ({{INDEXING}} == 1) {
    // 3-D grid over (innermost, middle, outer) coordinates; shape is padded with 1s to rank 3.
    if (gid.x >= dim(0u)) { return; }
    o = P.offsets
      + gid.x * vec4u(stride(0u, 0u), stride(1u, 0u), stride(2u, 0u), stride(3u, 0u))
      + gid.y * vec4u(stride(0u, 1u), stride(1u, 1u), stride(2u, 1u), stride(3u, 1u))
      + gid.z * vec4u(stride(0u, 2u), stride(1u, 2u), stride(2u, 2u), stride(3u, 2u));
    out[o.x] = apply({{CALL}});
    return;
  }
  let i = gid.x + gid.y * P.grid_x;
  if (i >= P.count) { return; }
  o = vec4u(i, i, i, i) + P.offsets;
  if ({{INDEXING}} == 2) {
    // Decompose i into coordinates, innermost first, and accumulate each operand's offset.
    o = P.offsets;
    var rem = i;
    for (var d = P.rank; d > 0u; d--) {
      let n = dim(d - 1u);
      let c = rem % n;
      rem = rem / n;
      o += c * vec4u(stride(0u, d - 1u), stride(1u, d - 1u), stride(2u, d - 1u), stride(3u, d - 1u));
    }
  }
  out[o.x] = apply({{CALL}});
}
