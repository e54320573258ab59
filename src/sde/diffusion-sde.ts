import type * as tf from '@tensorflow/tfjs-core';
import type { TensorBackend } from '../backend/types.js';
import type { Timestep } from './timesteps.js';

/**
 * Which family an SDE belongs to: `'mean-reverting'` (IR-SDE: diffuses `x0` towards a degraded
 * image `mu`, which every sampler step and model call needs) or `'denoising'` (the reference's
 * `DenoisingSDE`: the mean stays at `x0`, there is no `mu`, samplers start at the noisy image).
 */
export type SDEKind = 'mean-reverting' | 'denoising';

/**
 * What samplers and `restore` read from an SDE; `MeanRevertingSDE` and
 * `DenoisingSDE` implement it. Both are Ornstein–Uhlenbeck-type processes on integer times
 * `t = 1..T` with the same float64 tables (`u_t = Theta_t dt`,
 * `sigmaBar_t = lambda sqrt(1 - exp(-2 u_t))`); they differ in the marginal mean (`mu + (x0 - mu)
 * exp(-u_t)` vs `x0`) and in the reverse drift. Code that needs a family's own methods narrows
 * with `isDenoisingSDE` / `isMeanRevertingSDE` (or `sde.kind`).
 *
 * Ownership and shapes as in the classes: tensor methods return new tensors owned by the caller
 * and never dispose their arguments; `t` is an integer in `1..T` or one per batch item.
 * @typeParam X - the backend's tensor type.
 */
export interface DiffusionSDE<X = tf.Tensor> {
  /** The family (see {@link SDEKind}); decides whether a condition `mu` is needed. */
  readonly kind: SDEKind;
  /** Number of steps `T`. */
  readonly T: number;
  /** Stationary (maximal) standard deviation `lambda`, data units. */
  readonly maxSigma: number;
  /** Terminal gap `eps`: `exp(-Theta_T dt) = eps`. */
  readonly eps: number;
  /** Time step `dt = -ln(eps) / Theta_T`. */
  readonly dt: number;
  /** The tensor backend all methods compute with. */
  readonly backend: TensorBackend<X>;
  /** `theta_0 .. theta_T` (a copy, float64). */
  readonly thetas: Float64Array;
  /** `sigma_i = sqrt(2 lambda^2 theta_i)` (a copy, float64). */
  readonly sigmas: Float64Array;
  /** `Theta_i`, `Theta_0 = 0` (a copy, float64). */
  readonly thetasCumsum: Float64Array;
  /** `sigmaBar_i` (a copy, float64): the marginal std of `x_t` given `x0`. */
  readonly sigmaBars: Float64Array;
  /** Marginal std `sigmaBar_t` (data units). */
  sigmaBar(t: number): number;
  /** Std of the exact posterior `q(x_s | x_t, x0)` (`s` defaults to `t - 1`; any `0 <= s < t`). */
  optimalReverseStd(t: number, s?: number): number;
  /** Score from predicted noise, `-noise / sigmaBar_t`. */
  scoreFromNoise(noise: X, t: Timestep): X;
  /** Noise from a score, `-score sigmaBar_t`. */
  noiseFromScore(score: X, t: Timestep): X;
}
