// flat.wgsl — included by the optimizer kernels: how one dispatch updates every parameter.
//
// An optimizer keeps flat arrays: the parameters, their gradients and each state buffer hold every
// parameter tensor at the same offset (src/optim/optimizer.ts copies the gradients in before a step
// and the parameters out after it: copies cost ~10 µs on lavapipe, a dispatch ~130 µs). One
// dispatch then covers all parameters, however many tensors there are.
//
// Workgroup w (grids wider than 65535 workgroups fold into y: w = wid.x + wid.y · groups_x) takes
// entry w of a chunk table built once per set of parameters with a gradient: up to 256 consecutive
// flat elements, all of one tensor, whose index (the parameter's, for its step count; or the slot,
// in nonfinite_check.wgsl) it carries. The entry is the same for the whole workgroup: a uniform load.

struct Chunk {
  tensor: u32,  // parameter index (update kernels) or checked slot (nonfinite_check.wgsl)
  start: u32,   // first flat element
  end: u32,     // one past the last (at most start + 256)
  pad: u32,
}

// The first block of every optimizer kernel's uniforms.
//#uniforms FlatHeader

/**
 * This workgroup's chunk, or an empty one (start = end) for the folded grid's tail. Every kernel that
 * includes this file declares `chunks: array<Chunk>`; a thread handles element chunk.start + lid when
 * it is below chunk.end.
 */
fn my_chunk(h: FlatHeader, wid: vec3u) -> Chunk {
  let w = wid.x + wid.y * h.groups_x;
  if (w >= h.chunk_count) { return Chunk(0u, 0u, 0u, 0u); }
  return chunks[w];
}

/** The updated parameter, clamped when the step asks for it (min(max()) as clamp.wgsl, bitwise). */
fn clipped(h: FlatHeader, p: f32) -> f32 {
  if (h.clamp_on == 0u) { return p; }
  return min(max(p, h.clamp_lo), h.clamp_hi);
}
