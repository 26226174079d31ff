// Reverse-mode autograd, micrograd style: ops attach a GradNode (inputs + backward closure) to their
// output; backward() sorts the graph once, walks it in reverse, and accumulates gradients.
// Everything is recorded on the GPU in the same command stream as the forward pass: no readback.
import { grid1d } from '../runtime/grid.ts';
import { defineUniforms } from '../runtime/uniforms.ts';
import { launchMap } from '../runtime/map.ts';
import { contiguousStrides, fmtShape, sameShape } from '../tensor/shape.ts';
import { peekTensorId, setBackwardImpl, Tensor, type GradNode } from '../tensor/tensor.ts';

/** copy/accumulate.wgsl's uniforms. */
const ACCUMULATE_PARAMS = defineUniforms('AccumulateParams', { count: 'u32', grid_x: 'u32' });

/**
 * Attach `backward` to `out` when recording is on and some input requires a gradient.
 * `backward(grad, needs)` returns one gradient per input; needs[i] is false where none is wanted.
 */
export function record(
  out: Tensor,
  op: string,
  inputs: Tensor[],
  backward: (grad: Tensor, needs: boolean[]) => (Tensor | null)[],
): Tensor {
  if (!out.engine.gradEnabled || !inputs.some((t) => t.requiresGrad)) return out;
  out.requiresGrad = true;
  const needs = inputs.map((t) => t.requiresGrad);
  const node: GradNode = { op, inputs, backward: (g) => backward(g, needs) };
  for (const t of inputs) t.graphRefs++;
  out.node = node;
  return out;
}

/** Nodes reachable from `root` through tensors that require gradients, inputs before outputs. */
function topoSort(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child.requiresGrad && child.node && !visited.has(child)) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/** A new tensor object sharing `t`'s storage (so the grad table owns its entries). */
function alias(t: Tensor): Tensor {
  return new Tensor(t.engine, t.storage('backward').retain(), t.shape, false);
}

/** The sum of two contributions to one gradient, through the add op (Tensor.add, installed by src/ops). */
function addTensors(a: Tensor, b: Tensor): Tensor {
  return a.add(b).setCategory('gradients');
}

/**
 * `dst += src` in place, for a leaf whose .grad exists (gradients accumulate across backward() calls).
 * Not through the add op on purpose: that would allocate a new gradient-sized buffer per leaf and
 * replace the leaf's .grad tensor; this kernel allocates nothing and keeps .grad the same object.
 */
function accumulateInto(dst: Tensor, src: Tensor): void {
  const rt = dst.engine.runtime;
  const g = grid1d(dst.size);
  const k = rt.kernels.get('copy/accumulate', {}, 'grad.accumulate');
  rt.dispatch(
    k,
    [dst.buffer('grad.accumulate'), src.buffer('grad.accumulate')],
    ACCUMULATE_PARAMS.pack({ count: dst.size, grid_x: g.gridX }),
    g.workgroups,
  );
}

function runBackward(root: Tensor, grad?: Tensor): void {
  const engine = root.engine;
  if (!root.requiresGrad)
    throw new Error(`backward: ${root} does not require a gradient (no input of its graph has requiresGrad)`);
  if (root.graphFreed) {
    throw new Error(
      'backward: the graph of this tensor was already freed by an earlier backward(); run the forward pass again',
    );
  }
  if (grad) {
    if (!sameShape(grad.shape, root.shape))
      throw new Error(
        `backward: gradient shape ${fmtShape(grad.shape)} does not match tensor shape ${fmtShape(root.shape)}`,
      );
  } else if (root.size !== 1) {
    throw new Error(`backward: ${root} is not a scalar; pass the output gradient: t.backward(grad)`);
  }
  engine.noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    const add = (t: Tensor, g: Tensor) => {
      const prev = grads.get(t);
      if (!prev) grads.set(t, alias(g));
      else {
        grads.set(t, addTensors(prev, g));
        prev.dispose();
      }
    };
    grads.set(root, grad ? alias(grad) : engine.ones(root.shape, { category: 'gradients' }));
    const order = topoSort(root);
    const leaves = new Set<Tensor>();
    if (!root.node) leaves.add(root);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      const node = t.node;
      if (!g || !node) continue;
      grads.delete(t);
      const mark = peekTensorId();
      const inputGrads = engine.tidy(() => node.backward(g));
      node.inputs.forEach((input, j) => {
        const gi = inputGrads[j];
        if (!gi || !input.requiresGrad) return;
        if (!sameShape(gi.shape, input.shape)) {
          throw new Error(
            `backward of ${node.op}: gradient ${fmtShape(gi.shape)} ` +
              `does not match input ${fmtShape(input.shape)} (an op bug)`,
          );
        }
        add(input, gi);
        if (!input.node) leaves.add(input);
      });
      for (const gi of inputGrads) if (gi && gi !== g && gi.id >= mark) gi.dispose();
      g.dispose();
    }
    // Free the graph: nodes drop their inputs, and intermediates already disposed (by a tidy) go.
    for (const t of order) {
      t.freeNode();
      t.graphFreed = true;
    }
    for (const leaf of leaves) {
      const g = grads.get(leaf)!;
      grads.delete(leaf);
      if (leaf.grad && !leaf.grad.isDisposed) {
        accumulateInto(leaf.grad, g);
        g.dispose();
      } else {
        const storage = g.storage('backward');
        let owned: Tensor;
        if (storage.refs === 1)
          owned = g; // the only reference: adopt it
        else {
          owned = engine.empty(leaf.shape, { category: 'gradients' }, 'backward.grad');
          const s = contiguousStrides(leaf.shape);
          launchMap(
            engine.runtime,
            'backward.copy',
            'a',
            ['a'],
            [{ buffer: g.buffer(), offset: 0, strides: s }],
            { buffer: owned.buffer(), offset: 0, strides: s },
            leaf.shape,
          );
          g.dispose();
        }
        owned.kept = true;
        owned.setCategory('gradients');
        engine.untrack(owned);
        leaf.grad = owned;
      }
    }
    for (const g of grads.values()) g.dispose();
  });
}

setBackwardImpl(runBackward);
