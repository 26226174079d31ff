// bn_stats_merge.wgsl — batch-norm statistics, stage 2: one thread per channel.
//
// What it computes, for channel c:
//   training: merges the K partials (count, mean, M2) of bn_stats_partial.wgsl with Chan's formula
//     (chan() of params.wgsl)
//     in the fixed order k = 0, 1, ..., K − 1, giving the batch mean and the biased variance M2 / n;
//     writes stats[c] = mean, stats[C + c] = invstd = 1 / sqrt(var + eps); and, when running
//     statistics are given (flag bit 1), updates them in place:
//       running_mean = (1 − momentum) · running_mean + momentum · mean
//       running_var  = (1 − momentum) · running_var  + momentum · M2 / (n − 1)   (unbiased)
//     — but only where both batch statistics are finite: a batch with a NaN or an infinity in
//     channel c leaves that channel's running statistics as they were (PyTorch would store the NaN
//     for good; here a training step skipped for a non-finite loss leaves eval mode unharmed).
//   eval: stats[c] = running_mean[c], stats[C + c] = 1 / sqrt(running_var[c] + eps) (partial is unused).
// The stats buffer is what the normalise and backward kernels read, and what backward keeps, so an
// eval-mode backward uses the running statistics as they were at forward time.
// Each thread: K sequential merges (K ≤ 1024) of 16-byte partials; merging summaries never subtracts
// two large sums, so it is as stable as Welford itself.
// Tiling: 64 threads per workgroup (C is often small), no workgroup memory, no barriers.
// Memory traffic: 16 bytes per partial read; 8 bytes written per channel (+16 read/written for the
// running statistics). FLOPs: ~10 per partial.

//#include "norm/params"

@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<storage, read> partial: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_var: array<f32>;

/** Not NaN and not ±Inf, from the bits: WGSL lets compilers assume that `x != x` is false. */
fn is_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = thread_index(gid);
  if (c >= P.channels) { return; }
  if ((P.flags & TRAINING) == 0u) {
    stats[c] = running_mean[c];
    stats[P.channels + c] = 1.0 / sqrt(running_var[c] + P.eps);
    return;
  }
  var acc = vec3f(0.0);
  for (var k = 0u; k < P.chunks; k++) {
    acc = chan(acc, partial[c * P.chunks + k].xyz);
  }
  let mean = acc.y;
  stats[c] = mean;
  stats[P.channels + c] = 1.0 / sqrt(acc.z / acc.x + P.eps);
  let unbiased_var = acc.z / (acc.x - 1.0);
  if ((P.flags & RUNNING) != 0u && is_finite(mean) && is_finite(unbiased_var)) {
    let m = P.momentum;
    running_mean[c] = (1.0 - m) * running_mean[c] + m * mean;
    running_var[c] = (1.0 - m) * running_var[c] + m * unbiased_var;
  }
}
