/**
 * Training objectives of a network on either SDE family, built from the same differences as
 * `mlLoss` and `noiseMatchingLoss` and reduced by the same `reduceMatching`: the Trainer's loss,
 * and the affine form the ONNX training graph takes.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { type DiffusionSDE } from '../sde/diffusion-sde.js';
import type { NoiseSource } from '../sde/noise-source.js';
import type { Prediction } from '../sde/prediction.js';
import { mlDiff, noiseDiff, trueNoise, x0FromNoise } from './diffs.js';
import { reduceMatching } from './losses.js';

/**
 * A training objective: `'ml'` (the maximum-likelihood trajectory loss of IR-SDE and of the
 * reference's denoising model), `'noise'` (noise matching) or `'x0'` (matching the clean image,
 * `|x0_hat - x0|`, uniform over `t`).
 */
export type Objective = 'ml' | 'noise' | 'x0';

/** The objectives {@link trainingLoss} knows. */
export const OBJECTIVES: readonly Objective[] = ['ml', 'noise', 'x0'];

/**
 * The objective a network of the given `prediction` trains with when none is chosen (the
 * Trainer's and `irsde train`'s default; `prediction` omitted means a noise network, the networks'
 * default): `'x0'` for a `'residual'` network, whose output is a correction of the image, and
 * `'ml'` for a `'noise'` network (the reference's pair).
 *
 * Measured on the README's first `irsde train` example (sigma-25 noise, 200 steps, validation
 * PSNR of the held-out crop against its noisy input's 20.14 dB): a residual U-Net reaches 21.22
 * dB with `'x0'` and 21.17 with `'ml'` (20.87 and 20.66 after 50 steps). A noise U-Net stays at
 * 4.5 dB with `'ml'` and with `'noise'` alike (also after 1,000 steps of a tiny U-Net; its
 * one-step x0 estimates agree to 0.01 dB between the two), since recovering x0 from predicted
 * noise multiplies its error by up to `lambda / eps`: a noise network needs a long run whatever
 * its objective, so its default stays the reference's `'ml'`, noise matching measuring no better.
 */
export function defaultObjective(prediction: Prediction = 'noise'): Objective {
  return prediction === 'noise' ? 'ml' : 'x0';
}

/** Which matching objective and norm a training loss uses (see {@link trainingLoss}). */
export interface ObjectiveOptions<X = Tensor> {
  /** The objective (default `'ml'`). */
  readonly objective?: Objective;
  /** `'l1'` (default) or `'l2'`. */
  readonly norm?: 'l1' | 'l2';
  /**
   * Optional per-element weight, shaped like the network output (non-negative): the loss's
   * difference is multiplied by it before the norm, so an l1 loss weights each element's error by
   * it (l2 by its square). Not disposed. Default: all 1.
   */
  readonly weight?: X;
}

/** A training pair: the clean target `gt` (`x0`) and the degraded `lq` (the mean-reverting SDE's `mu`; unused by a DenoisingSDE). */
export interface TrainingPair<X = Tensor> {
  /** Clean images `[B, H, W, C]`. */
  readonly gt: X;
  /** Degraded images `[B, H, W, C]` (the condition; ignored, may be absent, for a DenoisingSDE). */
  readonly lq?: X | null;
}

/** What {@link trainingLoss} needs of a network. */
export interface PredictingModel<X = Tensor> {
  /** The network output for `x_t` (and the condition, `null` under a DenoisingSDE) at timesteps `t`; owned by the caller. */
  predict(xt: X, cond: X | null, t: number | ArrayLike<number>): X;
  /** What the output means (default `'noise'`). */
  readonly prediction?: Prediction;
}

/**
 * The condition of a pair under `sde`: `lq` when the SDE pulls towards one (a mean-reverting
 * SDE), `null` otherwise (a denoising SDE ignores `lq`, which a data pipeline may still carry).
 * @throws TypeError when the SDE needs `lq` and the pair has none.
 */
export function conditionOf<X>(sde: DiffusionSDE<X>, pair: TrainingPair<X>, where: string): X | null {
  if (sde.pull === 0) return null;
  if (pair.lq === undefined || pair.lq === null) throw new TypeError(`${where}: a MeanRevertingSDE needs the degraded images (lq) of the batch`);
  return pair.lq;
}

/** `x_t ~ q(x_t | x0)` with the given noise, for either family. */
export function sampleTrainingState<X>(sde: DiffusionSDE<X>, pair: TrainingPair<X>, t: readonly number[], noise: NoiseSource<X>): X {
  const mu = conditionOf(sde, pair, 'sampleTrainingState');
  return sde.sampleMarginal(pair.gt, mu, t as number[], noise);
}

/**
 * What a training loss measures, before the norm: `diff = a * output + b` element-wise (affine in
 * the network output for every objective, prediction and SDE), with the loss the mean of `|diff|`
 * (l1) or `diff^2` (l2). `'x0'`: `x0_hat - x0`; `'noise'`: predicted minus true noise; `'ml'`: the
 * reverse-SDE step mean minus the optimal one (as `mlLoss`). A residual network's `x0_hat` is
 * `mu + output` (mean-reverting) or `x_t + output` (denoising), its noise `sde.noiseFromX0(x_t, x0_hat, ...)`.
 * @param out - the network output for `xt`, `[B, ...]`; not disposed.
 * @returns a new tensor shaped like `out`, owned by the caller (differentiable w.r.t. `out`).
 */
export function objectiveDiff<X>(sde: DiffusionSDE<X>, prediction: Prediction, out: X, xt: X, pair: TrainingPair<X>, t: readonly number[], objective: Objective = 'ml'): X {
  const b = sde.backend;
  const mu = conditionOf(sde, pair, 'objectiveDiff');
  const ts = t as number[];
  return b.tidy(() => {
    const residual = prediction === 'residual';
    const x0Hat = residual ? b.linear([[mu ?? xt, 1], [out, 1]]) : null;
    if (objective === 'x0') {
      return b.linear([[x0Hat ?? x0FromNoise(sde, xt, mu, out, ts), 1], [pair.gt, -1]]);
    }
    const noisePred = x0Hat === null ? out : trueNoise(sde, xt, x0Hat, mu, ts);
    return objective === 'noise' ? noiseDiff(sde, xt, pair.gt, mu, noisePred, ts) : mlDiff(sde, xt, pair.gt, mu, noisePred, ts);
  });
}

/**
 * The training loss of one batch at given timesteps and noise: `x_t ~ q(x_t | x0)` (with `noise`),
 * then the ML, noise-matching or x0 loss of `model.predict(x_t, cond, t)` (see {@link objectiveDiff};
 * `cond` is `lq` under a MeanRevertingSDE, `null` under a DenoisingSDE), read according to
 * `model.prediction` (noise by default), reduced as `mlLoss` reduces (per-item means, then their
 * mean: equal-sized items make it the mean over all elements, so a batch split into shards gives
 * the same loss and gradient as the shard values weighted by shard size). Every objective works
 * with every prediction and SDE; `'ml'` and `'noise'` equal `mlLoss` / `noiseMatchingLoss` of
 * the implied noise.
 * @param t - `B` integer timesteps in `1..T`.
 * @param noise - `z`, shaped like the batch; not disposed.
 * @returns a rank-0 tensor owned by the caller (differentiable w.r.t. the model's variables).
 */
export function trainingLoss<X>(sde: DiffusionSDE<X>, model: PredictingModel<X>, pair: TrainingPair<X>, t: readonly number[], noise: X, options: ObjectiveOptions<X> = {}): X {
  const b = sde.backend;
  return b.tidy(() => {
    const xt = sampleTrainingState(sde, pair, t, noise);
    const out = model.predict(xt, conditionOf(sde, pair, 'trainingLoss'), t);
    const raw = objectiveDiff(sde, model.prediction ?? 'noise', out, xt, pair, t, options.objective ?? 'ml');
    const diff = options.weight === undefined ? raw : b.mul(raw, options.weight);
    return reduceMatching(sde, diff, { norm: options.norm ?? 'l1' }, 'trainingLoss');
  });
}
