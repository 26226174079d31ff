// Every op as a function, and the same ops attached to Tensor as methods (a.add(b), x.sum(1), ...).
import { Tensor } from '../tensor/tensor.ts';
import type { Shape } from '../tensor/shape.ts';
import * as ew from './elementwise.ts';
import * as mv from './movement.ts';
import * as rd from './reduce.ts';
import { matmul } from './matmul.ts';
import { l1Loss, type Reduction } from './loss.ts';

export * from './elementwise.ts';
export { reshape, permute, transpose, slice, cat } from './movement.ts';
export { sum, mean, max, expand, sumTo } from './reduce.ts';
export { matmul, matmulKernelFor, subgroupTilesRun, type MatmulKernel } from './matmul.ts';
export { absDiffSum, l1Loss, type Reduction } from './loss.ts';
export { conv2d, convTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions, type Activation } from './conv.ts';
export { diceLoss, DICE_EPS } from './dice.ts';
export { batchNorm2d, planBatchNorm, type BatchNorm2dOptions } from './batchnorm.ts';
export { interpolate, planInterpolate, type InterpolateOptions, type InterpolateMode } from './interpolate.ts';
export { OPS, jsExpression, usedNames, type OpName, type UnaryName, type BinaryName, type UnaryOp, type BinaryOp } from './optable.ts';

type Operand = Tensor | number;
type Axes = number | readonly number[];

declare module '../tensor/tensor.ts' {
  interface Tensor {
    add(b: Operand): Tensor;
    sub(b: Operand): Tensor;
    mul(b: Operand): Tensor;
    div(b: Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    leakyRelu(slope?: number): Tensor;
    pow(p: number): Tensor;
    clamp(lo: number, hi: number): Tensor;
    maximum(b: Tensor): Tensor;
    minimum(b: Tensor): Tensor;
    gt(b: Operand): Tensor;
    ge(b: Operand): Tensor;
    lt(b: Operand): Tensor;
    le(b: Operand): Tensor;
    eq(b: Operand): Tensor;
    ne(b: Operand): Tensor;
    sum(axes?: Axes, keepdim?: boolean): Tensor;
    mean(axes?: Axes, keepdim?: boolean): Tensor;
    max(axes?: Axes, keepdim?: boolean): Tensor;
    matmul(b: Tensor): Tensor;
    reshape(shape: Shape): Tensor;
    permute(dims: readonly number[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    slice(axis: number, start: number, end?: number): Tensor;
    expand(shape: Shape): Tensor;
    l1Loss(target: Tensor, reduction?: Reduction): Tensor;
  }
}

const methods: Record<string, (this: Tensor, ...args: never[]) => Tensor> = {
  add(b: Operand) { return ew.add(this, b); },
  sub(b: Operand) { return ew.sub(this, b); },
  mul(b: Operand) { return ew.mul(this, b); },
  div(b: Operand) { return ew.div(this, b); },
  neg() { return ew.neg(this); },
  exp() { return ew.exp(this); },
  log() { return ew.log(this); },
  sqrt() { return ew.sqrt(this); },
  abs() { return ew.abs(this); },
  relu() { return ew.relu(this); },
  sigmoid() { return ew.sigmoid(this); },
  tanh() { return ew.tanh(this); },
  leakyRelu(slope?: number) { return ew.leakyRelu(this, slope); },
  pow(p: number) { return ew.pow(this, p); },
  clamp(lo: number, hi: number) { return ew.clamp(this, lo, hi); },
  maximum(b: Tensor) { return ew.maximum(this, b); },
  minimum(b: Tensor) { return ew.minimum(this, b); },
  gt(b: Operand) { return ew.gt(this, b); },
  ge(b: Operand) { return ew.ge(this, b); },
  lt(b: Operand) { return ew.lt(this, b); },
  le(b: Operand) { return ew.le(this, b); },
  eq(b: Operand) { return ew.eq(this, b); },
  ne(b: Operand) { return ew.ne(this, b); },
  sum(axes?: Axes, keepdim?: boolean) { return rd.sum(this, axes, keepdim); },
  mean(axes?: Axes, keepdim?: boolean) { return rd.mean(this, axes, keepdim); },
  max(axes?: Axes, keepdim?: boolean) { return rd.max(this, axes, keepdim); },
  matmul(b: Tensor) { return matmul(this, b); },
  reshape(shape: Shape) { return mv.reshape(this, shape); },
  permute(dims: readonly number[]) { return mv.permute(this, dims); },
  transpose(dim0?: number, dim1?: number) { return mv.transpose(this, dim0, dim1); },
  slice(axis: number, start: number, end?: number) { return mv.slice(this, axis, start, end); },
  expand(shape: Shape) { return rd.expand(this, shape); },
  l1Loss(target: Tensor, reduction?: Reduction) { return l1Loss(this, target, reduction); },
};

for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, name, { value: fn, writable: true, configurable: true });
}
