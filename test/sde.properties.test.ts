import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MeanRevertingSDE, Rng } from '../src/index.js';
import { HostTensor, hostBackend, mlLoss, noiseMatchingLoss, tfjsBackend } from '../src/advanced.js';
import { HostBackend } from '../src/backend/host.js';
import { BACKENDS, useCpu } from './helpers/backends.js';

beforeAll(useCpu);

const CONFIGS = [
  { T: 100, maxSigma: 10 / 255, schedule: 'cosine', eps: 0.005 },
  { T: 100, maxSigma: 50 / 255, schedule: 'linear', eps: 0.01 },
  { T: 1000, maxSigma: 50 / 255, schedule: 'cosine', eps: 0.005 },
  { T: 20, maxSigma: 0.3, schedule: 'constant', eps: 0.05 },
] as const;

function meanVar(a: Float32Array): { mean: number; variance: number } {
  let m = 0;
  for (const v of a) m += v;
  m /= a.length;
  let v2 = 0;
  for (const v of a) v2 += (v - m) ** 2;
  return { mean: m, variance: v2 / (a.length - 1) };
}

describe('Euler–Maruyama forward simulation matches the closed-form marginal', () => {
  // T = 1000 keeps theta_t dt <= 0.011, so the Euler bias in the mean, (x0 - mu) B sum (theta dt)^2 / 2,
  // and in the variance stay far below the Monte Carlo standard errors asserted against.
  const sde = new MeanRevertingSDE({ T: 1000, maxSigma: 0.2, schedule: 'cosine', eps: 0.005 }, hostBackend);
  const N = 20_000;
  it('mean and variance at t = 100, 500, 900 within 5 standard errors', () => {
    const rng = new Rng(7);
    const x0v = 0.8;
    const muv = 0.2;
    const x0 = new HostTensor(new Float32Array(N).fill(x0v), [N, 1]);
    const mu = new HostTensor(new Float32Array(N).fill(muv), [N, 1]);
    let x = x0;
    for (let t = 1; t <= 900; t++) {
      x = sde.forwardStep(x, mu, t, rng);
      if (t === 100 || t === 500 || t === 900) {
        const { mean, variance } = meanVar(x.data);
        const wantMean = muv + (x0v - muv) * sde.meanDecay(t);
        const sb = sde.sigmaBar(t);
        const seMean = sb / Math.sqrt(N);
        // Var of the sample variance of a Gaussian: 2 sigma^4 / (N - 1).
        const seVar = sb * sb * Math.sqrt(2 / (N - 1));
        expect(Math.abs(mean - wantMean), `mean at t=${t}`).toBeLessThan(5 * seMean);
        expect(Math.abs(variance - sb * sb), `variance at t=${t}`).toBeLessThan(5 * seVar);
      }
    }
  });

  it('sampleMarginal draws have the closed-form moments (tfjs)', () => {
    const tsde = new MeanRevertingSDE({ T: 100, maxSigma: 0.1, schedule: 'linear', eps: 0.01 });
    const x0 = tf.fill([4, 50, 50, 1], 0.7);
    const mu = tf.fill([4, 50, 50, 1], 0.1);
    const xt = tsde.sampleMarginal(x0, mu, 30, new Rng(3));
    const { mean, variance } = meanVar(xt.dataSync() as Float32Array);
    const n = 10_000;
    const sb = tsde.sigmaBar(30);
    expect(Math.abs(mean - (0.1 + 0.6 * tsde.meanDecay(30)))).toBeLessThan((5 * sb) / Math.sqrt(n));
    expect(Math.abs(variance - sb * sb)).toBeLessThan(5 * sb * sb * Math.sqrt(2 / (n - 1)));
    tf.dispose([x0, mu, xt]);
  });
});

describe('jump formulas', () => {
  for (const cfg of CONFIGS) {
    const sde = new MeanRevertingSDE(cfg, hostBackend);
    const label = `${cfg.schedule} T=${cfg.T}`;
    const cs = sde.thetasCumsum;
    it(`${label}: Theta_t - Theta_{t-1} = theta_t, Theta_0 = 0, sigmaBar_T^2 = lambda^2 (1 - eps^2)`, () => {
      const th = sde.thetas;
      expect(cs[0]).toBe(0);
      for (let t = 1; t <= cfg.T; t++) expect(Math.abs(cs[t] - cs[t - 1] - th[t])).toBeLessThan(1e-12 * cs[cfg.T]);
      expect(sde.meanDecay(cfg.T)).toBeCloseTo(cfg.eps, 12);
      expect(sde.sigmaBar(cfg.T) ** 2).toBeCloseTo(cfg.maxSigma ** 2 * (1 - cfg.eps ** 2), 12);
    });

    it(`${label}: the jump formula with s = t-1 equals the one-step formula`, () => {
      const shape = [1, 64];
      const rng = new Rng(1);
      const xt = hostBackend.randomNormal(shape, rng);
      const x0 = hostBackend.randomNormal(shape, rng);
      const mu = hostBackend.randomNormal(shape, rng);
      for (const t of [1, 2, Math.floor(cfg.T / 3), cfg.T - 1, cfg.T]) {
        const one = sde.optimalReverseMean(xt, x0, mu, t).data;
        const jump = sde.optimalReverseMean(xt, x0, mu, t, t - 1).data;
        for (let i = 0; i < one.length; i++) expect(Math.abs(one[i] - jump[i])).toBeLessThan(1e-6);
        expect(Math.abs(sde.optimalReverseStd(t) - sde.optimalReverseStd(t, t - 1))).toBeLessThan(1e-9 * cfg.maxSigma);
      }
    });

    it(`${label}: two exact transitions compose into one (forward and posterior)`, () => {
      const rng = new Rng(2);
      const shape = [1, 32];
      const xt = hostBackend.randomNormal(shape, rng);
      const x0 = hostBackend.randomNormal(shape, rng);
      const mu = hostBackend.randomNormal(shape, rng);
      const T = cfg.T;
      for (const [t, s, r] of [
        [T, Math.floor(T / 2), Math.floor(T / 5)],
        [Math.floor(T / 2), Math.floor(T / 2) - 1, 0],
        [7, 3, 1],
      ]) {
        // Forward: decays multiply, variances add as Var(t|r) = Var(t|s) + decay(t,s)^2 Var(s|r).
        expect(sde.meanDecay(t, s) * sde.meanDecay(s, r)).toBeCloseTo(sde.meanDecay(t, r), 12);
        const v = sde.transitionStd(t, s) ** 2 + sde.meanDecay(t, s) ** 2 * sde.transitionStd(s, r) ** 2;
        expect(v / sde.transitionStd(t, r) ** 2).toBeCloseTo(1, 10);
        // Posterior: E[x_r | x_t] = E[ E[x_r | x_s] | x_t ] (the mean is linear in x_s).
        const viaS = sde.optimalReverseMean(sde.optimalReverseMean(xt, x0, mu, t, s), x0, mu, s, r).data;
        const direct = sde.optimalReverseMean(xt, x0, mu, t, r).data;
        for (let i = 0; i < direct.length; i++) expect(Math.abs(viaS[i] - direct[i])).toBeLessThan(1e-5);
        // Posterior variance: Var(x_r|x_t) = Var(x_r|x_s) + cXt(s->r)^2 Var(x_s|x_t); cXt read off the mean.
        if (r > 0) {
          const zero = new HostTensor(new Float32Array(1), [1, 1]);
          const one = new HostTensor(Float32Array.of(1), [1, 1]);
          const cXt = sde.optimalReverseMean(one, zero, zero, s, r).data[0];
          const lhs = sde.optimalReverseStd(t, r) ** 2;
          const rhs = sde.optimalReverseStd(s, r) ** 2 + cXt ** 2 * sde.optimalReverseStd(t, s) ** 2;
          expect(rhs / lhs).toBeCloseTo(1, 5);
        }
      }
    });

    it(`${label}: the optimal reverse chain with the true x0 returns x0 (every step, and in jumps)`, () => {
      const rng = new Rng(3);
      const shape = [2, 3, 8, 8];
      const x0 = hostBackend.randomNormal(shape, rng);
      const mu = hostBackend.randomNormal(shape, rng);
      const start = sde.prior(mu, rng);
      for (const grid of [Array.from({ length: cfg.T }, (_, i) => cfg.T - i), [cfg.T, Math.floor(cfg.T / 2), 1]]) {
        let x = start;
        for (let i = 0; i < grid.length; i++) x = sde.optimalReverseMean(x, x0, mu, grid[i], grid[i + 1] ?? 0);
        for (let i = 0; i < x.size; i++) expect(Math.abs(x.data[i] - x0.data[i])).toBeLessThan(1e-5);
      }
    });

    it(`${label}: x0FromNoise inverts noiseFromX0, scoreFromNoise matches scoreFromX0`, () => {
      const rng = new Rng(4);
      const shape = [2, 40];
      const x0 = hostBackend.randomNormal(shape, rng);
      const mu = hostBackend.randomNormal(shape, rng);
      const t = [Math.max(1, Math.floor(cfg.T / 4)), cfg.T];
      const xt = sde.sampleMarginal(x0, mu, t, rng);
      const eps = sde.noiseFromX0(xt, x0, mu, t);
      const back = sde.x0FromNoise(xt, mu, eps, t);
      for (let i = 0; i < back.size; i++) expect(Math.abs(back.data[i] - x0.data[i])).toBeLessThan(2e-4);
      const s1 = sde.scoreFromNoise(eps, t).data;
      const s2 = sde.scoreFromX0(xt, x0, mu, t).data;
      for (let i = 0; i < s1.length; i++) expect(Math.abs(s1[i] - s2[i]) / (1 + Math.abs(s2[i]))).toBeLessThan(1e-4);
      const n2 = sde.noiseFromScore(sde.scoreFromNoise(eps, t), t).data;
      for (let i = 0; i < n2.length; i++) expect(Math.abs(n2[i] - eps.data[i])).toBeLessThan(1e-5);
    });
  }
});

describe('batched t agrees with per-item scalar t', () => {
  for (const { name, backend } of BACKENDS) {
    it(`on ${name}`, () => {
      const sde = new MeanRevertingSDE({ T: 100, maxSigma: 0.1, schedule: 'cosine', eps: 0.005 }, backend);
      const rng = new Rng(5);
      const shape = [3, 2, 2, 3];
      const xt = backend.randomNormal(shape, rng);
      const x0 = backend.randomNormal(shape, rng);
      const mu = backend.randomNormal(shape, rng);
      const sc = backend.randomNormal(shape, rng);
      const ts = [1, 37, 100];
      const per = 12;
      const cases: Array<[string, (t: any) => any]> = [
        ['muBar', (t) => sde.muBar(x0, mu, t)],
        ['drift', (t) => sde.drift(xt, mu, t)],
        ['reverseOdeStep', (t) => sde.reverseOdeStep(xt, mu, sc, t)],
        ['optimalReverseMean', (t) => sde.optimalReverseMean(xt, x0, mu, t)],
        ['x0FromNoise', (t) => sde.x0FromNoise(xt, mu, sc, t)],
        ['scoreFromX0', (t) => sde.scoreFromX0(xt, x0, mu, t)],
      ];
      for (const [what, f] of cases) {
        const batched = backend.toArray(f(ts));
        ts.forEach((t, i) => {
          const single = backend.toArray(f(t)).subarray(i * per, (i + 1) * per);
          const got = batched.subarray(i * per, (i + 1) * per);
          for (let j = 0; j < per; j++) expect(Math.abs(got[j] - single[j]), `${what} item ${i}`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(single[j])));
        });
      }
      expect(Array.from(sde.sigmaBar(ts) as Float64Array)).toEqual(ts.map((t) => sde.sigmaBar(t)));
    });
  }
});

describe('losses', () => {
  const sde = new MeanRevertingSDE({ T: 100, maxSigma: 0.1, schedule: 'cosine', eps: 0.005 });
  const rng = new Rng(11);
  const shape = [3, 4, 4, 2];
  const mk = () => tf.tensor(rng.normal(shape), shape);

  for (const norm of ['l1', 'l2'] as const) {
    it(`${norm}: gradient w.r.t. noisePred matches central finite differences`, () => {
      const [xt, x0, mu, eps] = [mk(), mk(), mk(), mk()];
      const t = [5, 50, 100];
      const weights = [0.5, 1, 2];
      const f = (p: tf.Tensor) => mlLoss(sde, { xt, x0, cond: mu, noisePred: p, t }, { norm, weights }) as tf.Scalar;
      const g = tf.grad(f)(eps);
      const gv = g.dataSync();
      // Finite differences in float64 on the host backend (same maths, float64 accumulation).
      const h = 1e-3;
      const host = new MeanRevertingSDE(sde.config, hostBackend);
      const hv = (a: tf.Tensor) => new HostTensor(a.dataSync() as Float32Array, shape);
      const base = eps.dataSync() as Float32Array;
      let maxErr = 0;
      let maxG = 0;
      for (const idx of [0, 7, 31, 40, 77, 95]) {
        const plus = base.slice();
        plus[idx] += h;
        const minus = base.slice();
        minus[idx] -= h;
        const lossAt = (p: Float32Array) =>
          (mlLoss(host, { xt: hv(xt), x0: hv(x0), cond: hv(mu), noisePred: new HostTensor(p, shape), t }, { norm, weights }) as HostTensor).data[0];
        const fd = (lossAt(plus) - lossAt(minus)) / (2 * h);
        maxErr = Math.max(maxErr, Math.abs(fd - gv[idx]));
        maxG = Math.max(maxG, Math.abs(gv[idx]));
      }
      expect(maxG).toBeGreaterThan(0);
      expect(maxErr / maxG).toBeLessThan(2e-2);
      tf.dispose([xt, x0, mu, eps, g]);
    });
  }

  it('gradients reach variables through mlLoss (tf.variableGrads)', () => {
    const [xt, x0, mu] = [mk(), mk(), mk()];
    const w = tf.variable(tf.fill(shape, 0.3));
    const { value, grads } = tf.variableGrads(() => mlLoss(sde, { xt, x0, cond: mu, noisePred: tf.mul(w, xt), t: 10 }) as tf.Scalar, [w]);
    const gsum = tf.sum(tf.abs(grads[w.name]));
    expect(gsum.dataSync()[0]).toBeGreaterThan(0);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    tf.dispose([xt, x0, mu, w, value, gsum, ...Object.values(grads)]);
  });

  it('the noise-matching loss is zero for the true noise and reduces per sample, then weighted mean', () => {
    const h = new MeanRevertingSDE(sde.config, hostBackend);
    const x0 = hostBackend.randomNormal(shape, rng);
    const mu = hostBackend.randomNormal(shape, rng);
    const t = [3, 30, 90];
    const z = hostBackend.randomNormal(shape, rng);
    const xt = h.sampleMarginal(x0, mu, t, z);
    const zero = (noiseMatchingLoss(h, { xt, x0, cond: mu, noisePred: z, t }) as HostTensor).data[0];
    expect(zero).toBeLessThan(1e-3);
    const off = hostBackend.linear([[z, 1]], Float64Array.of(1, 2, 3));
    const l1 = (noiseMatchingLoss(h, { xt, x0, cond: mu, noisePred: off, t }) as HostTensor).data[0];
    expect(l1).toBeCloseTo((1 + 2 + 3) / 3, 3);
    const l2w = (noiseMatchingLoss(h, { xt, x0, cond: mu, noisePred: off, t }, { norm: 'l2', weights: [1, 0, 0.5] }) as HostTensor).data[0];
    expect(l2w).toBeCloseTo((1 + 0 + 0.5 * 9) / 3, 3);
  });

  it('bad loss options are refused clearly', () => {
    const h = new MeanRevertingSDE(sde.config, new HostBackend());
    const x = hostBackend.randomNormal([2, 3], rng);
    expect(() => mlLoss(h, { xt: x, x0: x, cond: x, noisePred: x, t: 3 }, { norm: 'l3' as 'l1' })).toThrow(/norm must be 'l1' or 'l2'/);
    expect(() => mlLoss(h, { xt: x, x0: x, cond: x, noisePred: x, t: 3 }, { weights: [1] })).toThrow(/weights has 1 entries but the batch axis has size 2/);
  });
});

describe('memory: tfjs methods leak nothing', () => {
  it('every tensor method returns exactly one new tensor', () => {
    const sde = new MeanRevertingSDE({ T: 50, maxSigma: 0.1 });
    const rng = new Rng(9);
    const shape = [2, 4, 4, 3];
    const [x, x0, mu, s] = [0, 1, 2, 3].map(() => tfjsBackend.randomNormal(shape, rng));
    const calls: Array<() => tf.Tensor> = [
      () => sde.muBar(x0, mu, 3),
      () => sde.drift(x, mu, [3, 4]),
      () => sde.dispersion(x, 3, rng),
      () => sde.forwardStep(x, mu, 3, rng),
      () => sde.reverseSdeDrift(x, mu, s, 3),
      () => sde.reverseOdeDrift(x, mu, s, 3),
      () => sde.reverseSdeStepMean(x, mu, s, 3),
      () => sde.reverseSdeStep(x, mu, s, 3, rng),
      () => sde.reverseSdeStep(x, mu, s, 3, s),
      () => sde.reverseOdeStep(x, mu, s, 3),
      () => sde.optimalReverseMean(x, x0, mu, 9, 2),
      () => sde.x0FromNoise(x, mu, s, 3),
      () => sde.noiseFromX0(x, x0, mu, 3),
      () => sde.scoreFromX0(x, x0, mu, 3),
      () => sde.scoreFromNoise(s, 3),
      () => sde.noiseFromScore(s, 3),
      () => sde.sampleMarginal(x0, mu, [1, 50], rng),
      () => sde.exactTransition(x, mu, 9, 4, rng),
      () => sde.prior(mu, rng),
      () => mlLoss(sde, { xt: x, x0, cond: mu, noisePred: s, t: [1, 2] }, { weights: [1, 2] }),
      () => noiseMatchingLoss(sde, { xt: x, x0, cond: mu, noisePred: s, t: 5 }, { norm: 'l2' }),
    ];
    for (const call of calls) {
      const before = tf.memory().numTensors;
      const out = call();
      expect(tf.memory().numTensors).toBe(before + 1);
      out.dispose();
    }
    tf.dispose([x, x0, mu, s]);
  });
});
