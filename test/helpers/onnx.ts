import * as tf from '@tensorflow/tfjs-core';
import type { UNet } from '../../src/index.js';
import { createNodeOrtNoiseModel } from '../../src/nn/onnx/node.js';
import { normErr } from './goldens.js';

/**
 * Runs an ONNX model of `unet` in ONNX Runtime and `unet.predict` on the same seeded random NHWC
 * inputs `[B, H, W, C]` at `times`; returns ORT's output shape and the normalised error between them.
 */
export async function ortVsTfjs(unet: UNet, onnx: Uint8Array, shape: [number, number, number, number], times: number[]): Promise<{ shape: number[]; err: number }> {
  const model = await createNodeOrtNoiseModel(onnx);
  const xt = tf.randomNormal(shape, 0, 1, 'float32', 1) as tf.Tensor4D;
  const mu = tf.randomUniform(shape, 0, 1, 'float32', 2) as tf.Tensor4D;
  try {
    const want = unet.predict(xt, mu, times);
    const got = await model.predict(xt, mu, times);
    const result = { shape: got.shape, err: normErr(got.dataSync(), want.dataSync()) };
    tf.dispose([want, got]);
    return result;
  } finally {
    tf.dispose([xt, mu]);
    await model.dispose();
  }
}
