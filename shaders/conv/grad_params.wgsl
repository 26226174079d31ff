// grad_params.wgsl — included by weight_grad.wgsl and weight_grad_sg.wgsl (//#include
// "conv/grad_params"): the uniform block of the weight-gradient kernels, packed by launchWeightGrad in
// src/ops/conv-weight-grad.ts, and the walk over a chunk's output rows that both make. Not a kernel of its own.

//#uniforms ConvWeightGrad

/** Output rows [x, y) of pixel chunk `chunk`; rows r = n·OH + oy run over the whole batch. */
fn chunk_rows(chunk: u32) -> vec2u {
  let start = chunk * P.rows_per_chunk;
  return vec2u(start, min(start + P.rows_per_chunk, P.N * P.OH));
}

/** Output row r: image n, row oy, and the offset of image n in x. */
struct OutRow { n: u32, oy: u32, xbase: u32 }

fn out_row(r: u32) -> OutRow {
  let n = r / P.OH;
  return OutRow(n, r % P.OH, n * P.Cin * P.H * P.W);
}
