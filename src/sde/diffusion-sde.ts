import type * as tf from '@tensorflow/tfjs-core';
import type { TensorBackend } from '../backend/types.js';
import type { Timestep } from './timesteps.js';
import type { NoiseSource } from './noise-source.js';

/**
 * Which family an SDE belongs to: `'mean-reverting'` (IR-SDE: diffuses `x0` towards a degraded
 * image `mu`, which every sampler step and model call needs) or `'denoising'` (the reference's
 * `DenoisingSDE`: the mean stays at `x0`, there is no `mu`, samplers start at the noisy image).
 */
export type SDEKind = 'mean-reverting' | 'denoising';

/**
 * Where restoring an observed image starts (see `DiffusionSDE.restorationStart`). `x` is new
 * and owned by the caller; `cond` is borrowed (the observed image itself, or `null`).
 */
export interface RestorationStart<X> {
  /**
   * The state the sampler starts from: a MeanRevertingSDE's prior `lq + lambda z` (a new tensor),
   * `lq` itself for a DenoisingSDE (not a copy: a 12-megapixel image is 144 MB); dispose it only
   * when it is not `lq`.
   */
  readonly x: X;
  /** Its time index: `T`, or a DenoisingSDE's `start` (`0` means there is nothing to remove). */
  readonly t: number;
  /** The condition the model and the samplers get: `lq` (MeanRevertingSDE) or `null` (DenoisingSDE). */
  readonly cond: X | null;
  /** Whether a numeric step count above `t` is reduced to `t` (true when `t` was read from the data, e.g. a noise level). */
  readonly clampSteps: boolean;
}

/**
 * What samplers, losses and `restore` read from an SDE; `MeanRevertingSDE` and `DenoisingSDE`
 * implement it through their shared skeleton (`OrnsteinUhlenbeckSDE`). Both are
 * Ornstein–Uhlenbeck-type processes on integer times `t = 1..T` with the same float64 tables
 * (`u_t = Theta_t dt`, `sigmaBar_t = lambda sqrt(1 - exp(-2 u_t))`) and differ only in their
 * mean {@link DiffusionSDE.pull}.
 *
 * The condition contract: every tensor method takes the condition `cond` in the same place: the
 * degraded image `mu` for a MeanRevertingSDE, `null` for a DenoisingSDE (its own methods also
 * take the reference's shorter form without it). Code over either SDE passes the condition it
 * was given and never asks which family it has.
 *
 * Ownership and shapes as in the classes: tensor methods return new tensors owned by the caller
 * and never dispose their arguments; `t` is an integer in `1..T` or one per batch item.
 * @typeParam X - the backend's tensor type.
 */
export interface DiffusionSDE<X = tf.Tensor> {
  /** The family (see {@link SDEKind}). */
  readonly kind: SDEKind;
  /** The mean pull: 1 (towards the condition `mu`, which is needed) or 0 (none; the mean stays at `x0`). */
  readonly pull: 0 | 1;
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
  /** `theta_0 .. theta_T` (float64, a read-only view made once). */
  readonly thetas: Float64Array;
  /** `sigma_i = sqrt(2 lambda^2 theta_i)` (float64, read-only view). */
  readonly sigmas: Float64Array;
  /** `Theta_i`, `Theta_0 = 0` (float64, read-only view). */
  readonly thetasCumsum: Float64Array;
  /** `sigmaBar_i` (float64, read-only view): the marginal std of `x_t` given `x0`. */
  readonly sigmaBars: Float64Array;
  /** `u_i = Theta_i dt` (float64, read-only view). */
  readonly ouTimes: Float64Array;
  /** Marginal std `sigmaBar_t` (data units). */
  sigmaBar(t: number): number;
  /** Std of the exact posterior `q(x_s | x_t, x0)` (`s` defaults to `t - 1`; any `0 <= s < t`). */
  optimalReverseStd(t: number, s?: number): number;
  /** The condition checked against the SDE (a tensor shaped `shape`, or `null`); errors start with `where` (`unexpected`: the advice for one given to an unconditional SDE). */
  checkCondition(cond: X | null, shape: readonly number[], where: string, unexpected?: string): X | null;
  /** Marginal mean `muBar_t`. */
  muBar(x0: X, cond: X | null, t: Timestep): X;
  /** A draw `muBar_t + sigmaBar_t z` from the marginal. */
  sampleMarginal(x0: X, cond: X | null, t: Timestep, noise: NoiseSource<X>): X;
  /** Mean of one reverse-SDE step from `t` to `t - 1`. */
  reverseSdeStepMean(x: X, cond: X | null, score: X, t: Timestep): X;
  /** One Euler–Maruyama reverse-SDE step from `t` to `t - 1`. */
  reverseSdeStep(x: X, cond: X | null, score: X, t: Timestep, noise: NoiseSource<X>): X;
  /** One Euler step of the probability-flow ODE from `t` to `t - 1`. */
  reverseOdeStep(x: X, cond: X | null, score: X, t: Timestep): X;
  /** Mean of the exact posterior `q(x_s | x_t, x0)`. */
  optimalReverseMean(xt: X, x0: X, cond: X | null, t: Timestep, s?: Timestep): X;
  /** `x0` from the noise of `x_t`. */
  x0FromNoise(xt: X, cond: X | null, noise: X, t: Timestep): X;
  /** The true noise `(x_t - muBar_t) / sigmaBar_t` given `x0`. */
  noiseFromX0(xt: X, x0: X, cond: X | null, t: Timestep): X;
  /** Score from predicted noise, `-noise / sigmaBar_t`. */
  scoreFromNoise(noise: X, t: Timestep): X;
  /** Noise from a score, `-score sigmaBar_t`. */
  noiseFromScore(score: X, t: Timestep): X;
  /** Where restoring an observed image `lq` starts (see {@link RestorationStart}). */
  restorationStart(lq: X, start: number | undefined, noise: NoiseSource<X>, where: string): RestorationStart<X>;
}
