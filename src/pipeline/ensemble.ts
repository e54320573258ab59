/**
 * Geometric self-ensemble: a network run on flipped and transposed copies of its input, with its
 * predictions mapped back and averaged. Restoration networks are trained on flipped and rotated
 * crops, so each copy is an equally good, slightly different estimate, and where their errors
 * differ the mean has less (the super-resolution literature's "x8 self-ensemble", EDSR+, at 8x
 * the cost); whether it pays depends on the model: measure it on validation images.
 * Applied per network evaluation, so every sampler takes it: a one-step sampler gets the mean of
 * the copies' restorations, a multi-step one the mean prediction at each step.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TileModel } from '../sampling/tiled.js';
import { checkEnsembleSize, type EnsembleSize } from '../sampling/names.js';

/**
 * Copy `k` of an NHWC tensor: bit 0 flips left-right, bit 1 upside down, bit 2 then swaps rows
 * and columns. `k = 0` returns `x` itself; otherwise a new tensor.
 */
function forward(x: tf.Tensor, k: number): tf.Tensor {
  if (k === 0) return x;
  return tf.tidy(() => {
    const axes = [...(k & 2 ? [1] : []), ...(k & 1 ? [2] : [])];
    const flipped = axes.length > 0 ? tf.reverse(x, axes) : x;
    return k & 4 ? tf.transpose(flipped, [0, 2, 1, 3]) : flipped;
  });
}

/** The inverse of {@link forward}: the transpose undone first, then the flips (their own inverses). */
function backward(y: tf.Tensor, k: number): tf.Tensor {
  if (k === 0) return y;
  return tf.tidy(() => {
    const t = k & 4 ? tf.transpose(y, [0, 2, 1, 3]) : y;
    const axes = [...(k & 2 ? [1] : []), ...(k & 1 ? [2] : [])];
    return axes.length > 0 ? tf.reverse(t, axes) : t;
  });
}

/**
 * A tile model that runs `model` on `size` flipped / transposed copies of its inputs (the state,
 * the condition and any extra condition channels, transformed alike) and returns the mean of its
 * predictions mapped back (see the file comment). The copies run one after another (a transposed
 * copy of a non-square tile has another shape), so memory stays that of one call and time grows
 * `size` times. Same ownership as the model: the inputs are borrowed, the result is new. A
 * `size` of 1 returns `model` itself.
 * @param model - the network's noise model per tile (NHWC tfjs tensors).
 * @param size - how many copies (see {@link EnsembleSize}).
 */
export function selfEnsemble(model: TileModel<tf.Tensor>, size: EnsembleSize): TileModel<tf.Tensor> {
  checkEnsembleSize(size, 'selfEnsemble');
  if (size === 1) return model;
  return async (xt, cond, t, extra) => {
    let sum: tf.Tensor | null = null;
    try {
      for (let k = 0; k < size; k++) {
        const inputs = [xt, cond, extra].map((v) => (v === null ? null : forward(v, k)));
        let out: tf.Tensor;
        try {
          out = await model(inputs[0] as tf.Tensor, inputs[1], t, inputs[2]);
        } finally {
          if (k > 0) for (const v of inputs) v?.dispose();
        }
        const back = backward(out, k);
        if (back !== out) out.dispose();
        if (sum === null) sum = back;
        else {
          const next: tf.Tensor = tf.add(sum, back);
          sum.dispose();
          back.dispose();
          sum = next;
        }
      }
      const mean = tf.div(sum as tf.Tensor, size);
      return mean;
    } finally {
      sum?.dispose();
    }
  };
}
