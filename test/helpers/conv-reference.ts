// Float64 references for conv2d and conv_transpose2d (direct loops, PyTorch semantics).
import { arr, type Arr } from './reference.ts';

export interface Geo {
  stride: [number, number];
  padding: [number, number, number, number]; // top, bottom, left, right
  dilation: [number, number];
}

export function conv2dRef(
  x: Arr,
  w: Arr,
  b: Arr | null,
  g: Geo,
  act?: { kind: 'relu' | 'leakyRelu'; slope: number },
): Arr {
  const [N, Cin, H, W] = x.shape;
  const [Cout, , kh, kw] = w.shape;
  const [sh, sw] = g.stride;
  const [pt, pb, pl, pr] = g.padding;
  const [dh, dw] = g.dilation;
  const OH = Math.floor((H + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const out = new Float64Array(N * Cout * OH * OW);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < Cout; co++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let s = b ? b.data[co] : 0;
          for (let ci = 0; ci < Cin; ci++)
            for (let ki = 0; ki < kh; ki++) {
              const iy = oy * sh - pt + ki * dh;
              if (iy < 0 || iy >= H) continue;
              for (let kj = 0; kj < kw; kj++) {
                const ix = ox * sw - pl + kj * dw;
                if (ix < 0 || ix >= W) continue;
                s += x.data[((n * Cin + ci) * H + iy) * W + ix] * w.data[((co * Cin + ci) * kh + ki) * kw + kj];
              }
            }
          if (act?.kind === 'relu') s = Math.max(s, 0);
          if (act?.kind === 'leakyRelu') s = s > 0 ? s : s * act.slope;
          out[((n * Cout + co) * OH + oy) * OW + ox] = s;
        }
  return { data: out, shape: [N, Cout, OH, OW] };
}

export function convTranspose2dRef(
  x: Arr,
  w: Arr,
  b: Arr | null,
  stride: [number, number],
  padding: [number, number],
  outputPadding: [number, number],
  dilation: [number, number],
): Arr {
  const [N, Cin, IH, IW] = x.shape;
  const [, Cout, kh, kw] = w.shape;
  const [sh, sw] = stride;
  const [ph, pw] = padding;
  const [dh, dw] = dilation;
  const OH = (IH - 1) * sh - 2 * ph + dh * (kh - 1) + outputPadding[0] + 1;
  const OW = (IW - 1) * sw - 2 * pw + dw * (kw - 1) + outputPadding[1] + 1;
  const out = new Float64Array(N * Cout * OH * OW);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < Cout; co++)
      for (let i = 0; i < OH * OW; i++) out[(n * Cout + co) * OH * OW + i] = b ? b.data[co] : 0;
  // scatter form: an independent formulation from the kernel's gather form
  for (let n = 0; n < N; n++)
    for (let ci = 0; ci < Cin; ci++)
      for (let iy = 0; iy < IH; iy++)
        for (let ix = 0; ix < IW; ix++) {
          const v = x.data[((n * Cin + ci) * IH + iy) * IW + ix];
          for (let co = 0; co < Cout; co++)
            for (let ki = 0; ki < kh; ki++) {
              const oy = iy * sh - ph + ki * dh;
              if (oy < 0 || oy >= OH) continue;
              for (let kj = 0; kj < kw; kj++) {
                const ox = ix * sw - pw + kj * dw;
                if (ox < 0 || ox >= OW) continue;
                out[((n * Cout + co) * OH + oy) * OW + ox] += v * w.data[((ci * Cout + co) * kh + ki) * kw + kj];
              }
            }
        }
  return { data: out, shape: [N, Cout, OH, OW] };
}

/** Gradients of y = conv2d(x, w) (stride s, padding p, no dilation) for upstream g: [dX, dW]. */
export function conv2dGradRef(x: Arr, w: Arr, g: Arr, s: number, p: number): [Arr, Arr] {
  const [N, C, H, W] = x.shape;
  const [O, , KH, KW] = w.shape;
  const [, , OH, OW] = g.shape;
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(w.data.length);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          const gv = g.data[((n * O + o) * OH + oy) * OW + ox];
          for (let c = 0; c < C; c++)
            for (let ky = 0; ky < KH; ky++) {
              const iy = oy * s - p + ky;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const ix = ox * s - p + kx;
                if (ix < 0 || ix >= W) continue;
                const xi = ((n * C + c) * H + iy) * W + ix;
                const wi = ((o * C + c) * KH + ky) * KW + kx;
                dx[xi] += gv * w.data[wi];
                dw[wi] += gv * x.data[xi];
              }
            }
        }
  return [arr(dx, x.shape), arr(dw, w.shape)];
}
