import type { MeanRevertingSDE } from '../sde/mean-reverting-sde.js';
import { drawNoise, type NoiseSource } from '../sde/noise-source.js';
import { combineAroundMu } from '../sde/around-mu.js';
import { sdeTables } from './tables.js';

/*
 * Single reverse jumps `t -> s` (`0 <= s < t <= T`, integers) given the predicted noise `eps` at
 * `(x_t, t)`: the building blocks of the samplers, public for custom loops and benchmarks.
 *
 * Notation: `u_t = Theta_t dt` (so `u_t - u_{t-1} = theta_t dt`), `g = u_t - u_s`,
 * `lambda = sde.maxSigma`. With `score = -eps / sigmaBar_t`, the reference's reverse drifts are
 * `theta_t dt [(mu - x) - 2 lambda^2 score]` (SDE) and `theta_t dt [(mu - x) - lambda^2 score]`
 * (probability-flow ODE), i.e. Euler steps of size `theta_t dt` in the time `u`. A jump takes one
 * Euler step of size `g` in `u`; for `s = t - 1` the core's own one-step methods are used, so a
 * full-length run reproduces the reference exactly.
 *
 * Every function returns new tensors owned by the caller and disposes none of its arguments.
 */


function checkJump(sde: MeanRevertingSDE<unknown>, t: number, s: number, where: string): void {
  if (!Number.isInteger(t) || t < 1 || t > sde.T) throw new RangeError(`${where}: t must be an integer in 1..${sde.T}, got ${String(t)}`);
  if (!Number.isInteger(s) || s < 0 || s >= t) throw new RangeError(`${where}: s must be an integer with 0 <= s < t = ${t}, got ${String(s)}`);
}

/** `z` from a noise source: drawn (owned) from an Rng or a seed, or the given tensor (borrowed). */
function noiseTensor<X>(sde: MeanRevertingSDE<X>, noise: NoiseSource<X>, shape: number[], where: string): { z: X; owned: boolean } {
  return drawNoise(sde.backend, noise, shape, where);
}

/**
 * Euler–Maruyama on the reverse SDE from `t` to `s`.
 * - `s = t - 1`: exactly {@link MeanRevertingSDE.reverseSdeStep} (the paper's sampler).
 * - otherwise one Euler–Maruyama step of size `g = (Theta_t - Theta_s) dt` in `u`: the drift is
 *   the one-step drift scaled by `(Theta_t - Theta_s) / theta_t` and the noise variance likewise,
 *   `x_s = x + g (x - mu) - 2 lambda^2 g eps / sigmaBar_t - lambda sqrt(2 g) z`.
 *   First order (weak); its error grows with `g`.
 * @param x - state at `t`, `[B, ...]`. @param mu - degraded image, same shape.
 * @param eps - predicted noise at `(x, t)`, same shape. @param noise - an Rng or a given `z`.
 */
export function sdeJump<X>(sde: MeanRevertingSDE<X>, x: X, mu: X, eps: X, t: number, s: number, noise: NoiseSource<X>): X {
  checkJump(sde, t, s, 'sdeJump');
  const b = sde.backend;
  if (s === t - 1) {
    const score = sde.scoreFromNoise(eps, t);
    try {
      return sde.reverseSdeStep(x, mu, score, t, noise);
    } finally {
      b.dispose(score);
    }
  }
  const { u, sigmaBar } = sdeTables(sde);
  const g = u[t] - u[s];
  const lam = sde.maxSigma;
  const { z, owned } = noiseTensor(sde, noise, b.shape(x), 'sdeJump');
  const res = combineAroundMu(
    b,
    mu,
    [[x, 1 + g]],
    [
      [eps, (-2 * lam * lam * g) / sigmaBar[t]],
      [z, -lam * Math.sqrt(2 * g)],
    ],
  );
  if (owned) b.dispose(z);
  return res;
}

/**
 * The probability-flow ODE direction in `u`: `f = (mu - x) + lambda^2 eps / sigmaBar_t`, so that
 * `dx/du = f` and an Euler jump is `x_s = x - (u_t - u_s) f`. Returned as a new tensor.
 */
export function odeDirection<X>(sde: MeanRevertingSDE<X>, x: X, mu: X, eps: X, t: number): X {
  const { sigmaBar } = sdeTables(sde);
  return sde.backend.linear([
    [mu, 1],
    [x, -1],
    [eps, (sde.maxSigma * sde.maxSigma) / sigmaBar[t]],
  ]);
}

/**
 * Euler on the probability-flow ODE from `t` to `s`: for `s = t - 1` exactly
 * {@link MeanRevertingSDE.reverseOdeStep} (the reference); otherwise one Euler step of size
 * `g = (Theta_t - Theta_s) dt` in `u` (the one-step drift scaled by `(Theta_t - Theta_s) / theta_t`):
 * `x_s = x + g (x - mu) - g lambda^2 eps / sigmaBar_t`. Deterministic.
 */
export function odeJump<X>(sde: MeanRevertingSDE<X>, x: X, mu: X, eps: X, t: number, s: number): X {
  checkJump(sde, t, s, 'odeJump');
  const b = sde.backend;
  if (s === t - 1) {
    const score = sde.scoreFromNoise(eps, t);
    try {
      return sde.reverseOdeStep(x, mu, score, t);
    } finally {
      b.dispose(score);
    }
  }
  const { u, sigmaBar } = sdeTables(sde);
  const g = u[t] - u[s];
  const lam2 = sde.maxSigma * sde.maxSigma;
  return combineAroundMu(b, mu, [[x, 1 + g]], [[eps, (-g * lam2) / sigmaBar[t]]]);
}

/**
 * Heun's (trapezoidal) correction of an ODE Euler jump: given the Euler proposal `xEuler` at `s`
 * and the noise `epsS` predicted there, `x_s = x - (g / 2) (f(x, t) + f(xEuler, s))` with
 * `f` from {@link odeDirection}. Requires `s >= 1` (the model is not defined at `s = 0`).
 */
export function heunCorrect<X>(sde: MeanRevertingSDE<X>, x: X, mu: X, eps: X, xEuler: X, epsS: X, t: number, s: number): X {
  checkJump(sde, t, s, 'heunCorrect');
  if (s < 1) throw new RangeError(`heunCorrect: s must be >= 1 (no model evaluation at s = 0), got ${s}`);
  const { u, sigmaBar } = sdeTables(sde);
  const h = (u[t] - u[s]) / 2;
  const lam2 = sde.maxSigma * sde.maxSigma;
  // x_s - mu = d - h [(-d) + lam2 eps / sb_t + (-dE) + lam2 epsS / sb_s], d = x - mu, dE = xEuler - mu
  return combineAroundMu(
    sde.backend,
    mu,
    [
      [x, 1 + h],
      [xEuler, h],
    ],
    [
      [eps, (-h * lam2) / sigmaBar[t]],
      [epsS, (-h * lam2) / sigmaBar[s]],
    ],
  );
}

/** Result of a {@link posteriorJump}: the new state and the x0 estimate it was built from. */
export interface PosteriorJumpResult<X> {
  /** The state at `s`, `[B, ...]`, owned by the caller. */
  readonly x: X;
  /** `x0_hat = x0FromNoise(x_t, eps)`, `[B, ...]`, owned by the caller. */
  readonly x0Hat: X;
}

/**
 * A draw from the Gaussian posterior `q(x_s | x_t, x0_hat)` with an `eta` knob, for any jump.
 *
 * With `x0_hat = x0FromNoise(x_t, eps)`, `C = exp(-Theta_s dt)`, `p = optimalReverseStd(t, s)`:
 *
 *   `x_s = mu + C (x0_hat - mu) + sqrt(sigmaBar_s^2 - (eta p)^2) eps + eta p z`.
 *
 * Why this form: since `x_t - mu = B (x0_hat - mu) + sigmaBar_t eps` holds exactly, the posterior
 * mean equals `mu + C (x0_hat - mu) + lambda A (1 - C^2) / sqrt(1 - B^2) eps` and
 * `sigmaBar_s^2 - p^2 = (lambda A (1 - C^2) / sqrt(1 - B^2))^2`, so `eta = 1` is the exact
 * posterior `q(x_s | x_t, x0_hat)` (computed then as {@link MeanRevertingSDE.optimalReverseMean}
 * `+ p z`, the reference's formula). For every `eta` in `[0, 1]`, if `eps` is the true noise
 * (`x0_hat = x0`), `x_s` has exactly the marginal `N(muBar_s, sigmaBar_s^2)`: the noise variance
 * removed from the `eps` direction is put back as fresh noise. `eta = 0` is deterministic
 * (DDIM-like): `x_s = muBar_s(x0_hat) + sigmaBar_s eps`. At `s = 0`, `x_s = x0_hat` (up to the
 * reference's `1e-20 dt` variance floor when `eta > 0`).
 *
 * @param eta - in `[0, 1]`. @param noise - an Rng or a given `z`; not used (no draw) when `eta = 0`.
 */
export function posteriorJump<X>(
  sde: MeanRevertingSDE<X>,
  x: X,
  mu: X,
  eps: X,
  t: number,
  s: number,
  eta: number,
  noise: NoiseSource<X> | undefined,
): PosteriorJumpResult<X> {
  checkJump(sde, t, s, 'posteriorJump');
  if (typeof eta !== 'number' || !(eta >= 0 && eta <= 1)) throw new RangeError(`posteriorJump: eta must be a number in [0, 1], got ${String(eta)}`);
  const b = sde.backend;
  const x0Hat = sde.x0FromNoise(x, mu, eps, t);
  try {
    if (eta === 0) {
      const { u, sigmaBar } = sdeTables(sde);
      const C = Math.exp(-u[s]);
      return { x: combineAroundMu(b, mu, [[x0Hat, C]], [[eps, sigmaBar[s]]]), x0Hat };
    }
    if (noise === undefined) throw new TypeError('posteriorJump: eta > 0 needs a generator (Rng) or a noise tensor');
    const p = sde.optimalReverseStd(t, s);
    const { z, owned } = noiseTensor(sde, noise, b.shape(x), 'posteriorJump');
    let res: X;
    if (eta === 1) {
      const mean = sde.optimalReverseMean(x, x0Hat, mu, t, s);
      res = b.linear([
        [mean, 1],
        [z, p],
      ]);
      b.dispose(mean);
    } else {
      const { u, sigmaBar } = sdeTables(sde);
      const C = Math.exp(-u[s]);
      const std = eta * p;
      res = combineAroundMu(
        b,
        mu,
        [[x0Hat, C]],
        [
          [eps, Math.sqrt(Math.max(sigmaBar[s] ** 2 - std * std, 0))],
          [z, std],
        ],
      );
    }
    if (owned) b.dispose(z);
    return { x: res, x0Hat };
  } catch (e) {
    b.dispose(x0Hat);
    throw e;
  }
}
