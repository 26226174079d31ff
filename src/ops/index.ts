// The ops' public surface: every row of the op table (table.ts) as a function, and (methods.ts) the
// method rows as Tensor methods; beside them the kernel-level entry points and the ops' option types.
import './methods.ts';

export * from './table.ts';
export { unary, binary } from './elementwise.ts';
export { matmulKernelFor, subgroupTilesRun, type MatmulKernel } from './matmul.ts';
export type { Reduction } from './loss.ts';
export type { Conv2dOptions, ConvTranspose2dOptions, Activation } from './conv.ts';
export { DICE_EPS } from './dice.ts';
export { planBatchNorm, type BatchNorm2dOptions } from './batchnorm.ts';
export { planInterpolate, type InterpolateOptions, type InterpolateMode } from './interpolate.ts';
export {
  OPS,
  jsExpression,
  usedNames,
  type OpName,
  type UnaryName,
  type BinaryName,
  type UnaryOp,
  type BinaryOp,
} from './optable.ts';
