import * as tf from '@tensorflow/tfjs-core';

/** Result of {@link clipGradNorm}. */
export interface ClippedGradients {
  /** Global L2 norm of the gradients before clipping. */
  readonly norm: number;
  /** The (possibly scaled) gradients: new tensors owned by the caller. */
  readonly grads: Record<string, tf.Tensor>;
}

/**
 * Scales gradients so that their global L2 norm is at most `maxNorm` (PyTorch's
 * `clip_grad_norm_`, with its `1e-6` guard).
 * @returns the norm before clipping and new gradient tensors (the caller owns them and must dispose
 *   them; the inputs are not disposed).
 */
export function clipGradNorm(grads: Record<string, tf.Tensor>, maxNorm: number): ClippedGradients {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const norm = tf.tidy(() => {
    const sq = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    return Math.sqrt(tf.addN(sq).dataSync()[0]);
  });
  const scale = Math.min(1, maxNorm / (norm + 1e-6));
  const out = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, scale === 1 ? tf.clone(g) : tf.mul(g, scale)]));
  return { norm, grads: out };
}
