import type * as tf from '@tensorflow/tfjs-core';
import type { Coef, TensorBackend } from '../backend/types.js';
import type { Rng } from '../backend/rng.js';
import type { NoiseSource } from './noise-source.js';
import { combineAroundMu } from './around-mu.js';
import { thetaSchedule, type ScheduleSpec } from './schedules.js';
import type { Timestep } from './timesteps.js';
import { SdeArgs, checkMaxSigma, negate, ouPosterior, ouPosteriorStd, ouTables, resolveBackend, type BackendName, type OuTables } from './core.js';
import type { DiffusionSDE } from './diffusion-sde.js';

/** Configuration of a {@link DenoisingSDE}. Plain data: JSON-serialisable when the schedule is. */
export interface DenoisingSDEConfig {
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

/**
 * The reference's `DenoisingSDE` (its `sde_utils` module, https://github.com/Algolzw/image-restoration-sde, used by
 * `codes/config/denoising-sde`): the forward process `dx = theta_t (x0 - x) dt + sigma_t dw`
 * started at `x0`, so the marginal is `x_t | x0 ~ N(x0, sigmaBar_t^2)` with
 * `sigmaBar_t = lambda sqrt(1 - exp(-2 Theta_t dt))`: the mean stays at the clean image while
 * the noise grows to `lambda` (`maxSigma`). A photo with Gaussian noise of std `sigma` is the
 * state at the time whose `sigmaBar` matches (see {@link DenoisingSDE.optimalTimestep}); an
 * unconditional noise network walks it back. One trained model denoises every level up to
 * `maxSigma`.
 *
 * Reverse processes (as the reference; `score = grad log p_t`, `A_t = exp(-2 Theta_t dt)`):
 * - SDE: drift `-0.5 sigma_t^2 (1 + A_t) score dt`, dispersion `sigma_t sqrt(dt) z`. It has the
 *   same marginals as the forward process: the variance-exploding flow has `g_t^2 = sigma_t^2 A_t`,
 *   and the reverse SDE with diffusion `sigma_t` needs drift `-(g^2 + sigma^2) / 2 score`.
 * - probability-flow ODE: drift `-0.5 sigma_t^2 A_t score dt`.
 *
 * Tensors, timesteps, ownership and backends exactly as {@link MeanRevertingSDE}: float32
 * tensors with the batch on axis 0 (any layout), `t` an integer in `1..T` or one per item,
 * every tensor method returns a new tensor owned by the caller and disposes none of its
 * arguments; scalar quantities are numbers (scalar `t`) or `Float64Array`s (batched `t`).
 * Tables are float64, computed once; the object is immutable.
 *
 * @typeParam X - the backend's tensor type (`tf.Tensor` unless another backend is passed).
 */
export class DenoisingSDE<X = tf.Tensor> implements DiffusionSDE<X> {
  /** The SDE family: `'denoising'` (unconditional: no `mu`). */
  readonly kind = 'denoising' as const;
  /** Number of steps `T`. */
  readonly T: number;
  /** The largest noise std `lambda` (data units). */
  readonly maxSigma: number;
  /** The internal constant `eps` (0.04 in the reference). */
  readonly eps: number;
  /** Time step `dt = -ln(eps) / Theta_T`. */
  readonly dt: number;
  /** The tensor backend all methods compute with. */
  readonly backend: TensorBackend<X>;
  /** The validated configuration (schedule arrays copied). */
  readonly config: Readonly<Required<DenoisingSDEConfig>>;

  readonly #tab: OuTables;
  readonly #args: SdeArgs<X>;

  /**
   * @param config - see {@link DenoisingSDEConfig}.
   * @param backend - tensor backend or its name: `'tfjs'` (default) or `'float32'` (`HostTensor`).
   * @throws RangeError / TypeError naming the bad field for an invalid config.
   */
  constructor(config: DenoisingSDEConfig, backend?: TensorBackend<X> | BackendName) {
    if (config === null || typeof config !== 'object') {
      throw new TypeError('DenoisingSDE: config must be an object { T, maxSigma, schedule? }');
    }
    const { T, maxSigma } = config;
    const schedule = config.schedule ?? 'cosine';
    const eps = config.eps ?? 0.04;
    if (typeof T !== 'number' || !Number.isInteger(T) || T < 1) {
      throw new RangeError(`DenoisingSDE: T must be an integer >= 1, got ${String(T)}`);
    }
    checkMaxSigma(maxSigma, 'DenoisingSDE', 'the largest noise std', 'from255(75)');
    if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0 || eps >= 1) {
      throw new RangeError(`DenoisingSDE: eps must be a number in (0, 1), got ${String(eps)}`);
    }
    const tab = ouTables(thetaSchedule(schedule, T), maxSigma, eps, 'DenoisingSDE');
    this.T = T;
    this.maxSigma = maxSigma;
    this.eps = eps;
    this.dt = tab.dt;
    this.backend = resolveBackend(backend, 'DenoisingSDE') as TensorBackend<X>;
    this.config = Object.freeze({
      T,
      maxSigma,
      eps,
      schedule: typeof schedule === 'string' || 'type' in schedule ? schedule : Array.from(schedule as ArrayLike<number>),
    });
    this.#tab = tab;
    this.#args = new SdeArgs<X>('DenoisingSDE', T, this.backend);
  }

  /** `theta_0 .. theta_T` (the reference's betas; a copy, float64, length `T + 1`). */
  get thetas(): Float64Array {
    return this.#tab.thetas.slice();
  }
  /** `sigma_i = sqrt(2 lambda^2 theta_i)` (a copy, float64, length `T + 1`). */
  get sigmas(): Float64Array {
    return this.#tab.sigmas.slice();
  }
  /** `Theta_i = sum_{j=1..i} theta_j`, `Theta_0 = 0` (a copy, float64, length `T + 1`). */
  get thetasCumsum(): Float64Array {
    return this.#tab.cumsum.slice();
  }
  /** `sigmaBar_i = lambda sqrt(1 - exp(-2 Theta_i dt))` (a copy, float64, length `T + 1`). */
  get sigmaBars(): Float64Array {
    return this.#tab.sigmaBars.slice();
  }

  // ------------------------------------------------------------------------ scalar quantities

  /**
   * Marginal standard deviation `sigmaBar_t = lambda sqrt(1 - exp(-2 Theta_t dt))` (data units):
   * the noise level of `x_t`.
   * @returns a number for scalar `t`; a `Float64Array` (one per item) for batched `t`.
   */
  sigmaBar(t: number): number;
  sigmaBar(t: ArrayLike<number>): Float64Array;
  sigmaBar(t: Timestep): number | Float64Array;
  sigmaBar(t: Timestep): number | Float64Array {
    const ts = this.#args.t(t, 'sigmaBar');
    return this.#args.coef(t, ts, (ti) => this.#tab.sigmaBars[ti]);
  }

  /**
   * The reference's per-sample loss weights `sigma_t^2` (used when its `MatchingLoss` is
   * weighted). @returns a number for scalar `t`; a `Float64Array` for batched `t`.
   */
  weights(t: number): number;
  weights(t: ArrayLike<number>): Float64Array;
  weights(t: Timestep): number | Float64Array;
  weights(t: Timestep): number | Float64Array {
    const ts = this.#args.t(t, 'weights');
    return this.#args.coef(t, ts, (ti) => this.#tab.sigmas[ti] ** 2);
  }

  /**
   * Std of the exact posterior `q(x_s | x_t, x0)` of the forward OU process (data units):
   * `lambda sqrt((1 - A^2)(1 - C^2) / (1 - B^2))` with `A = exp(-(Theta_t - Theta_s) dt)`,
   * `B = exp(-Theta_t dt)`, `C = exp(-Theta_s dt)`, floored like the mean-reverting SDE's
   * (`exp(0.5 log(max(var, 1e-20 dt)))`). `s` defaults to `t - 1`; any `0 <= s < t` is exact.
   * (The reference has no such method for this class; the posterior sampler needs it.)
   */
  optimalReverseStd(t: number, s?: number): number;
  optimalReverseStd(t: Timestep, s?: Timestep): number | Float64Array;
  optimalReverseStd(t: Timestep, s?: Timestep): number | Float64Array {
    const { ts, ss, batched } = this.#args.pairs(t, s, 'optimalReverseStd');
    const v = ts.map((ti, i) => ouPosteriorStd(this.#tab, this.maxSigma, ti, ss[i]));
    return batched ? Float64Array.from(v) : v[0];
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
    const cs = this.#tab.cumsum;
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

  // ------------------------------------------------------------------------- tensor methods

  /** Marginal mean `muBar_t = x0` (a new tensor, a copy of `x0`; `t` is validated). */
  muBar(x0: X, t: Timestep): X {
    const shape = this.#args.shapeOf('muBar', [['x0', x0]]);
    this.#args.t(t, 'muBar', shape[0]);
    return this.backend.linear([[x0, 1]]);
  }

  /** Forward drift `theta_t (x0 - x) dt` (towards the clean image). */
  drift(x: X, x0: X, t: Timestep): X {
    const shape = this.#args.shapeOf('drift', [
      ['x', x],
      ['x0', x0],
    ]);
    const ts = this.#args.t(t, 'drift', shape[0]);
    const c = this.#args.coef(t, ts, (ti) => this.#tab.thetas[ti] * this.dt);
    return this.backend.linear([
      [x0, c],
      [x, negate(c)],
    ]);
  }

  /**
   * Forward dispersion `sigma_t sqrt(dt) z` with `z ~ N(0, I)` shaped like `x`.
   * @param noise - an {@link Rng} to draw `z` from, a seed, or a given `z` tensor (not disposed).
   */
  dispersion(x: X, t: Timestep, noise: NoiseSource<X>): X {
    const shape = this.#args.shapeOf('dispersion', [['x', x]]);
    const ts = this.#args.t(t, 'dispersion', shape[0]);
    const { z, owned } = this.#args.noise(noise, shape, 'dispersion');
    const res = this.backend.linear([[z, this.#args.coef(t, ts, (ti) => this.#tab.sigmas[ti] * Math.sqrt(this.dt))]]);
    if (owned) this.backend.dispose(z);
    return res;
  }

  /** One Euler–Maruyama forward step `x + drift(x, x0, t) + dispersion(x, t)` (from t-1 to t). */
  forwardStep(x: X, x0: X, t: Timestep, noise: NoiseSource<X>): X {
    const shape = this.#args.shapeOf('forwardStep', [
      ['x', x],
      ['x0', x0],
    ]);
    const ts = this.#args.t(t, 'forwardStep', shape[0]);
    const c = this.#args.coef(t, ts, (ti) => this.#tab.thetas[ti] * this.dt);
    const mean = this.backend.linear([
      [x, 1],
      [x0, c],
      [x, negate(c)],
    ]);
    return this.#args.plusNoise(mean, this.#args.coef(t, ts, (ti) => this.#tab.sigmas[ti] * Math.sqrt(this.dt)), noise, 'forwardStep');
  }

  /** `k_t sigma_t^2 dt` with `k = -0.5 (1 + A_t)` (SDE) or `-0.5 A_t` (ODE), `A_t = exp(-2 Theta_t dt)`. */
  #driftCoef(t: Timestep, ts: number[], sde: boolean): Coef {
    const { sigmas, cumsum } = this.#tab;
    return this.#args.coef(t, ts, (ti) => {
      const A = Math.exp(-2 * cumsum[ti] * this.dt);
      return -0.5 * sigmas[ti] ** 2 * (sde ? 1 + A : A) * this.dt;
    });
  }

  #reverse(x: X, score: X, t: Timestep, sde: boolean, step: boolean, where: string): X {
    const shape = this.#args.shapeOf(where, [
      ['x', x],
      ['score', score],
    ]);
    const ts = this.#args.t(t, where, shape[0]);
    const c = this.#driftCoef(t, ts, sde);
    return step
      ? this.backend.linear([
          [x, 1],
          [score, negate(c)],
        ])
      : this.backend.linear([[score, c]]);
  }

  /** Reverse-SDE drift `-0.5 sigma_t^2 (1 + exp(-2 Theta_t dt)) score dt` (`x` only fixes the shape). */
  reverseSdeDrift(x: X, score: X, t: Timestep): X {
    return this.#reverse(x, score, t, true, false, 'reverseSdeDrift');
  }

  /** Probability-flow (reverse-ODE) drift `-0.5 sigma_t^2 exp(-2 Theta_t dt) score dt`. */
  reverseOdeDrift(x: X, score: X, t: Timestep): X {
    return this.#reverse(x, score, t, false, false, 'reverseOdeDrift');
  }

  /** Mean of one reverse-SDE step, `x - reverseSdeDrift(x, score, t)` (from t to t-1). */
  reverseSdeStepMean(x: X, score: X, t: Timestep): X {
    return this.#reverse(x, score, t, true, true, 'reverseSdeStepMean');
  }

  /**
   * One Euler–Maruyama reverse-SDE step `x - reverseSdeDrift(x, score, t) - sigma_t sqrt(dt) z`.
   * @param noise - an {@link Rng}, a seed, or a given `z` tensor (not disposed).
   */
  reverseSdeStep(x: X, score: X, t: Timestep, noise: NoiseSource<X>): X {
    const mean = this.reverseSdeStepMean(x, score, t);
    const ts = this.#args.t(t, 'reverseSdeStep', this.backend.shape(x)[0]);
    return this.#args.plusNoise(mean, this.#args.coef(t, ts, (ti) => -this.#tab.sigmas[ti] * Math.sqrt(this.dt)), noise, 'reverseSdeStep');
  }

  /** One Euler step of the probability-flow ODE, `x - reverseOdeDrift(x, score, t)` (the reference's `reverse_ode` step). */
  reverseOdeStep(x: X, score: X, t: Timestep): X {
    return this.#reverse(x, score, t, false, true, 'reverseOdeStep');
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
  optimalReverseMean(xt: X, x0: X, t: Timestep, s?: Timestep): X {
    const shape = this.#args.shapeOf('optimalReverseMean', [
      ['xt', xt],
      ['x0', x0],
    ]);
    const { ts, ss, batched } = this.#args.pairs(t, s, 'optimalReverseMean', shape[0]);
    const co = ts.map((ti, i) => ouPosterior(this.#tab, ti, ss[i]).cXt);
    return combineAroundMu(this.backend, x0, [[xt, batched ? Float64Array.from(co) : co[0]]]);
  }

  /** Score from predicted noise: `-noise / sigmaBar_t` (the reference's `get_score_from_noise`). */
  scoreFromNoise(noise: X, t: Timestep): X {
    const shape = this.#args.shapeOf('scoreFromNoise', [['noise', noise]]);
    const ts = this.#args.t(t, 'scoreFromNoise', shape[0]);
    return this.backend.linear([[noise, this.#args.coef(t, ts, (ti) => -1 / this.#tab.sigmaBars[ti])]]);
  }

  /** Noise from a score: `-score sigmaBar_t` (inverse of {@link DenoisingSDE.scoreFromNoise}). */
  noiseFromScore(score: X, t: Timestep): X {
    const shape = this.#args.shapeOf('noiseFromScore', [['score', score]]);
    const ts = this.#args.t(t, 'noiseFromScore', shape[0]);
    return this.backend.linear([[score, this.#args.coef(t, ts, (ti) => -this.#tab.sigmaBars[ti])]]);
  }

  /** `x0 = x_t - sigmaBar_t noise` (the reference's `get_init_state_from_noise`). */
  x0FromNoise(xt: X, noise: X, t: Timestep): X {
    const shape = this.#args.shapeOf('x0FromNoise', [
      ['xt', xt],
      ['noise', noise],
    ]);
    const ts = this.#args.t(t, 'x0FromNoise', shape[0]);
    return this.backend.linear([
      [xt, 1],
      [noise, this.#args.coef(t, ts, (ti) => -this.#tab.sigmaBars[ti])],
    ]);
  }

  /** `x0 = x_t + sigmaBar_t^2 score` (the reference's `get_init_state_from_score`, Tweedie's formula). */
  x0FromScore(xt: X, score: X, t: Timestep): X {
    const shape = this.#args.shapeOf('x0FromScore', [
      ['xt', xt],
      ['score', score],
    ]);
    const ts = this.#args.t(t, 'x0FromScore', shape[0]);
    return this.backend.linear([
      [xt, 1],
      [score, this.#args.coef(t, ts, (ti) => this.#tab.sigmaBars[ti] ** 2)],
    ]);
  }

  /** True noise `(x_t - x0) / sigmaBar_t` given the clean `x0` (the reference's `get_real_noise`). */
  noiseFromX0(xt: X, x0: X, t: Timestep): X {
    return this.#residual(xt, x0, t, 'noiseFromX0', (ti) => 1 / this.#tab.sigmaBars[ti]);
  }

  /** True score `-(x_t - x0) / sigmaBar_t^2` given the clean `x0` (the reference's `get_real_score`). */
  scoreFromX0(xt: X, x0: X, t: Timestep): X {
    return this.#residual(xt, x0, t, 'scoreFromX0', (ti) => -1 / this.#tab.sigmaBars[ti] ** 2);
  }

  /** `k_t (x_t - x0)`, the difference formed first. */
  #residual(xt: X, x0: X, t: Timestep, where: string, k: (ti: number) => number): X {
    const shape = this.#args.shapeOf(where, [
      ['xt', xt],
      ['x0', x0],
    ]);
    const ts = this.#args.t(t, where, shape[0]);
    return combineAroundMu(this.backend, x0, [[xt, this.#args.coef(t, ts, k)]], [], false);
  }

  /**
   * A draw from the marginal `x_t | x0 ~ N(x0, sigmaBar_t^2 I)`: `x0 + sigmaBar_t z` (the
   * reference's `generate_random_states` for given timesteps).
   * @param noise - an {@link Rng}, a seed, or a given `z` tensor (not disposed).
   */
  sampleMarginal(x0: X, t: Timestep, noise: NoiseSource<X>): X {
    const mean = this.muBar(x0, t);
    const ts = this.#args.t(t, 'sampleMarginal', this.backend.shape(x0)[0]);
    return this.#args.plusNoise(mean, this.#args.coef(t, ts, (ti) => this.#tab.sigmaBars[ti]), noise, 'sampleMarginal');
  }
}
