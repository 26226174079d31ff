// Layers: Conv2d and BatchNorm2d with the public SegAN code's initialisation
// (conv weights N(0, sqrt(2 / (kh·kw·out))), biases 0; batch norm γ ~ N(1, 0.02), β = 0).
import { conv2d, type Activation } from '../ops/conv.ts';
import { batchNorm2d } from '../ops/batchnorm.ts';
import type { Engine } from '../tensor/engine.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Module } from './module.ts';

export interface Conv2dLayerOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
  seed: number;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    engine: Engine,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly opts: Conv2dLayerOptions,
  ) {
    super(engine);
    const std = Math.sqrt(2 / (kernel * kernel * outChannels));
    this.weight = this.param(
      'weight',
      engine.randn([outChannels, inChannels, kernel, kernel], { seed: opts.seed, std }),
    );
    this.bias = opts.bias ? this.param('bias', engine.zeros([outChannels])) : null;
  }

  forward(x: Tensor, activation?: Activation, slope?: number): Tensor {
    return conv2d(x, this.weight, this.bias, {
      stride: this.opts.stride ?? 1,
      padding: this.opts.padding ?? 0,
      activation,
      slope,
    });
  }
}

export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  constructor(
    engine: Engine,
    readonly channels: number,
    seed: number,
    readonly momentum = 0.1,
    readonly eps = 1e-5,
  ) {
    super(engine);
    this.weight = this.param('weight', engine.randn([channels], { seed, mean: 1, std: 0.02 }));
    this.bias = this.param('bias', engine.zeros([channels]));
    this.runningMean = this.buffer('running_mean', engine.zeros([channels]));
    this.runningVar = this.buffer('running_var', engine.ones([channels]));
  }

  forward(x: Tensor, activation?: Activation, slope?: number): Tensor {
    return batchNorm2d(x, this.runningMean, this.runningVar, this.weight, this.bias, {
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
      activation,
      slope: activation === 'leakyRelu' ? slope : undefined,
    });
  }
}
