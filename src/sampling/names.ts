/**
 * The built-in samplers' names and the default sampler of each SDE family: the one home of both,
 * a small module without the samplers' code, so that model files (`nn/model`), the restoration
 * pipeline and the CLI check and default sampler names the same way.
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
