import type { Tensor } from '@tensorflow/tfjs-core';
import type { TensorBackend } from '../backend/types.js';

/**
 * `n` copies of `x` stacked sample-major along axis 0: `[B, ...] -> [n B, ...]`, copy `j` at
 * rows `j B .. j B + B - 1`. Goes through host memory once (the backend interface has no tile).
 * @returns a new tensor owned by the caller; `x` is not disposed.
 */
export function repeatBatch<X>(backend: TensorBackend<X>, x: X, n: number): X {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`repeatBatch: n must be an integer >= 1, got ${String(n)}`);
  const shape = backend.shape(x);
  if (shape.length === 0) throw new RangeError('repeatBatch: x must have rank >= 1 (batch on axis 0)');
  const data = backend.toArray(x);
  const out = new Float32Array(data.length * n);
  for (let j = 0; j < n; j++) out.set(data, j * data.length);
  return backend.fromArray(out, [shape[0] * n, ...shape.slice(1)]);
}

/** Per-pixel statistics over samples; both tensors new, owned by the caller. */
export interface MeanStd<X = Tensor> {
  /** Per-element mean, `[B, ...]`. */
  readonly mean: X;
  /** Per-element sample standard deviation (denominator `n - 1`), `[B, ...]`. */
  readonly std: X;
}

/**
 * Per-element mean and sample standard deviation (denominator `n - 1`) over the `n` sample-major
 * groups of `x` (`[n B, ...]`, as {@link repeatBatch} lays them out), accumulated in float64 on
 * the host.
 * @returns new tensors `[B, ...]` owned by the caller; `x` is not disposed.
 */
export function meanStdOverSamples<X>(backend: TensorBackend<X>, x: X, n: number): MeanStd<X> {
  const shape = backend.shape(x);
  if (!Number.isInteger(n) || n < 2 || shape.length === 0 || shape[0] % n !== 0) {
    throw new RangeError(`meanStdOverSamples: need an integer n >= 2 dividing the batch size, got n = ${String(n)} for shape [${shape}]`);
  }
  const data = backend.toArray(x);
  const per = data.length / n;
  const mean = new Float32Array(per);
  const std = new Float32Array(per);
  for (let p = 0; p < per; p++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += data[j * per + p];
    const m = s / n;
    let q = 0;
    for (let j = 0; j < n; j++) q += (data[j * per + p] - m) ** 2;
    mean[p] = m;
    std[p] = Math.sqrt(q / (n - 1));
  }
  const outShape = [shape[0] / n, ...shape.slice(1)];
  return { mean: backend.fromArray(mean, outShape), std: backend.fromArray(std, outShape) };
}
