import type { Tensor } from '@tensorflow/tfjs-core';
import type { Term, TensorBackend } from '../backend/types.js';
import type { DiffusionSDE } from '../sde/diffusion-sde.js';
import { throwIfAborted } from './abort.js';
import { prepare, type OdeSolverStats, type Sampler, type SamplerOptions } from './loop.js';
import type { NoiseModel } from './model.js';
import { processOf } from './process.js';
import { checkSteps } from './timesteps.js';

/*
 * The probability-flow ODE solved by an embedded Runge–Kutta 5(4) pair (Dormand–Prince, the
 * method of scipy's RK45 that the reference's `ode_sampler` calls) with error control, in
 * continuous time, for either SDE.
 *
 * Time: the ODE is written in `u = Theta(t) dt` (see process.ts for both SDEs' drifts) and
 * integrated in `v = sqrt(u)`: `dx/dv = 2 v f(x, u)`. Near `u = 0` the flow of sharp data moves
 * like `sigmaBar(u) ~ lambda sqrt(2u)`, which is smooth in `v` but not in `u` or `t`. Between
 * integer `t` the tables are interpolated with `Theta(t)` piecewise linear (`theta` constant on
 * `(k - 1, k]`, equal to `theta_k`, the value the reference's step from `k` uses), so `u(t)` is
 * continuous and every coefficient is its closed form in `u` (`sigmaBar = lambda sqrt(1 - e^{-2u})`,
 * `exp(-u)`, `exp(-2u)`). The network is called at the real `t(u)` of each stage (non-integer
 * `t`; integers only where a stage lands on one, e.g. the start and the default end `t = 1`).
 *
 * The reference evaluates its network at `int(t)` (piecewise-constant coefficients, integer
 * times only) and integrates down to `t = 1e-3`, where `int(t) = 0` gives `sigmaBar_0 = 0` and
 * an infinite score; irsde's interpolation keeps the ODE continuous and stops at `tEnd`.
 */

/** Butcher tableau of Dormand–Prince 5(4) (FSAL: the 7th stage is the next step's first). */
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1];
const A: number[][] = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
];
/** Fifth-order weights minus the embedded fourth-order ones (the local error estimate). */
const E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40];

/** Options of {@link solveProbabilityFlow}. */
export interface ProbabilityFlowOptions<X = Tensor> extends SamplerOptions<X> {
  /** The real time `t` in `(0, T]` of the input state (default `T`). */
  readonly tStart?: number;
}

/** Result of {@link solveProbabilityFlow}. */
export interface ProbabilityFlowResult<X = Tensor> {
  /** The `x0` estimate at the end (new tensor owned by the caller), `[B, ...]`. */
  readonly x: X;
  /** The solver's counts (network evaluations, accepted and rejected steps). */
  readonly stats: OdeSolverStats;
}

function positive(v: unknown, name: string, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`${where}: ${name} must be a finite number > 0, got ${String(v)}`);
  return v;
}

/**
 * Solves the probability-flow ODE from `x` at real time `tStart` down to `tEnd` with adaptive
 * Dormand–Prince 5(4) steps (integrated in `v = sqrt(Theta(t) dt)`, smooth near `t = 0`, with the
 * schedule's tables interpolated piecewise linearly between integer `t`), then returns the `x0` estimate `x0FromNoise(x_tEnd, eps(x_tEnd, tEnd), tEnd)`
 * (the FSAL stage already evaluated there, so it costs no extra model call).
 *
 * Error control: a step is accepted when every element's local error estimate satisfies
 * `|err| <= atol + rtol max(|x_old|, |x_new|)` (the max norm: every pixel meets the tolerance;
 * scipy's RK45 uses the RMS, which let single pixels of smooth problems end up ~15x outside a
 * loose tolerance in our tests); the step then changes by `0.9 err^(-1/5)`, within 0.2x..5x (no
 * growth right after a rejection). One step size serves the whole batch (the worst element sets
 * it), so an item's result depends on its batch-mates only within the tolerance. The first step
 * size comes from Hairer's starting-step rule (one extra model call). Every model call is counted
 * in `stats.nfe`.
 *
 * Ownership as every sampler: `x` and `mu` borrowed, the result new, intermediates disposed
 * (also on error or abort). `callback` runs after each accepted step (`t`, `s` real),
 * `onProgress(done, 1000)` reports the fraction of the interval in `v = sqrt(u)` covered.
 * @param mu - the degraded image for a MeanRevertingSDE, `null` for a DenoisingSDE.
 * @throws RangeError for bad tolerances or times, and when `maxEvals` is exceeded.
 */
export async function solveProbabilityFlow<X, C extends X | null = X>(
  sde: DiffusionSDE<X>,
  model: NoiseModel<X, C>,
  x: X,
  mu: C,
  options: ProbabilityFlowOptions<X> = {},
): Promise<ProbabilityFlowResult<X>> {
  const where = "sampler 'ode-adaptive'";
  const { b, predict } = prepare(where, sde, model, x, mu);
  const p = processOf(sde, where);
  const rtol = positive(options.rtol ?? 1e-3, 'rtol', where);
  const atol = positive(options.atol ?? 1e-3, 'atol', where);
  const maxEvals = options.maxEvals ?? 10000;
  if (!Number.isInteger(maxEvals) || maxEvals < 1) throw new RangeError(`${where}: maxEvals must be an integer >= 1, got ${String(maxEvals)}`);
  const tStart = options.tStart ?? sde.T;
  if (typeof tStart !== 'number' || !(tStart > 0 && tStart <= sde.T)) throw new RangeError(`${where}: the start time must be in (0, ${sde.T}], got ${String(tStart)}`);
  const tEnd = Math.min(options.tEnd ?? 1, tStart);
  if (typeof tEnd !== 'number' || !(tEnd > 0)) throw new RangeError(`${where}: tEnd must be a number > 0, got ${String(options.tEnd)}`);
  const { callback, onProgress, signal } = options;
  const lam2 = p.lambda * p.lambda;

  let nfe = 0;
  /** Model call plus drift `dx/dv = 2 v [a (mu - y) + lambda^2 w(u) eps / sigmaBar(u)]`; both owned by the caller. */
  const derivative = async (y: X, v: number, tExact?: number): Promise<{ k: X; eps: X }> => {
    if (nfe >= maxEvals) throw new RangeError(`${where}: more than maxEvals = ${maxEvals} model evaluations; loosen rtol/atol or raise maxEvals`);
    const t = tExact ?? p.tAtU(v * v);
    const u = tExact === undefined ? v * v : p.uAt(tExact);
    nfe++;
    const eps = await predict(y, t);
    const sb = Number.isInteger(t) ? p.sigmaBar[t] : p.sigmaBarAtU(u);
    const terms: Array<Term<X>> = [[eps, (2 * v * lam2 * p.w(u)) / sb]];
    if (p.pull !== 0) terms.push([mu as X, 2 * v * p.pull], [y, -2 * v * p.pull]);
    return { k: b.linear(terms), eps };
  };
  const norm = (err: X, y0: X, y1?: X): number => maxNorm(b, err, y0, y1, atol, rtol);

  const v0 = Math.sqrt(p.uAt(tStart));
  const v1 = Math.sqrt(p.uAt(tEnd));
  const owned: X[] = [];
  const drop = (...ts: Array<X | undefined>): void => {
    for (const t of ts) {
      if (t === undefined || t === x) continue;
      b.dispose(t);
      const i = owned.indexOf(t);
      if (i >= 0) owned.splice(i, 1);
    }
  };
  const keep = <T extends X>(t: T): T => {
    owned.push(t);
    return t;
  };
  let accepted = 0;
  let rejected = 0;
  try {
    throwIfAborted(signal, where);
    let y = x;
    let v = v0;
    let t = tStart;
    let { k: k1, eps: epsCur } = await derivative(y, v, tStart);
    keep(k1);
    keep(epsCur);
    if (v1 < v0) {
      // Hairer's starting step (norms scaled by atol + rtol |y0|).
      const d0 = norm(y, y);
      const d1 = norm(k1, y);
      const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 * (v0 - v1) : (0.01 * d0) / d1;
      const hs = Math.min(h0, v0 - v1);
      const yTry = keep(b.linear([[y, 1], [k1, -hs]]));
      const probe = await derivative(yTry, v - hs);
      drop(probe.eps, yTry);
      const diff = keep(b.linear([[probe.k, 1], [k1, -1]]));
      drop(probe.k);
      const d2 = norm(diff, y) / hs;
      drop(diff);
      const h1 = Math.max(d1, d2) <= 1e-15 ? Math.max(1e-6 * (v0 - v1), h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** (1 / 5);
      let h = Math.min(100 * h0, h1, v0 - v1);
      let lastRejected = false;
      while (v > v1) {
        throwIfAborted(signal, where);
        const last = h >= v - v1;
        if (last) h = v - v1;
        const vNew = last ? v1 : v - h;
        const ks: X[] = [k1];
        for (let i = 1; i < 6; i++) {
          const yi = keep(b.linear([[y, 1], ...A[i].map((a, j) => [ks[j], -h * a] as Term<X>).filter(([, c]) => c !== 0)]));
          const d = await derivative(yi, v - C[i] * h);
          drop(d.eps, yi);
          ks.push(keep(d.k));
        }
        const yNew = keep(b.linear([[y, 1], ...A[6].map((a, j) => [ks[j], -h * a] as Term<X>).filter(([, c]) => c !== 0)]));
        const tNew = last ? tEnd : p.tAtU(vNew * vNew);
        const d7 = await derivative(yNew, vNew, last ? tEnd : undefined);
        keep(d7.k);
        keep(d7.eps);
        ks.push(d7.k);
        const err = keep(b.linear(E.map((e, j) => [ks[j], h * e] as Term<X>).filter(([, c]) => c !== 0)));
        const en = norm(err, y, yNew);
        drop(err, ...ks.slice(1, 6));
        if (en <= 1) {
          drop(k1, epsCur);
          if (y !== x) drop(y);
          y = yNew;
          k1 = d7.k;
          epsCur = d7.eps;
          const tPrev = t;
          v = vNew;
          t = tNew;
          accepted++;
          let factor = en === 0 ? 5 : Math.min(5, Math.max(0.2, 0.9 * en ** -0.2));
          if (lastRejected) factor = Math.min(1, factor);
          lastRejected = false;
          h *= factor;
          if (callback) {
            const x0Hat = p.x0FromNoise(y, mu, epsCur, t);
            try {
              await callback({ i: accepted - 1, t: tPrev, s: t, x: y, x0Hat });
            } finally {
              b.dispose(x0Hat);
            }
          }
          onProgress?.(Math.round((1000 * (v0 - v)) / (v0 - v1)), 1000);
        } else {
          drop(yNew, d7.k, d7.eps);
          rejected++;
          lastRejected = true;
          h *= Math.max(0.2, 0.9 * en ** -0.2);
          if (!(h > 1e-12 * v0)) throw new RangeError(`${where}: the step size underflowed at t = ${t}; the model's output may not be smooth in t`);
        }
      }
    }
    const out = p.x0FromNoise(y, mu, epsCur, t);
    const stats: OdeSolverStats = { nfe, accepted, rejected, tStart, tEnd };
    options.onSolverStats?.(stats);
    return { x: out, stats };
  } finally {
    for (const t of owned) if (t !== x) b.dispose(t);
  }
}

/**
 * The max norm `max_j |err_j| / (atol + rtol max(|y0_j|, |y1_j|))` over every element of the
 * batch, on the host in float64 (one download per tensor).
 */
function maxNorm<X>(b: TensorBackend<X>, err: X, y0: X, y1: X | undefined, atol: number, rtol: number): number {
  const e = b.toArray(err);
  const a = b.toArray(y0);
  const c = y1 === undefined ? a : b.toArray(y1);
  let worst = 0;
  for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs(e[j]) / (atol + rtol * Math.max(Math.abs(a[j]), Math.abs(c[j]))));
  return Number.isNaN(worst) ? Infinity : worst;
}

/**
 * `ode-adaptive`: the probability-flow ODE with adaptive Dormand–Prince 5(4) steps
 * ({@link solveProbabilityFlow}), from `steps[0]` (the start; the rest of the list is not used,
 * the solver picks its own steps) down to `options.tEnd` (default 1), then the `x0` estimate
 * there. Deterministic; `rtol` / `atol` (default 1e-3 each) set the accuracy, and
 * `onSolverStats` receives the number of model evaluations. Either SDE.
 */
export const odeAdaptiveSampler: Sampler = async (sde, model, x, mu, steps, options = {}) => {
  processOf(sde, "sampler 'ode-adaptive'");
  const list = checkSteps(steps, sde.T, "sampler 'ode-adaptive'");
  const { x: out } = await solveProbabilityFlow(sde, model, x, mu, { ...options, tStart: list[0] });
  return out;
};
