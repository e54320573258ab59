import type * as tf from '@tensorflow/tfjs-core';
import type { Coef, Term, TensorBackend } from '../backend/types.js';
import type { NoiseSource } from './noise-source.js';
import { combineAround, combineAroundMu } from './around-mu.js';
import { thetaSchedule, type ScheduleSpec } from './schedules.js';
import type { Timestep } from './timesteps.js';
import { SdeArgs, checkMaxSigma, negate, ouPosterior, ouPosteriorStd, ouTables, plainSchedule, readonlyTable, resolveBackend, type BackendName, type OuTables } from './core.js';
import type { DiffusionSDE, RestorationStart, SDEKind } from './diffusion-sde.js';

/** The fields both SDE configs share (plain data; JSON-serialisable when the schedule is). */
export interface OUSDEConfig {
  /** Number of diffusion steps `T` (integer >= 1). Time indices run `1..T`. */
  readonly T: number;
  /** `lambda`, the stationary (largest) noise standard deviation, in the data's own units. */
  readonly maxSigma: number;
  /** Theta schedule (default `'cosine'`). */
  readonly schedule?: ScheduleSpec;
  /** Terminal gap `eps` in (0, 1): `dt` is chosen so that `exp(-Theta_T dt) = eps`. */
  readonly eps?: number;
}

/** What a family (a subclass) tells the skeleton at construction: its name and defaults for messages. */
export interface OUFamilyInfo {
  /** The class name errors start with. */
  readonly cls: string;
  /** The default `eps`. */
  readonly eps: number;
  /** What `maxSigma` means and an example of it, for the range error. */
  readonly maxSigma: readonly [what: string, example: string];
  /** The config's fields, for the type error, e.g. `'{ T, maxSigma, schedule?, eps? }'`. */
  readonly fields: string;
}

/**
 * The Ornstein–Uhlenbeck skeleton both SDE families share: `dx = theta_t (m - x) dt + sigma_t dw`
 * with `sigma_t^2 = 2 lambda^2 theta_t`, discretised on integer times `1..T` as the reference
 * does, with float64 tables `theta_i`, `sigma_i`, `Theta_i`, `u_i = Theta_i dt` and
 * `sigmaBar_i = lambda sqrt(1 - exp(-2 u_i))` built once (`dt = -ln(eps) / Theta_T`).
 *
 * The families differ only in their mean {@link OrnsteinUhlenbeckSDE.pull}: a
 * {@link MeanRevertingSDE} (`pull = 1`) moves the mean from `x0` to its condition `mu` (the
 * degraded image), `muBar_t = mu + (x0 - mu) exp(-u_t)`; a {@link DenoisingSDE} (`pull = 0`) has
 * no condition and keeps the mean at `x0` while the noise grows. With the centre `c = mu` (or 0)
 * and `w_t = exp(-2 (1 - pull) u_t)`, every method below is one formula for both: e.g. the
 * reverse SDE's drift is `pull theta_t (c - x) dt - 0.5 (1 + w_t) sigma_t^2 score dt` and the
 * probability flow's `pull theta_t (c - x) dt - 0.5 w_t sigma_t^2 score dt`.
 *
 * The condition contract: every tensor method takes the condition `cond` in the same place,
 * the degraded image for a MeanRevertingSDE and `null` for a DenoisingSDE (a missing or
 * unexpected one is a one-line `TypeError`), so samplers and losses are written once. Two
 * methods of the forward process, {@link OrnsteinUhlenbeckSDE.drift} and
 * {@link OrnsteinUhlenbeckSDE.forwardStep}, take the mean the process pulls towards instead
 * (`mu`, or `x0` for a DenoisingSDE, as the reference).
 *
 * Tensors: float32 tensors of the backend with the batch on axis 0, one shape per call (any
 * layout). Every tensor method returns a new tensor owned by the caller and disposes none of its
 * arguments. `t` is an integer in `1..T` or one per batch item; scalar methods return a number for
 * a scalar `t` and a `Float64Array` for a batched one. The object is immutable.
 * @typeParam X - the backend's tensor type (`tf.Tensor` unless another backend is passed).
 */
export abstract class OrnsteinUhlenbeckSDE<X = tf.Tensor> implements DiffusionSDE<X> {
  /** The family (see {@link SDEKind}). */
  abstract readonly kind: SDEKind;
  /** The mean pull: 1 (the mean moves from `x0` to the condition) or 0 (it stays at `x0`; no condition). */
  abstract readonly pull: 0 | 1;
  /** Number of steps `T`. */
  readonly T: number;
  /** `lambda` (data units). */
  readonly maxSigma: number;
  /** Terminal gap `eps`: `exp(-Theta_T dt) = eps`. */
  readonly eps: number;
  /** Time step `dt = -ln(eps) / Theta_T`. */
  readonly dt: number;
  /** The tensor backend all methods compute with. */
  readonly backend: TensorBackend<X>;
  /** The validated configuration with its defaults, as frozen plain data. */
  readonly config: Readonly<Required<OUSDEConfig>>;
  /** `theta_0 .. theta_T` (float64, length `T + 1`; a read-only view: writes are ignored, `.slice()` gives a writable copy). */
  readonly thetas: Float64Array;
  /** `sigma_i = sqrt(2 lambda^2 theta_i)` (float64, read-only view). */
  readonly sigmas: Float64Array;
  /** `Theta_i = sum_{j=1..i} theta_j`, `Theta_0 = 0` (float64, read-only view). */
  readonly thetasCumsum: Float64Array;
  /** `sigmaBar_i = lambda sqrt(1 - exp(-2 Theta_i dt))` (float64, read-only view). */
  readonly sigmaBars: Float64Array;
  /** `u_i = Theta_i dt`, the time in which both families have closed forms (float64, read-only view). */
  readonly ouTimes: Float64Array;

  /** The float64 tables the maths reads (never handed out). @internal */
  protected readonly tables: OuTables;
  /** Argument checks naming `Class.method`. @internal */
  protected readonly args: SdeArgs<X>;
  readonly #cls: string;

  /** Validates `config` and builds the tables. @throws RangeError / TypeError naming the bad field. */
  protected constructor(config: OUSDEConfig, backend: TensorBackend<X> | BackendName | undefined, family: OUFamilyInfo) {
    const cls = family.cls;
    if (config === null || typeof config !== 'object') throw new TypeError(`${cls}: config must be an object ${family.fields}`);
    const { T, maxSigma } = config;
    const eps = config.eps ?? family.eps;
    if (typeof T !== 'number' || !Number.isInteger(T) || T < 1) throw new RangeError(`${cls}: T must be an integer >= 1, got ${String(T)}`);
    checkMaxSigma(maxSigma, cls, ...family.maxSigma);
    if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0 || eps >= 1) throw new RangeError(`${cls}: eps must be a number in (0, 1), got ${String(eps)}`);
    const schedule = Object.freeze(plainSchedule(config.schedule)) as ScheduleSpec;
    const tab = ouTables(thetaSchedule(schedule, T), maxSigma, eps, cls);
    this.#cls = cls;
    this.T = T;
    this.maxSigma = maxSigma;
    this.eps = eps;
    this.dt = tab.dt;
    this.backend = resolveBackend(backend, cls) as TensorBackend<X>;
    this.config = Object.freeze({ T, maxSigma, eps, schedule });
    this.tables = tab;
    this.args = new SdeArgs<X>(cls, T, this.backend);
    this.thetas = readonlyTable(tab.thetas);
    this.sigmas = readonlyTable(tab.sigmas);
    this.thetasCumsum = readonlyTable(tab.cumsum);
    this.sigmaBars = readonlyTable(tab.sigmaBars);
    this.ouTimes = readonlyTable(tab.u);
  }

  /**
   * Marginal standard deviation `sigmaBar_t = lambda sqrt(1 - exp(-2 Theta_t dt))` (data units).
   * @returns a number for scalar `t`; a `Float64Array` (one per item) for batched `t`.
   */
  sigmaBar(t: number): number;
  sigmaBar(t: ArrayLike<number>): Float64Array;
  sigmaBar(t: Timestep): number | Float64Array;
  sigmaBar(t: Timestep): number | Float64Array {
    const ts = this.args.t(t, 'sigmaBar');
    return this.args.coef(t, ts, (ti) => this.tables.sigmaBars[ti]);
  }

  /**
   * Std of the exact posterior `q(x_s | x_t, x0)` (data units), as the reference computes it:
   * `lambda exp(0.5 log(max(var, 1e-20 dt)))`, `var = (1 - A^2)(1 - C^2) / (1 - B^2)` with
   * `A = exp(-(u_t - u_s))`, `B = exp(-u_t)`, `C = exp(-u_s)`. `s` defaults to `t - 1`; any `0 <= s < t`.
   */
  optimalReverseStd(t: number, s?: number): number;
  optimalReverseStd(t: Timestep, s?: Timestep): number | Float64Array;
  optimalReverseStd(t: Timestep, s?: Timestep): number | Float64Array {
    const { ts, ss, batched } = this.args.pairs(t, s, 'optimalReverseStd');
    const v = ts.map((ti, i) => ouPosteriorStd(this.tables, this.maxSigma, ti, ss[i]));
    return batched ? Float64Array.from(v) : v[0];
  }

  /**
   * Checks a condition against this SDE: a tensor shaped `shape` when `pull = 1`, `null` (or
   * `undefined`) when `pull = 0`. @returns the condition, or `null`.
   * @param unexpected - what the error for an unexpected condition advises (default: pass null).
   * (Here and in every method, `NoInfer` keeps `X` inferred from the tensors, not from `null`.)
   * @throws TypeError / RangeError in one line starting with `where`.
   */
  checkCondition(cond: NoInfer<X> | null, shape: readonly number[], where: string, unexpected?: string): NoInfer<X> | null {
    const c = this.#cond(cond, where, unexpected);
    if (c === null) return null;
    const cs = this.backend.shape(c);
    if (cs.length !== shape.length || cs.some((d, i) => d !== shape[i])) throw new RangeError(`${where}: mu has shape [${cs}] but x has shape [${shape}]`);
    return c;
  }

  #cond(cond: X | null | undefined, where: string, unexpected = 'has no mu; pass null (the state starts at the noisy image itself)'): X | null {
    const has = cond !== null && cond !== undefined;
    if (this.pull === 1 && !has) throw new TypeError(`${where}: a ${this.#cls} needs mu (the degraded image, shaped like x), got ${String(cond)}`);
    if (this.pull === 0 && has) throw new TypeError(`${where}: a ${this.#cls} is unconditional and ${unexpected}`);
    return has ? cond : null;
  }

  /** Validates `cond` and the shapes of the named tensors, with the condition (as `mu`) inserted at `at`. */
  #shape(where: string, named: Array<readonly [string, X]>, cond: X | null | undefined, at = 1): { shape: number[]; c: X | null } {
    const c = this.#cond(cond, `${this.#cls}.${where}`);
    if (c !== null) named.splice(at, 0, ['mu', c]);
    return { shape: this.args.shapeOf(where, named), c };
  }

  /** `exp(k pull u_t)` per item: the mean decay (`k = -1`) or its inverse (`k = 1`). */
  #pullExp(t: Timestep, ts: number[], k: number, f: (ti: number) => number = () => 1): Coef {
    return this.args.coef(t, ts, (ti) => f(ti) * Math.exp(k * this.pull * this.tables.u[ti]));
  }

  /** Marginal mean `muBar_t = c + (x0 - c) exp(-pull u_t)`: `mu + (x0 - mu) exp(-u_t)`, or `x0`. */
  muBar(x0: X, cond: NoInfer<X> | null, t: Timestep): X {
    const { shape, c } = this.#shape('muBar', [['x0', x0]], cond);
    const ts = this.args.t(t, 'muBar', shape[0]);
    return combineAround(this.backend, c, [[x0, this.args.coef(t, ts, (ti) => Math.exp(-this.pull * this.tables.u[ti]))]]);
  }

  /**
   * A draw from the marginal `x_t | x0 ~ N(muBar_t, sigmaBar_t^2 I)`: `muBar_t + sigmaBar_t z`.
   * @param noise - an `Rng` or a given `z` tensor (not disposed).
   */
  sampleMarginal(x0: X, cond: NoInfer<X> | null, t: Timestep, noise: NoiseSource<X>): X {
    const mean = this.muBar(x0, cond, t);
    const ts = this.args.t(t, 'sampleMarginal', this.backend.shape(x0)[0]);
    return this.args.plusNoise(mean, this.args.coef(t, ts, (ti) => this.tables.sigmaBars[ti]), noise, 'sampleMarginal');
  }

  /** Forward drift `theta_t (m - x) dt` towards `m`: `mu`, or `x0` for a DenoisingSDE. */
  drift(x: X, m: X, t: Timestep): X {
    const shape = this.args.shapeOf('drift', [
      ['x', x],
      [this.pull === 1 ? 'mu' : 'x0', m],
    ]);
    const ts = this.args.t(t, 'drift', shape[0]);
    const c = this.args.coef(t, ts, (ti) => this.tables.thetas[ti] * this.dt);
    return this.backend.linear([
      [m, c],
      [x, negate(c)],
    ]);
  }

  /**
   * Forward dispersion `sigma_t sqrt(dt) z` with `z ~ N(0, I)` shaped like `x`.
   * @param noise - an `Rng` to draw `z` from, or a given `z` tensor (not disposed).
   */
  dispersion(x: X, t: Timestep, noise: NoiseSource<X>): X {
    const shape = this.args.shapeOf('dispersion', [['x', x]]);
    const ts = this.args.t(t, 'dispersion', shape[0]);
    const { z, owned } = this.args.noise(noise, shape, 'dispersion');
    const res = this.backend.linear([[z, this.args.coef(t, ts, (ti) => this.tables.sigmas[ti] * Math.sqrt(this.dt))]]);
    if (owned) this.backend.dispose(z);
    return res;
  }

  /** One Euler–Maruyama forward step `x + drift(x, m, t) + dispersion(x, t)` (from t-1 to t). */
  forwardStep(x: X, m: X, t: Timestep, noise: NoiseSource<X>): X {
    const shape = this.args.shapeOf('forwardStep', [
      ['x', x],
      [this.pull === 1 ? 'mu' : 'x0', m],
    ]);
    const ts = this.args.t(t, 'forwardStep', shape[0]);
    const c = this.args.coef(t, ts, (ti) => this.tables.thetas[ti] * this.dt);
    const mean = this.backend.linear([
      [x, 1],
      [m, c],
      [x, negate(c)],
    ]);
    return this.args.plusNoise(mean, this.args.coef(t, ts, (ti) => this.tables.sigmas[ti] * Math.sqrt(this.dt)), noise, 'forwardStep');
  }

  /**
   * `sign (pull theta_t (c - x) - k_t sigma_t^2 score) dt` (plus `x` for a step) with
   * `k_t = 0.5 (1 + w_t)` (SDE) or `0.5 w_t` (ODE), `w_t = exp(-2 (1 - pull) u_t)`.
   */
  #reverse(x: X, cond: X | null, score: X, t: Timestep, sde: boolean, step: boolean, where: string): X {
    const { shape, c } = this.#shape(where, [['x', x], ['score', score]], cond);
    const ts = this.args.t(t, where, shape[0]);
    const sign = step ? -1 : 1;
    const { thetas, sigmas, u } = this.tables;
    const k = (ti: number): number => {
      const w = this.pull === 1 ? 1 : Math.exp(-2 * u[ti]);
      return sde ? 0.5 * (1 + w) : 0.5 * w;
    };
    const terms: Array<Term<X>> = step ? [[x, 1]] : [];
    if (c !== null) {
      const a = this.args.coef(t, ts, (ti) => sign * thetas[ti] * this.dt);
      terms.push([c, a], [x, negate(a)]);
    }
    terms.push([score, this.args.coef(t, ts, (ti) => -sign * k(ti) * sigmas[ti] ** 2 * this.dt)]);
    return this.backend.linear(terms);
  }

  /** Reverse-SDE drift `(pull theta_t (c - x) - 0.5 (1 + w_t) sigma_t^2 score) dt` (see the class). */
  reverseSdeDrift(x: X, cond: NoInfer<X> | null, score: X, t: Timestep): X {
    return this.#reverse(x, cond, score, t, true, false, 'reverseSdeDrift');
  }

  /** Probability-flow (reverse-ODE) drift `(pull theta_t (c - x) - 0.5 w_t sigma_t^2 score) dt`. */
  reverseOdeDrift(x: X, cond: NoInfer<X> | null, score: X, t: Timestep): X {
    return this.#reverse(x, cond, score, t, false, false, 'reverseOdeDrift');
  }

  /** Mean of one reverse-SDE step, `x - reverseSdeDrift(x, cond, score, t)` (from t to t-1). */
  reverseSdeStepMean(x: X, cond: NoInfer<X> | null, score: X, t: Timestep): X {
    return this.#reverse(x, cond, score, t, true, true, 'reverseSdeStepMean');
  }

  /**
   * One Euler–Maruyama reverse-SDE step `x - reverseSdeDrift(x, cond, score, t) - sigma_t sqrt(dt) z`.
   * @param noise - an `Rng` or a given `z` tensor (not disposed).
   */
  reverseSdeStep(x: X, cond: NoInfer<X> | null, score: X, t: Timestep, noise: NoiseSource<X>): X {
    const mean = this.reverseSdeStepMean(x, cond, score, t);
    const ts = this.args.t(t, 'reverseSdeStep', this.backend.shape(x)[0]);
    return this.args.plusNoise(mean, this.args.coef(t, ts, (ti) => -this.tables.sigmas[ti] * Math.sqrt(this.dt)), noise, 'reverseSdeStep');
  }

  /** One Euler step of the probability-flow ODE, `x - reverseOdeDrift(x, cond, score, t)` (the reference's `reverse_ode` step). */
  reverseOdeStep(x: X, cond: NoInfer<X> | null, score: X, t: Timestep): X {
    return this.#reverse(x, cond, score, t, false, true, 'reverseOdeStep');
  }

  /**
   * Mean of the exact posterior `q(x_s | x_t, x0)` of the forward process, around the mean it
   * pulls towards (`m = mu`, or `x0` for a DenoisingSDE): with `A = exp(-(u_t - u_s))`,
   * `B = exp(-u_t)`, `C = exp(-u_s)`, `m + A (1 - C^2)/(1 - B^2) (x_t - m) + C (1 - A^2)/(1 - B^2) (x0 - m)`.
   * `s = t - 1` (the default) is the reference's `reverse_optimum_step`, the maximum-likelihood
   * target; any `0 <= s < t` is exact (for `s = 0` it returns `x0`).
   */
  optimalReverseMean(xt: X, x0: X, cond: NoInfer<X> | null, t: Timestep, s?: Timestep): X {
    const { shape, c } = this.#shape('optimalReverseMean', [['xt', xt], ['x0', x0]], cond, 2);
    const { ts, ss, batched } = this.args.pairs(t, s, 'optimalReverseMean', shape[0]);
    const co = ts.map((ti, i) => ouPosterior(this.tables, ti, ss[i]));
    const pick = (f: (p: { cXt: number; cX0: number }) => number): Coef => (batched ? Float64Array.from(co, f) : f(co[0]));
    const devs: Array<Term<X>> = [[xt, pick((p) => p.cXt)]];
    if (c !== null) devs.push([x0, pick((p) => p.cX0)]);
    return combineAroundMu(this.backend, c ?? x0, devs);
  }

  /** `x0 = c + (x_t - c - sigmaBar_t noise) exp(pull u_t)` (the reference's `get_init_state_from_noise`). */
  x0FromNoise(xt: X, cond: NoInfer<X> | null, noise: X, t: Timestep): X {
    const { shape, c } = this.#shape('x0FromNoise', [['xt', xt], ['noise', noise]], cond);
    const ts = this.args.t(t, 'x0FromNoise', shape[0]);
    return combineAround(this.backend, c, [[xt, this.#pullExp(t, ts, 1)]], [[noise, this.#pullExp(t, ts, 1, (ti) => -this.tables.sigmaBars[ti])]]);
  }

  /** `x0 = c + (x_t - c + sigmaBar_t^2 score) exp(pull u_t)` (Tweedie's formula; the reference's `get_init_state_from_score`). */
  x0FromScore(xt: X, cond: NoInfer<X> | null, score: X, t: Timestep): X {
    const { shape, c } = this.#shape('x0FromScore', [['xt', xt], ['score', score]], cond);
    const ts = this.args.t(t, 'x0FromScore', shape[0]);
    return combineAround(this.backend, c, [[xt, this.#pullExp(t, ts, 1)]], [[score, this.#pullExp(t, ts, 1, (ti) => this.tables.sigmaBars[ti] ** 2)]]);
  }

  /** True noise `(x_t - muBar_t) / sigmaBar_t` given the clean `x0` (the reference's `get_real_noise`). */
  noiseFromX0(xt: X, x0: X, cond: NoInfer<X> | null, t: Timestep): X {
    return this.#residual(xt, x0, cond, t, 'noiseFromX0', (ti) => 1 / this.tables.sigmaBars[ti]);
  }

  /** True score `-(x_t - muBar_t) / sigmaBar_t^2` given the clean `x0` (the reference's `get_real_score`). */
  scoreFromX0(xt: X, x0: X, cond: NoInfer<X> | null, t: Timestep): X {
    return this.#residual(xt, x0, cond, t, 'scoreFromX0', (ti) => -1 / this.tables.sigmaBars[ti] ** 2);
  }

  /** `k_t (x_t - muBar_t)`, the deviations from `mu` (or `x_t - x0` itself) formed first. */
  #residual(xt: X, x0: X, cond: X | null, t: Timestep, where: string, k: (ti: number) => number): X {
    const { shape, c } = this.#shape(where, [['xt', xt], ['x0', x0]], cond, 2);
    const ts = this.args.t(t, where, shape[0]);
    const devs: Array<Term<X>> = [[xt, this.args.coef(t, ts, k)]];
    if (c !== null) devs.push([x0, this.args.coef(t, ts, (ti) => -k(ti) * Math.exp(-this.tables.u[ti]))]);
    return combineAroundMu(this.backend, c ?? x0, devs, [], false);
  }

  /** Score from predicted noise: `-noise / sigmaBar_t` (the reference's `get_score_from_noise`). */
  scoreFromNoise(noise: X, t: Timestep): X {
    const shape = this.args.shapeOf('scoreFromNoise', [['noise', noise]]);
    const ts = this.args.t(t, 'scoreFromNoise', shape[0]);
    return this.backend.linear([[noise, this.args.coef(t, ts, (ti) => -1 / this.tables.sigmaBars[ti])]]);
  }

  /** Noise from a score: `-score sigmaBar_t` (the inverse of `scoreFromNoise`). */
  noiseFromScore(score: X, t: Timestep): X {
    const shape = this.args.shapeOf('noiseFromScore', [['score', score]]);
    const ts = this.args.t(t, 'noiseFromScore', shape[0]);
    return this.backend.linear([[score, this.args.coef(t, ts, (ti) => -this.tables.sigmaBars[ti])]]);
  }

  /**
   * Where restoring an observed image `lq` starts: the state, its time, the condition the model
   * gets and whether a step count above that time is reduced to it (see {@link RestorationStart}).
   * @param start - a DenoisingSDE's start time (`0..T`, default `T`); a MeanRevertingSDE takes none.
   * @param noise - the noise a prior is drawn with.
   * @throws TypeError / RangeError naming `where`.
   */
  abstract restorationStart(lq: X, start: number | undefined, noise: NoiseSource<X>, where: string): RestorationStart<X>;
}
