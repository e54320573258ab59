/** What every network description shares: the prediction types and config checks. */
import type { Prediction } from '../../sde/prediction.js';

/**
 * What a network's output means.
 * - `'noise'`: the noise `eps` in `x_t = muBar_t + sigmaBar_t eps` (the original IR-SDE).
 * - `'residual'`: the clean image as a correction of the condition, `x0_hat = mu + output`.
 *   Samplers turn it into noise with `sde.noiseFromX0`. An error `e` in the output stays an error
 *   `e` in `x0`, whereas a noise network's error is amplified by `sigmaBar_t / exp(-thetaBar_t)`
 *   (up to `lambda / eps_T`) when a few-step sampler recovers `x0` from it, so residual networks
 *   suit few-step deterministic sampling.
 */
export type NetworkPrediction = Prediction;

/** The predictions a network can make (see {@link NetworkPrediction}). */
export const NETWORK_PREDICTIONS: readonly NetworkPrediction[] = ['noise', 'residual'];

/** Whether `v` is an integer >= 1. */
export function isPosInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1;
}

/** Throws a RangeError naming `where` unless `prediction` is absent or one of {@link NETWORK_PREDICTIONS}. */
export function checkPrediction(prediction: unknown, where: string): void {
  if (prediction !== undefined && !NETWORK_PREDICTIONS.includes(prediction as NetworkPrediction)) {
    throw new RangeError(`${where}: prediction must be one of ${NETWORK_PREDICTIONS.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(prediction)}`);
  }
}

/** The prediction of a config (`'noise'` when unset). */
export function predictionOf(config: { readonly prediction?: NetworkPrediction }): NetworkPrediction {
  return config.prediction ?? 'noise';
}

/**
 * Throws a one-line error naming `where` unless `k` is absent or a valid `extraCondChannels` (an
 * integer >= 1) of a conditional network (`conditional` not `false`).
 */
export function checkExtraCondChannels(k: unknown, conditional: boolean | undefined, where: string): void {
  if (k === undefined) return;
  if (!isPosInt(k)) throw new RangeError(`${where}: extraCondChannels must be an integer >= 1 (per-pixel condition channels appended to mu, e.g. 1 for an inpainting mask), got ${JSON.stringify(k)}`);
  if (conditional === false) throw new RangeError(`${where}: extraCondChannels needs a conditional network (the extra channels are appended to the condition mu); this config has conditional: false`);
}
