import type { Tensor } from '@tensorflow/tfjs-core';
import { Rng } from '../backend/rng.js';
import type { TensorBackend } from '../backend/types.js';

/**
 * Where noise comes from: a generator (noise drawn with the item-stable streams; advanced), a
 * seed (a fresh `new Rng(seed)` for this one draw), or a given tensor `z` (not disposed).
 */
export type NoiseSource<X = Tensor> = Rng | number | X;

/** True for an {@link Rng} (duck-typed, so two copies of the package interoperate). */
export function isRng(n: unknown): n is Rng {
  return typeof n === 'object' && n !== null && typeof (n as Rng).normal === 'function' && typeof (n as Rng).split === 'function';
}

/** What {@link drawNoise} returns. */
export interface DrawnNoise<X = Tensor> {
  /** The standard normal tensor. */
  readonly z: X;
  /** True when `z` was drawn here (the caller disposes it); false for a given tensor (borrowed). */
  readonly owned: boolean;
}

/**
 * Standard normal `z` of `shape` from a noise source.
 * @returns `z` and whether the caller owns it (drawn here) or merely borrows it (given tensor).
 * @throws TypeError for a missing source; RangeError when a given tensor's shape differs.
 */
export function drawNoise<X>(backend: TensorBackend<X>, source: NoiseSource<X>, shape: readonly number[], where: string): DrawnNoise<X> {
  if (isRng(source)) return { z: backend.randomNormal(shape, source), owned: true };
  if (typeof source === 'number') return { z: backend.randomNormal(shape, new Rng(source)), owned: true };
  if (source === undefined || source === null) throw new TypeError(`${where}: a generator (Rng), a seed or a noise tensor is required`);
  const zs = backend.shape(source);
  if (zs.length !== shape.length || zs.some((d, i) => d !== shape[i])) {
    throw new RangeError(`${where}: noise has shape [${zs}] but x has shape [${shape}]`);
  }
  return { z: source, owned: false };
}
