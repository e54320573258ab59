import type { Term, TensorBackend } from '../backend/types.js';
import { combineAround, combineAroundMu } from '../sde/around-mu.js';
import { type DiffusionSDE } from '../sde/diffusion-sde.js';
import { checkSDE } from '../sde/kinds.js';
import type { NoiseSource } from '../sde/noise-source.js';

/*
 * The reverse-process maths of both SDEs in one form, so that every sampler is written once.
 *
 * Both SDEs are OU-type processes in the time `u = Theta dt` with `sigmaBar(u) = lambda
 * sqrt(1 - exp(-2u))`. With the noise `eps` predicted at `(x, t)` and a centre `c` (`mu` for the
 * mean-reverting SDE, 0 for the denoising SDE, which has no condition):
 *   marginal mean    muBar(x0) = c + B(u) (x0 - c),   B(u) = exp(-u) (MR) or 1 (DN)
 *   probability flow dx/du = a (c - x) + lambda^2 w(u) eps / sigmaBar(u)
 *   reverse SDE      dx/du = a (c - x) + lambda^2 (1 + w(u)) eps / sigmaBar(u), noise variance 2 lambda^2 du
 * with `a = sde.pull`: `a = 1, w = 1` (MR) and `a = 0, w = exp(-2u)` (DN). These are the references' drifts
 * divided by `theta_t dt`: e.g. the DN's `-0.5 sigma_t^2 (1 + A_t) score dt` with
 * `sigma_t^2 = 2 lambda^2 theta_t`, `score = -eps / sigmaBar_t`, `A_t = exp(-2 u_t)`.
 *
 * Continuous time: between integer `t` the tables are interpolated by taking `Theta(t)` piecewise
 * linear (`theta` piecewise constant, `theta(tau) = theta_ceil(tau)`, the value the reference's
 * step from `t` to `t - 1` uses), so `u(t) = Theta(t) dt` and every quantity is its closed form
 * in `u`. At integer `t` the class methods (the reference's formulas) are used unchanged. @internal
 */

/** The samplers' maths for one SDE, the same form for both families. @internal */
export interface Process<X> {
  /** The SDE. */
  readonly sde: DiffusionSDE<X>;
  /** Its backend. */
  readonly b: TensorBackend<X>;
  /** `lambda`. */
  readonly lambda: number;
  /** `Theta_i dt`, `i = 0..T`. */
  readonly u: Float64Array;
  /** `sigmaBar_i`, `i = 0..T`. */
  readonly sigmaBar: Float64Array;
  /** Pull towards the centre in the drift: 1 (MR) or 0 (DN). */
  readonly pull: number;
  /** `u(t)` at real `t` in `[0, T]` (the table value at integers). */
  uAt(t: number): number;
  /** The real `t` with `u(t) = u` (`u` within `[0, u_T]`). */
  tAtU(u: number): number;
  /** `sigmaBar(u) = lambda sqrt(1 - exp(-2u))`. */
  sigmaBarAtU(u: number): number;
  /** Mean decay `B(u)`: `exp(-u)` (MR) or 1 (DN). */
  decay(u: number): number;
  /** Score weight `w(u)` of the drifts: 1 (MR) or `exp(-2u)` (DN). */
  w(u: number): number;
  /** `c + sum_i c_i (x_i - c) + sum_j k_j y_j` with the centre `c = mu` (MR) or 0 (DN); a new tensor. */
  around(mu: X | null, deviations: ReadonlyArray<Term<X>>, others?: ReadonlyArray<Term<X>>): X;
  /** `x0 = c + (x_t - c - sigmaBar eps) / B` at real `t` (the class's `x0FromNoise` at integers). */
  x0FromNoise(x: X, mu: X | null, eps: X, t: number): X;
  /** `eps = (x_t - muBar(x0)) / sigmaBar` at real `t` (the class's `noiseFromX0` at integers). */
  noiseFromX0(xt: X, x0: X, mu: X | null, t: number): X;
  /** `eps = -sigmaBar score` at real `t` (the class's `noiseFromScore` at integers). */
  noiseFromScore(score: X, t: number): X;
  /** The class's one-step reverse-SDE step (the reference's) from `t` to `t - 1`. */
  reverseSdeStep(x: X, mu: X | null, eps: X, t: number, noise: NoiseSource<X>): X;
  /** The class's one-step probability-flow Euler step (the reference's) from `t` to `t - 1`. */
  reverseOdeStep(x: X, mu: X | null, eps: X, t: number): X;
  /** The class's exact posterior mean `E[x_s | x_t, x0]`. */
  optimalReverseMean(xt: X, x0: X, mu: X | null, t: number, s: number): X;
}

/**
 * The {@link Process} of an SDE: one form for both families, read from the SDE's tables and its
 * mean pull. Cheap (no tables are copied), so it is not cached.
 * @throws TypeError for a non-SDE. @internal
 */
export function processOf<X>(sde: DiffusionSDE<X>, where: string): Process<X> {
  checkSDE<X>(sde, where);
  const u = sde.ouTimes;
  const sigmaBar = sde.sigmaBars;
  const T = sde.T;
  const lambda = sde.maxSigma;
  const pull = sde.pull;
  const b = sde.backend;
  const uAt = (t: number): number => {
    if (Number.isInteger(t)) return u[t];
    const k = Math.ceil(t);
    return u[k - 1] + (t - (k - 1)) * (u[k] - u[k - 1]);
  };
  const sigmaBarAtU = (v: number): number => lambda * Math.sqrt(-Math.expm1(-2 * v));
  const around = (mu: X | null, devs: ReadonlyArray<Term<X>>, others: ReadonlyArray<Term<X>> = []): X => combineAround(b, mu, devs, others);
  return {
    sde,
    b,
    lambda,
    u,
    sigmaBar,
    pull,
    uAt,
    tAtU(v) {
      if (v <= 0) return 0;
      if (v >= u[T]) return T;
      let lo = 0;
      let hi = T;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (u[mid] < v) lo = mid;
        else hi = mid;
      }
      // u[lo] < v <= u[hi], hi = lo + 1
      return v === u[hi] ? hi : lo + (v - u[lo]) / (u[hi] - u[lo]);
    },
    sigmaBarAtU,
    decay: (v) => Math.exp(-pull * v),
    w: (v) => Math.exp(-2 * (1 - pull) * v),
    around,
    x0FromNoise(x, mu, eps, t) {
      if (Number.isInteger(t)) return sde.x0FromNoise(x, mu, eps, t);
      const v = uAt(t);
      const grow = Math.exp(pull * v);
      return around(mu, [[x, grow]], [[eps, -sigmaBarAtU(v) * grow]]);
    },
    noiseFromX0(xt, x0, mu, t) {
      if (Number.isInteger(t)) return sde.noiseFromX0(xt, x0, mu, t);
      const v = uAt(t);
      const k = 1 / sigmaBarAtU(v);
      // k (x_t - muBar): deviations from mu, or x_t - x0 itself without a condition (muBar = x0).
      const devs: Array<Term<X>> = [[xt, k]];
      if (mu !== null) devs.push([x0, -k * Math.exp(-v)]);
      return combineAroundMu(b, mu ?? x0, devs, [], false);
    },
    noiseFromScore: (score, t) => (Number.isInteger(t) ? sde.noiseFromScore(score, t) : b.linear([[score, -sigmaBarAtU(uAt(t))]])),
    reverseSdeStep: (x, mu, eps, t, noise) => withScore(sde, eps, t, (score) => sde.reverseSdeStep(x, mu, score, t, noise)),
    reverseOdeStep: (x, mu, eps, t) => withScore(sde, eps, t, (score) => sde.reverseOdeStep(x, mu, score, t)),
    optimalReverseMean: (xt, x0, mu, t, s) => sde.optimalReverseMean(xt, x0, mu, t, s),
  };
}

/**
 * Checks the condition argument against the SDE (see `DiffusionSDE.checkCondition`): a tensor
 * shaped like `shape` for a mean-reverting SDE, `null` (or undefined) for a denoising SDE.
 * @throws TypeError / RangeError with one line naming the problem. @internal
 */
export function checkCondition<X>(sde: DiffusionSDE<X>, mu: X | null | undefined, shape: readonly number[], where: string): X | null {
  checkSDE<X>(sde, where);
  return sde.checkCondition(mu ?? null, shape, where);
}

/** Runs `f(score)` with `score = scoreFromNoise(eps, t)`, disposing the score. */
function withScore<X>(sde: DiffusionSDE<X>, eps: X, t: number, f: (score: X) => X): X {
  const score = sde.scoreFromNoise(eps, t);
  try {
    return f(score);
  } finally {
    sde.backend.dispose(score);
  }
}
