/**
 * SDE configs as plain, storable data and back: model files, checkpoints and worker threads
 * record which family an SDE is (`kind: 'denoising'`; absent for the mean-reverting SDE, so
 * existing files keep their form) and rebuild the right class from it.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { TensorBackend } from '../backend/types.js';
import { MeanRevertingSDE, type BackendName, type MeanRevertingSDEConfig } from './mean-reverting-sde.js';
import { DenoisingSDE, type DenoisingSDEConfig } from './denoising-sde.js';
import type { DiffusionSDE, SDEKind } from './diffusion-sde.js';
import { OrnsteinUhlenbeckSDE } from './ou-sde.js';

/** A stored SDE config: a mean-reverting one (no `kind`), or a DenoisingSDE's with `kind: 'denoising'`. */
export type AnySDEConfig = MeanRevertingSDEConfigRecord | DenoisingSDEConfigRecord;

/** A stored mean-reverting SDE config (`kind` absent, or `'mean-reverting'`). */
export interface MeanRevertingSDEConfigRecord extends MeanRevertingSDEConfig {
  /** The family; absent in files written before DenoisingSDE existed. */
  readonly kind?: 'mean-reverting';
}

/** A stored DenoisingSDE config. */
export interface DenoisingSDEConfigRecord extends DenoisingSDEConfig {
  /** The family: always `'denoising'`. */
  readonly kind: 'denoising';
}

/**
 * The stored config of an SDE (or a config): its own `config` (plain data, defaults filled in),
 * with `kind: 'denoising'` for a DenoisingSDE. A config is returned as it is.
 */
export function sdeConfigOf(sde: DiffusionSDE<unknown> | AnySDEConfig): AnySDEConfig {
  if (!(sde instanceof OrnsteinUhlenbeckSDE)) return sde as AnySDEConfig;
  return sde.kind === 'denoising' ? { kind: 'denoising', ...sde.config } : { ...sde.config };
}

/** The family a stored config describes (`kind` absent: `'mean-reverting'`, as older files). */
export function sdeKindOf(config: AnySDEConfig): SDEKind {
  return config.kind ?? 'mean-reverting';
}

/**
 * Builds the SDE a stored config describes (`kind: 'denoising'`: a {@link DenoisingSDE}, else a
 * {@link MeanRevertingSDE}); validates every field as the constructors do.
 * @param backend - as the constructors' (default tfjs).
 * @example
 * ```ts
 * import { createSDE, loadModel } from 'irsde';
 * const { network, sdeConfig } = loadModel(bytes);  // a model file's bytes (saveModel)
 * const sde = createSDE(sdeConfig);                   // the MeanRevertingSDE or DenoisingSDE it was trained with
 * ```
 * @throws TypeError / RangeError for a bad config or an unknown kind.
 */
export function createSDE<X = tf.Tensor>(config: AnySDEConfig, backend?: TensorBackend<X> | BackendName): MeanRevertingSDE<X> | DenoisingSDE<X> {
  if (config === null || typeof config !== 'object') throw new TypeError('createSDE: config must be an object { T, maxSigma, ... }');
  const { kind, ...rest } = config as AnySDEConfig & { kind?: unknown };
  if (kind === 'denoising') return new DenoisingSDE<X>(rest as DenoisingSDEConfig, backend as TensorBackend<X>);
  if (kind !== undefined && kind !== 'mean-reverting') throw new RangeError(`createSDE: unknown SDE kind ${JSON.stringify(kind)} (known: 'mean-reverting', 'denoising')`);
  return new MeanRevertingSDE<X>(rest as MeanRevertingSDEConfig, backend as TensorBackend<X>);
}
