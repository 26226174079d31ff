// Workgroup grids for 1-D work. WebGPU caps each grid dimension (65535 on most adapters), so wide
// grids fold into y and kernels compute element = gid.x + gid.y * grid_x.

export interface Grid1D {
  workgroups: [number, number];
  /** Threads along x: the row length of the folded grid. */
  gridX: number;
}

export function grid1d(threads: number, workgroupSize = 256, maxDim = 65535): Grid1D {
  const groups = Math.ceil(threads / workgroupSize);
  if (groups <= maxDim) return { workgroups: [groups, 1], gridX: groups * workgroupSize };
  const y = Math.ceil(groups / maxDim);
  const x = Math.ceil(groups / y);
  return { workgroups: [x, y], gridX: x * workgroupSize };
}

/** Packs uniform blocks: u32 and f32 words in declaration order (callers keep WGSL's alignment). */
export class Uniforms {
  readonly words: Uint32Array;
  private f: Float32Array;
  private n = 0;
  constructor(capacityWords: number) {
    this.words = new Uint32Array(capacityWords);
    this.f = new Float32Array(this.words.buffer);
  }
  u32(...v: number[]): this {
    for (const x of v) this.words[this.n++] = x >>> 0;
    return this;
  }
  f32(...v: number[]): this {
    for (const x of v) this.f[this.n++] = x;
    return this;
  }
  /** A vec4u-array field of `vec4s` vectors holding `values` padded with `fill`. */
  vec4s(values: readonly number[], vec4s: number, fill = 0): this {
    this.align(4);
    for (let i = 0; i < vec4s * 4; i++) this.words[this.n++] = (i < values.length ? values[i] : fill) >>> 0;
    return this;
  }
  align(words: number): this {
    while (this.n % words) this.words[this.n++] = 0;
    return this;
  }
  done(): Uint32Array {
    return this.words;
  }
}
