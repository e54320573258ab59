/** Telling the two SDE families apart (type guards over {@link DiffusionSDE}). */
import type { DiffusionSDE } from './diffusion-sde.js';
import type { MeanRevertingSDE } from './mean-reverting-sde.js';
import type { DenoisingSDE } from './denoising-sde.js';

/** True for a {@link MeanRevertingSDE} (duck-typed on `kind`). */
export function isMeanRevertingSDE<X>(sde: DiffusionSDE<X> | null | undefined): sde is MeanRevertingSDE<X> {
  return typeof sde === 'object' && sde !== null && sde.kind === 'mean-reverting';
}

/** True for a {@link DenoisingSDE} (duck-typed on `kind`). */
export function isDenoisingSDE<X>(sde: DiffusionSDE<X> | null | undefined): sde is DenoisingSDE<X> {
  return typeof sde === 'object' && sde !== null && sde.kind === 'denoising';
}

/**
 * Checks that `sde` is one of the two SDE classes.
 * @throws TypeError naming `where` and what was given.
 */
export function checkSDE<X>(sde: unknown, where: string): asserts sde is DiffusionSDE<X> {
  const kind = typeof sde === 'object' && sde !== null ? (sde as { kind?: unknown }).kind : undefined;
  if (kind !== 'mean-reverting' && kind !== 'denoising') {
    throw new TypeError(`${where}: sde must be a MeanRevertingSDE or a DenoisingSDE, got ${sde === null ? 'null' : typeof sde}`);
  }
}
