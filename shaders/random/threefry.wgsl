// threefry.wgsl — counter-based random numbers: Threefry-2x32 with 20 rounds (Salmon et al., 2011,
// "Parallel random numbers: as easy as 1, 2, 3"; the generator JAX uses).
//
// What it computes: thread j hashes the counter (j + counter_offset, 0) under the key (seed_lo,
// seed_hi) into two 32-bit words and writes elements 2j and 2j+1:
//   DIST = 0 (uniform): low + (high - low) * u, u = (word >> 8) * 2^-24 in [0, 1)
//   DIST = 1 (normal):  Box-Muller: r = sqrt(-2 ln u1), u1 in (0, 1]; z = r (cos, sin)(2 pi u2)
// Only adds, rotations and xors: every adapter computes the same bits for the same seed; the normal
// transform adds the adapter's log/cos/sin rounding (a few ulp). src/tensor/random.ts mirrors it.
// One thread per pair of outputs, 256 threads per workgroup. Memory traffic: 8 bytes written per thread.

//#uniforms RandomParams

@group(0) @binding(0) var<uniform> P: RandomParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

fn rotl(x: u32, r: u32) -> u32 { return (x << r) | (x >> (32u - r)); }

fn threefry2x32(key: vec2u, ctr: vec2u) -> vec2u {
  let ks = array<u32, 3>(key.x, key.y, key.x ^ key.y ^ 0x1BD11BDAu);
  let rot = array<u32, 8>(13u, 15u, 26u, 6u, 17u, 29u, 16u, 24u);
  var x0 = ctr.x + ks[0];
  var x1 = ctr.y + ks[1];
  for (var r = 0u; r < 20u; r++) {
    x0 += x1;
    x1 = rotl(x1, rot[r % 8u]);
    x1 ^= x0;
    if (r % 4u == 3u) {            // key injection after every 4 rounds
      let s = r / 4u + 1u;
      x0 += ks[s % 3u];
      x1 += ks[(s + 1u) % 3u] + s;
    }
  }
  return vec2u(x0, x1);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x + gid.y * P.grid_x;
  let i = 2u * j;
  if (i >= P.count) { return; }
  let bits = threefry2x32(vec2u(P.seed_lo, P.seed_hi), vec2u(j + P.counter_offset, 0u));
  var v: vec2f;
  if (P.dist == 0u) {
    let u = vec2f(f32(bits.x >> 8u), f32(bits.y >> 8u)) * (1.0 / 16777216.0);
    v = P.a + (P.b - P.a) * u;
  } else {
    let u1 = (f32(bits.x >> 8u) + 1.0) * (1.0 / 16777216.0);
    let u2 = f32(bits.y >> 8u) * (1.0 / 16777216.0);
    let r = sqrt(-2.0 * log(u1));
    let theta = 6.283185307179586 * u2;
    v = P.a + P.b * r * vec2f(cos(theta), sin(theta));
  }
  out[i] = v.x;
  if (i + 1u < P.count) { out[i + 1u] = v.y; }
}
