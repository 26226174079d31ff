// params.wgsl — the uniform block every reduction kernel reads (included; filled by
// src/ops/reduce.ts params(), always all 40 words). A kernel ignores the fields it does not need.
struct Params {
  num_out: u32,                   // outputs (kept positions)
  red_size: u32,                  // elements reduced into each output (or partial's run)
  chunk: u32,                     // tree.wgsl: elements per partial; serial.wgsl: a flag, 1 = column order
  num_chunks: u32,                // partials per output
  out_rank: u32,                  // kept axes (out_shape / out_strides)
  red_rank: u32,                  // reduced axes (red_shape / red_strides); the split kernels read a contiguous run
  grid_x: u32,                    // threads (or workgroups, tree.wgsl) along x of a folded grid
  scale: f32,                     // multiplies the result (1 / n for a mean)
  out_shape: array<vec4u, 2>,
  out_strides: array<vec4u, 2>,
  red_shape: array<vec4u, 2>,
  red_strides: array<vec4u, 2>,
}
