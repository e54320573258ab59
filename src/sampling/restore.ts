import { Rng } from '../backend/rng.js';
import type { MeanRevertingSDE } from '../sde/mean-reverting-sde.js';
import { throwIfAborted } from './abort.js';
import { meanStdOverSamples, repeatBatch } from './batch.js';
import type { Sampler, SamplerOptions } from './loop.js';
import type { NoiseModel } from './model.js';
import { resolveSampler, type SamplerName } from './samplers.js';
import { checkSteps, timesteps, type Spacing } from './timesteps.js';

/** Options of {@link restore}. */
export interface RestoreOptions<X> extends SamplerOptions<X> {
  /** The SDE the model was trained with; its backend does the maths. */
  readonly sde: MeanRevertingSDE<X>;
  /** The noise predictor (see {@link NoiseModel}; wrap other models with `fromScoreModel` / `fromX0Model`). */
  readonly model: NoiseModel<X>;
  /** The degraded image `mu`, float32 `[B, ...]` (borrowed, not disposed). */
  readonly lq: X;
  /** A built-in sampler's name or a {@link Sampler} function (default `'sde'`, the paper's). */
  readonly sampler?: SamplerName | Sampler;
  /**
   * The step list: a number `K` (that many steps spread by `spacing`, see {@link timesteps}) or an
   * explicit strictly decreasing list within `1..T`. Default: all `T` steps, `T, T-1, ..., 1`.
   */
  readonly steps?: number | ArrayLike<number>;
  /** Spacing for a numeric `steps` (default `'linspace'`, which starts at `T` and ends at `1`). */
  readonly spacing?: Spacing;
  /**
   * Seed of the generator for the prior and the sampler's noise (non-negative integer, default 0).
   * Give `seed` or `rng`, not both.
   */
  readonly seed?: number;
}

/** Options of {@link restoreWithUncertainty}: those of {@link restore} plus the sample count. */
export interface UncertaintyOptions<X> extends RestoreOptions<X> {
  /** Number of restorations `N` per input image (integer >= 2), drawn together in one batch. */
  readonly samples: number;
  /** Also return the `N` restorations themselves (default false). */
  readonly keepSamples?: boolean;
}

/** Result of {@link restoreWithUncertainty}; every tensor is new and owned by the caller. */
export interface Uncertainty<X> {
  /** Per-pixel mean of the `N` restorations, `[B, ...]` like `lq`. */
  readonly mean: X;
  /** Per-pixel sample standard deviation (denominator `N - 1`), `[B, ...]`, data units: the uncertainty map. */
  readonly std: X;
  /** With `keepSamples`: all restorations `[N B, ...]`, sample-major (sample `j`, item `b` at row `j B + b`). */
  readonly samples?: X;
}

function stepList(T: number, steps: number | ArrayLike<number> | undefined, spacing: Spacing | undefined): number[] {
  if (steps === undefined) return timesteps(T, T, 'linspace');
  if (typeof steps === 'number') return timesteps(T, steps, spacing ?? 'linspace');
  return checkSteps(steps, T, 'restore');
}

function generator(seed: number | undefined, rng: Rng | undefined): Rng {
  if (seed !== undefined && rng !== undefined) throw new TypeError('restore: give seed or rng, not both');
  if (rng !== undefined) {
    if (rng === null || typeof rng.normal !== 'function') throw new TypeError('restore: rng must be an Rng');
    return rng;
  }
  return new Rng(seed ?? 0);
}

/**
 * Restores `lq`: draws the prior `x_T = lq + lambda z` ({@link MeanRevertingSDE.prior}), runs the
 * sampler over the step list (then to `t = 0`) and returns `x_0`.
 *
 * Ownership: returns one new tensor `[B, ...]` (like `lq`) owned by the caller; the prior and
 * every intermediate are disposed, also on error or cancellation. Callback tensors are borrowed
 * (see {@link StepInfo}). Nothing is printed or written.
 *
 * Determinism: the prior and all sampler noise come from one {@link Rng} (from `seed`, default 0,
 * or the given `rng`, which is advanced): the same seed gives the same output, and item `i` of a
 * batch gets the same noise (so the same result, up to the model's own batch effects) alone or in
 * a batch of any size.
 *
 * Cancellation: `signal` is checked before the prior and between steps; an aborted run throws the
 * signal's reason (an `AbortError`).
 * With `samples: N` (integer >= 2) it draws N restorations of every image in one batch and returns
 * their per-pixel `{ mean, std }` instead (exactly {@link restoreWithUncertainty}).
 * @throws RangeError / TypeError for bad options.
 */
export async function restore<X>(options: UncertaintyOptions<X>): Promise<Uncertainty<X>>;
export async function restore<X>(options: RestoreOptions<X>): Promise<X>;
export async function restore<X>(options: RestoreOptions<X> | UncertaintyOptions<X>): Promise<X | Uncertainty<X>> {
  if (options === null || typeof options !== 'object') throw new TypeError('restore: options must be an object { sde, model, lq, ... }');
  // `samples: N` asks for N restorations in one batch and their per-pixel mean and std.
  if ((options as { samples?: unknown }).samples !== undefined) return restoreWithUncertainty(options as UncertaintyOptions<X>);
  const { sde, model, lq, seed, rng: givenRng, signal } = options;
  if (sde === undefined || sde === null || typeof sde.prior !== 'function') throw new TypeError('restore: options.sde must be a MeanRevertingSDE');
  if (lq === undefined || lq === null) throw new TypeError('restore: options.lq (the degraded image, [B, ...]) is required');
  const sampler = resolveSampler(options.sampler ?? 'sde');
  const list = stepList(sde.T, options.steps, options.spacing);
  const rng = generator(seed, givenRng);
  throwIfAborted(signal, 'restore');
  const xT = sde.prior(lq, rng);
  try {
    return await sampler(sde, model, xT, lq, list, { ...options, rng });
  } finally {
    sde.backend.dispose(xT);
  }
}

/**
 * Draws `samples` restorations of every image of `lq` in one batch (`[N B, ...]`, sample-major)
 * and returns their per-pixel mean and standard deviation: an uncertainty map. Sample 0 of the
 * batch is exactly what {@link restore} returns for the same options and seed. The model and the
 * callback see the `[N B, ...]` batch.
 *
 * Ownership: `mean` and `std` (and `samples` with `keepSamples`) are new tensors owned by the
 * caller; everything else is disposed. The batch is tiled and reduced on the host (one upload,
 * one download).
 */
export async function restoreWithUncertainty<X>(options: UncertaintyOptions<X>): Promise<Uncertainty<X>> {
  if (options === null || typeof options !== 'object') throw new TypeError('restoreWithUncertainty: options must be an object { sde, model, lq, samples, ... }');
  const { samples: n, keepSamples, sde, lq } = options;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`restoreWithUncertainty: samples must be an integer >= 2, got ${String(n)}`);
  if (sde === undefined || sde === null || typeof sde.prior !== 'function') throw new TypeError('restoreWithUncertainty: options.sde must be a MeanRevertingSDE');
  const b = sde.backend;
  const tiled = repeatBatch(b, lq, n);
  let all: X;
  try {
    const { samples: _n, keepSamples: _k, ...rest } = options;
    all = await restore<X>({ ...rest, lq: tiled } as RestoreOptions<X>);
  } finally {
    b.dispose(tiled);
  }
  try {
    const { mean, std } = meanStdOverSamples(b, all, n);
    if (keepSamples) return { mean, std, samples: all };
    b.dispose(all);
    return { mean, std };
  } catch (e) {
    b.dispose(all);
    throw e;
  }
}
