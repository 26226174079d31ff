// Guarded steps' flag (shaders/optim/nonfinite_check.wgsl): its uniforms, and reading it back later.
import { fmtShape } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { defineUniforms } from '../runtime/uniforms.ts';
import { FLAT_HEADER } from './flat-update.ts';

/** optim/nonfinite_check.wgsl's uniforms (clamp_* unused). */
export const NONFINITE_PARAMS = defineUniforms('NonfiniteParams', { flat: { struct: FLAT_HEADER } });

/**
 * What a guarded step found: `null` when every checked value was finite (the step was taken),
 * otherwise the first offending slot: `check[slot]` for slot < check.length, else the gradient of
 * parameter slot - check.length.
 */
export type NonFiniteSlot = number | null;

/**
 * Decode the flag tensor a guarded step() returned (a sync point: call it with the periodic metrics).
 * Word 0 is 0 or 1.0 (raised), word 1 is 0xffffffff minus the smallest offending slot.
 */
export async function readNonFiniteFlag(flag: Tensor): Promise<NonFiniteSlot> {
  if (flag.size !== 2)
    throw new TypeError(
      `readNonFiniteFlag: expected the 2-element flag tensor returned ` +
        `by step({ skipNonFinite: true }), got ${fmtShape(flag.shape)}`,
    );
  const values = await flag.toArray();
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return bits[0] === 0 ? null : 0xffffffff - bits[1];
}
