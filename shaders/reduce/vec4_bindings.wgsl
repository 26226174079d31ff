// vec4_bindings.wgsl — what the two vec4 split kernels (split_vec4.wgsl, split_seq.wgsl) share: the
// bindings (partials out; the input both as vec4s and as floats, for the tail), the combine step
// ({{COMBINE}} / {{COMBINE4}}: + or max, filled in by src/ops/reduce.ts), the output-offset helper and
// the identity of the combine (as bits: WGSL has no -inf literal). Included after reduce/params.

@group(0) @binding(0) var<uniform> P: ReduceParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x4: array<vec4f>;
@group(0) @binding(3) var<storage, read> x: array<f32>;

fn combine(a: f32, b: f32) -> f32 { return {{COMBINE}}; }
fn combine4(a: vec4f, b: vec4f) -> vec4f { return {{COMBINE4}}; }

//#include "reduce/out_index"

fn identity() -> f32 { var bits = {{IDENTITY}}; return bitcast<f32>(bits); }  // bits: WGSL has no -inf literal
