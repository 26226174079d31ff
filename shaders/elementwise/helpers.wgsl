// helpers.wgsl — the helper functions the op table's expressions may call (src/ops/optable.ts lists
// their JavaScript twins in JS_HELPERS). Included by map.wgsl and map_vec4.wgsl.

// (through a var: WGSL rejects a NaN constant expression)
fn nan_f32() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
// pow with PyTorch's meaning: integer exponents by repeated squaring (exact for small powers, any
// sign of base); other exponents through pow(), NaN for a negative base.
fn spow(x: f32, p: f32) -> f32 {
  if (fract(p) == 0.0 && abs(p) <= 64.0) {
    var e = u32(abs(p));
    var base = x;
    var r = 1.0;
    while (e > 0u) {
      if ((e & 1u) == 1u) { r *= base; }
      base *= base;
      e >>= 1u;
    }
    return select(r, 1.0 / r, p < 0.0);
  }
  if (x < 0.0) { return nan_f32(); }
  return pow(x, p);
}
// tanh that cannot overflow: exp of a non-positive number only.
fn stanh(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}
fn ssigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}
