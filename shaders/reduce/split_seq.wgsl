// split_seq.wgsl — stage 1 of a split reduction over a contiguous axis, for CPU adapters (lavapipe):
// each group of 8 neighbouring threads streams one contiguous stretch of the run, read as vec4s.
//
// What it computes: for output o, whose reduced elements are the contiguous run
// x[base(o) .. base(o) + red_size) (base from the kept axes' strides; a multiple of 4, which
// src/ops/reduce.ts checks), num_chunks partials (a multiple of 8). Partial c belongs to group
// g = c / 8 and lane l = c % 8. With n4 = red_size / 4 vec4s and span = n4 / (num_chunks / 8) rounded
// up to a multiple of 8, group g owns the vec4s [g·span, min((g+1)·span, n4)); lane l combines the
// vec4s g·span + l, + 8, + 16, ... of it (two at a time, into two accumulators), then the vector's
// components, then the tail element n4·4 + c if c < red_size % 4. src/ops/reduce.ts reduces the
// [num_out, num_chunks] partials again. Order fixed by the shape: bitwise repeatable.
//
// Tiling: 256 threads per workgroup, one partial each, no shared memory and no barriers.
// Memory traffic: 4 bytes per element read once, 4 bytes written per partial. FLOPs: 1 per element.
//
// Why this layout suits llvmpipe (see docs/kernels/reductions.md): llvmpipe runs a workgroup 8 lanes
// at a time, one subgroup after another, and every storage load is a per-lane scalar loop (~10
// instructions per float). The interleaved layout of split_vec4.wgsl makes each subgroup sweep the
// whole run reading 128 bytes every num_chunks·16 bytes (a new page per load, no prefetch); here a
// subgroup's 8 lanes read 128 contiguous bytes and then the next 128, one sequential stream, and two
// loads per iteration halve the loop's own overhead (more unrolling spills and measured slower).
// On a GPU the groups of 8 still read whole 128-byte segments; reduce.ts uses split_vec4 there.

//#include "reduce/params"

//#include "reduce/vec4_bindings"

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let w = gid.x + gid.y * P.grid_x;
  if (w >= P.num_out * P.num_chunks) { return; }
  let s = split(w);
  let groups = P.num_chunks / 8u;
  let span = ((s.n4 + groups - 1u) / groups + 7u) / 8u * 8u;
  let start = s.base4 + (s.c / 8u) * span;
  let end = s.base4 + min((s.c / 8u) * span + span, s.n4);
  var a = vec4f(identity());
  var b = a;
  var v = start + s.c % 8u;
  for (; v + 8u < end; v += 16u) {
    a = combine4(a, x4[v]);
    b = combine4(b, x4[v + 8u]);
  }
  if (v < end) { a = combine4(a, x4[v]); }
  var r = combine_lanes(combine4(a, b));
  if (s.c < P.red_size % 4u) { r = combine(r, x[s.base + s.n4 * 4u + s.c]); }
  out[w] = r * P.scale;
}
