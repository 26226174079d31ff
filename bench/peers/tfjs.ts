// TF.js with its WebGPU backend, on the same Dawn adapter in this process: the peer our kernels are
// measured against. Node 20 has no `navigator`, so we give TF.js a Dawn GPU object and the GPU*
// globals, as a browser would (./dawn.ts, shared with the jax-js peer).
import { dawnNavigator } from './dawn.ts';

type Tf = typeof import('@tensorflow/tfjs');

let loaded: Promise<Tf> | null = null;

export function loadTfjs(): Promise<Tf> {
  if (!loaded) {
    loaded = (async () => {
      dawnNavigator();
      const tf = await import('@tensorflow/tfjs');
      await import('@tensorflow/tfjs-backend-webgpu');
      const silence = console.warn;
      console.warn = () => undefined; // TF.js prints hints about production mode / backends
      try {
        await tf.setBackend('webgpu');
        await tf.ready();
      } finally {
        console.warn = silence;
      }
      tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', 15);
      return tf;
    })();
  }
  return loaded;
}

/** Run `fn` (which creates tensors) and wait until the GPU has finished, disposing the results. */
export async function tfjsTimed(tf: Tf, fn: () => import('@tensorflow/tfjs').Tensor): Promise<void> {
  const out = tf.tidy(fn);
  await out.data(); // readback of the result: waits for the GPU (small results only in our suites)
  out.dispose();
}

export async function closeTfjs(): Promise<void> {
  if (!loaded) return;
  const tf = await loaded;
  tf.disposeVariables();
  tf.engine().reset();
}
