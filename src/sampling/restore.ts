import type { Tensor } from '@tensorflow/tfjs-core';
import { Rng } from '../backend/rng.js';
import { type DiffusionSDE } from '../sde/diffusion-sde.js';
import { checkSDE } from '../sde/kinds.js';
import { throwIfAborted } from './abort.js';
import { meanStdOverSamples, repeatBatch } from './batch.js';
import type { Sampler, SamplerOptions } from './loop.js';
import type { NoiseModel } from './model.js';
import { resolveSampler } from './samplers.js';
import { defaultSamplerFor, type SamplerName } from './names.js';
import { checkSteps, timesteps, type Spacing } from './timesteps.js';

/**
 * Options of {@link restore}.
 * @typeParam C - the model's condition type: `X` for a MeanRevertingSDE, `null` (or `X | null`,
 *   an unconditional network) for a DenoisingSDE.
 */
export interface RestoreOptions<X = Tensor, C extends X | null = X> extends SamplerOptions<X> {
  /** The SDE the model was trained with (a `MeanRevertingSDE` or a `DenoisingSDE`); its backend does the maths. */
  readonly sde: DiffusionSDE<X>;
  /**
   * The noise predictor (see {@link NoiseModel}; wrap other models with `fromScoreModel` /
   * `fromX0Model`). Under a DenoisingSDE it is called with `cond = null`.
   */
  readonly model: NoiseModel<X, C>;
  /**
   * The degraded image, float32 `[B, ...]` (borrowed, not disposed). MeanRevertingSDE: `mu`, the
   * SDE's mean (restoration starts from the prior `lq + lambda z`). DenoisingSDE: the noisy image
   * itself, taken as the state at `start`.
   */
  readonly lq: X;
  /**
   * DenoisingSDE only: the time index of `lq`, an integer in `0..T` (default `T`, as the
   * reference's test without a sigma): use `sde.optimalTimestep(sigma)` for noise of std `sigma`
   * (data units; see `estimateNoiseSigma` when it is unknown). `0` returns a copy of `lq`. Giving
   * it for a MeanRevertingSDE is an error (that SDE starts from its prior at `T`).
   */
  readonly start?: number;
  /**
   * A built-in sampler's name or a {@link Sampler} function. Default: {@link defaultSamplerFor}
   * the SDE, the same default as the `Restorer` and `irsde restore`: `'posterior'` for a
   * MeanRevertingSDE (exact for any step list), `'ode'` (the reference's denoising test loop)
   * for a DenoisingSDE.
   */
  readonly sampler?: SamplerName | Sampler;
  /**
   * The step list: a number `K` (that many steps spread by `spacing`, see {@link timesteps}) or an
   * explicit strictly decreasing list within `1..T` (`1..start` for a DenoisingSDE). Default: all
   * steps, `T, T-1, ..., 1` (`start, ..., 1`). For a DenoisingSDE a number larger than `start` is
   * reduced to `start` (a blind noise estimate may give a small `start`). `'ode-adaptive'` uses
   * only the first entry (its start) and picks its own steps.
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
export interface UncertaintyOptions<X = Tensor, C extends X | null = X> extends RestoreOptions<X, C> {
  /** Number of restorations `N` per input image (integer >= 2), drawn together in one batch. */
  readonly samples: number;
  /** Also return the `N` restorations themselves (default false). */
  readonly keepSamples?: boolean;
}

/** Result of {@link restoreWithUncertainty}; every tensor is new and owned by the caller. */
export interface Uncertainty<X = Tensor> {
  /** Per-pixel mean of the `N` restorations, `[B, ...]` like `lq`. */
  readonly mean: X;
  /** Per-pixel sample standard deviation (denominator `N - 1`), `[B, ...]`, data units: the uncertainty map. */
  readonly std: X;
  /** With `keepSamples`: all restorations `[N B, ...]`, sample-major (sample `j`, item `b` at row `j B + b`). */
  readonly samples?: X;
}

function stepList(T: number, steps: number | ArrayLike<number> | undefined, spacing: Spacing | undefined, clamp = false): number[] {
  if (steps === undefined) return timesteps(T, T, 'linspace');
  if (typeof steps === 'number') return timesteps(T, clamp && Number.isInteger(steps) && steps > T ? T : steps, spacing ?? 'linspace');
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
 * Restores `lq`: starts where the SDE's `restorationStart` says, runs the sampler over the step
 * list (then to `t = 0`) and returns `x_0`. MeanRevertingSDE: from the prior `x_T = lq + lambda z`
 * (its `prior`), the model conditioned on `lq`. DenoisingSDE: from `lq` itself as the state at
 * `start` (e.g. `sde.optimalTimestep(sigma)`), the model called with `cond = null`, as the
 * reference's denoising test does with `reverse_ode`.
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
 * @example
 * ```ts
 * import { restore, UNet, MeanRevertingSDE, from255 } from 'irsde';
 * const sde = new MeanRevertingSDE({ T: 100, maxSigma: from255(10) });
 * const net = new UNet({ inChannels: 3, outChannels: 3, nf: 16, depth: 3, prediction: 'residual' });
 * // lq: the degraded images, NHWC [B, H, W, 3] in [0, 1] (borrowed); the result is the caller's
 * const x0 = await restore({ sde, model: net.noiseModelFor(sde), lq, sampler: 'posterior', steps: 10, seed: 0 });
 * ```
 * @throws RangeError / TypeError for bad options.
 */
export async function restore<X, C extends X | null = X>(options: UncertaintyOptions<X, C>): Promise<Uncertainty<X>>;
export async function restore<X, C extends X | null = X>(options: RestoreOptions<X, C>): Promise<X>;
export async function restore<X, C extends X | null = X>(options: RestoreOptions<X, C> | UncertaintyOptions<X, C>): Promise<X | Uncertainty<X>> {
  if (options === null || typeof options !== 'object') throw new TypeError('restore: options must be an object { sde, model, lq, ... }');
  // `samples: N` asks for N restorations in one batch and their per-pixel mean and std.
  if ((options as { samples?: unknown }).samples !== undefined) return restoreWithUncertainty(options as UncertaintyOptions<X, C>);
  const { sde, model, lq, seed, rng: givenRng, signal, start } = options;
  checkSDE<X>(sde, 'restore');
  if (lq === undefined || lq === null) throw new TypeError('restore: options.lq (the degraded image, [B, ...]) is required');
  const sampler = resolveSampler(options.sampler ?? defaultSamplerFor(sde));
  const rng = generator(seed, givenRng);
  throwIfAborted(signal, 'restore');
  // The SDE says where its reverse process starts: a prior around lq, or lq itself at `start`.
  const { x, t, cond, clampSteps } = sde.restorationStart(lq, start, rng, 'restore');
  // A DenoisingSDE starts from lq itself (no copy of a large image), which stays the caller's.
  const owned = x !== lq;
  // t = 0: no noise to remove (the reference's loop over range(1, 0 + 1) is empty).
  if (t === 0) return owned ? x : sde.backend.linear([[lq, 1]]);
  try {
    const list = stepList(t, options.steps, options.spacing, clampSteps);
    return await sampler(sde, model, x, cond as C, list, { ...options, rng });
  } finally {
    if (owned) sde.backend.dispose(x);
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
export async function restoreWithUncertainty<X, C extends X | null = X>(options: UncertaintyOptions<X, C>): Promise<Uncertainty<X>> {
  if (options === null || typeof options !== 'object') throw new TypeError('restoreWithUncertainty: options must be an object { sde, model, lq, samples, ... }');
  const { samples: n, keepSamples, sde, lq } = options;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`restoreWithUncertainty: samples must be an integer >= 2, got ${String(n)}`);
  checkSDE<X>(sde, 'restoreWithUncertainty');
  const b = sde.backend;
  const tiled = repeatBatch(b, lq, n);
  let all: X;
  try {
    const { samples: _n, keepSamples: _k, ...rest } = options;
    all = await restore<X, C>({ ...rest, lq: tiled } as RestoreOptions<X, C>);
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
