import type * as tf from '@tensorflow/tfjs-core';
import type { MeanRevertingSDE } from '../sde/mean-reverting-sde.js';
import type { DenoisingSDE } from '../sde/denoising-sde.js';
import { type DiffusionSDE } from '../sde/diffusion-sde.js';
import { checkSDE } from '../sde/kinds.js';
import type { Timestep } from '../sde/timesteps.js';
import { mlDiff, noiseDiff } from './diffs.js';

/** Inputs of the training losses; all tensors share one shape `[B, ...]`. */
export interface LossInputs<X = tf.Tensor> {
  /** The noisy state `x_t` (e.g. from `sde.sampleMarginal`). */
  readonly xt: X;
  /** The clean target `x0`. */
  readonly x0: X;
  /** The condition: the degraded image, the paper's `mu` (the mean-reverting SDE's end mean). */
  readonly cond: X;
  /** The network's noise prediction `eps_hat(x_t, cond, t)`. Gradients flow back through it. */
  readonly noisePred: X;
  /** Timestep(s): one integer in `1..T`, or one per batch element. */
  readonly t: Timestep;
}

/**
 * Inputs of the training losses for a {@link DenoisingSDE} (unconditional: no `cond`); all tensors
 * share one shape `[B, ...]`.
 */
export interface DenoisingLossInputs<X = tf.Tensor> {
  /** The noisy state `x_t = x0 + sigmaBar_t z` (e.g. from `sde.sampleMarginal(x0, t, rng)`). */
  readonly xt: X;
  /** The clean target `x0`. */
  readonly x0: X;
  /** The network's noise prediction `eps_hat(x_t, t)`. Gradients flow back through it. */
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
export function reduceMatching<X>(sde: DiffusionSDE<X>, diff: X, options: LossOptions | undefined, where: string): X {
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

/** The condition of the inputs (`cond`, or `null`), checked against the SDE (see `DiffusionSDE.checkCondition`). */
function condition<X>(sde: DiffusionSDE<X>, inputs: LossInputs<X> | DenoisingLossInputs<X>, where: string): X | null {
  checkSDE<X>(sde, where);
  if (inputs === null || typeof inputs !== 'object') throw new TypeError(`${where}: inputs must be an object { xt, x0, noisePred, t${sde.pull === 1 ? ', cond' : ''} }`);
  const cond = (inputs as { cond?: X | null }).cond ?? null;
  return sde.checkCondition(cond, sde.backend.shape(inputs.xt), where, 'takes no mu; leave it out');
}

/**
 * The maximum-likelihood trajectory loss: the distance between the reverse-SDE step mean driven
 * by the predicted noise, `reverseSdeStepMean(x_t, [mu,] -eps_hat / sigmaBar_t, t)`, and the
 * optimal (posterior-mean) `x_{t-1}` given the true `x0`. L1 by default.
 *
 * - {@link MeanRevertingSDE}: IR-SDE's objective (inputs with `cond`, the paper's `mu`).
 * - {@link DenoisingSDE}: the reference's `denoising_model.optimize_parameters` (inputs without
 *   `cond`; `x_t = x0 + sigmaBar_t z` with one random `t` per item, as its
 *   `generate_random_states`). Its `MatchingLoss` can weight by `sde.weights(t)` (`sigma_t^2`):
 *   pass `{ weights: sde.weights(t) }` for per-sample weights. (The reference's own broadcast of
 *   `[B,1,1,1]` weights against `[B, N]` losses multiplies the batch means instead.)
 *
 * Differentiable on tfjs: use inside `tf.variableGrads` / `optimizer.minimize`.
 * @returns a rank-0 tensor, owned by the caller.
 * @throws TypeError when `cond` is missing for a mean-reverting SDE or given for a denoising one.
 */
export function mlLoss<X>(sde: MeanRevertingSDE<X>, inputs: LossInputs<X>, options?: LossOptions): X;
export function mlLoss<X>(sde: DenoisingSDE<X>, inputs: DenoisingLossInputs<X>, options?: LossOptions): X;
export function mlLoss<X>(sde: DiffusionSDE<X>, inputs: LossInputs<X> | DenoisingLossInputs<X>, options?: LossOptions): X;
export function mlLoss<X>(sde: DiffusionSDE<X>, inputs: LossInputs<X> | DenoisingLossInputs<X>, options?: LossOptions): X {
  const mu = condition(sde, inputs, 'mlLoss');
  const b = sde.backend;
  return b.tidy(() => {
    const diff = mlDiff(sde, inputs.xt, inputs.x0, mu, inputs.noisePred, inputs.t);
    const res = reduceMatching(sde, diff, options, 'mlLoss');
    b.dispose(diff);
    return res;
  });
}

/**
 * The plain noise-matching loss: the distance between the predicted noise and the true noise
 * `(x_t - muBar_t) / sigmaBar_t` (`muBar_t = x0` for a {@link DenoisingSDE}), reduced like
 * {@link mlLoss}. Differentiable on tfjs.
 * @returns a rank-0 tensor, owned by the caller.
 */
export function noiseMatchingLoss<X>(sde: MeanRevertingSDE<X>, inputs: LossInputs<X>, options?: LossOptions): X;
export function noiseMatchingLoss<X>(sde: DenoisingSDE<X>, inputs: DenoisingLossInputs<X>, options?: LossOptions): X;
export function noiseMatchingLoss<X>(sde: DiffusionSDE<X>, inputs: LossInputs<X> | DenoisingLossInputs<X>, options?: LossOptions): X;
export function noiseMatchingLoss<X>(sde: DiffusionSDE<X>, inputs: LossInputs<X> | DenoisingLossInputs<X>, options?: LossOptions): X {
  const mu = condition(sde, inputs, 'noiseMatchingLoss');
  const b = sde.backend;
  return b.tidy(() => {
    const diff = noiseDiff(sde, inputs.xt, inputs.x0, mu, inputs.noisePred, inputs.t);
    const res = reduceMatching(sde, diff, options, 'noiseMatchingLoss');
    b.dispose(diff);
    return res;
  });
}
