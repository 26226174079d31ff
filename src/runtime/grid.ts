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
