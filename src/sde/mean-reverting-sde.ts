import type * as tf from '@tensorflow/tfjs-core';
import type { TensorBackend } from '../backend/types.js';
import type { Rng } from '../backend/rng.js';
import type { NoiseSource } from './noise-source.js';
import { combineAroundMu } from './around-mu.js';
import type { ScheduleSpec } from './schedules.js';
import type { Timestep } from './timesteps.js';
import type { BackendName } from './core.js';
import type { RestorationStart } from './diffusion-sde.js';
import { OrnsteinUhlenbeckSDE, type OUSDEConfig } from './ou-sde.js';

export type { BackendName } from './core.js';

/** Configuration of a {@link MeanRevertingSDE}. Plain data: JSON-serialisable when the schedule is. */
export interface MeanRevertingSDEConfig extends OUSDEConfig {
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
 * integer times `t = 1..T` exactly as the reference implementation does: the
 * {@link OrnsteinUhlenbeckSDE} skeleton with mean pull 1, so the mean moves from the clean `x0`
 * to the degraded image `mu`, the condition every tensor method takes (`cond`, named `mu` in the
 * formulas): `muBar_t = mu + (x0 - mu) exp(-Theta_t dt)`, restoration starts from the prior
 * `x_T = mu + lambda z`.
 *
 * Tensors, timesteps, ownership and backends as the skeleton's: float32 tensors with the batch on
 * axis 0 (any layout), `t` an integer in `1..T` or one per item, every tensor method returns a new
 * tensor owned by the caller and disposes none of its arguments. Tables are float64, computed
 * once; the object is immutable.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { MeanRevertingSDE, from255 } from 'irsde';
 * const sde = new MeanRevertingSDE({ T: 100, maxSigma: from255(10), schedule: 'cosine', eps: 0.005 });
 * const x0 = tf.fill([1, 8, 8, 3], 0.5);  // clean image, NHWC in [0, 1]
 * const mu = tf.fill([1, 8, 8, 3], 0.3);  // degraded image (the SDE's mean)
 * const mean = sde.muBar(x0, mu, 50);     // E[x_50 | x0]: a new tensor, the caller disposes it
 * console.log(sde.sigmaBar(50));          // std of x_50 | x0
 * tf.dispose([x0, mu, mean]);
 * ```
 *
 * @typeParam X - the backend's tensor type (`tf.Tensor` unless another backend is passed).
 */
export class MeanRevertingSDE<X = tf.Tensor> extends OrnsteinUhlenbeckSDE<X> {
  /** The SDE family: `'mean-reverting'` (needs the degraded image `mu`). */
  readonly kind = 'mean-reverting' as const;
  /** The mean pull: 1, towards `mu`. */
  readonly pull = 1 as const;

  /**
   * @param config - see {@link MeanRevertingSDEConfig}.
   * @param backend - tensor backend, or its name: `'tfjs'` (default; whichever tfjs backend is
   *   active) or `'float32'` (the dependency-free `Float32Array` backend, tensors are `HostTensor`).
   * @throws RangeError / TypeError naming the bad field for an invalid config.
   */
  constructor(config: MeanRevertingSDEConfig, backend?: TensorBackend<X> | BackendName) {
    super(config, backend, { cls: 'MeanRevertingSDE', eps: 0.01, maxSigma: ['lambda', '10/255'], fields: '{ T, maxSigma, schedule?, eps? }' });
  }

  /**
   * Mean decay `exp(-(Theta_t - Theta_s) dt)`: the factor by which `x_s - mu` shrinks in
   * expectation from `s` to `t` (`s` defaults to 0, giving the reference's loss `weights(t)`).
   */
  meanDecay(t: number, s?: number): number;
  meanDecay(t: Timestep, s?: Timestep): number | Float64Array;
  meanDecay(t: Timestep, s: Timestep = 0): number | Float64Array {
    const { ts, ss, batched } = this.args.pairs(t, s, 'meanDecay');
    const v = ts.map((ti, i) => this.#decay(ti, ss[i]));
    return batched ? Float64Array.from(v) : v[0];
  }

  /**
   * Standard deviation of the exact forward transition `x_t | x_s` (data units):
   * `lambda sqrt(1 - exp(-2 (Theta_t - Theta_s) dt))`. `s` defaults to 0 (then it equals `sigmaBar_t`).
   */
  transitionStd(t: number, s?: number): number;
  transitionStd(t: Timestep, s?: Timestep): number | Float64Array;
  transitionStd(t: Timestep, s: Timestep = 0): number | Float64Array {
    const { ts, ss, batched } = this.args.pairs(t, s, 'transitionStd');
    const v = ts.map((ti, i) => this.#transitionStd(ti, ss[i]));
    return batched ? Float64Array.from(v) : v[0];
  }

  #decay(ti: number, si: number): number {
    const cs = this.tables.cumsum;
    return Math.exp(-(cs[ti] - cs[si]) * this.dt);
  }

  #transitionStd(ti: number, si: number): number {
    const cs = this.tables.cumsum;
    return this.maxSigma * Math.sqrt(-Math.expm1(-2 * (cs[ti] - cs[si]) * this.dt));
  }

  /**
   * A draw from the exact forward transition `x_t | x_s` for any `0 <= s < t`:
   * `mu + (x_s - mu) exp(-(Theta_t - Theta_s) dt) + transitionStd(t, s) z`. With `s = 0` and
   * `x_s = x0` this is {@link OrnsteinUhlenbeckSDE.sampleMarginal}.
   * @param noise - an {@link Rng} or a given `z` tensor (not disposed).
   */
  exactTransition(xs: X, mu: X, t: Timestep, s: Timestep, noise: NoiseSource<X>): X {
    const shape = this.args.shapeOf('exactTransition', [
      ['xs', xs],
      ['mu', mu],
    ]);
    const { ts, ss, batched } = this.args.pairs(t, s, 'exactTransition', shape[0]);
    const decay = ts.map((ti, i) => this.#decay(ti, ss[i]));
    const std = ts.map((ti, i) => this.#transitionStd(ti, ss[i]));
    const mean = combineAroundMu(this.backend, mu, [[xs, batched ? Float64Array.from(decay) : decay[0]]]);
    return this.args.plusNoise(mean, batched ? Float64Array.from(std) : std[0], noise, 'exactTransition');
  }

  /**
   * The terminal (prior) state `x_T = mu + lambda z`, where restoration starts.
   * @param noise - an {@link Rng} or a given `z` tensor (not disposed).
   */
  prior(mu: X, noise: NoiseSource<X>): X {
    this.args.shapeOf('prior', [['mu', mu]]);
    const copy = this.backend.linear([[mu, 1]]);
    return this.args.plusNoise(copy, this.maxSigma, noise, 'prior');
  }

  /**
   * Restoration starts from the prior at `T` with `lq` as the condition.
   * @throws TypeError when `start` is given (that is a DenoisingSDE's).
   */
  restorationStart(lq: X, start: number | undefined, noise: NoiseSource<X>, where: string): RestorationStart<X> {
    if (start !== undefined) throw new TypeError(`${where}: start is for a DenoisingSDE; a MeanRevertingSDE always starts from its prior at T`);
    return { x: this.prior(lq, noise), t: this.T, cond: lq, clampSteps: false };
  }
}
