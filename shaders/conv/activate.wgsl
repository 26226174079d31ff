// activate.wgsl — the activation fused into the conv2d forward kernels' epilogue (forward.wgsl,
// forward_sg.wgsl through forward_base.wgsl, and tiled_forward.wgsl): P.act 0 identity, 1 ReLU,
// 2 LeakyReLU with P.slope (uniform block ConvForward).

fn activate(v: f32) -> f32 {
  if (P.act == 1u) { return max(v, 0.0); }
  if (P.act == 2u) { return select(v * P.slope, v, v > 0.0); }
  return v;
}
