import type { Tensor } from '@tensorflow/tfjs-core';
import type { DiffusionSDE } from '../sde/diffusion-sde.js';
import { repeatBatch } from './batch.js';
import type { NoiseModel } from './model.js';
import { processOf } from './process.js';

/*
 * Analytic noise models: a test bench for samplers (and for checking a trained network's
 * plumbing). Both are exact, so any error a sampler shows with them is the sampler's own. Both
 * work with either SDE (the condition is `mu` for a MeanRevertingSDE and ignored, `null`, for a
 * DenoisingSDE) and at real `t` too (the interpolated tables of the adaptive ODE sampler).
 */

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Checks that `param` (shape `[P, ...]`) can be broadcast sample-major over `x` (`[k P, ...]`):
 * same per-item shape, and `P` divides the batch.
 */
function checkBroadcast(pShape: readonly number[], xShape: readonly number[], where: string, name: string): void {
  if (pShape.length !== xShape.length || !sameShape(pShape.slice(1), xShape.slice(1)) || pShape[0] === 0 || xShape[0] % pShape[0] !== 0) {
    throw new RangeError(
      `${where}: ${name} has shape [${pShape}], which does not fit x of shape [${xShape}]; expected the same per-item shape and a batch size dividing ${xShape[0]}`,
    );
  }
}

/**
 * The oracle that knows the clean image: returns the true noise
 * `eps = (x_t - muBar_t(x0)) / sigmaBar_t` (the SDE's `noiseFromX0`). Every sampler driven by it
 * must return `x0` as its steps grow (`posterior` does for any step list).
 *
 * @param x0 - the clean image `[P, ...]`, borrowed: keep it alive while the model is used and
 *   dispose it yourself afterwards. The model also accepts states `[k P, ...]` whose batch is a
 *   multiple of `P` (as {@link restoreWithUncertainty} makes): item `j` uses `x0[j mod P]` (the
 *   tiling goes through host memory on each call).
 * @returns a synchronous {@link NoiseModel}; each call returns a new tensor.
 */
export function oracleNoiseModel<X>(sde: DiffusionSDE<X>, x0: X): NoiseModel<X, X | null> {
  const p = processOf(sde, 'oracleNoiseModel');
  const b = sde.backend;
  const x0Shape = b.shape(x0);
  return (xt, mu, t) => {
    const shape = b.shape(xt);
    if (sameShape(shape, x0Shape)) return p.noiseFromX0(xt, x0, mu, t);
    checkBroadcast(x0Shape, shape, 'oracleNoiseModel', 'x0');
    const tiled = repeatBatch(b, x0, shape[0] / x0Shape[0]);
    try {
      return p.noiseFromX0(xt, tiled, mu, t);
    } finally {
      b.dispose(tiled);
    }
  };
}

/** Parameters of {@link gaussianNoiseModel}: clean pixels `x0 ~ N(mean, std^2)`, independent. */
export interface GaussianData<X = Tensor> {
  /** Mean `m` of `x0` (data units): one number, or a tensor `[P, ...]` per pixel (borrowed). */
  readonly mean: number | X;
  /** Standard deviation `s >= 0` of `x0` (data units): one number, or a tensor `[P, ...]` per pixel (borrowed). */
  readonly std: number | X;
}

/**
 * The exact noise predictor `E[eps | x_t]` when every clean pixel is independent Gaussian,
 * `x0 ~ N(m, s^2)`. Derivation: `x_t = mu + B (x0 - mu) + sigmaBar_t z` with `B = exp(-Theta_t dt)`
 * (DenoisingSDE: `mu = 0`, `B = 1`), so `x_t` is Gaussian with mean `M = mu + B (m - mu)` and
 * variance `V = B^2 s^2 + sigmaBar_t^2`, and `Cov(z, x_t) = sigmaBar_t`, hence
 * `E[z | x_t] = sigmaBar_t (x_t - M) / V`. The probability-flow ODE it drives is solved exactly
 * by `x_u = M_u + sqrt(V_u / V_u') (x_u' - M_u')` (a test of ODE solvers).
 *
 * A sampler driven by it should produce draws with per-pixel mean `m` and variance `s^2` (the
 * restorations' spread given `mu` is `s`: use it to check uncertainty maps). `s = 0` makes it
 * the oracle for `x0 = m`.
 *
 * Numbers `m`, `s` run on the backend (one linear combination); tensor parameters `[P, ...]`
 * (per pixel, batch `P` dividing the state's, item `j` using row `j mod P`) are evaluated on the
 * host: one download and one upload per call.
 * @returns a synchronous {@link NoiseModel}; each call returns a new tensor.
 */
export function gaussianNoiseModel<X>(sde: DiffusionSDE<X>, data: GaussianData<X>): NoiseModel<X, X | null> {
  const p = processOf(sde, 'gaussianNoiseModel');
  const b = sde.backend;
  const coefs = (t: number): { B: number; sb: number } => {
    const u = p.uAt(t);
    return { B: p.decay(u), sb: Number.isInteger(t) ? p.sigmaBar[t] : p.sigmaBarAtU(u) };
  };
  const where = 'gaussianNoiseModel';
  if (data === null || typeof data !== 'object') throw new TypeError(`${where}: expected { mean, std }, got ${String(data)}`);
  const { mean, std } = data;
  if (typeof mean === 'number' && !Number.isFinite(mean)) throw new RangeError(`${where}: mean must be finite, got ${mean}`);
  if (typeof std === 'number' && !(Number.isFinite(std) && std >= 0)) throw new RangeError(`${where}: std must be a finite number >= 0, got ${std}`);
  if (mean === undefined || mean === null || std === undefined || std === null) throw new TypeError(`${where}: both mean and std are required`);

  if (typeof mean === 'number' && typeof std === 'number') {
    return (xt, mu, t) => {
      const { B, sb } = coefs(t);
      const k = sb / (B * B * std * std + sb * sb);
      if (mu === null) return b.linear([[xt, k]], -k * B * mean);
      // eps = k (x_t - mu) - k B (m - mu) = k d + k B mu - k B m
      return b.tidy(() => {
        const d = b.linear([
          [xt, 1],
          [mu, -1],
        ]);
        const res = b.linear(
          [
            [d, k],
            [mu, k * B],
          ],
          -k * B * mean,
        );
        b.dispose(d);
        return res;
      });
    };
  }

  // Host path: per-pixel parameters read once.
  const param = (v: number | X, name: string): { data: Float32Array | null; value: number; shape: number[] | null } => {
    if (typeof v === 'number') return { data: null, value: v, shape: null };
    const arr = b.toArray(v);
    if (name === 'std' && arr.some((s) => !(Number.isFinite(s) && s >= 0))) throw new RangeError(`${where}: std must be finite and >= 0 everywhere`);
    if (name === 'mean' && arr.some((s) => !Number.isFinite(s))) throw new RangeError(`${where}: mean must be finite everywhere`);
    return { data: arr, value: 0, shape: b.shape(v) };
  };
  const m = param(mean, 'mean');
  const s = param(std, 'std');
  return (xt, mu, t) => {
    const shape = b.shape(xt);
    if (m.shape) checkBroadcast(m.shape, shape, where, 'mean');
    if (s.shape) checkBroadcast(s.shape, shape, where, 'std');
    const { B, sb } = coefs(t);
    const xa = b.toArray(xt);
    const ma = mu === null ? new Float32Array(xa.length) : b.toArray(mu);
    const out = new Float32Array(xa.length);
    const mData = m.data;
    const sData = s.data;
    for (let j = 0; j < xa.length; j++) {
      const mj = mData ? mData[j % mData.length] : m.value;
      const sj = sData ? sData[j % sData.length] : s.value;
      out[j] = (sb * (xa[j] - ma[j] - B * (mj - ma[j]))) / (B * B * sj * sj + sb * sb);
    }
    return b.fromArray(out, shape);
  };
}
