import type { Tensor } from '@tensorflow/tfjs-core';
import type { Rng } from './rng.js';

/**
 * A coefficient in an element-wise formula: one number for the whole tensor, or one number per
 * batch element (length = `shape[0]`), broadcast over all remaining axes.
 */
export type Coef = number | Float64Array;

/** One term `coef * x` of a {@link TensorBackend.linear} combination. */
export type Term<T = Tensor> = readonly [x: T, coef: Coef];

/**
 * The small tensor interface that all of irsde's SDE maths is written against.
 *
 * Layout: tensors are dense, float32, at least rank 1; axis 0 is the batch axis. The maths is
 * element-wise, so the remaining axes may be NHWC, NCHW or anything else.
 *
 * Memory ownership (the same rule on every backend):
 * - every method returns a **new** tensor that the caller owns and must {@link dispose};
 * - no method ever disposes or mutates its arguments.
 * On garbage-collected backends (the `Float32Array` one) `dispose` is a no-op, so code written
 * against the interface must still call it to stay correct on tfjs.
 *
 * @typeParam T - the backend's tensor type (`tf.Tensor` for tfjs, `HostTensor` (of `irsde/advanced`) for the
 *   `Float32Array` backend).
 */
export interface TensorBackend<T = Tensor> {
  /** Short name, e.g. `"tfjs"` or `"float32"`. */
  readonly name: string;
  /** The tensor's shape (a copy; the caller may keep it). */
  shape(x: T): number[];
  /**
   * Fused linear combination `sum_i coef_i * x_i + bias`, element-wise. All `x_i` must have the
   * same shape; a `Float64Array` coefficient or bias has one entry per batch element (axis 0).
   * At least one term is required. Differentiable on tfjs with respect to every `x_i`.
   */
  linear(terms: ReadonlyArray<Term<T>>, bias?: Coef): T;
  /** Element-wise `a * b` (same shapes). Differentiable on tfjs. */
  mul(a: T, b: T): T;
  /** Element-wise `|x|`. Differentiable on tfjs (sub-gradient 0 at 0). */
  abs(x: T): T;
  /** Element-wise `x^2`. Differentiable on tfjs. */
  square(x: T): T;
  /** Mean over every axis but axis 0: shape `[B, ...]` to `[B]`. Differentiable on tfjs. */
  meanPerItem(x: T): T;
  /** Mean of every element: a rank-0 (scalar) tensor. Differentiable on tfjs. */
  mean(x: T): T;
  /**
   * Standard normal noise of the given shape drawn from `rng` (see {@link Rng.normal}): the same
   * numbers on every backend for the same generator state.
   */
  randomNormal(shape: readonly number[], rng: Rng): T;
  /** A tensor holding a copy of `data` with the given shape (`data.length` = product of shape). */
  fromArray(data: Float32Array | ArrayLike<number>, shape: readonly number[]): T;
  /** A copy of the tensor's values, row-major, synchronously (downloads from a GPU if needed). */
  toArray(x: T): Float32Array;
  /** Releases the tensor's memory. Safe to call on an already-disposed tensor. */
  dispose(x: T | readonly T[]): void;
  /**
   * Runs `fn` and releases every tensor it created except the one it returns (tfjs `tidy`).
   * Return a single tensor (never a large plain array: tfjs walks returned containers).
   */
  tidy<R extends T | number | void>(fn: () => R): R;
}
