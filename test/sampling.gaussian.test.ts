import { describe, expect, it } from 'vitest';
import { MeanRevertingSDE, Rng, restore, type TensorBackend } from '../src/index.js';
import { HostTensor, gaussianNoiseModel, hostBackend, tfjsBackend } from '../src/advanced.js';
import * as tf from '@tensorflow/tfjs-core';

/*
 * Gaussian data x0 ~ N(m, s^2) per pixel, independent of mu, with its exact noise predictor:
 * every sampler must turn the prior into draws whose per-pixel distribution is N(m, s^2).
 * Bounds are 5 standard errors of the estimator for N independent pixels:
 *   mean: s / sqrt(N);   sample variance: s^2 sqrt(2 / (N - 1)).
 * T = 1000 so the samplers' own discretisation bias stays well below those bounds (measured with
 * N = 100000: |mean bias| < 4e-4 and variance bias within 0.4% (sde), 0.03% (ode), 0.7% (posterior),
 * against 5 SE = 11% of s^2 for N = 4000).
 */
const m = 0.5;
const s = 0.15;

function stats(a: Float32Array): { mean: number; variance: number } {
  let mm = 0;
  for (const v of a) mm += v;
  mm /= a.length;
  let q = 0;
  for (const v of a) q += (v - mm) ** 2;
  return { mean: mm, variance: q / (a.length - 1) };
}

function degraded(n: number, seed: number): HostTensor {
  return new HostTensor(Float32Array.from(new Rng(seed).uniform([1, n])), [1, n]);
}

describe('samplers driven by the exact Gaussian noise predictor reproduce N(m, s^2)', () => {
  const sde = new MeanRevertingSDE({ T: 1000, maxSigma: 0.2, schedule: 'cosine', eps: 0.005 }, hostBackend);
  const model = gaussianNoiseModel(sde, { mean: m, std: s });
  const N = 4000;
  const lq = degraded(N, 1);
  const seMean = s / Math.sqrt(N);
  const seVar = s * s * Math.sqrt(2 / (N - 1));

  it.each([['sde'], ['ode'], ['heun'], ['posterior']] as const)('%s over all T steps: mean and variance within 5 SE', async (sampler) => {
    const out = await restore({ sde, model, lq, sampler, seed: 3 });
    const { mean, variance } = stats(out.data);
    expect(Math.abs(mean - m), `mean ${mean}`).toBeLessThan(5 * seMean);
    expect(Math.abs(variance - s * s), `variance ${variance}`).toBeLessThan(5 * seVar);
  });

  it('posterior with 10 steps: the mean still matches (the variance is known to shrink)', async () => {
    const n = 20000;
    const out = await restore({ sde, model, lq: degraded(n, 2), sampler: 'posterior', steps: 10, seed: 4 });
    const { mean, variance } = stats(out.data);
    expect(Math.abs(mean - m)).toBeLessThan((5 * s) / Math.sqrt(n));
    // Ancestral sampling with x0_hat = E[x0 | x_t] drops cX0^2 Var(x0 | x_t) per step: with 10
    // large jumps the spread is clearly too small. Documented, and asserted so a change is noticed.
    expect(variance).toBeLessThan(0.8 * s * s);
  });
});

describe('gaussianNoiseModel: per-pixel tensor parameters agree with the scalar closed form', () => {
  const cases: Array<[string, TensorBackend<any>]> = [
    ['float32', hostBackend],
    ['tfjs', tfjsBackend],
  ];
  it.each(cases)('%s backend', async (_name, backend) => {
    await tf.setBackend('cpu');
    const sde = new MeanRevertingSDE({ T: 50, maxSigma: 0.1 }, backend);
    const shape = [3, 4, 2];
    const n = 24;
    const r = new Rng(8);
    const xt = backend.fromArray(r.normal([3, 8]), shape);
    const mu = backend.fromArray(r.uniform([3, 8]), shape);
    const scalar = gaussianNoiseModel(sde, { mean: 0.3, std: 0.2 });
    // Parameters given for one item ([1, 4, 2]) broadcast over the batch of 3.
    const mT = backend.fromArray(new Float32Array(8).fill(0.3), [1, 4, 2]);
    const sT = backend.fromArray(new Float32Array(8).fill(0.2), [1, 4, 2]);
    const perPixel = gaussianNoiseModel(sde, { mean: mT, std: sT });
    for (const t of [1, 10, 50]) {
      const a = backend.toArray(scalar(xt, mu, t));
      const b = backend.toArray(perPixel(xt, mu, t));
      // Direct float64 evaluation of sigmaBar (x_t - M) / V.
      const B = sde.meanDecay(t);
      const sb = sde.sigmaBar(t);
      const xa = backend.toArray(xt);
      const ma = backend.toArray(mu);
      for (let j = 0; j < n; j++) {
        const want = (sb * (xa[j] - ma[j] - B * (0.3 - ma[j]))) / (B * B * 0.04 + sb * sb);
        expect(Math.abs(a[j] - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
        expect(Math.abs(b[j] - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
      }
    }
    expect(() => perPixel(backend.fromArray(new Float32Array(6), [1, 3, 2]), backend.fromArray(new Float32Array(6), [1, 3, 2]), 5)).toThrow(
      /mean has shape \[1,4,2\], which does not fit x of shape \[1,3,2\]/,
    );
    expect(() => gaussianNoiseModel(sde, { mean: 0, std: -1 })).toThrow(/std must be a finite number >= 0, got -1/);
  });
});
