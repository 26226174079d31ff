// Optimizers (torch.optim semantics, float32, fused WGSL updates) and parameter clamping.
export { Optimizer, readNonFiniteFlag, type OptimizerKind, type OptimizerState, type BaseHyper, type StepOptions, type NonFiniteSlot } from './optimizer.ts';
export { Adam, type AdamOptions, type AdamHyper } from './adam.ts';
export { RMSprop, type RMSpropOptions, type RMSpropHyper } from './rmsprop.ts';
export { SGD, type SGDOptions, type SGDHyper } from './sgd.ts';
export { clampParameters } from './clamp.ts';
