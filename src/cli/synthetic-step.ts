// The synthetic SegAN D+G step that `segan profile` and `segan tune` time: a model of the requested
// width/size/classes and one random batch (fixed seeds, so both commands see the same shapes and data).
import type { Engine } from '../index.ts';
import { makeConfig } from '../segan/config.ts';
import { SeganModel } from '../segan/model.ts';
import { SeganTrainer } from '../segan/trainer.ts';
import type { Tensor } from '../tensor/tensor.ts';

export function syntheticStep(
  e: Engine,
  B: number,
  width: number,
  size: number,
  K: number,
): { model: SeganModel; trainer: SeganTrainer; x: Tensor; y: Tensor } {
  const cfg = makeConfig({
    model: { inChannels: 3, classes: K, width, skip: 'add', slope: 0.2, seed: 1 },
    size,
    batch: B,
  });
  const model = new SeganModel(e, cfg);
  const trainer = new SeganTrainer(model, cfg);
  const x = e.rand([B, 3, size, size], { seed: 2 });
  const y = e.tidy(() => e.rand([B, K, size, size], { seed: 3 }).gt(0.7));
  return { model, trainer, x, y };
}
