/**
 * The element-wise differences the training losses reduce, written once for both SDE families:
 * each takes the condition `mu` (a `MeanRevertingSDE`'s degraded image) or `null` (a
 * `DenoisingSDE`, which has none). Callers own the result; no argument is disposed.
 */
import { type DiffusionSDE } from '../sde/diffusion-sde.js';
import type { Timestep } from '../sde/timesteps.js';

/**
 * The ML objective's difference: the reverse-SDE step mean driven by the predicted noise minus the
 * optimal (posterior-mean) `x_{t-1}` given the true `x0`.
 */
export function mlDiff<X>(sde: DiffusionSDE<X>, xt: X, x0: X, mu: X | null, noisePred: X, t: Timestep): X {
  const b = sde.backend;
  const score = sde.scoreFromNoise(noisePred, t);
  const pred = sde.reverseSdeStepMean(xt, mu, score, t);
  const target = sde.optimalReverseMean(xt, x0, mu, t);
  const diff = b.linear([
    [pred, 1],
    [target, -1],
  ]);
  b.dispose([score, pred, target]);
  return diff;
}

/** The true noise of `x_t` given `x0`: `(x_t - muBar_t) / sigmaBar_t`. */
export function trueNoise<X>(sde: DiffusionSDE<X>, xt: X, x0: X, mu: X | null, t: Timestep): X {
  return sde.noiseFromX0(xt, x0, mu, t);
}

/** Noise matching's difference: predicted minus true noise. */
export function noiseDiff<X>(sde: DiffusionSDE<X>, xt: X, x0: X, mu: X | null, noisePred: X, t: Timestep): X {
  const b = sde.backend;
  const target = trueNoise(sde, xt, x0, mu, t);
  const diff = b.linear([
    [noisePred, 1],
    [target, -1],
  ]);
  b.dispose(target);
  return diff;
}

/** `x0` recovered from predicted noise: `sde.x0FromNoise`. */
export function x0FromNoise<X>(sde: DiffusionSDE<X>, xt: X, mu: X | null, noisePred: X, t: Timestep): X {
  return sde.x0FromNoise(xt, mu, noisePred, t);
}
