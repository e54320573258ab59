import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DenoisingSDE, MeanRevertingSDE, Rng, from255 } from '../src/index.js';
import { HostTensor, hostBackend, mlLoss, noiseMatchingLoss, tfjsBackend } from '../src/advanced.js';
import { useCpu } from './helpers/backends.js';
import { flat, flat64, loadJson } from './helpers/goldens.js';

beforeAll(useCpu);

const CFG = { T: 100, maxSigma: from255(75), schedule: 'cosine' } as const;

function meanVar(a: Float32Array): { mean: number; variance: number } {
  let m = 0;
  for (const v of a) m += v;
  m /= a.length;
  let v2 = 0;
  for (const v of a) v2 += (v - m) ** 2;
  return { mean: m, variance: v2 / (a.length - 1) };
}

describe('DenoisingSDE: bad input gives one-line errors naming the problem', () => {
  const cases: Array<[string, object, RegExp]> = [
    ['T = 0', { ...CFG, T: 0 }, /DenoisingSDE: T must be an integer >= 1, got 0/],
    ['NaN maxSigma', { ...CFG, maxSigma: NaN }, /DenoisingSDE: maxSigma must be a finite number > 0.*got NaN/],
    ['eps = 1', { ...CFG, eps: 1 }, /DenoisingSDE: eps must be a number in \(0, 1\), got 1/],
    ['unknown schedule', { ...CFG, schedule: 'sigmoid' }, /unknown schedule 'sigmoid'/],
  ];
  it.each(cases)('refuses %s', (_w, cfg, msg) => {
    expect(() => new DenoisingSDE(cfg as never)).toThrow(msg);
  });
  it('defaults: cosine schedule, eps 0.04; config is frozen', () => {
    const sde = new DenoisingSDE({ T: 10, maxSigma: 0.2 });
    expect(sde.config).toEqual({ T: 10, maxSigma: 0.2, eps: 0.04, schedule: 'cosine' });
    expect(Object.isFrozen(sde.config)).toBe(true);
    expect(sde.kind).toBe('denoising');
  });
  it('optimalTimestep: above maxSigma, negative, NaN', () => {
    const sde = new DenoisingSDE(CFG);
    const one = (f: () => unknown, re: RegExp) => {
      let msg = '';
      try {
        f();
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toMatch(re);
      expect(msg).not.toMatch(/\n/);
    };
    one(() => sde.optimalTimestep(from255(80)), /noise level sigma = 0\.31\d* is above the SDE's maxSigma = 0\.294/);
    one(() => sde.optimalTimestep(25), /is above the SDE's maxSigma.*use from255\(25\)/);
    one(() => sde.optimalTimestep(-0.01), /sigma must be a finite number >= 0.*got -0\.01/);
    one(() => sde.optimalTimestep(NaN), /sigma must be a finite number >= 0.*got NaN/);
    one(() => sde.optimalReverseMean(hostBackend.randomNormal([2, 3], new Rng(1)) as never, hostBackend.randomNormal([2, 4], new Rng(1)) as never, 3), /x0 has shape \[2,4\] but xt has shape \[2,3\]/);
  });
  it('methods check t like the mean-reverting SDE', () => {
    const sde = new DenoisingSDE(CFG, hostBackend);
    const x = hostBackend.randomNormal([2, 3], new Rng(1));
    expect(() => sde.x0FromNoise(x, x, 0)).toThrow(/DenoisingSDE.x0FromNoise: t must be an integer in 1..100, got 0/);
    expect(() => sde.noiseFromX0(x, x, [1, 2, 3])).toThrow(/batched t has 3 entries but the batch axis has size 2/);
    expect(() => sde.optimalReverseMean(x, x, 5, 5)).toThrow(/s must satisfy 0 <= s < t, got s = 5 with t = 5/);
  });
});

describe('DenoisingSDE: optimalTimestep', () => {
  for (const cfg of [CFG, { T: 1000, maxSigma: from255(50), schedule: 'linear' } as const]) {
    it(`${cfg.schedule} T=${cfg.T}: recovers t from sigmaBar_t, 0 for sigma 0, T at maxSigma, monotone`, () => {
      const sde = new DenoisingSDE(cfg);
      const sb = sde.sigmaBars;
      for (let t = 1; t <= cfg.T; t++) expect(sde.optimalTimestep(sb[t])).toBe(t);
      expect(sde.optimalTimestep(0)).toBe(0);
      expect(sde.optimalTimestep(cfg.maxSigma)).toBe(cfg.T);
      let prev = 0;
      for (let v = 0; v <= 255 * cfg.maxSigma; v += 0.5) {
        const t = sde.optimalTimestep(from255(v));
        expect(t).toBeGreaterThanOrEqual(prev);
        prev = t;
      }
    });
  }
});

describe('DenoisingSDE: exact posterior jumps', () => {
  const sde = new DenoisingSDE(CFG, hostBackend);
  const N = 40_000;
  it('a posterior jump t -> s from x_t ~ N(x0, sigmaBar_t^2) lands on N(x0, sigmaBar_s^2)', () => {
    const rng = new Rng(3);
    const x0 = new HostTensor(new Float32Array(N).fill(0.4), [N, 1]);
    for (const [t, s] of [
      [100, 30],
      [60, 59],
      [40, 1],
    ]) {
      const xt = sde.sampleMarginal(x0, t, rng);
      const mean = sde.optimalReverseMean(xt, x0, t, s);
      const xs = hostBackend.linear([[mean, 1], [hostBackend.randomNormal([N, 1], rng), sde.optimalReverseStd(t, s)]]);
      const { mean: m, variance } = meanVar(xs.data);
      const sb = sde.sigmaBar(s);
      expect(Math.abs(m - 0.4), `mean ${t}->${s}`).toBeLessThan((5 * sb) / Math.sqrt(N));
      expect(Math.abs(variance - sb * sb), `variance ${t}->${s}`).toBeLessThan(5 * sb * sb * Math.sqrt(2 / (N - 1)));
    }
  });
  it('jump coefficients: s = t - 1 is the reference one-step formula; s = 0 returns x0; jumps compose', () => {
    const r = new Rng(5);
    const x0 = hostBackend.randomNormal([3, 7], r);
    const xt = hostBackend.randomNormal([3, 7], r);
    const step = sde.optimalReverseMean(xt, x0, 50);
    const explicit = sde.optimalReverseMean(xt, x0, 50, 49);
    expect(Math.max(...step.data.map((v, i) => Math.abs(v - explicit.data[i])))).toBeLessThan(1e-6);
    const toZero = sde.optimalReverseMean(xt, x0, 50, 0);
    expect(Math.max(...toZero.data.map((v, i) => Math.abs(v - x0.data[i])))).toBeLessThan(1e-7);
    // Posterior means compose: E[x_10 | x_50] = E[E[x_10 | x_30] | x_50].
    const direct = sde.optimalReverseMean(xt, x0, 50, 10);
    const twice = sde.optimalReverseMean(sde.optimalReverseMean(xt, x0, 50, 30), x0, 30, 10);
    expect(Math.max(...direct.data.map((v, i) => Math.abs(v - twice.data[i])))).toBeLessThan(1e-6);
  });
  it('forward Euler–Maruyama simulation from x0 matches N(x0, sigmaBar_t^2) (T = 1000)', () => {
    const fine = new DenoisingSDE({ T: 1000, maxSigma: 0.2 }, hostBackend);
    const rng = new Rng(9);
    const n = 20_000;
    const x0 = new HostTensor(new Float32Array(n).fill(0.7), [n, 1]);
    let x = x0;
    for (let t = 1; t <= 500; t++) x = fine.forwardStep(x, x0, t, rng);
    const { mean, variance } = meanVar(x.data);
    const sb = fine.sigmaBar(500);
    expect(Math.abs(mean - 0.7)).toBeLessThan((5 * sb) / Math.sqrt(n));
    expect(Math.abs(variance - sb * sb)).toBeLessThan(5 * sb * sb * Math.sqrt(2 / (n - 1)));
  });
});

describe('DenoisingSDE: the ML training objective (denoising_model.optimize_parameters)', () => {
  const g = loadJson('goldens/denoising_sde_public.json');
  it('equals mean |reverse_sde_step_mean - reverse_optimum_step| of the float64 reference', () => {
    for (const cfg of g.configs) {
      const sde = new DenoisingSDE({ T: cfg.T, maxSigma: cfg.max_sigma_effective, schedule: cfg.schedule }, hostBackend);
      const mk = (k: string) => new HostTensor(flat(g.inputs[k]), g.shape);
      for (const st of cfg.steps) {
        // A noise prediction whose score is the golden `score` input.
        const noisePred = sde.noiseFromScore(mk('score'), st.t);
        const got = (mlLoss(sde, { xt: mk('xt'), x0: mk('x0'), noisePred, t: st.t }) as HostTensor).data[0];
        const a = flat64(st.reverse_sde_step_mean);
        const b = flat64(st.reverse_optimum_step);
        let want = 0;
        for (let i = 0; i < a.length; i++) want += Math.abs(a[i] - b[i]) / a.length;
        expect(Math.abs(got - want) / want, `${cfg.schedule} T=${cfg.T} t=${st.t}`).toBeLessThan(1e-5);
      }
    }
  });
  it('is differentiable on tfjs (with per-sample sigma_t^2 weights); noise matching is zero for the true noise', () => {
    const sde = new DenoisingSDE(CFG);
    const rng = new Rng(2);
    const shape = [3, 4, 4, 1];
    const x0 = tfjsBackend.randomNormal(shape, rng);
    const z = tfjsBackend.randomNormal(shape, rng);
    const t = [1, 40, 100];
    const xt = sde.sampleMarginal(x0, t, z);
    expect((noiseMatchingLoss(sde, { xt, x0, noisePred: z, t }) as tf.Tensor).dataSync()[0]).toBeLessThan(1e-4); // float32 rounding of x0 + sigmaBar_1 z, divided by sigmaBar_1 = 0.004
    const w = tf.variable(tf.zeros(shape));
    const { value, grads } = tf.variableGrads(() => mlLoss(sde, { xt, x0, noisePred: tf.add(w, z), t }, { norm: 'l2', weights: sde.weights(t) }) as tf.Scalar, [w]);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expect(tf.sum(tf.abs(grads[w.name])).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x0, z, xt, w, value, ...Object.values(grads)]);
  });
  it('refuses inputs of the wrong kind', () => {
    const dn = new DenoisingSDE(CFG, hostBackend);
    const mr = new MeanRevertingSDE({ T: 100, maxSigma: 0.1 }, hostBackend);
    const x = hostBackend.randomNormal([2, 3], new Rng(1));
    expect(() => mlLoss(dn, { xt: x, x0: x, noisePred: x, t: 3, cond: x } as never)).toThrow(/mlLoss: a DenoisingSDE is unconditional and takes no mu/);
    expect(() => noiseMatchingLoss(mr, { xt: x, x0: x, noisePred: x, t: 3 } as never)).toThrow(/noiseMatchingLoss: a MeanRevertingSDE needs mu/);
    expect(() => mlLoss({} as never, { xt: x, x0: x, noisePred: x, t: 3 } as never)).toThrow(/mlLoss: sde must be a MeanRevertingSDE or a DenoisingSDE/);
  });
});

describe('DenoisingSDE: tfjs methods leak nothing', () => {
  it('every tensor method returns exactly one new tensor', () => {
    const sde = new DenoisingSDE({ T: 50, maxSigma: 0.2 });
    const rng = new Rng(9);
    const shape = [2, 4, 4, 3];
    const [x, x0, s] = [0, 1, 2].map(() => tfjsBackend.randomNormal(shape, rng));
    const calls: Array<() => tf.Tensor> = [
      () => sde.muBar(x0, 3),
      () => sde.drift(x, x0, [3, 4]),
      () => sde.dispersion(x, 3, rng),
      () => sde.forwardStep(x, x0, 3, rng),
      () => sde.reverseSdeDrift(x, s, 3),
      () => sde.reverseOdeDrift(x, s, 3),
      () => sde.reverseSdeStepMean(x, s, 3),
      () => sde.reverseSdeStep(x, s, 3, rng),
      () => sde.reverseSdeStep(x, s, [3, 5], s),
      () => sde.reverseOdeStep(x, s, 3),
      () => sde.optimalReverseMean(x, x0, 9, 2),
      () => sde.x0FromNoise(x, s, 3),
      () => sde.x0FromScore(x, s, 3),
      () => sde.noiseFromX0(x, x0, 3),
      () => sde.scoreFromX0(x, x0, 3),
      () => sde.scoreFromNoise(s, 3),
      () => sde.noiseFromScore(s, 3),
      () => sde.sampleMarginal(x0, [1, 50], rng),
      () => mlLoss(sde, { xt: x, x0, noisePred: s, t: [1, 2] }, { weights: [1, 2] }),
      () => noiseMatchingLoss(sde, { xt: x, x0, noisePred: s, t: 5 }, { norm: 'l2' }),
    ];
    for (const call of calls) {
      const before = tf.memory().numTensors;
      const out = call();
      expect(tf.memory().numTensors).toBe(before + 1);
      out.dispose();
    }
    tf.dispose([x, x0, s]);
  });
});
