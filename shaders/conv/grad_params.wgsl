// grad_params.wgsl — included by weight_grad.wgsl and weight_grad_sg.wgsl (//#include
// "conv/grad_params"): the uniform block of the weight-gradient kernels, packed by launchWeightGrad in
// src/ops/conv.ts. Not a kernel of its own.

struct Grad {
  N: u32, Cin: u32, H: u32, W: u32,              // x: [N, Cin, H, W]
  Cout: u32, OH: u32, OW: u32, taps: u32,         // dy: [N, Cout, OH, OW]; taps = Cin·kh·kw
  kh: u32, kw: u32, sh: u32, sw: u32,
  ph: u32, pw: u32, dh: u32, dw: u32,
  rows_per_chunk: u32,                            // image rows (n, oy) per partial
  pad0: u32, pad1: u32, pad2: u32,
}
