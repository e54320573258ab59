import * as tf from '@tensorflow/tfjs-core';
import type { MeanRevertingSDE } from '../sde/mean-reverting-sde.js';
import type { Batch, TrainableNoiseModel } from './types.js';
import type { UNetPrediction } from '../nn/unet/config.js';

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
 * What a training loss measures, before the norm: `diff = a * output + b` element-wise (affine in
 * the network output for every objective and prediction), with `loss = mean(|diff|)` (l1) or
 * `mean(diff^2)` (l2) over all elements. `'x0'`: `x0_hat - x0` (a residual network's `x0_hat =
 * mu + output`; a noise network's through `sde.x0FromNoise`); `'noise'`: predicted minus true
 * noise; `'ml'`: the reverse-SDE step mean minus the optimal one (see `mlLoss`). A residual
 * network's implied noise is `sde.noiseFromX0(x_t, mu + output, mu, t)`.
 * @param out - the network output for `xt`, `[B, H, W, C]`; not disposed.
 * @returns a new tensor shaped like `out` (differentiable w.r.t. `out`).
 */
export function objectiveDiff(
  sde: MeanRevertingSDE<tf.Tensor>,
  prediction: UNetPrediction,
  out: tf.Tensor,
  xt: tf.Tensor,
  batch: Batch,
  t: readonly number[],
  objective: Objective = 'ml',
): tf.Tensor {
  return tf.tidy(() => {
    const ts = t as number[];
    const residual = prediction === 'residual';
    if (objective === 'x0') {
      const x0Hat = residual ? tf.add(batch.lq, out) : sde.x0FromNoise(xt, batch.lq, out, ts);
      return tf.sub(x0Hat, batch.gt);
    }
    const noisePred = residual ? sde.noiseFromX0(xt, tf.add(batch.lq, out), batch.lq, ts) : out;
    if (objective === 'noise') return tf.sub(noisePred, sde.noiseFromX0(xt, batch.gt, batch.lq, ts));
    const pred = sde.reverseSdeStepMean(xt, batch.lq, sde.scoreFromNoise(noisePred, ts), ts);
    return tf.sub(pred, sde.optimalReverseMean(xt, batch.gt, batch.lq, ts));
  });
}

/**
 * The training loss of one batch at given timesteps and noise: `x_t = muBar_t + sigmaBar_t z`,
 * then the ML, noise-matching or x0 loss of `model.predict(x_t, mu, t)` (see {@link objectiveDiff}),
 * read according to `model.prediction` (noise by default). Every objective works with every
 * prediction. The mean over all elements (equal-sized items: the batch mean of per-item means),
 * so a batch split into shards gives the same loss (and gradient) as the shard values weighted by
 * shard size; `'ml'` and `'noise'` equal `mlLoss` / `noiseMatchingLoss` of the implied noise.
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
    const diff = objectiveDiff(sde, model.prediction ?? 'noise', out, xt, batch, ts, options.objective ?? 'ml');
    return tf.mean((options.norm ?? 'l1') === 'l2' ? tf.square(diff) : tf.abs(diff)) as tf.Scalar;
  });
}
