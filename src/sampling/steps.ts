import type { Tensor } from '@tensorflow/tfjs-core';
import type { Term } from '../backend/types.js';
import type { DiffusionSDE } from '../sde/diffusion-sde.js';
import { drawNoise, type NoiseSource } from '../sde/noise-source.js';
import { checkCondition, processOf, type Process } from './process.js';

/*
 * Single reverse jumps `t -> s` (`0 <= s < t <= T`, integers) given the predicted noise `eps` at
 * `(x_t, t)`: the building blocks of the samplers, public for custom loops and benchmarks. They
 * take either SDE: `mu` is the degraded image for a MeanRevertingSDE and `null` for a
 * DenoisingSDE (which has none).
 *
 * Notation: `u_t = Theta_t dt` (so `u_t - u_{t-1} = theta_t dt`), `g = u_t - u_s`,
 * `lambda = sde.maxSigma`. With `score = -eps / sigmaBar_t`, the reference's reverse drifts are
 * `theta_t dt [a (mu - x) + lambda^2 (1 + w_t) eps / sigmaBar_t]` (SDE) and
 * `theta_t dt [a (mu - x) + lambda^2 w_t eps / sigmaBar_t]` (probability-flow ODE), with
 * `a = w = 1` for the mean-reverting SDE and `a = 0`, `w_t = exp(-2 u_t)`, no `mu`, for the
 * denoising SDE: Euler steps of size `theta_t dt` in the time `u`. A jump takes one Euler step of
 * size `g` in `u`; for `s = t - 1` the SDE's own one-step methods are used, so a full-length run
 * reproduces the reference exactly.
 *
 * Every function returns new tensors owned by the caller and disposes none of its arguments.
 */


/** Validates the SDE, the condition and the jump; returns the SDE's process maths. */
function checkJump<X>(sde: DiffusionSDE<X>, x: X, mu: X | null | undefined, t: number, s: number, where: string): Process<X> {
  const p = processOf(sde, where);
  checkCondition(sde, mu, sde.backend.shape(x), where);
  if (!Number.isInteger(t) || t < 1 || t > sde.T) throw new RangeError(`${where}: t must be an integer in 1..${sde.T}, got ${String(t)}`);
  if (!Number.isInteger(s) || s < 0 || s >= t) throw new RangeError(`${where}: s must be an integer with 0 <= s < t = ${t}, got ${String(s)}`);
  return p;
}

/** `z` from a noise source: drawn (owned) from an Rng or a seed, or the given tensor (borrowed). */
function noiseTensor<X>(sde: DiffusionSDE<X>, noise: NoiseSource<X>, shape: number[], where: string): { z: X; owned: boolean } {
  return drawNoise(sde.backend, noise, shape, where);
}

/**
 * Euler–Maruyama on the reverse SDE from `t` to `s`.
 * - `s = t - 1`: exactly the SDE's `reverseSdeStep` (the paper's sampler).
 * - otherwise one Euler–Maruyama step of size `g = (Theta_t - Theta_s) dt` in `u`: the drift is
 *   the one-step drift scaled by `(Theta_t - Theta_s) / theta_t` and the noise variance likewise,
 *   `x_s = x + a g (x - mu) - lambda^2 (1 + w_t) g eps / sigmaBar_t - lambda sqrt(2 g) z`
 *   (mean-reverting: `a = w = 1`; denoising: `a = 0`, `w_t = exp(-2 u_t)`).
 *   First order (weak); its error grows with `g`.
 * @param x - state at `t`, `[B, ...]`. @param mu - degraded image, same shape (`null` for a DenoisingSDE).
 * @param eps - predicted noise at `(x, t)`, same shape. @param noise - an Rng or a given `z`.
 */
export function sdeJump<X>(sde: DiffusionSDE<X>, x: X, mu: X | null, eps: X, t: number, s: number, noise: NoiseSource<X>): X {
  const p = checkJump(sde, x, mu, t, s, 'sdeJump');
  const b = sde.backend;
  if (s === t - 1) return p.reverseSdeStep(x, mu, eps, t, noise);
  const { u, sigmaBar, lambda: lam } = p;
  const g = u[t] - u[s];
  const { z, owned } = noiseTensor(sde, noise, b.shape(x), 'sdeJump');
  const res = p.around(
    mu,
    [[x, 1 + p.pull * g]],
    [
      [eps, (-(1 + p.w(u[t])) * lam * lam * g) / sigmaBar[t]],
      [z, -lam * Math.sqrt(2 * g)],
    ],
  );
  if (owned) b.dispose(z);
  return res;
}

/**
 * The probability-flow ODE direction in `u` at integer `t`: `f = a (mu - x) + lambda^2 w_t eps / sigmaBar_t`
 * (see the notation above), so that `dx/du = f` and an Euler jump is `x_s = x - (u_t - u_s) f`.
 * Returned as a new tensor.
 */
export function odeDirection<X>(sde: DiffusionSDE<X>, x: X, mu: X | null, eps: X, t: number): X {
  const p = processOf(sde, 'odeDirection');
  const c = checkCondition(sde, mu, sde.backend.shape(x), 'odeDirection');
  const k = (p.lambda * p.lambda * p.w(p.u[t])) / p.sigmaBar[t];
  const terms: Array<Term<X>> = [[eps, k]];
  // The pull towards the condition, when there is one (`a = pull`; none without a condition).
  if (c !== null) terms.unshift([c, p.pull], [x, -p.pull]);
  return sde.backend.linear(terms);
}

/**
 * Euler on the probability-flow ODE from `t` to `s`: for `s = t - 1` exactly the SDE's
 * `reverseOdeStep` (the reference); otherwise one Euler step of size `g = (Theta_t - Theta_s) dt`
 * in `u` (the one-step drift scaled by `(Theta_t - Theta_s) / theta_t`):
 * `x_s = x + a g (x - mu) - g lambda^2 w_t eps / sigmaBar_t`. Deterministic.
 */
export function odeJump<X>(sde: DiffusionSDE<X>, x: X, mu: X | null, eps: X, t: number, s: number): X {
  const p = checkJump(sde, x, mu, t, s, 'odeJump');
  if (s === t - 1) return p.reverseOdeStep(x, mu, eps, t);
  const { u, sigmaBar, lambda } = p;
  const g = u[t] - u[s];
  const lam2 = lambda * lambda;
  return p.around(mu, [[x, 1 + p.pull * g]], [[eps, (-g * lam2 * p.w(u[t])) / sigmaBar[t]]]);
}

/**
 * Heun's (trapezoidal) correction of an ODE Euler jump: given the Euler proposal `xEuler` at `s`
 * and the noise `epsS` predicted there, `x_s = x - (g / 2) (f(x, t) + f(xEuler, s))` with
 * `f` from {@link odeDirection}. Requires `s >= 1` (the model is not defined at `s = 0`).
 */
export function heunCorrect<X>(sde: DiffusionSDE<X>, x: X, mu: X | null, eps: X, xEuler: X, epsS: X, t: number, s: number): X {
  const p = checkJump(sde, x, mu, t, s, 'heunCorrect');
  if (s < 1) throw new RangeError(`heunCorrect: s must be >= 1 (no model evaluation at s = 0), got ${s}`);
  const { u, sigmaBar, lambda } = p;
  const h = (u[t] - u[s]) / 2;
  const lam2 = lambda * lambda;
  // x_s - mu = d - h [a (-d) + lam2 w_t eps / sb_t + a (-dE) + lam2 w_s epsS / sb_s], d = x - mu, dE = xEuler - mu
  return p.around(
    mu,
    [
      [x, 1 + p.pull * h],
      [xEuler, p.pull * h],
    ],
    [
      [eps, (-h * lam2 * p.w(u[t])) / sigmaBar[t]],
      [epsS, (-h * lam2 * p.w(u[s])) / sigmaBar[s]],
    ],
  );
}

/** Result of a {@link posteriorJump}: the new state and the x0 estimate it was built from. */
export interface PosteriorJumpResult<X = Tensor> {
  /** The state at `s`, `[B, ...]`, owned by the caller. */
  readonly x: X;
  /** `x0_hat = x0FromNoise(x_t, eps)`, `[B, ...]`, owned by the caller. */
  readonly x0Hat: X;
}

/**
 * A draw from the Gaussian posterior `q(x_s | x_t, x0_hat)` with an `eta` knob, for any jump.
 *
 * With `x0_hat = x0FromNoise(x_t, eps)`, `p = optimalReverseStd(t, s)` and `muBar_s(x0_hat)`
 * the marginal mean at `s` (`mu + C (x0_hat - mu)` with `C = exp(-Theta_s dt)` for a
 * MeanRevertingSDE, `x0_hat` itself for a DenoisingSDE):
 *
 *   `x_s = muBar_s(x0_hat) + sqrt(sigmaBar_s^2 - (eta p)^2) eps + eta p z`.
 *
 * Why this form (mean-reverting; the denoising SDE is the same OU algebra around `x0_hat`, its
 * `B = exp(-Theta_t dt)`, `C` entering only `p` and the posterior weights): since
 * `x_t - mu = B (x0_hat - mu) + sigmaBar_t eps` holds exactly, the posterior mean equals
 * `mu + C (x0_hat - mu) + lambda A (1 - C^2) / sqrt(1 - B^2) eps` and
 * `sigmaBar_s^2 - p^2 = (lambda A (1 - C^2) / sqrt(1 - B^2))^2`, so `eta = 1` is the exact
 * posterior `q(x_s | x_t, x0_hat)` (computed then as the SDE's `optimalReverseMean` `+ p z`, the
 * reference's formula). For every `eta` in `[0, 1]`, if `eps` is the true noise
 * (`x0_hat = x0`), `x_s` has exactly the marginal `N(muBar_s, sigmaBar_s^2)`: the noise variance
 * removed from the `eps` direction is put back as fresh noise. `eta = 0` is deterministic
 * (DDIM-like): `x_s = muBar_s(x0_hat) + sigmaBar_s eps`. At `s = 0`, `x_s = x0_hat` (up to the
 * reference's `1e-20 dt` variance floor when `eta > 0`).
 *
 * @param eta - in `[0, 1]`. @param noise - an Rng or a given `z`; not used (no draw) when `eta = 0`.
 */
export function posteriorJump<X>(
  sde: DiffusionSDE<X>,
  x: X,
  mu: X | null,
  eps: X,
  t: number,
  s: number,
  eta: number,
  noise: NoiseSource<X> | undefined,
): PosteriorJumpResult<X> {
  const p = checkJump(sde, x, mu, t, s, 'posteriorJump');
  if (typeof eta !== 'number' || !(eta >= 0 && eta <= 1)) throw new RangeError(`posteriorJump: eta must be a number in [0, 1], got ${String(eta)}`);
  const b = sde.backend;
  const x0Hat = p.x0FromNoise(x, mu, eps, t);
  try {
    const { u, sigmaBar } = p;
    const C = p.decay(u[s]);
    if (eta === 0) return { x: p.around(mu, [[x0Hat, C]], [[eps, sigmaBar[s]]]), x0Hat };
    if (noise === undefined) throw new TypeError('posteriorJump: eta > 0 needs a generator (Rng) or a noise tensor');
    const pStd = sde.optimalReverseStd(t, s);
    const { z, owned } = noiseTensor(sde, noise, b.shape(x), 'posteriorJump');
    let res: X;
    if (eta === 1) {
      const mean = p.optimalReverseMean(x, x0Hat, mu, t, s);
      res = b.linear([
        [mean, 1],
        [z, pStd],
      ]);
      b.dispose(mean);
    } else {
      const std = eta * pStd;
      res = p.around(
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
