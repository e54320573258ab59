import * as tf from '@tensorflow/tfjs-core';
import type { MeanRevertingSDE } from '../sde/mean-reverting-sde.js';
import { mlLoss, noiseMatchingLoss } from '../loss/losses.js';
import type { Batch, TrainableNoiseModel } from './trainer.js';

/**
 * A training objective: `'ml'` (the maximum-likelihood trajectory loss of IR-SDE), `'noise'`
 * (noise matching) or `'x0'` (matching the clean image, `|x0_hat - x0|`, uniform over `t`).
 */
export type Objective = 'ml' | 'noise' | 'x0';

/** The objectives {@link trainingLoss} knows. */
export const OBJECTIVES: readonly Objective[] = ['ml', 'noise', 'x0'];

/** Which matching objective and norm a training loss uses (see {@link trainingLoss}). */
export interface ObjectiveOptions {
  /** The objective (default `'ml'`). */
  readonly objective?: Objective;
  /** `'l1'` (default) or `'l2'`. */
  readonly norm?: 'l1' | 'l2';
}

/**
 * The training loss of one batch at given timesteps and noise: `x_t = muBar_t + sigmaBar_t z`,
 * then the ML, noise-matching or x0 loss of `model.predict(x_t, mu, t)`, read according to
 * `model.prediction` (noise by default; a residual network's `x0_hat = mu + output`, and the
 * noise it implies is `sde.noiseFromX0(x_t, x0_hat, mu, t)`). Every objective works with every
 * prediction. The batch mean of per-item
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
    const out = model.predict(xt, batch.lq, ts);
    const norm = options.norm ?? 'l1';
    const residual = (model.prediction ?? 'noise') === 'residual';
    if (options.objective === 'x0') {
      // x0_hat - x0: for a residual network mu + out - x0; for a noise network through muBar^-1.
      const x0Hat = residual ? tf.add(batch.lq, out) : sde.x0FromNoise(xt, batch.lq, out, ts);
      const diff = tf.sub(x0Hat, batch.gt);
      return tf.mean(norm === 'l2' ? tf.square(diff) : tf.abs(diff)) as tf.Scalar;
    }
    const noisePred = residual ? sde.noiseFromX0(xt, tf.add(batch.lq, out), batch.lq, ts) : out;
    const inputs = { xt, x0: batch.gt, mu: batch.lq, noisePred, t: ts };
    const opts = { norm };
    return (options.objective === 'noise' ? noiseMatchingLoss(sde, inputs, opts) : mlLoss(sde, inputs, opts)) as tf.Scalar;
  });
}

