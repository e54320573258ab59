import type * as tf from '@tensorflow/tfjs-core';
import type { TensorBackend } from '../backend/types.js';
import type { Rng } from '../backend/rng.js';
import type { NoiseSource } from './noise-source.js';
import type { ScheduleSpec } from './schedules.js';
import type { Timestep } from './timesteps.js';
import type { BackendName } from './core.js';
import type { RestorationStart } from './diffusion-sde.js';
import { OrnsteinUhlenbeckSDE, type OUSDEConfig } from './ou-sde.js';

/** Configuration of a {@link DenoisingSDE}. Plain data: JSON-serialisable when the schedule is. */
export interface DenoisingSDEConfig extends OUSDEConfig {
  /** Number of diffusion steps `T` (integer >= 1). Time indices run `1..T`. */
  readonly T: number;
  /**
   * The largest noise standard deviation `lambda` the SDE reaches (`sigmaBar` grows towards it),
   * in the data's own units: the reference's `max_sigma = 75` on images in [0, 1] is
   * `from255(75)`. No silent rescaling happens.
   */
  readonly maxSigma: number;
  /**
   * The reference's *beta* schedule of this class (default `'cosine'`): `'cosine'` (offset
   * 0.008) or `'linear'`, which are the same numbers as the mean-reverting SDE's theta schedules
   * of those names. Any other {@link ScheduleSpec} is accepted too.
   */
  readonly schedule?: ScheduleSpec;
  /**
   * The reference's internal constant (default 0.04, not configurable there): `dt` is chosen so
   * that `exp(-Theta_T dt) = eps`, i.e. `sigmaBar_T = lambda sqrt(1 - eps^2)`.
   */
  readonly eps?: number;
}

/** The reference's short argument lists, or the uniform ones with `null` in the condition's place. */
type Uniform<A extends unknown[]> = A | [null, ...A];

/** Drops the condition slot of a uniform call: `null` there selects the uniform form. */
function short<A extends unknown[]>(a: Uniform<A>): A {
  return (a.length > 0 && a[0] === null ? a.slice(1) : a) as A;
}

/**
 * The reference's `DenoisingSDE` (its `sde_utils` module, https://github.com/Algolzw/image-restoration-sde, used by
 * `codes/config/denoising-sde`): the forward process `dx = theta_t (x0 - x) dt + sigma_t dw`
 * started at `x0`, so the marginal is `x_t | x0 ~ N(x0, sigmaBar_t^2)` with
 * `sigmaBar_t = lambda sqrt(1 - exp(-2 Theta_t dt))`: the mean stays at the clean image while
 * the noise grows to `lambda` (`maxSigma`). It is the {@link OrnsteinUhlenbeckSDE} skeleton with
 * mean pull 0: there is no condition. A photo with Gaussian noise of std `sigma` is the state at
 * the time whose `sigmaBar` matches (see {@link DenoisingSDE.optimalTimestep}); an unconditional
 * noise network walks it back. One trained model denoises every level up to `maxSigma`.
 *
 * Reverse processes (as the reference; `score = grad log p_t`, `A_t = exp(-2 Theta_t dt)`):
 * - SDE: drift `-0.5 sigma_t^2 (1 + A_t) score dt`, dispersion `sigma_t sqrt(dt) z`. It has the
 *   same marginals as the forward process: the variance-exploding flow has `g_t^2 = sigma_t^2 A_t`,
 *   and the reverse SDE with diffusion `sigma_t` needs drift `-(g^2 + sigma^2) / 2 score`.
 * - probability-flow ODE: drift `-0.5 sigma_t^2 A_t score dt`.
 *
 * Arguments: each tensor method takes the reference's argument list (e.g. `muBar(x0, t)`,
 * `x0FromNoise(xt, noise, t)`) or the skeleton's uniform one with `null` as the condition
 * (`muBar(x0, null, t)`, `x0FromNoise(xt, null, noise, t)`), which is what code written for
 * both families passes. `drift` and `forwardStep` take `x0`, the mean the process pulls towards.
 * Tensors, timesteps, ownership and backends as the skeleton's; the object is immutable.
 *
 * @example
 * ```ts
 * import { DenoisingSDE, from255 } from 'irsde';
 * const sde = new DenoisingSDE({ T: 100, maxSigma: from255(50) });
 * const start = sde.optimalTimestep(from255(25)); // a photo with sigma-25 noise is the state at this t
 * // restore({ sde, model, lq: noisy, start, sampler: 'ode', steps: 5 }) walks it back to t = 0
 * ```
 *
 * @typeParam X - the backend's tensor type (`tf.Tensor` unless another backend is passed).
 */
export class DenoisingSDE<X = tf.Tensor> extends OrnsteinUhlenbeckSDE<X> {
  /** The SDE family: `'denoising'` (unconditional: no `mu`). */
  readonly kind = 'denoising' as const;
  /** The mean pull: 0 (the mean stays at `x0`; no condition). */
  readonly pull = 0 as const;

  /**
   * @param config - see {@link DenoisingSDEConfig}.
   * @param backend - tensor backend or its name: `'tfjs'` (default) or `'float32'` (`HostTensor`).
   * @throws RangeError / TypeError naming the bad field for an invalid config.
   */
  constructor(config: DenoisingSDEConfig, backend?: TensorBackend<X> | BackendName) {
    super(config, backend, { cls: 'DenoisingSDE', eps: 0.04, maxSigma: ['the largest noise std', 'from255(75)'], fields: '{ T, maxSigma, schedule? }' });
  }

  /**
   * The reference's per-sample loss weights `sigma_t^2` (used when its `MatchingLoss` is
   * weighted). @returns a number for scalar `t`; a `Float64Array` for batched `t`.
   */
  weights(t: number): number;
  weights(t: ArrayLike<number>): Float64Array;
  weights(t: Timestep): number | Float64Array;
  weights(t: Timestep): number | Float64Array {
    const ts = this.args.t(t, 'weights');
    return this.args.coef(t, ts, (ti) => this.tables.sigmas[ti] ** 2);
  }

  /**
   * The time index whose noise level matches `sigma`, as the reference's `get_optimal_timestep`:
   * `Theta_hat = -ln(1 - sigma^2 / lambda^2 + 1e-6) / (2 dt)` (the `1e-6` is the reference's),
   * then the `t` in `0..T` with `Theta_t` closest to `Theta_hat` (the first on a tie). `0` means
   * the noise is too small for one step (restoring from `t = 0` returns the input).
   * @param sigma - the noise standard deviation in the data's units (images in [0, 1]: sigma 25 on
   *   the 0–255 scale is `from255(25)`); `0 <= sigma <= maxSigma`.
   * @throws RangeError for a negative, non-finite or too large `sigma` (one line, naming it).
   */
  optimalTimestep(sigma: number): number {
    const lam = this.maxSigma;
    if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0) {
      throw new RangeError(`DenoisingSDE.optimalTimestep: the noise level sigma must be a finite number >= 0 (data units), got ${String(sigma)}`);
    }
    if (sigma > lam) {
      const hint = sigma > 1 ? `; on the 0-255 scale use from255(${sigma})` : '';
      throw new RangeError(`DenoisingSDE.optimalTimestep: the noise level sigma = ${sigma} is above the SDE's maxSigma = ${lam} (data units)${hint}`);
    }
    const target = (-1 / (2 * this.dt)) * Math.log(1 - (sigma * sigma) / (lam * lam) + 1e-6);
    const cs = this.tables.cumsum;
    let best = 0;
    let bestErr = Infinity;
    for (let t = 0; t <= this.T; t++) {
      const e = Math.abs(cs[t] - target);
      if (e < bestErr) {
        bestErr = e;
        best = t;
      }
    }
    return best;
  }

  /**
   * Restoration starts from the noisy image itself (a copy) at `start` (default `T`; e.g.
   * `optimalTimestep(sigma)`), unconditionally; a step count above `start` is reduced to it.
   * @throws RangeError for a `start` outside `0..T`.
   */
  restorationStart(lq: X, start: number | undefined, _noise: NoiseSource<X>, where: string): RestorationStart<X> {
    const t = start ?? this.T;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > this.T) {
      throw new RangeError(`${where}: start must be an integer time index in 0..${this.T} (e.g. sde.optimalTimestep(sigma)), got ${String(t)}`);
    }
    return { x: lq, t, cond: null, clampSteps: true };
  }

  // The reference's argument lists beside the uniform ones (see the class documentation);
  // `NoInfer` keeps `X` inferred from the backend and the tensors of one form, not across both.

  /** Marginal mean `muBar_t = x0` (a new tensor, a copy of `x0`; `t` is validated). */
  override muBar(x0: NoInfer<X>, t: Timestep): X;
  override muBar(x0: NoInfer<X>, cond: null, t: Timestep): X;
  override muBar(x0: X, ...a: Uniform<[Timestep]>): X {
    return super.muBar(x0, null, ...short(a));
  }

  /**
   * A draw from the marginal `x_t | x0 ~ N(x0, sigmaBar_t^2 I)`: `x0 + sigmaBar_t z` (the
   * reference's `generate_random_states` for given timesteps).
   * @param noise - an {@link Rng}, a seed, or a given `z` tensor (not disposed).
   */
  override sampleMarginal(x0: NoInfer<X>, t: Timestep, noise: NoiseSource<NoInfer<X>>): X;
  override sampleMarginal(x0: NoInfer<X>, cond: null, t: Timestep, noise: NoiseSource<NoInfer<X>>): X;
  override sampleMarginal(x0: X, ...a: Uniform<[Timestep, NoiseSource<X>]>): X {
    return super.sampleMarginal(x0, null, ...short(a));
  }

  /** Reverse-SDE drift `-0.5 sigma_t^2 (1 + exp(-2 Theta_t dt)) score dt` (`x` only fixes the shape). */
  override reverseSdeDrift(x: NoInfer<X>, score: NoInfer<X>, t: Timestep): X;
  override reverseSdeDrift(x: NoInfer<X>, cond: null, score: NoInfer<X>, t: Timestep): X;
  override reverseSdeDrift(x: X, ...a: Uniform<[X, Timestep]>): X {
    return super.reverseSdeDrift(x, null, ...short(a));
  }

  /** Probability-flow (reverse-ODE) drift `-0.5 sigma_t^2 exp(-2 Theta_t dt) score dt`. */
  override reverseOdeDrift(x: NoInfer<X>, score: NoInfer<X>, t: Timestep): X;
  override reverseOdeDrift(x: NoInfer<X>, cond: null, score: NoInfer<X>, t: Timestep): X;
  override reverseOdeDrift(x: X, ...a: Uniform<[X, Timestep]>): X {
    return super.reverseOdeDrift(x, null, ...short(a));
  }

  /** Mean of one reverse-SDE step, `x - reverseSdeDrift(x, score, t)` (from t to t-1). */
  override reverseSdeStepMean(x: NoInfer<X>, score: NoInfer<X>, t: Timestep): X;
  override reverseSdeStepMean(x: NoInfer<X>, cond: null, score: NoInfer<X>, t: Timestep): X;
  override reverseSdeStepMean(x: X, ...a: Uniform<[X, Timestep]>): X {
    return super.reverseSdeStepMean(x, null, ...short(a));
  }

  /**
   * One Euler–Maruyama reverse-SDE step `x - reverseSdeDrift(x, score, t) - sigma_t sqrt(dt) z`.
   * @param noise - an {@link Rng}, a seed, or a given `z` tensor (not disposed).
   */
  override reverseSdeStep(x: NoInfer<X>, score: NoInfer<X>, t: Timestep, noise: NoiseSource<NoInfer<X>>): X;
  override reverseSdeStep(x: NoInfer<X>, cond: null, score: NoInfer<X>, t: Timestep, noise: NoiseSource<NoInfer<X>>): X;
  override reverseSdeStep(x: X, ...a: Uniform<[X, Timestep, NoiseSource<X>]>): X {
    return super.reverseSdeStep(x, null, ...short(a));
  }

  /** One Euler step of the probability-flow ODE, `x - reverseOdeDrift(x, score, t)` (the reference's `reverse_ode` step). */
  override reverseOdeStep(x: NoInfer<X>, score: NoInfer<X>, t: Timestep): X;
  override reverseOdeStep(x: NoInfer<X>, cond: null, score: NoInfer<X>, t: Timestep): X;
  override reverseOdeStep(x: X, ...a: Uniform<[X, Timestep]>): X {
    return super.reverseOdeStep(x, null, ...short(a));
  }

  /**
   * Mean of the exact posterior `q(x_s | x_t, x0)` of the forward OU process:
   * `x0 + A (1 - C^2) / (1 - B^2) (x_t - x0)` with `A = exp(-(Theta_t - Theta_s) dt)`,
   * `B = exp(-Theta_t dt)`, `C = exp(-Theta_s dt)`. For `s = t - 1` (default) this is the
   * reference's `reverse_optimum_step` (with `theta_t` as its `A`), the maximum-likelihood
   * target. Any `0 <= s < t` is exact: `x_s - x0 | x0 ~ N(0, lambda^2 (1 - C^2))` and
   * `x_t - x0 = A (x_s - x0) + N(0, lambda^2 (1 - A^2))`, so the regression coefficient is
   * `A lambda^2 (1 - C^2) / (lambda^2 (1 - B^2))` since `1 - B^2 = (1 - A^2) + A^2 (1 - C^2)`;
   * for `s = 0` it returns `x0`.
   */
  override optimalReverseMean(xt: NoInfer<X>, x0: NoInfer<X>, t: Timestep, s?: Timestep): X;
  override optimalReverseMean(xt: NoInfer<X>, x0: NoInfer<X>, cond: null, t: Timestep, s?: Timestep): X;
  override optimalReverseMean(xt: X, x0: X, ...a: Uniform<[Timestep, Timestep?]>): X {
    return super.optimalReverseMean(xt, x0, null, ...short(a));
  }

  /** `x0 = x_t - sigmaBar_t noise` (the reference's `get_init_state_from_noise`). */
  override x0FromNoise(xt: NoInfer<X>, noise: NoInfer<X>, t: Timestep): X;
  override x0FromNoise(xt: NoInfer<X>, cond: null, noise: NoInfer<X>, t: Timestep): X;
  override x0FromNoise(xt: X, ...a: Uniform<[X, Timestep]>): X {
    return super.x0FromNoise(xt, null, ...short(a));
  }

  /** `x0 = x_t + sigmaBar_t^2 score` (the reference's `get_init_state_from_score`, Tweedie's formula). */
  override x0FromScore(xt: NoInfer<X>, score: NoInfer<X>, t: Timestep): X;
  override x0FromScore(xt: NoInfer<X>, cond: null, score: NoInfer<X>, t: Timestep): X;
  override x0FromScore(xt: X, ...a: Uniform<[X, Timestep]>): X {
    return super.x0FromScore(xt, null, ...short(a));
  }

  /** True noise `(x_t - x0) / sigmaBar_t` given the clean `x0` (the reference's `get_real_noise`). */
  override noiseFromX0(xt: NoInfer<X>, x0: NoInfer<X>, t: Timestep): X;
  override noiseFromX0(xt: NoInfer<X>, x0: NoInfer<X>, cond: null, t: Timestep): X;
  override noiseFromX0(xt: X, x0: X, ...a: Uniform<[Timestep]>): X {
    return super.noiseFromX0(xt, x0, null, ...short(a));
  }

  /** True score `-(x_t - x0) / sigmaBar_t^2` given the clean `x0` (the reference's `get_real_score`). */
  override scoreFromX0(xt: NoInfer<X>, x0: NoInfer<X>, t: Timestep): X;
  override scoreFromX0(xt: NoInfer<X>, x0: NoInfer<X>, cond: null, t: Timestep): X;
  override scoreFromX0(xt: X, x0: X, ...a: Uniform<[Timestep]>): X {
    return super.scoreFromX0(xt, x0, null, ...short(a));
  }
}
