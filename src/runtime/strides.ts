// Row-major strides and axis merging: pure functions on shapes and strides (in elements). They live
// here, the lowest layer that needs them (the map launcher); tensor/shape.ts re-exports
// contiguousStrides for the layers above, and the reduction planner merges its axes with coalesce.

/** Strides of a dense row-major array of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * Drop size-1 axes and merge neighbours that every view walks contiguously, so that a broadcast bias
 * over NCHW becomes [N, C, H*W] and a plain copy becomes rank 1. Returns the reduced shape and strides
 * (shape [1] with stride 1 per view when no axis is left).
 */
export function coalesce(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const keep = shape.map((d, i) => i).filter((i) => shape[i] !== 1);
  let outShape = keep.map((i) => shape[i]);
  let outStrides = strides.map((st) => keep.map((i) => st[i]));
  for (let d = outShape.length - 2; d >= 0; d--) {
    if (outStrides.every((st) => st[d] === st[d + 1] * outShape[d + 1])) {
      outShape[d] *= outShape[d + 1];
      outShape.splice(d + 1, 1);
      for (const st of outStrides) {
        st[d] = st[d + 1];
        st.splice(d + 1, 1);
      }
    }
  }
  if (outShape.length === 0) {
    outShape = [1];
    outStrides = strides.map(() => [1]);
  }
  return { shape: outShape, strides: outStrides };
}
