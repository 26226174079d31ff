// pack_f16.wgsl — float32 values as float16 pairs, for the f16 path of the tiled conv kernels:
//   out[i] = pack2x16float(x[2i], x[2i + 1])   (x[2i + 1] = 0 past the end; a kernel reading out as
//   array<f16> sees element j = x[j] rounded to the nearest float16)
// Values beyond float16's range (±65504) are clamped to it first (pack2x16float is undefined there).
// One thread per pair; grid (x, y) flattened with grid_x threads along x.
// Memory traffic: reads 4·n bytes, writes 2·n. No FLOPs.

//#uniforms PackF16

@group(0) @binding(0) var<uniform> P: PackF16;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

const F16_MAX = 65504.0;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * P.grid_x;
  if (i >= P.pairs) { return; }
  let a = x[2u * i];
  let b = select(0.0, x[min(2u * i + 1u, P.n - 1u)], 2u * i + 1u < P.n);
  out[i] = pack2x16float(clamp(vec2f(a, b), vec2f(-F16_MAX), vec2f(F16_MAX)));
}
