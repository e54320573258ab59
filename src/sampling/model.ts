import type { MeanRevertingSDE } from '../sde/mean-reverting-sde.js';

/**
 * The model contract of every sampler: a function that predicts the noise `eps` in
 * `x_t = muBar_t + sigmaBar_t eps` from the current state.
 *
 * - `xt`: the state at time `t`, float32 `[B, ...]` (any layout, e.g. NHWC).
 * - `mu`: the degraded image (the SDE's mean, the condition), same shape as `xt`.
 * - `t`: one integer time index in `1..T` for the whole batch.
 * - returns: predicted noise, same shape as `xt`, dimensionless (unit variance for the truth);
 *   sync or async.
 *
 * Ownership: the model must not dispose `xt` or `mu` and must return a **new** tensor (not one
 * of its arguments); the caller of the model (the sampler) disposes the returned tensor.
 *
 * @typeParam X - the backend's tensor type.
 */
export type NoiseModel<X> = (xt: X, mu: X, t: number) => X | Promise<X>;

/**
 * A model that predicts the score `grad log p_t(x_t)` (units 1/data), same contract as
 * {@link NoiseModel} otherwise.
 */
export type ScoreModel<X> = (xt: X, mu: X, t: number) => X | Promise<X>;

/**
 * A model that predicts the clean image `x0` (data units), same contract as {@link NoiseModel}
 * otherwise.
 */
export type X0Model<X> = (xt: X, mu: X, t: number) => X | Promise<X>;

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** Applies `f` to a value or to a promise's result, staying synchronous for synchronous input. */
function then<A, B>(v: A | Promise<A>, f: (a: A) => B): B | Promise<B> {
  return isThenable(v) ? v.then(f) : f(v);
}

/**
 * Wraps a score-predicting model as a {@link NoiseModel}: `eps = -sigmaBar_t * score`
 * ({@link MeanRevertingSDE.noiseFromScore}). Stays synchronous if `model` is. The score tensor
 * is disposed by the wrapper; the returned noise is owned by the caller.
 */
export function fromScoreModel<X>(sde: MeanRevertingSDE<X>, model: ScoreModel<X>): NoiseModel<X> {
  return (xt, mu, t) =>
    then(model(xt, mu, t), (score) => {
      try {
        return sde.noiseFromScore(score, t);
      } finally {
        if (score !== xt && score !== mu) sde.backend.dispose(score);
      }
    });
}

/**
 * Wraps an x0-predicting model as a {@link NoiseModel}: `eps = (x_t - muBar_t(x0_hat)) / sigmaBar_t`
 * ({@link MeanRevertingSDE.noiseFromX0}). Stays synchronous if `model` is. The x0 tensor is
 * disposed by the wrapper; the returned noise is owned by the caller.
 */
export function fromX0Model<X>(sde: MeanRevertingSDE<X>, model: X0Model<X>): NoiseModel<X> {
  return (xt, mu, t) =>
    then(model(xt, mu, t), (x0) => {
      try {
        return sde.noiseFromX0(xt, x0, mu, t);
      } finally {
        if (x0 !== xt && x0 !== mu) sde.backend.dispose(x0);
      }
    });
}

/**
 * A model that predicts the clean image as a correction of the condition, `x0_hat = mu + r`
 * (a U-Net with `prediction: 'residual'`); same contract as {@link NoiseModel} otherwise.
 */
export type ResidualModel<X> = (xt: X, mu: X, t: number) => X | Promise<X>;

/**
 * Wraps a residual model as a {@link NoiseModel}: `x0_hat = mu + r`, then
 * `eps = (x_t - muBar_t(x0_hat)) / sigmaBar_t`. Stays synchronous if `model` is. The residual
 * tensor is disposed by the wrapper; the returned noise is owned by the caller.
 */
export function fromResidualModel<X>(sde: MeanRevertingSDE<X>, model: ResidualModel<X>): NoiseModel<X> {
  const b = sde.backend;
  return fromX0Model(sde, (xt, mu, t) =>
    then(model(xt, mu, t), (r) => {
      try {
        return b.linear([
          [mu, 1],
          [r, 1],
        ]);
      } finally {
        if (r !== xt && r !== mu) b.dispose(r);
      }
    }),
  );
}

/**
 * The sampler's {@link NoiseModel} for a network whose raw output means `prediction`
 * (`'noise'`: returned as is; `'residual'`: {@link fromResidualModel}). Use it for any network
 * output, e.g. an ONNX Runtime session of an exported residual U-Net.
 */
export function asNoiseModel<X>(sde: MeanRevertingSDE<X>, prediction: 'noise' | 'residual', model: (xt: X, mu: X, t: number) => X | Promise<X>): NoiseModel<X> {
  if (prediction === 'noise') return model;
  if (prediction === 'residual') return fromResidualModel(sde, model);
  throw new RangeError(`asNoiseModel: prediction must be 'noise' or 'residual', got ${JSON.stringify(prediction)}`);
}
