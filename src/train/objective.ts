import * as tf from '@tensorflow/tfjs-core';
import type { MeanRevertingSDE } from '../sde/mean-reverting-sde.js';
import { mlLoss, noiseMatchingLoss } from '../loss/losses.js';
import type { Batch, TrainableNoiseModel } from './trainer.js';

/** Which matching objective and norm a training loss uses (see {@link trainingLoss}). */
export interface ObjectiveOptions {
  /** `'ml'` (maximum-likelihood trajectory loss, default) or `'noise'` (noise matching). */
  readonly objective?: 'ml' | 'noise';
  /** `'l1'` (default) or `'l2'`. */
  readonly norm?: 'l1' | 'l2';
}

/**
 * The training loss of one batch at given timesteps and noise: `x_t = muBar_t + sigmaBar_t z`,
 * then the ML (or noise-matching) loss of `model.predict(x_t, mu, t)`. The batch mean of per-item
 * means, so a batch split into shards gives the same loss (and gradient) as the shard values
 * weighted by shard size.
 * @param batch - `lq` (`mu`) and `gt` (`x0`), `[B, H, W, C]` float32; not disposed.
 * @param t - `B` integer timesteps in `1..T`.
 * @param noise - `z`, same shape as the batch; not disposed.
 * @returns A rank-0 float32 tensor owned by the caller (differentiable w.r.t. the model's variables).
 */
export function trainingLoss(
  sde: MeanRevertingSDE<tf.Tensor>,
  model: TrainableNoiseModel,
  batch: Batch,
  t: readonly number[],
  noise: tf.Tensor,
  options: ObjectiveOptions = {},
): tf.Scalar {
  return tf.tidy(() => {
    const ts = t as number[];
    const xt = sde.sampleMarginal(batch.gt, batch.lq, ts, noise);
    const noisePred = model.predict(xt, batch.lq, ts);
    const inputs = { xt, x0: batch.gt, mu: batch.lq, noisePred, t: ts };
    const opts = { norm: options.norm ?? 'l1' };
    return (options.objective === 'noise' ? noiseMatchingLoss(sde, inputs, opts) : mlLoss(sde, inputs, opts)) as tf.Scalar;
  });
}
