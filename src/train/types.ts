// The types the trainer's parts share (the model being trained and one batch), in a file of their
// own so that gradients.ts need not import trainer.ts, which imports them.
import type * as tf from '@tensorflow/tfjs-core';
import type { NetworkPrediction } from '../nn/nets/common.js';

/**
 * What the trainer needs from a network: a differentiable noise prediction and its variables by
 * (stable, PyTorch-style) name. `ConditionalUNet` satisfies it.
 */
export interface TrainableNoiseModel {
  /**
   * The network output for `xt` and the condition `mu` (`[B, H, W, C]` float32) at timesteps `t`
   * (one integer, or one per item); a new tensor owned by the caller. Under a DenoisingSDE the
   * trainer passes `null` for `mu` (unconditional networks ignore it).
   */
  predict(xt: tf.Tensor, mu: tf.Tensor, t: number | ArrayLike<number>): tf.Tensor;
  /** The trainable variables by (PyTorch-style) name (borrowed; the model owns them). */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** What `predict` returns (default `'noise'`; `'residual'`: `x0_hat - mu`). */
  readonly prediction?: NetworkPrediction;
}

/** One training batch: degraded `lq` (the SDE's `mu`) and clean `gt` (`x0`), both `[B, H, W, C]`. */
export interface Batch {
  /** Degraded images. */
  readonly lq: tf.Tensor;
  /** Clean images. */
  readonly gt: tf.Tensor;
}
