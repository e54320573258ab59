import type { Objective } from '../loss/objective.js';
import * as tf from '@tensorflow/tfjs-core';
import type { DiffusionSDE } from '../sde/diffusion-sde.js';
import { trainingLoss } from '../loss/objective.js';
import { hostValues } from './host-state.js';
import { tfjsGradientsRegistered } from '../engine/backend.js';
import type { Batch, TrainableNoiseModel } from './types.js';
import { batchTrainingLoss } from './extra-cond.js';

/** Everything one training step's gradient needs (all tensors borrowed: not disposed). */
export interface GradientTask {
  /** The SDE of the trainer (either family). */
  readonly sde: DiffusionSDE<tf.Tensor>;
  /** The network; its current variables are the weights to differentiate at. */
  readonly model: TrainableNoiseModel;
  /** The batch, `[B, H, W, C]` float32. */
  readonly batch: Batch;
  /** `B` integer timesteps in `1..T`. */
  readonly t: readonly number[];
  /** The noise `z` of `x_t`, same shape as the batch. */
  readonly noise: tf.Tensor;
  /** Matching objective. */
  readonly objective: Objective;
  /** Matching norm. */
  readonly norm: 'l1' | 'l2';
  /**
   * Optional: the loss weight of the pixels the batch's mask marks (the first channel of
   * `batch.extraCond`, 1 = missing, as the `inpaint` degradation makes it) relative to 1 for the
   * others: each element's difference is multiplied by `1 + (maskLossWeight - 1) * mask` before the
   * norm, so an inpainting network learns from the pixels it must make up rather than mostly from
   * those it copies. Default 1 (unweighted).
   */
  readonly maskLossWeight?: number;
}

/**
 * One variable's gradient: a tensor, or its values on the host (float32, the variable's shape
 * and element order). Computers that produce gradients outside tfjs (ONNX Runtime) return host
 * arrays so that a trainer keeping its optimiser state on the host never copies them through
 * the backend.
 */
export type Gradient = tf.Tensor | Float32Array;

/** The loss of a batch and its gradient per variable. */
export interface GradientResult {
  /** The batch loss (mean over the batch) before the update. */
  readonly loss: number;
  /** d loss / d variable, keyed by the model's variable names; new tensors / arrays owned by the caller. */
  readonly grads: Record<string, Gradient>;
  /**
   * Optional: the values of the variables the gradients were computed at, by name, when the
   * computer read them to the host anyway (ONNX Runtime does): new arrays owned by the caller, who
   * may write into them. A host-state optimiser updates them in place instead of reading the
   * variables again (one weight-sized copy fewer per step).
   */
  readonly weights?: Record<string, Float32Array>;
}

/** Disposes the tensors among `grads` (host arrays need nothing). */
export function disposeGradients(grads: Record<string, Gradient>): void {
  for (const g of Object.values(grads)) if (!(g instanceof Float32Array)) g.dispose();
}

/** A gradient's values on the host (read-only: may be the tensor's own storage on the cpu backend). */
export function gradientValues(g: Gradient): Float32Array {
  return g instanceof Float32Array ? g : hostValues(g);
}

/**
 * How a {@link Trainer} computes each step's loss and gradients: in this thread
 * ({@link inProcessGradients}, the default) or elsewhere: `createOrtGradients` runs the forward
 * and backward pass in ONNX Runtime on every core, and Node's `WorkerGradientPool` (from
 * `irsde/node`) splits the batch over worker threads and averages their gradients.
 * An implementation must return the gradient of the full-batch loss of {@link trainingLoss} at
 * the model's current weights (up to float rounding) and must not change the weights.
 */
export interface GradientComputer {
  /** Loss and gradients of one batch. */
  compute(task: GradientTask): GradientResult | Promise<GradientResult>;
  /** Frees what the computer holds (worker threads, ONNX Runtime sessions); absent when it holds nothing. */
  dispose?(): Promise<void>;
}

/** The default {@link GradientComputer}: `tf.variableGrads` on the active backend, in this thread. */
export const inProcessGradients: GradientComputer = {
  compute(task: GradientTask): GradientResult {
    const { sde, model, batch, t, noise, objective, norm, maskLossWeight } = task;
    if (!tfjsGradientsRegistered()) {
      throw new Error("inProcessGradients: tfjs has no gradient functions registered; in Node install @tensorflow/tfjs-layers " +
        "(its bundle registers them; selectBackend() loads it), in a bundled app import '@tensorflow/tfjs-core/dist/register_all_gradients'");
    }
    const names = [...model.variables.keys()];
    const vars = names.map((n) => model.variables.get(n) as tf.Variable);
    const { value, grads } = tf.variableGrads(() => batchTrainingLoss(sde, model, batch, t, noise, { objective, norm, ...(maskLossWeight !== undefined ? { maskLossWeight } : {}) }, 'inProcessGradients'), vars);
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

/**
 * A {@link GradientComputer} that runs `inner` on consecutive chunks of at most `size` items and
 * sums their results weighted by chunk size: the same loss and gradient as the whole batch (up to
 * float rounding), with the activation memory of one chunk. For batches whose backward pass does
 * not fit in memory (tfjs-backend-wasm has a 4 GiB heap).
 * @param size - items per chunk (integer >= 1).
 * @param inner - what computes each chunk (default {@link inProcessGradients}).
 * @throws RangeError for a bad size.
 */
export function microBatchGradients(size: number, inner: GradientComputer = inProcessGradients): GradientComputer {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`microBatchGradients: size must be an integer >= 1, got ${String(size)}`);
  return {
    async compute(task: GradientTask): Promise<GradientResult> {
      const shape = task.batch.gt.shape;
      const B = shape[0];
      if (B <= size) return inner.compute(task);
      let loss = 0;
      let acc: Record<string, Gradient> | null = null;
      for (let start = 0; start < B; start += size) {
        const n = Math.min(size, B - start);
        const cut = (x: tf.Tensor) => tf.slice(x, [start, ...shape.slice(1).map(() => 0)], [n, ...shape.slice(1)]);
        const extra = task.batch.extraCond;
        const cutExtra = (x: tf.Tensor) => tf.slice(x, [start, 0, 0, 0], [n, ...x.shape.slice(1)]);
        const batch = { gt: cut(task.batch.gt), lq: cut(task.batch.lq), ...(extra !== undefined ? { extraCond: cutExtra(extra) } : {}) };
        const noise = cut(task.noise);
        let part: GradientResult;
        try {
          part = await inner.compute({ ...task, batch, noise, t: task.t.slice(start, start + n) });
        } finally {
          tf.dispose([batch.gt, batch.lq, noise, ...(batch.extraCond !== undefined ? [batch.extraCond] : [])]);
        }
        const w = n / B;
        loss += w * part.loss;
        acc = accumulate(acc, part.grads, w);
      }
      return { loss, grads: acc ?? {} };
    },
  };
}

/** `acc + w * part` per variable; consumes both (their tensors are disposed). Host arrays stay on the host. */
function accumulate(acc: Record<string, Gradient> | null, part: Record<string, Gradient>, w: number): Record<string, Gradient> {
  const next: Record<string, Gradient> = {};
  for (const [name, g] of Object.entries(part)) {
    const prev = acc?.[name];
    if (g instanceof Float32Array) {
      const sum = prev === undefined ? new Float32Array(g.length) : prev instanceof Float32Array ? prev : Float32Array.from(gradientValues(prev));
      for (let i = 0; i < g.length; i++) sum[i] += w * g[i];
      next[name] = sum;
    } else {
      next[name] = tf.tidy(() => {
        const scaled = tf.mul(g, w);
        return prev === undefined ? scaled : tf.add(prev instanceof Float32Array ? tf.tensor(prev, g.shape) : prev, scaled);
      });
    }
  }
  disposeGradients(part);
  if (acc) disposeGradients(acc);
  return next;
}
