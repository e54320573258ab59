import * as tf from '@tensorflow/tfjs-core';
import type { MeanRevertingSDE } from '../sde/mean-reverting-sde.js';
import { trainingLoss } from './objective.js';
import type { Batch, TrainableNoiseModel } from './trainer.js';

/** Everything one training step's gradient needs (all tensors borrowed: not disposed). */
export interface GradientTask {
  /** The SDE of the trainer. */
  readonly sde: MeanRevertingSDE<tf.Tensor>;
  /** The network; its current variables are the weights to differentiate at. */
  readonly model: TrainableNoiseModel;
  /** The batch, `[B, H, W, C]` float32. */
  readonly batch: Batch;
  /** `B` integer timesteps in `1..T`. */
  readonly t: readonly number[];
  /** The noise `z` of `x_t`, same shape as the batch. */
  readonly noise: tf.Tensor;
  /** Matching objective. */
  readonly objective: 'ml' | 'noise';
  /** Matching norm. */
  readonly norm: 'l1' | 'l2';
}

/** The loss of a batch and its gradient per variable. */
export interface GradientResult {
  /** The batch loss (mean over the batch) before the update. */
  readonly loss: number;
  /** d loss / d variable, keyed by the model's variable names; new tensors owned by the caller. */
  readonly grads: Record<string, tf.Tensor>;
}

/**
 * How a {@link Trainer} computes each step's loss and gradients: in this thread
 * ({@link inProcessGradients}, the default) or elsewhere, e.g. Node's `WorkerGradientPool`
 * (from `irsde/node`), which splits the batch over worker threads and averages their gradients.
 * An implementation must return the gradient of the full-batch loss of {@link trainingLoss} at
 * the model's current weights (up to float rounding) and must not change the weights.
 */
export interface GradientComputer {
  /** Loss and gradients of one batch. */
  compute(task: GradientTask): GradientResult | Promise<GradientResult>;
}

/** The default {@link GradientComputer}: `tf.variableGrads` on the active backend, in this thread. */
export const inProcessGradients: GradientComputer = {
  compute(task: GradientTask): GradientResult {
    const { sde, model, batch, t, noise, objective, norm } = task;
    const names = [...model.variables.keys()];
    const vars = names.map((n) => model.variables.get(n) as tf.Variable);
    const { value, grads } = tf.variableGrads(() => trainingLoss(sde, model, batch, t, noise, { objective, norm }), vars);
    const loss = value.dataSync()[0];
    value.dispose();
    // variableGrads keys gradients by tf's variable names; map back to ours.
    const named: Record<string, tf.Tensor> = {};
    names.forEach((n, i) => {
      const g = grads[vars[i].name];
      if (g !== undefined) named[n] = g;
    });
    return { loss, grads: named };
  },
};
