import type * as tf from '@tensorflow/tfjs-core';
import type { MeanRevertingSDE } from '../sde/mean-reverting-sde.js';
import type { Timestep } from '../sde/timesteps.js';

/** Inputs of the training losses; all tensors share one shape `[B, ...]`. */
export interface LossInputs<X = tf.Tensor> {
  /** The noisy state `x_t` (e.g. from `sde.sampleMarginal`). */
  readonly xt: X;
  /** The clean target `x0`. */
  readonly x0: X;
  /** The degraded image `mu` (the SDE's mean). */
  readonly mu: X;
  /** The network's noise prediction `eps_hat(x_t, mu, t)`. Gradients flow back through it. */
  readonly noisePred: X;
  /** Timestep(s): one integer in `1..T`, or one per batch element. */
  readonly t: Timestep;
}

/** Options of the training losses. */
export interface LossOptions {
  /** `'l1'` (mean absolute error, the paper's choice; default) or `'l2'` (mean squared error). */
  readonly norm?: 'l1' | 'l2';
  /** Optional per-sample weights (length B), multiplied into each sample's mean error before the batch mean. */
  readonly weights?: ArrayLike<number>;
}

/**
 * Reduces an element-wise difference as the reference's `MatchingLoss` does: per-sample mean
 * over all non-batch axes of `|d|` (or `d^2`), times optional per-sample weights, then the mean
 * over the batch. Disposes nothing it was given.
 */
function reduceMatching<X>(sde: MeanRevertingSDE<X>, diff: X, options: LossOptions | undefined, where: string): X {
  const b = sde.backend;
  const norm = options?.norm ?? 'l1';
  if (norm !== 'l1' && norm !== 'l2') throw new RangeError(`${where}: norm must be 'l1' or 'l2', got ${String(norm)}`);
  const batch = b.shape(diff)[0];
  let w: Float64Array | undefined;
  if (options?.weights !== undefined) {
    w = Float64Array.from(options.weights);
    if (w.length !== batch) throw new RangeError(`${where}: weights has ${w.length} entries but the batch axis has size ${batch}`);
    w.forEach((v, i) => {
      if (!Number.isFinite(v)) throw new RangeError(`${where}: weights[${i}] is not finite (${v})`);
    });
  }
  const e = norm === 'l1' ? b.abs(diff) : b.square(diff);
  const perItem = b.meanPerItem(e);
  const weighted = w === undefined ? perItem : b.linear([[perItem, w]]);
  const res = b.mean(weighted);
  b.dispose(weighted === perItem ? [e, perItem] : [e, perItem, weighted]);
  return res;
}

/**
 * The maximum-likelihood trajectory loss of IR-SDE: the distance between the reverse-SDE step
 * mean driven by the predicted noise, `reverseSdeStepMean(x_t, mu, -eps_hat / sigmaBar_t, t)`, and
 * the optimal (posterior-mean) `x_{t-1}` given the true `x0`. L1 by default.
 * Differentiable on tfjs: use inside `tf.variableGrads` / `optimizer.minimize`.
 * @returns a rank-0 tensor, owned by the caller.
 */
export function mlLoss<X>(sde: MeanRevertingSDE<X>, inputs: LossInputs<X>, options?: LossOptions): X {
  const { xt, x0, mu, noisePred, t } = inputs;
  const b = sde.backend;
  return b.tidy(() => {
    const score = sde.scoreFromNoise(noisePred, t);
    const pred = sde.reverseSdeStepMean(xt, mu, score, t);
    const target = sde.optimalReverseMean(xt, x0, mu, t);
    const diff = b.linear([
      [pred, 1],
      [target, -1],
    ]);
    const res = reduceMatching(sde, diff, options, 'mlLoss');
    b.dispose([score, pred, target, diff]);
    return res;
  });
}

/**
 * The plain noise-matching loss: the distance between the predicted noise and the true noise
 * `(x_t - muBar_t) / sigmaBar_t`, reduced like {@link mlLoss}. Differentiable on tfjs.
 * @returns a rank-0 tensor, owned by the caller.
 */
export function noiseMatchingLoss<X>(sde: MeanRevertingSDE<X>, inputs: LossInputs<X>, options?: LossOptions): X {
  const { xt, x0, mu, noisePred, t } = inputs;
  const b = sde.backend;
  return b.tidy(() => {
    const target = sde.noiseFromX0(xt, x0, mu, t);
    const diff = b.linear([
      [noisePred, 1],
      [target, -1],
    ]);
    const res = reduceMatching(sde, diff, options, 'noiseMatchingLoss');
    b.dispose([target, diff]);
    return res;
  });
}
