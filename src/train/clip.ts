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
    if (g instanceof Float32Array) sq += sumOfSquares(g);
    else tensors.push(g);
  }
  if (tensors.length > 0) sq += tf.tidy(() => tf.addN(tensors.map((g) => tf.sum(tf.square(g)))).dataSync()[0]);
  return Math.sqrt(sq);
}

/**
 * Sum of squares in float64 over four interleaved partial sums (one running sum waits on every
 * addition's latency: 4x slower over the millions of values of a gradient).
 */
function sumOfSquares(g: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n4 = g.length - (g.length % 4);
  for (let i = 0; i < n4; i += 4) {
    s0 += g[i] * g[i];
    s1 += g[i + 1] * g[i + 1];
    s2 += g[i + 2] * g[i + 2];
    s3 += g[i + 3] * g[i + 3];
  }
  for (let i = n4; i < g.length; i++) s0 += g[i] * g[i];
  return s0 + s1 + s2 + s3;
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
