import type * as tf from '@tensorflow/tfjs-core';
import type { Coef, TensorBackend } from '../backend/types.js';
import type { Rng } from '../backend/rng.js';
import type { NoiseSource } from './noise-source.js';
import { combineAroundMu } from './around-mu.js';
import { thetaSchedule, type ScheduleSpec } from './schedules.js';
import type { Timestep } from './timesteps.js';
import { SdeArgs, checkMaxSigma, negate, ouPosterior, ouPosteriorStd, ouTables, resolveBackend, type BackendName, type OuTables } from './core.js';
import type { DiffusionSDE } from './diffusion-sde.js';

export type { BackendName } from './core.js';

/** Configuration of a {@link MeanRevertingSDE}. Plain data: JSON-serialisable when the schedule is. */
export interface SDEConfig {
  /** Number of diffusion steps `T` (integer >= 1). Time indices run `1..T`. */
  readonly T: number;
  /**
   * Stationary standard deviation `lambda`, in the data's own units. For images in [0, 1], the
   * paper's "max_sigma = 10" is `10 / 255` (see {@link from255}); no silent rescaling happens.
   */
  readonly maxSigma: number;
  /** Theta schedule (default `'cosine'`). */
  readonly schedule?: ScheduleSpec;
  /**
   * Terminal mean gap `eps` in (0, 1) (default 0.01): `dt` is chosen so that
   * `exp(-Theta_T dt) = eps`, i.e. the mean at `T` is within `eps * |x0 - mu|` of `mu`.
   */
  readonly eps?: number;
}

/**
 * Converts a value on the 0–255 scale to the [0, 1] scale: `from255(10) = 10 / 255`, the
 * paper's "max_sigma = 10" for images in [0, 1].
 */
export function from255(value: number): number {
  return value / 255;
}

/**
 * The mean-reverting SDE of IR-SDE (Luo et al., ICML 2023),
 * `dx = theta_t (mu - x) dt + sigma_t dw` with `sigma_t^2 / theta_t = 2 lambda^2`, discretised on
 * integer times `t = 1..T` exactly as the reference implementation does.
 *
 * Tensors: every tensor argument is a float32 tensor of the backend (`tf.Tensor` by default) with
 * the batch on axis 0; all tensor arguments of one call share one shape (any layout, e.g. NHWC).
 * Every tensor method returns a new tensor owned by the caller and never disposes its arguments.
 *
 * Timesteps: `t` is an integer in `1..T`, or an array with one integer per batch element.
 * Scalar-valued methods return a number for a scalar `t` and a `Float64Array` (one value per
 * item) for a batched `t`.
 *
 * Tables are computed in float64 once, at construction; the object is immutable.
 *
 * @typeParam X - the backend's tensor type (`tf.Tensor` unless another backend is passed).
 */
export class MeanRevertingSDE<X = tf.Tensor> implements DiffusionSDE<X> {
  /** The SDE family: `'mean-reverting'` (needs the degraded image `mu`). */
  readonly kind = 'mean-reverting' as const;
  /** Number of steps `T`. */
  readonly T: number;
  /** Stationary standard deviation `lambda` (data units). */
  readonly maxSigma: number;
  /** Terminal mean gap `eps`. */
  readonly eps: number;
  /** Time step `dt = -ln(eps) / Theta_T`. */
  readonly dt: number;
  /** The tensor backend all methods compute with. */
  readonly backend: TensorBackend<X>;
  /** The validated configuration (schedule arrays copied). */
  readonly config: Readonly<SDEConfig>;

  readonly #tab: OuTables;
  readonly #args: SdeArgs<X>;
  readonly #thetas: Float64Array;
  readonly #sigmas: Float64Array;
  readonly #thetasCumsum: Float64Array;
  readonly #sigmaBars: Float64Array;

  /**
   * @param config - see {@link SDEConfig}.
   * @param backend - tensor backend, or its name: `'tfjs'` (default; whichever tfjs backend is
   *   active) or `'float32'` (the dependency-free `Float32Array` backend, tensors are `HostTensor`).
   * @throws RangeError / TypeError naming the bad field for an invalid config.
   */
  constructor(config: SDEConfig, backend?: TensorBackend<X> | BackendName) {
    if (config === null || typeof config !== 'object') {
      throw new TypeError('MeanRevertingSDE: config must be an object { T, maxSigma, schedule?, eps? }');
    }
    const { T, maxSigma } = config;
    const schedule = config.schedule ?? 'cosine';
    const eps = config.eps ?? 0.01;
    if (typeof T !== 'number' || !Number.isInteger(T) || T < 1) {
      throw new RangeError(`MeanRevertingSDE: T must be an integer >= 1, got ${String(T)}`);
    }
    checkMaxSigma(maxSigma, 'MeanRevertingSDE', 'lambda', '10/255');
    if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0 || eps >= 1) {
      throw new RangeError(`MeanRevertingSDE: eps must be a number in (0, 1), got ${String(eps)}`);
    }
    const tab = ouTables(thetaSchedule(schedule, T), maxSigma, eps, 'MeanRevertingSDE');
    const dt = tab.dt;

    this.T = T;
    this.maxSigma = maxSigma;
    this.eps = eps;
    this.dt = dt;
    this.backend = resolveBackend(backend, 'MeanRevertingSDE') as TensorBackend<X>;
    this.config = Object.freeze({
      T,
      maxSigma,
      eps,
      schedule: typeof schedule === 'string' || 'type' in schedule ? schedule : Array.from(schedule as ArrayLike<number>),
    });
    this.#tab = tab;
    this.#thetas = tab.thetas;
    this.#sigmas = tab.sigmas;
    this.#thetasCumsum = tab.cumsum;
    this.#sigmaBars = tab.sigmaBars;
    this.#args = new SdeArgs<X>('MeanRevertingSDE', T, this.backend);
  }

  /** `theta_0 .. theta_T` (a copy, float64, length `T + 1`). */
  get thetas(): Float64Array {
    return this.#thetas.slice();
  }
  /** `sigma_i = sqrt(2 lambda^2 theta_i)` (a copy, float64, length `T + 1`). */
  get sigmas(): Float64Array {
    return this.#sigmas.slice();
  }
  /** `Theta_i = sum_{j=1..i} theta_j`, `Theta_0 = 0` (a copy, float64, length `T + 1`). */
  get thetasCumsum(): Float64Array {
    return this.#thetasCumsum.slice();
  }
  /** `sigmaBar_i = lambda sqrt(1 - exp(-2 Theta_i dt))` (a copy, float64, length `T + 1`). */
  get sigmaBars(): Float64Array {
    return this.#sigmaBars.slice();
  }

  // ---------------------------------------------------------------- argument checking helpers

  #t(t: Timestep, where: string, batch?: number): number[] {
    return this.#args.t(t, where, batch);
  }

  #coef(t: Timestep, ts: number[], f: (ti: number) => number): Coef {
    return this.#args.coef(t, ts, f);
  }

  #shapeOf(where: string, named: ReadonlyArray<readonly [string, X]>): number[] {
    return this.#args.shapeOf(where, named);
  }

  #pairs(t: Timestep, s: Timestep | undefined, where: string, batch?: number): { ts: number[]; ss: number[]; batched: boolean } {
    return this.#args.pairs(t, s, where, batch);
  }

  #noise(source: NoiseSource<X>, shape: number[], where: string): { z: X; owned: boolean } {
    return this.#args.noise(source, shape, where);
  }

  #plusNoise(base: X, coef: Coef, source: NoiseSource<X>, where: string): X {
    return this.#args.plusNoise(base, coef, source, where);
  }

  // ------------------------------------------------------------------------ scalar quantities

  /**
   * Marginal standard deviation `sigmaBar_t = lambda sqrt(1 - exp(-2 Theta_t dt))` (data units).
   * @returns a number for scalar `t`; a `Float64Array` (one per item) for batched `t`.
   */
  sigmaBar(t: number): number;
  sigmaBar(t: ArrayLike<number>): Float64Array;
  sigmaBar(t: Timestep): number | Float64Array;
  sigmaBar(t: Timestep): number | Float64Array {
    const ts = this.#t(t, 'sigmaBar');
    return this.#coef(t, ts, (ti) => this.#sigmaBars[ti]);
  }

  /**
   * Mean decay `exp(-(Theta_t - Theta_s) dt)`: the factor by which `x_s - mu` shrinks in
   * expectation from `s` to `t` (`s` defaults to 0, giving the reference's loss `weights(t)`).
   */
  meanDecay(t: number, s?: number): number;
  meanDecay(t: Timestep, s?: Timestep): number | Float64Array;
  meanDecay(t: Timestep, s: Timestep = 0): number | Float64Array {
    const { ts, ss, batched } = this.#pairs(t, s, 'meanDecay');
    const v = ts.map((ti, i) => Math.exp(-(this.#thetasCumsum[ti] - this.#thetasCumsum[ss[i]]) * this.dt));
    return batched ? Float64Array.from(v) : v[0];
  }

  /**
   * Standard deviation of the exact forward transition `x_t | x_s` (data units):
   * `lambda sqrt(1 - exp(-2 (Theta_t - Theta_s) dt))`. `s` defaults to 0 (then it equals `sigmaBar_t`).
   */
  transitionStd(t: number, s?: number): number;
  transitionStd(t: Timestep, s?: Timestep): number | Float64Array;
  transitionStd(t: Timestep, s: Timestep = 0): number | Float64Array {
    const { ts, ss, batched } = this.#pairs(t, s, 'transitionStd');
    const v = ts.map((ti, i) => this.maxSigma * Math.sqrt(-Math.expm1(-2 * (this.#thetasCumsum[ti] - this.#thetasCumsum[ss[i]]) * this.dt)));
    return batched ? Float64Array.from(v) : v[0];
  }

  /** Posterior coefficients for the jump t -> s (s < t); see {@link MeanRevertingSDE.optimalReverseMean}. */
  #posterior(ti: number, si: number): { cXt: number; cX0: number; variance: number } {
    return ouPosterior(this.#tab, ti, si);
  }

  /**
   * Standard deviation of the exact posterior `q(x_s | x_t, x0)` (data units), computed as the
   * reference does: `lambda * exp(0.5 * log(max(var, 1e-20 dt)))` with
   * `var = (1 - A^2)(1 - C^2) / (1 - B^2)`. `s` defaults to `t - 1`; any `0 <= s < t` is exact.
   * @returns a number for scalar `t` and `s`; a `Float64Array` (one per item) if either is batched.
   */
  optimalReverseStd(t: number, s?: number): number;
  optimalReverseStd(t: Timestep, s?: Timestep): number | Float64Array;
  optimalReverseStd(t: Timestep, s?: Timestep): number | Float64Array {
    const { ts, ss, batched } = this.#pairs(t, s, 'optimalReverseStd');
    const v = ts.map((ti, i) => ouPosteriorStd(this.#tab, this.maxSigma, ti, ss[i]));
    return batched ? Float64Array.from(v) : v[0];
  }

  // ------------------------------------------------------------------------- tensor methods

  /**
   * Marginal mean `muBar_t = mu + (x0 - mu) exp(-Theta_t dt)`.
   * @param x0 - clean data `[B, ...]`. @param mu - degraded data (the SDE's mean), same shape.
   */
  muBar(x0: X, mu: X, t: Timestep): X {
    const shape = this.#shapeOf('muBar', [
      ['x0', x0],
      ['mu', mu],
    ]);
    const ts = this.#t(t, 'muBar', shape[0]);
    const decay = this.#coef(t, ts, (ti) => Math.exp(-this.#thetasCumsum[ti] * this.dt));
    return combineAroundMu(this.backend, mu, [[x0, decay]]);
  }

  /**
   * A draw from the exact forward transition `x_t | x_s` for any `0 <= s < t`:
   * `mu + (x_s - mu) exp(-(Theta_t - Theta_s) dt) + transitionStd(t, s) z`. With `s = 0` and
   * `x_s = x0` this is {@link MeanRevertingSDE.sampleMarginal}.
   * @param noise - an {@link Rng} or a given `z` tensor (not disposed).
   */
  exactTransition(xs: X, mu: X, t: Timestep, s: Timestep, noise: NoiseSource<X>): X {
    const shape = this.#shapeOf('exactTransition', [
      ['xs', xs],
      ['mu', mu],
    ]);
    const { ts, ss, batched } = this.#pairs(t, s, 'exactTransition', shape[0]);
    const cs = this.#thetasCumsum;
    const decay = ts.map((ti, i) => Math.exp(-(cs[ti] - cs[ss[i]]) * this.dt));
    const std = ts.map((ti, i) => this.maxSigma * Math.sqrt(-Math.expm1(-2 * (cs[ti] - cs[ss[i]]) * this.dt)));
    const mean = combineAroundMu(this.backend, mu, [[xs, batched ? Float64Array.from(decay) : decay[0]]]);
    return this.#plusNoise(mean, batched ? Float64Array.from(std) : std[0], noise, 'exactTransition');
  }

  /** Forward drift `theta_t (mu - x) dt`. */
  drift(x: X, mu: X, t: Timestep): X {
    const shape = this.#shapeOf('drift', [
      ['x', x],
      ['mu', mu],
    ]);
    const ts = this.#t(t, 'drift', shape[0]);
    const c = this.#coef(t, ts, (ti) => this.#thetas[ti] * this.dt);
    return this.backend.linear([
      [mu, c],
      [x, negate(c)],
    ]);
  }

  /**
   * Forward dispersion `sigma_t sqrt(dt) z` with `z ~ N(0, I)` shaped like `x`.
   * @param noise - an {@link Rng} to draw `z` from, or a given `z` tensor (not disposed).
   */
  dispersion(x: X, t: Timestep, noise: NoiseSource<X>): X {
    const shape = this.#shapeOf('dispersion', [['x', x]]);
    const ts = this.#t(t, 'dispersion', shape[0]);
    const { z, owned } = this.#noise(noise, shape, 'dispersion');
    const c = this.#coef(t, ts, (ti) => this.#sigmas[ti] * Math.sqrt(this.dt));
    const res = this.backend.linear([[z, c]]);
    if (owned) this.backend.dispose(z);
    return res;
  }

  /** One Euler–Maruyama forward step `x + drift(x, mu, t) + dispersion(x, t)` (from t-1 to t). */
  forwardStep(x: X, mu: X, t: Timestep, noise: NoiseSource<X>): X {
    const shape = this.#shapeOf('forwardStep', [
      ['x', x],
      ['mu', mu],
    ]);
    const ts = this.#t(t, 'forwardStep', shape[0]);
    const c = this.#coef(t, ts, (ti) => this.#thetas[ti] * this.dt);
    const mean = this.backend.linear([
      [x, 1],
      [mu, c],
      [x, negate(c)],
    ]);
    return this.#plusNoise(mean, this.#coef(t, ts, (ti) => this.#sigmas[ti] * Math.sqrt(this.dt)), noise, 'forwardStep');
  }

  /** Reverse-SDE drift `(theta_t (mu - x) - sigma_t^2 score) dt`. */
  reverseSdeDrift(x: X, mu: X, score: X, t: Timestep): X {
    return this.#reverseDrift(x, mu, score, t, 1, 'reverseSdeDrift');
  }

  /** Probability-flow (reverse-ODE) drift `(theta_t (mu - x) - 0.5 sigma_t^2 score) dt`. */
  reverseOdeDrift(x: X, mu: X, score: X, t: Timestep): X {
    return this.#reverseDrift(x, mu, score, t, 0.5, 'reverseOdeDrift');
  }

  #reverseDrift(x: X, mu: X, score: X, t: Timestep, k: number, where: string, sign = 1, withX = false): X {
    const shape = this.#shapeOf(where, [
      ['x', x],
      ['mu', mu],
      ['score', score],
    ]);
    const ts = this.#t(t, where, shape[0]);
    const a = this.#coef(t, ts, (ti) => sign * this.#thetas[ti] * this.dt);
    const c = this.#coef(t, ts, (ti) => -sign * k * this.#sigmas[ti] ** 2 * this.dt);
    const terms: Array<readonly [X, Coef]> = withX ? [[x, 1]] : [];
    terms.push([mu, a], [x, negate(a)], [score, c]);
    return this.backend.linear(terms);
  }

  /** Mean of one reverse-SDE step, `x - reverseSdeDrift(x, mu, score, t)` (from t to t-1). */
  reverseSdeStepMean(x: X, mu: X, score: X, t: Timestep): X {
    return this.#reverseDrift(x, mu, score, t, 1, 'reverseSdeStepMean', -1, true);
  }

  /**
   * One Euler–Maruyama reverse-SDE step `x - reverseSdeDrift(x, mu, score, t) - sigma_t sqrt(dt) z`.
   * @param noise - an {@link Rng} or a given `z` tensor (not disposed).
   */
  reverseSdeStep(x: X, mu: X, score: X, t: Timestep, noise: NoiseSource<X>): X {
    const mean = this.reverseSdeStepMean(x, mu, score, t);
    const ts = this.#t(t, 'reverseSdeStep', this.backend.shape(x)[0]);
    return this.#plusNoise(mean, this.#coef(t, ts, (ti) => -this.#sigmas[ti] * Math.sqrt(this.dt)), noise, 'reverseSdeStep');
  }

  /** One Euler step of the probability-flow ODE, `x - reverseOdeDrift(x, mu, score, t)`. */
  reverseOdeStep(x: X, mu: X, score: X, t: Timestep): X {
    return this.#reverseDrift(x, mu, score, t, 0.5, 'reverseOdeStep', -1, true);
  }

  /**
   * Mean of the exact posterior `q(x_s | x_t, x0)`: with `A = exp(-(Theta_t - Theta_s) dt)`,
   * `B = exp(-Theta_t dt)`, `C = exp(-Theta_s dt)`,
   * `A (1 - C^2)/(1 - B^2) (x_t - mu) + C (1 - A^2)/(1 - B^2) (x0 - mu) + mu`.
   * This is the maximum-likelihood target `x_{t-1}` when `s = t - 1` (the default); any
   * `0 <= s < t` is exact (for `s = 0` it returns `x0`).
   */
  optimalReverseMean(xt: X, x0: X, mu: X, t: Timestep, s?: Timestep): X {
    const shape = this.#shapeOf('optimalReverseMean', [
      ['xt', xt],
      ['x0', x0],
      ['mu', mu],
    ]);
    const { ts, ss, batched } = this.#pairs(t, s, 'optimalReverseMean', shape[0]);
    const co = ts.map((ti, i) => this.#posterior(ti, ss[i]));
    const cXt: Coef = batched ? Float64Array.from(co, (c) => c.cXt) : co[0].cXt;
    const cX0: Coef = batched ? Float64Array.from(co, (c) => c.cX0) : co[0].cX0;
    return combineAroundMu(this.backend, mu, [
      [xt, cXt],
      [x0, cX0],
    ]);
  }

  /** `x0 = (x_t - mu - sigmaBar_t noise) exp(Theta_t dt) + mu` (the reference's `get_init_state_from_noise`). */
  x0FromNoise(xt: X, mu: X, noise: X, t: Timestep): X {
    const shape = this.#shapeOf('x0FromNoise', [
      ['xt', xt],
      ['mu', mu],
      ['noise', noise],
    ]);
    const ts = this.#t(t, 'x0FromNoise', shape[0]);
    const grow = this.#coef(t, ts, (ti) => Math.exp(this.#thetasCumsum[ti] * this.dt));
    const cn = this.#coef(t, ts, (ti) => -this.#sigmaBars[ti] * Math.exp(this.#thetasCumsum[ti] * this.dt));
    return combineAroundMu(this.backend, mu, [[xt, grow]], [[noise, cn]]);
  }

  /** True noise `(x_t - muBar_t) / sigmaBar_t` given the clean `x0`. */
  noiseFromX0(xt: X, x0: X, mu: X, t: Timestep): X {
    return this.#residual(xt, x0, mu, t, 'noiseFromX0', (ti) => 1 / this.#sigmaBars[ti]);
  }

  /** True score `-(x_t - muBar_t) / sigmaBar_t^2` given the clean `x0`. */
  scoreFromX0(xt: X, x0: X, mu: X, t: Timestep): X {
    return this.#residual(xt, x0, mu, t, 'scoreFromX0', (ti) => -1 / this.#sigmaBars[ti] ** 2);
  }

  /** `k_t (x_t - muBar_t)` computed as `k_t ((x_t - mu) - decay_t (x0 - mu))`. */
  #residual(xt: X, x0: X, mu: X, t: Timestep, where: string, k: (ti: number) => number): X {
    const shape = this.#shapeOf(where, [
      ['xt', xt],
      ['x0', x0],
      ['mu', mu],
    ]);
    const ts = this.#t(t, where, shape[0]);
    const kt = this.#coef(t, ts, k);
    const kd = this.#coef(t, ts, (ti) => -k(ti) * Math.exp(-this.#thetasCumsum[ti] * this.dt));
    return combineAroundMu(
      this.backend,
      mu,
      [
        [xt, kt],
        [x0, kd],
      ],
      [],
      false,
    );
  }

  /** Score from predicted noise: `-noise / sigmaBar_t`. */
  scoreFromNoise(noise: X, t: Timestep): X {
    const shape = this.#shapeOf('scoreFromNoise', [['noise', noise]]);
    const ts = this.#t(t, 'scoreFromNoise', shape[0]);
    return this.backend.linear([[noise, this.#coef(t, ts, (ti) => -1 / this.#sigmaBars[ti])]]);
  }

  /** Noise from a score: `-score * sigmaBar_t` (inverse of {@link MeanRevertingSDE.scoreFromNoise}). */
  noiseFromScore(score: X, t: Timestep): X {
    const shape = this.#shapeOf('noiseFromScore', [['score', score]]);
    const ts = this.#t(t, 'noiseFromScore', shape[0]);
    return this.backend.linear([[score, this.#coef(t, ts, (ti) => -this.#sigmaBars[ti])]]);
  }

  /**
   * A draw from the marginal `x_t | x0 ~ N(muBar_t, sigmaBar_t^2 I)`: `muBar_t + sigmaBar_t z`.
   * @param noise - an {@link Rng} or a given `z` tensor (not disposed).
   */
  sampleMarginal(x0: X, mu: X, t: Timestep, noise: NoiseSource<X>): X {
    const mean = this.muBar(x0, mu, t);
    const ts = this.#t(t, 'sampleMarginal', this.backend.shape(x0)[0]);
    return this.#plusNoise(mean, this.#coef(t, ts, (ti) => this.#sigmaBars[ti]), noise, 'sampleMarginal');
  }

  /**
   * The terminal (prior) state `x_T = mu + lambda z`, where restoration starts.
   * @param noise - an {@link Rng} or a given `z` tensor (not disposed).
   */
  prior(mu: X, noise: NoiseSource<X>): X {
    this.#shapeOf('prior', [['mu', mu]]);
    const b = this.backend;
    const copy = b.linear([[mu, 1]]);
    return this.#plusNoise(copy, this.maxSigma, noise, 'prior');
  }
}
