// vec4_bindings.wgsl — what the two vec4 split kernels (split_vec4.wgsl, split_seq.wgsl) share: the
// bindings (partials out; the input both as vec4s and as floats, for the tail), the combine step
// ({{COMBINE}} / {{COMBINE4}}: + or max, filled in by src/ops/reduce.ts), the output-offset helper,
// the identity of the combine (as bits: WGSL has no -inf literal), a thread's partial (split()) and
// the combine of a vec4's components. Included after reduce/params.

@group(0) @binding(0) var<uniform> P: ReduceParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x4: array<vec4f>;
@group(0) @binding(3) var<storage, read> x: array<f32>;

fn combine(a: f32, b: f32) -> f32 { return {{COMBINE}}; }
fn combine4(a: vec4f, b: vec4f) -> vec4f { return {{COMBINE4}}; }

//#include "reduce/out_index"

fn identity() -> f32 { var bits = {{IDENTITY}}; return bitcast<f32>(bits); }  // bits: WGSL has no -inf literal

/**
 * Partial w: chunk c of output o = w / num_chunks, whose run starts at element base (a multiple of
 * 4), vec4 base4 = base / 4, and holds n4 whole vec4s.
 */
struct Split { c: u32, base: u32, base4: u32, n4: u32 }

fn split(w: u32) -> Split {
  let base = out_offset(w / P.num_chunks);
  return Split(w % P.num_chunks, base, base / 4u, P.red_size / 4u);
}

/** The four components of v combined pairwise: (x · y) · (z · w). */
fn combine_lanes(v: vec4f) -> f32 {
  return combine(combine(v.x, v.y), combine(v.z, v.w));
}
