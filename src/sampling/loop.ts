import type { Tensor } from '@tensorflow/tfjs-core';
import type { Rng } from '../backend/rng.js';
import type { DiffusionSDE } from '../sde/diffusion-sde.js';
import { throwIfAborted } from './abort.js';
import type { NoiseModel } from './model.js';
import { checkCondition, processOf } from './process.js';
import { checkSteps } from './timesteps.js';

/**
 * What a sampler's per-step callback receives. The tensors are **borrowed**: valid only during
 * the call (the sampler disposes `x0Hat` right after it and `x` at the next step); clone them
 * (`tf.clone`, or `backend.linear([[x, 1]])`) to keep them. Do not dispose them.
 */
export interface StepInfo<X = Tensor> {
  /** Step number, `0..K-1`. */
  readonly i: number;
  /** Time index the step started from (the model was evaluated at `t`); real for `'ode-adaptive'`. */
  readonly t: number;
  /** Time index the step landed on (`0` after the last step); real for `'ode-adaptive'`. */
  readonly s: number;
  /** The new state `x_s`, `[B, ...]` (borrowed). */
  readonly x: X;
  /** The clean-image estimate `x0FromNoise(x_t, eps_hat)` made at `t`, `[B, ...]` (borrowed). */
  readonly x0Hat: X;
}

/** Options shared by every sampler (sampler-specific ones are ignored by the others). */
export interface SamplerOptions<X = Tensor> {
  /**
   * Generator for the sampler's own noise (`sde`, and `posterior` with `eta > 0`): one
   * `rng.normal(shape)` per step for the whole batch, so item `i`'s noise does not depend on the
   * batch size. Required by those samplers; advanced by them.
   */
  readonly rng?: Rng;
  /** Called after every step with borrowed tensors (see {@link StepInfo}); may be async (awaited). */
  readonly callback?: (info: StepInfo<X>) => void | Promise<void>;
  /** Called after every step with (steps done, total steps), e.g. for a progress bar. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Cancels the run between steps: the sampler disposes what it owns and throws the signal's
   * `reason` (by default a `DOMException` named `AbortError`).
   */
  readonly signal?: AbortSignal;
  /** `posterior` only: noise level in `[0, 1]` (default 1, the exact posterior; 0 = DDIM-like). */
  readonly eta?: number;
  /** `ode` only: 1 = Euler (default, as the reference), 2 = Heun (the `heun` sampler). */
  readonly order?: 1 | 2;
  /** `ode-adaptive` only: relative tolerance of the Runge–Kutta error control (default 1e-3). */
  readonly rtol?: number;
  /** `ode-adaptive` only: absolute tolerance, data units (default 1e-3). */
  readonly atol?: number;
  /**
   * `ode-adaptive` only: the real time `t` in `(0, steps[0])` where the integration stops
   * (default 1, the smallest time a network is trained at); the result is then the `x0` estimate
   * made from the noise predicted there.
   */
  readonly tEnd?: number;
  /** `ode-adaptive` only: the most model evaluations allowed (default 10000); more is an error. */
  readonly maxEvals?: number;
  /** `ode-adaptive` only: receives the solver's counts when it finishes (see `OdeSolverStats`). */
  readonly onSolverStats?: (stats: OdeSolverStats) => void;
}

/** What the adaptive ODE sampler reports (through `onSolverStats`). */
export interface OdeSolverStats {
  /** Model (network) evaluations in all. */
  readonly nfe: number;
  /** Accepted Runge–Kutta steps. */
  readonly accepted: number;
  /** Rejected Runge–Kutta steps (their evaluations are counted in `nfe`). */
  readonly rejected: number;
  /** Start and end time `t` of the integration. */
  readonly tStart: number;
  /** End time `t` (then the `x0` estimate is made). */
  readonly tEnd: number;
}

/**
 * A sampler: runs the reverse process from `x` (the state at `steps[0]`) over the decreasing
 * `steps` and then to `s = 0`, calling `model` once per step (twice for Heun), and returns the
 * final state `x_0`. Every built-in sampler works with both SDEs: a `MeanRevertingSDE` needs
 * `mu` (the degraded image), a `DenoisingSDE` takes `null` (its model gets `null` as `cond`);
 * the wrong one is a one-line error.
 *
 * Ownership: `x` and `mu` are borrowed (never disposed); the returned tensor is new and owned by
 * the caller; every intermediate is disposed, also when the run throws or is aborted.
 * @param sde - the SDE (its backend does the maths). @param model - the noise predictor.
 * @param x - start state `[B, ...]` (float32). @param mu - degraded image, same shape, or `null`.
 * @param steps - strictly decreasing integers within `1..T` (see {@link timesteps}).
 */
export type Sampler = <X, C extends X | null = X>(
  sde: DiffusionSDE<X>,
  model: NoiseModel<X, C>,
  x: X,
  mu: C,
  steps: ArrayLike<number>,
  options?: SamplerOptions<X>,
) => Promise<X>;

/** What a sampler's step function returns: the new state, and optionally the x0 estimate it made. */
export type StepOutput<X = Tensor> =
  | X
  | {
      /** The new state at `s` (new tensor). */
      readonly x: X;
      /** The x0 estimate made at `t` (new tensor; the loop disposes it after the callback). */
      readonly x0Hat: X;
    };

/** Context given to a sampler's step function. @internal */
export interface StepContext<X> {
  /** Calls the model at `(x, t)` with shape checks; the result is owned by the caller. */
  predict(x: X, t: number): Promise<X>;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The loop every sampler shares: validation, model calls, cancellation, callback, progress and
 * disposal. `step` gets the state at `t` (borrowed) and the noise predicted there (borrowed) and
 * returns the state at `s` (new). @internal
 */
export async function runSteps<X, C extends X | null>(
  name: string,
  sde: DiffusionSDE<X>,
  model: NoiseModel<X, C>,
  x: X,
  mu: C,
  steps: ArrayLike<number>,
  options: SamplerOptions<X>,
  step: (x: X, eps: X, t: number, s: number, ctx: StepContext<X>) => StepOutput<X> | Promise<StepOutput<X>>,
): Promise<X> {
  const where = `sampler '${name}'`;
  const { b, shape, predict } = prepare(where, sde, model, x, mu);
  const p = processOf(sde, where);
  const ts = checkSteps(steps, sde.T, where);
  const { callback, onProgress, signal } = options;

  const ctx: StepContext<X> = { predict };

  let cur = x;
  try {
    for (let i = 0; i < ts.length; i++) {
      throwIfAborted(signal, where);
      const t = ts[i];
      const s = i + 1 < ts.length ? ts[i + 1] : 0;
      const eps = await ctx.predict(cur, t);
      let next: X | undefined;
      let x0Hat: X | undefined;
      try {
        const out = await step(cur, eps, t, s, ctx);
        if (typeof out === 'object' && out !== null && 'x0Hat' in out && 'x' in out) {
          next = out.x;
          x0Hat = out.x0Hat;
        } else {
          next = out as X;
        }
        if (callback && x0Hat === undefined) x0Hat = p.x0FromNoise(cur, mu, eps, t);
      } catch (e) {
        if (next !== undefined) b.dispose(next);
        if (x0Hat !== undefined) b.dispose(x0Hat);
        throw e;
      } finally {
        b.dispose(eps);
      }
      if (cur !== x) b.dispose(cur);
      cur = next as X;
      try {
        if (callback) await callback({ i, t, s, x: cur, x0Hat: x0Hat! });
      } finally {
        if (x0Hat !== undefined) b.dispose(x0Hat);
      }
      onProgress?.(i + 1, ts.length);
    }
    return cur;
  } catch (e) {
    if (cur !== x) b.dispose(cur);
    throw e;
  }
}

/**
 * Common checks of a sampler call (the SDE, the model, `x`, the condition against the SDE's
 * kind) and the checked model call. @internal
 */
export function prepare<X, C extends X | null>(
  where: string,
  sde: DiffusionSDE<X>,
  model: NoiseModel<X, C>,
  x: X,
  mu: C,
): { b: DiffusionSDE<X>['backend']; shape: number[]; predict: (xt: X, t: number) => Promise<X> } {
  processOf(sde, where);
  if (typeof model !== 'function') throw new TypeError(`${where}: model must be a function (xt, cond, t) => noise, got ${typeof model}`);
  const b = sde.backend;
  const shape = b.shape(x);
  if (shape.length === 0) throw new RangeError(`${where}: x must have rank >= 1 (batch on axis 0), got a scalar`);
  checkCondition(sde, mu, shape, where);
  const predict = async (xt: X, t: number): Promise<X> => {
    const eps = await model(xt, mu, t);
    if (eps === xt || eps === mu) throw new TypeError(`${where}: the model returned one of its inputs; it must return a new tensor (the sampler disposes it)`);
    const es = b.shape(eps);
    if (!sameShape(es, shape)) {
      b.dispose(eps);
      throw new RangeError(`${where}: the model returned shape [${es}] at t = ${t}; expected the input's shape [${shape}]`);
    }
    return eps;
  };
  return { b, shape, predict };
}

/** The generator a stochastic sampler needs, or a clear error. @internal */
export function needRng(rng: Rng | undefined, name: string): Rng {
  if (rng === undefined || rng === null || typeof rng.normal !== 'function') {
    throw new TypeError(`sampler '${name}': options.rng (an Rng) is required for its noise draws`);
  }
  return rng;
}
