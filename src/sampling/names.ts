/**
 * The built-in samplers' names, the default sampler of each SDE family and the self-ensemble
 * sizes: the one home of each, a small module without the samplers' code, so that model files
 * (`nn/model`), the restoration pipeline and the CLI check and default them the same way.
 */
import type { SDEKind } from '../sde/diffusion-sde.js';

/** The built-in samplers' names, in the order help texts list them. */
export const SAMPLER_NAMES = Object.freeze(['sde', 'ode', 'heun', 'posterior', 'ddim', 'ode-adaptive'] as const);

/** A built-in sampler's name. */
export type SamplerName = (typeof SAMPLER_NAMES)[number];

/** True for a built-in sampler's name. */
export function isSamplerName(name: unknown): name is SamplerName {
  return typeof name === 'string' && (SAMPLER_NAMES as readonly string[]).includes(name);
}

/**
 * The sampler restoration uses when neither the caller nor the model file names one, per SDE
 * family: `'posterior'` for a MeanRevertingSDE (exact for any step list, so it works with the
 * few steps restoration defaults to) and `'ode'` for a DenoisingSDE (the reference's denoising
 * loop). `restore`, the `Restorer`, `irsde restore` and training's validation all use it.
 */
export const DEFAULT_SAMPLERS: Readonly<Record<SDEKind, SamplerName>> = Object.freeze({ 'mean-reverting': 'posterior', denoising: 'ode' });

/** The default sampler of an SDE (or of its kind); see {@link DEFAULT_SAMPLERS}. */
export function defaultSamplerFor(sde: { readonly kind: SDEKind } | SDEKind): SamplerName {
  return DEFAULT_SAMPLERS[typeof sde === 'string' ? sde : sde.kind];
}

/**
 * How many copies a geometric self-ensemble averages (`RestoreImageOptions.ensemble`): 1 (off), 2
 * (the image and its left-right flip), 4 (and upside down, and both), 8 (and each of those
 * transposed: every rotation and reflection of the square).
 */
export type EnsembleSize = 1 | 2 | 4 | 8;

/** The valid {@link EnsembleSize}s. */
export const ENSEMBLE_SIZES: readonly EnsembleSize[] = Object.freeze([1, 2, 4, 8] as const);

/**
 * Checks a self-ensemble size: one of {@link ENSEMBLE_SIZES}.
 * @param where - the caller's name, for the message.
 * @throws RangeError (one line) otherwise.
 */
export function checkEnsembleSize(n: unknown, where: string): EnsembleSize {
  if (!(ENSEMBLE_SIZES as readonly unknown[]).includes(n)) throw new RangeError(`${where}: ensemble must be one of ${ENSEMBLE_SIZES.join(', ')}, got ${String(n)}`);
  return n as EnsembleSize;
}
