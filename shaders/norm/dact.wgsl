// dact.wgsl — dŷ = dy · act'(y), the gradient before the fused activation, from the upstream gradient
// g = dy[i] and the saved output y[i] (ACT 0: g; ACT 1, ReLU: g where y > 0, else 0; ACT 2,
// LeakyReLU: g where y > 0, else g · slope). Included by bn_grad_partial.wgsl and bn_grad_apply.wgsl,
// which bind y (a dummy, never read, with ACT 0).

fn dact(g: {{T}}, i: u32) -> {{T}} {
  if ({{ACT}} == 1) { return select({{T}}(0.0), g, y[i] > {{T}}(0.0)); }
  if ({{ACT}} == 2) { return select(g * P.slope, g, y[i] > {{T}}(0.0)); }
  return g;
}
