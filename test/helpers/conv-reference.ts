// Float64 references for conv2d and conv_transpose2d (direct loops, PyTorch semantics).
import type { Arr } from './reference.ts';

export interface Geo {
  stride: [number, number];
  padding: [number, number, number, number]; // top, bottom, left, right
  dilation: [number, number];
}

export function conv2dRef(x: Arr, w: Arr, b: Arr | null, g: Geo, act?: { kind: 'relu' | 'leakyRelu'; slope: number }): Arr {
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

export function convTranspose2dRef(x: Arr, w: Arr, b: Arr | null, stride: [number, number], padding: [number, number], outputPadding: [number, number], dilation: [number, number]): Arr {
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
