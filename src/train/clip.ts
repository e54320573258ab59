import * as tf from '@tensorflow/tfjs-core';
import type { Gradient } from './gradients.js';

/** Result of {@link clipGradNorm}. */
export interface ClippedGradients {
  /** Global L2 norm of the gradients before clipping. */
  readonly norm: number;
  /** The (possibly scaled) gradients: new tensors owned by the caller. */
  readonly grads: Record<string, tf.Tensor>;
}

/** Global L2 norm of a set of gradients (tensors summed on the backend, host arrays in float64). */
export function gradNorm(grads: Record<string, Gradient>): number {
  let sq = 0;
  const tensors: tf.Tensor[] = [];
  for (const g of Object.values(grads)) {
    if (g instanceof Float32Array) {
      for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
    } else tensors.push(g);
  }
  if (tensors.length > 0) sq += tf.tidy(() => tf.addN(tensors.map((g) => tf.sum(tf.square(g)))).dataSync()[0]);
  return Math.sqrt(sq);
}

/** The factor PyTorch's `clip_grad_norm_` scales by: `min(1, maxNorm / (norm + 1e-6))`. */
export function clipFactor(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/**
 * Scales gradients so that their global L2 norm is at most `maxNorm` (PyTorch's
 * `clip_grad_norm_`, with its `1e-6` guard).
 * @returns the norm before clipping and new gradient tensors (the caller owns them and must dispose
 *   them; the inputs are not disposed).
 */
export function clipGradNorm(grads: Record<string, tf.Tensor>, maxNorm: number): ClippedGradients {
  clipFactor(0, maxNorm); // validates maxNorm before any work
  const norm = gradNorm(grads);
  const scale = clipFactor(norm, maxNorm);
  const out = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, scale === 1 ? tf.clone(g) : tf.mul(g, scale)]));
  return { norm, grads: out };
}
