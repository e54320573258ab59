import type { Term, TensorBackend } from '../backend/types.js';
import { combineAroundMu } from '../sde/around-mu.js';
import { type DiffusionSDE } from '../sde/diffusion-sde.js';
import { checkSDE, isDenoisingSDE } from '../sde/kinds.js';
import type { DenoisingSDE } from '../sde/denoising-sde.js';
import type { MeanRevertingSDE } from '../sde/mean-reverting-sde.js';
import type { NoiseSource } from '../sde/noise-source.js';
import { sdeTables } from './tables.js';

/*
 * The reverse-process maths of both SDEs in one form, so that every sampler is written once.
 *
 * Both SDEs are OU-type processes in the time `u = Theta dt` with `sigmaBar(u) = lambda
 * sqrt(1 - exp(-2u))`. With the noise `eps` predicted at `(x, t)` and a centre `c` (`mu` for the
 * mean-reverting SDE, 0 for the denoising SDE, which has no condition):
 *   marginal mean    muBar(x0) = c + B(u) (x0 - c),   B(u) = exp(-u) (MR) or 1 (DN)
 *   probability flow dx/du = a (c - x) + lambda^2 w(u) eps / sigmaBar(u)
 *   reverse SDE      dx/du = a (c - x) + lambda^2 (1 + w(u)) eps / sigmaBar(u), noise variance 2 lambda^2 du
 * with `a = 1, w = 1` (MR) and `a = 0, w = exp(-2u)` (DN). These are the references' drifts
 * divided by `theta_t dt`: e.g. the DN's `-0.5 sigma_t^2 (1 + A_t) score dt` with
 * `sigma_t^2 = 2 lambda^2 theta_t`, `score = -eps / sigmaBar_t`, `A_t = exp(-2 u_t)`.
 *
 * Continuous time: between integer `t` the tables are interpolated by taking `Theta(t)` piecewise
 * linear (`theta` piecewise constant, `theta(tau) = theta_ceil(tau)`, the value the reference's
 * step from `t` to `t - 1` uses), so `u(t) = Theta(t) dt` and every quantity is its closed form
 * in `u`. At integer `t` the class methods (the reference's formulas) are used unchanged. @internal
 */

/** The per-kind maths of the samplers for one SDE. @internal */
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

const cache = new WeakMap<object, Process<unknown>>();

/** The {@link Process} of an SDE (cached; SDEs are immutable). @throws TypeError for a non-SDE. @internal */
export function processOf<X>(sde: DiffusionSDE<X>, where: string): Process<X> {
  checkSDE<X>(sde, where);
  let p = cache.get(sde) as Process<X> | undefined;
  if (!p) {
    p = isDenoisingSDE(sde) ? denoisingProcess(sde) : meanRevertingProcess(sde as MeanRevertingSDE<X>);
    cache.set(sde, p as Process<unknown>);
  }
  return p;
}

/**
 * Checks the condition argument against the SDE's kind: a tensor shaped like `shape` for a
 * mean-reverting SDE, `null` (or undefined) for a denoising SDE.
 * @throws TypeError / RangeError with one line naming the problem. @internal
 */
export function checkCondition<X>(sde: DiffusionSDE<X>, mu: X | null | undefined, shape: readonly number[], where: string): X | null {
  checkSDE<X>(sde, where);
  if (isDenoisingSDE(sde)) {
    if (mu !== null && mu !== undefined) {
      throw new TypeError(`${where}: a DenoisingSDE is unconditional and has no mu; pass null (the state starts at the noisy image itself)`);
    }
    return null;
  }
  if (mu === null || mu === undefined) throw new TypeError(`${where}: a MeanRevertingSDE needs mu (the degraded image, shaped like x), got ${String(mu)}`);
  const ms = sde.backend.shape(mu);
  if (ms.length !== shape.length || ms.some((d, i) => d !== shape[i])) throw new RangeError(`${where}: mu has shape [${ms}] but x has shape [${shape}]`);
  return mu;
}

function base<X>(sde: DiffusionSDE<X>): Pick<Process<X>, 'sde' | 'b' | 'lambda' | 'u' | 'sigmaBar' | 'uAt' | 'tAtU' | 'sigmaBarAtU'> {
  const { u, sigmaBar } = sdeTables(sde);
  const T = sde.T;
  const lambda = sde.maxSigma;
  return {
    sde,
    b: sde.backend,
    lambda,
    u,
    sigmaBar,
    uAt(t) {
      if (Number.isInteger(t)) return u[t];
      const k = Math.ceil(t);
      return u[k - 1] + (t - (k - 1)) * (u[k] - u[k - 1]);
    },
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
    sigmaBarAtU(v) {
      return lambda * Math.sqrt(-Math.expm1(-2 * v));
    },
  };
}

function meanRevertingProcess<X>(sde: MeanRevertingSDE<X>): Process<X> {
  const p = base(sde);
  const need = (mu: X | null): X => mu as X;
  const process: Process<X> = {
    ...p,
    pull: 1,
    decay: (v) => Math.exp(-v),
    w: () => 1,
    around: (mu, devs, others = []) => combineAroundMu(p.b, need(mu), devs, others),
    x0FromNoise(x, mu, eps, t) {
      if (Number.isInteger(t)) return sde.x0FromNoise(x, need(mu), eps, t);
      const v = p.uAt(t);
      const grow = Math.exp(v);
      return combineAroundMu(p.b, need(mu), [[x, grow]], [[eps, -p.sigmaBarAtU(v) * grow]]);
    },
    noiseFromX0(xt, x0, mu, t) {
      if (Number.isInteger(t)) return sde.noiseFromX0(xt, x0, need(mu), t);
      const v = p.uAt(t);
      const k = 1 / p.sigmaBarAtU(v);
      return combineAroundMu(
        p.b,
        need(mu),
        [
          [xt, k],
          [x0, -k * Math.exp(-v)],
        ],
        [],
        false,
      );
    },
    noiseFromScore: (score, t) => (Number.isInteger(t) ? sde.noiseFromScore(score, t) : p.b.linear([[score, -p.sigmaBarAtU(p.uAt(t))]])),
    reverseSdeStep: (x, mu, eps, t, noise) => withScore(sde, eps, t, (score) => sde.reverseSdeStep(x, need(mu), score, t, noise)),
    reverseOdeStep: (x, mu, eps, t) => withScore(sde, eps, t, (score) => sde.reverseOdeStep(x, need(mu), score, t)),
    optimalReverseMean: (xt, x0, mu, t, s) => sde.optimalReverseMean(xt, x0, need(mu), t, s),
  };
  return process;
}

function denoisingProcess<X>(sde: DenoisingSDE<X>): Process<X> {
  const p = base(sde);
  const plain = (devs: ReadonlyArray<Term<X>>, others: ReadonlyArray<Term<X>> = []): X => p.b.linear([...devs, ...others].filter(([, c]) => c !== 0));
  return {
    ...p,
    pull: 0,
    decay: () => 1,
    w: (v) => Math.exp(-2 * v),
    around: (_mu, devs, others = []) => plain(devs, others),
    x0FromNoise: (x, _mu, eps, t) => (Number.isInteger(t) ? sde.x0FromNoise(x, eps, t) : plain([[x, 1]], [[eps, -p.sigmaBarAtU(p.uAt(t))]])),
    noiseFromX0(xt, x0, _mu, t) {
      if (Number.isInteger(t)) return sde.noiseFromX0(xt, x0, t);
      const k = 1 / p.sigmaBarAtU(p.uAt(t));
      return combineAroundMu(p.b, x0, [[xt, k]], [], false);
    },
    noiseFromScore: (score, t) => (Number.isInteger(t) ? sde.noiseFromScore(score, t) : p.b.linear([[score, -p.sigmaBarAtU(p.uAt(t))]])),
    reverseSdeStep: (x, _mu, eps, t, noise) => withScore(sde, eps, t, (score) => sde.reverseSdeStep(x, score, t, noise)),
    reverseOdeStep: (x, _mu, eps, t) => withScore(sde, eps, t, (score) => sde.reverseOdeStep(x, score, t)),
    optimalReverseMean: (xt, x0, _mu, t, s) => sde.optimalReverseMean(xt, x0, t, s),
  };
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
