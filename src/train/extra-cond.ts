/**
 * A batch's extra condition channels (e.g. the inpainting mask) on their way to a network with
 * `extraCondChannels`: checked against the network, and appended to the condition the loss
 * passes to it, so every gradient computer feeds the network the same condition; and the loss
 * weight a mask gives the pixels it marks (`maskLossWeight`), the same in every computer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { extraCondChannels, type NetworkConfig } from '../nn/nets/network.js';
import { withExtraCond } from '../nn/tfjs/network.js';
import { trainingLoss, type Objective, type PredictingModel } from '../loss/objective.js';
import type { DiffusionSDE } from '../sde/diffusion-sde.js';
import type { Batch, TrainableNoiseModel } from './types.js';

/** The extra condition channels a model takes: its irsde config's `extraCondChannels` (0 for models without one, e.g. a `LayersNetwork`). */
export function modelExtraCondChannels(model: TrainableNoiseModel): number {
  const config = (model as { config?: NetworkConfig }).config;
  return config === undefined || config === null || typeof config !== 'object' ? 0 : extraCondChannels(config);
}

/**
 * The batch's extra condition channels for `model`: `batch.extraCond` when the model takes extra
 * channels (checked), `null` when it takes none (a batch's mask is then ignored).
 * @returns a tensor borrowed from the batch, or `null`.
 * @throws RangeError (one line, naming `where`) when the model needs extra channels the batch lacks or has in another number.
 */
export function extraCondOf(model: TrainableNoiseModel, batch: Batch, where: string): tf.Tensor | null {
  const k = modelExtraCondChannels(model);
  if (k === 0) return null;
  const e = batch.extraCond;
  if (e === undefined) {
    throw new RangeError(`${where}: the network takes ${k} extra condition channel${k > 1 ? 's' : ''} (extraCondChannels, e.g. the inpainting mask) but the batch has none; train it on data whose degradation makes masks (kind 'inpaint')`);
  }
  const [B, H, W] = batch.lq.shape;
  if (e.rank !== 4 || e.shape[0] !== B || e.shape[1] !== H || e.shape[2] !== W || e.shape[3] !== k) {
    throw new RangeError(`${where}: the batch's extra condition channels are [${e.shape.join(', ')}] but the network takes [${B}, ${H}, ${W}, ${k}]`);
  }
  return e;
}

/**
 * `model` as the loss sees it for `batch`: its predictions with the batch's extra condition
 * channels appended to the condition (see {@link extraCondOf}); `model` itself when it takes none.
 * Differentiable as `model.predict` is; nothing to dispose.
 */
export function batchModel(model: TrainableNoiseModel, batch: Batch, where: string): PredictingModel<tf.Tensor> {
  const extra = extraCondOf(model, batch, where);
  if (extra === null) return model;
  return {
    ...(model.prediction !== undefined ? { prediction: model.prediction } : {}),
    predict: (xt, cond, t) => (cond === null ? model.predict(xt, cond, t) : tf.tidy(() => model.predict(xt, withExtraCond(cond, extra), t))),
  };
}

/**
 * The per-element loss weight of `batch` under `maskLossWeight` (see `GradientTask.maskLossWeight`):
 * `1 + (maskLossWeight - 1) * m` with `m` the first channel of `batch.extraCond` (the inpainting
 * mask, 1 = missing), repeated over the `channels` of the network output: `[B, H, W, channels]`.
 * @returns a new tensor owned by the caller, or `null` when `maskLossWeight` is undefined or 1 or
 *   the batch has no mask (no pixel of it is missing: every weight would be 1).
 * @throws RangeError (one line, naming `where`) for a mask of another height or width than the batch.
 */
export function maskLossWeightOf(batch: Batch, maskLossWeight: number | undefined, channels: number, where: string): tf.Tensor | null {
  if (maskLossWeight === undefined || maskLossWeight === 1) return null;
  const e = batch.extraCond;
  if (e === undefined) return null;
  const [B, H, W] = batch.gt.shape;
  if (e.rank !== 4 || e.shape[0] !== B || e.shape[1] !== H || e.shape[2] !== W) {
    throw new RangeError(`${where}: maskLossWeight needs a mask [${B}, ${H}, ${W}, k] with the batch, got [${e.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const m = e.shape[3] === 1 ? e : tf.slice(e, [0, 0, 0, 0], [B, H, W, 1]);
    const w = tf.add(tf.mul(m, tf.scalar(maskLossWeight - 1, 'float32')), tf.scalar(1, 'float32'));
    return channels === 1 ? w : tf.tile(w, [1, 1, 1, channels]);
  });
}

/**
 * The training loss of `batch` as every in-thread computer takes it: `trainingLoss` of
 * {@link batchModel} (the batch's extra condition channels appended to the condition) with the
 * {@link maskLossWeightOf} weight when `maskLossWeight` asks for one. Differentiable; the caller
 * disposes the result (the weight is disposed here: tfjs keeps its own copy for the backward pass).
 */
export function batchTrainingLoss(
  sde: DiffusionSDE<tf.Tensor>, model: TrainableNoiseModel, batch: Batch, t: readonly number[], noise: tf.Tensor,
  options: { readonly objective: Objective; readonly norm?: 'l1' | 'l2'; readonly maskLossWeight?: number }, where: string,
): tf.Scalar {
  const weight = maskLossWeightOf(batch, options.maskLossWeight, batch.gt.shape[3] ?? 1, where);
  try {
    const opts = { objective: options.objective, ...(options.norm !== undefined ? { norm: options.norm } : {}), ...(weight ? { weight } : {}) };
    return trainingLoss(sde, batchModel(model, batch, where), batch, t, noise, opts) as tf.Scalar;
  } finally {
    weight?.dispose();
  }
}
