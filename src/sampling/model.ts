import type { Tensor } from '@tensorflow/tfjs-core';
import { type DiffusionSDE } from '../sde/diffusion-sde.js';
import { processOf } from './process.js';

/**
 * The model contract of every sampler: a function that predicts the noise `eps` in
 * `x_t = muBar_t + sigmaBar_t eps` from the current state.
 *
 * - `xt`: the state at time `t`, float32 `[B, ...]` (any layout, e.g. NHWC).
 * - `cond`: the condition. For a `MeanRevertingSDE` the degraded image `mu` (the SDE's mean),
 *   same shape as `xt`; for a `DenoisingSDE` (unconditional) always `null`. An unconditional
 *   network's `predict(xt, cond, t)` ignores `cond`, so one signature serves both.
 * - `t`: the time for the whole batch: an integer index in `1..T`, except under the adaptive ODE
 *   sampler (`'ode-adaptive'`), which calls the model at real `t` in `(0, T]` (interpolated
 *   tables; a time-embedding network takes real `t` as it is).
 * - returns: predicted noise, same shape as `xt`, dimensionless (unit variance for the truth);
 *   sync or async.
 *
 * Ownership: the model must not dispose `xt` or `cond` and must return a **new** tensor (not one
 * of its arguments); the caller of the model (the sampler) disposes the returned tensor.
 *
 * @typeParam X - the backend's tensor type.
 * @typeParam C - the condition's type: `X` (mean-reverting, the default) or `null` (denoising).
 */
export type NoiseModel<X = Tensor, C = X> = (xt: X, cond: C, t: number) => X | Promise<X>;

/**
 * A model that predicts the score `grad log p_t(x_t)` (units 1/data), same contract as
 * {@link NoiseModel} otherwise.
 */
export type ScoreModel<X = Tensor, C = X> = (xt: X, cond: C, t: number) => X | Promise<X>;

/**
 * A model that predicts the clean image `x0` (data units), same contract as {@link NoiseModel}
 * otherwise.
 */
export type X0Model<X = Tensor, C = X> = (xt: X, cond: C, t: number) => X | Promise<X>;

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** Applies `f` to a value or to a promise's result, staying synchronous for synchronous input. */
function then<A, B>(v: A | Promise<A>, f: (a: A) => B): B | Promise<B> {
  return isThenable(v) ? v.then(f) : f(v);
}

/**
 * Wraps a score-predicting model as a {@link NoiseModel}: `eps = -sigmaBar_t * score` (the SDE's
 * `noiseFromScore`; at real `t` from the interpolated tables). Either SDE. Stays synchronous if
 * `model` is. The score tensor is disposed by the wrapper; the returned noise is owned by the caller.
 */
export function fromScoreModel<X, C extends X | null = X>(sde: DiffusionSDE<X>, model: ScoreModel<X, C>): NoiseModel<X, C> {
  const p = processOf(sde, 'fromScoreModel');
  return (xt, cond, t) =>
    then(model(xt, cond, t), (score) => {
      try {
        return p.noiseFromScore(score, t);
      } finally {
        if (score !== xt && score !== cond) sde.backend.dispose(score);
      }
    });
}

/**
 * Wraps an x0-predicting model as a {@link NoiseModel}: `eps = (x_t - muBar_t(x0_hat)) / sigmaBar_t`
 * (the SDE's `noiseFromX0`; `muBar_t(x0) = x0` for a DenoisingSDE). Stays synchronous if `model`
 * is. The x0 tensor is disposed by the wrapper; the returned noise is owned by the caller.
 */
export function fromX0Model<X, C extends X | null = X>(sde: DiffusionSDE<X>, model: X0Model<X, C>): NoiseModel<X, C> {
  const p = processOf(sde, 'fromX0Model');
  return (xt, cond, t) =>
    then(model(xt, cond, t), (x0) => {
      try {
        return p.noiseFromX0(xt, x0, cond, t);
      } finally {
        if (x0 !== xt && x0 !== cond) sde.backend.dispose(x0);
      }
    });
}

/**
 * A model that predicts the clean image as a correction: `x0_hat = mu + r` for a
 * MeanRevertingSDE (a network with `prediction: 'residual'`), `x0_hat = x_t + r` for a
 * DenoisingSDE (a correction of the noisy state itself; it has no condition); same contract as
 * {@link NoiseModel} otherwise.
 */
export type ResidualModel<X = Tensor, C = X> = (xt: X, cond: C, t: number) => X | Promise<X>;

/**
 * Wraps a residual model as a {@link NoiseModel}: `x0_hat = mu + r` (mean-reverting) or
 * `x_t + r` (denoising), then `eps = (x_t - muBar_t(x0_hat)) / sigmaBar_t`. Stays synchronous if
 * `model` is. The residual tensor is disposed by the wrapper; the returned noise is owned by the caller.
 */
export function fromResidualModel<X, C extends X | null = X>(sde: DiffusionSDE<X>, model: ResidualModel<X, C>): NoiseModel<X, C> {
  const b = sde.backend;
  return fromX0Model(sde, (xt, cond, t) =>
    then(model(xt, cond, t), (r) => {
      try {
        // The correction is of the condition (mu), or of the state itself without one.
        return b.linear([
          [cond ?? xt, 1],
          [r, 1],
        ]);
      } finally {
        if (r !== xt && r !== cond) b.dispose(r);
      }
    }),
  );
}

/**
 * The sampler's {@link NoiseModel} for a network whose raw output means `prediction`
 * (`'noise'`: returned as is; `'residual'`: {@link fromResidualModel}). Use it for any network
 * output, e.g. an ONNX Runtime session of an exported residual network.
 */
export function asNoiseModel<X, C extends X | null = X>(sde: DiffusionSDE<X>, prediction: 'noise' | 'residual', model: (xt: X, cond: C, t: number) => X | Promise<X>): NoiseModel<X, C> {
  if (prediction === 'noise') return model;
  if (prediction === 'residual') return fromResidualModel(sde, model);
  throw new RangeError(`asNoiseModel: prediction must be 'noise' or 'residual', got ${JSON.stringify(prediction)}`);
}
