// Optimizers (torch.optim semantics, float32, fused WGSL updates) and parameter clamping.
export { Optimizer, type StepOptions } from './optimizer.ts';
export { readNonFiniteFlag, type NonFiniteSlot } from './nonfinite-flag.ts';
export type { OptimizerKind, OptimizerState } from './optimizer-state.ts';
export type { BaseHyper } from './hyper.ts';
export { Adam, type AdamOptions, type AdamHyper } from './adam.ts';
export { RMSprop, type RMSpropOptions, type RMSpropHyper } from './rmsprop.ts';
export { SGD, type SGDOptions, type SGDHyper } from './sgd.ts';
export { clampParameters } from './clamp.ts';
export { ParameterAverage, type AverageState } from './average.ts';
