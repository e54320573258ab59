import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DenoisingSDE,
  HostTensor,
  MeanRevertingSDE,
  Rng,
  from255,
  gaussianNoiseModel,
  hostBackend,
  odeJump,
  oracleNoiseModel,
  posteriorJump,
  restore,
  samplers,
  sdeJump,
  tfjsBackend,
  tiledNoiseModel,
  timesteps,
  type NoiseModel,
  type TensorBackend,
} from '../src/advanced.js';
import { BACKENDS, useCpu } from './helpers/backends.js';

/*
 * The sampler tests of the mean-reverting SDE (sampling.oracle / sampling.gaussian), for the
 * DenoisingSDE: the model gets cond = null, restoration starts at the noisy image itself.
 */
beforeAll(useCpu);

const CFG = { T: 100, maxSigma: from255(75), schedule: 'cosine' } as const;

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
function rms(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}
function scene<X>(b: TensorBackend<X>): { x0: X; x0a: Float32Array; shape: number[] } {
  const shape = [2, 6, 5, 3];
  const n = shape.reduce((a, c) => a * c, 1);
  const x0a = Float32Array.from({ length: n }, (_, i) => 0.5 + 0.4 * Math.sin(0.37 * i));
  return { x0: b.fromArray(x0a, shape), x0a, shape };
}

describe.each(BACKENDS)('DenoisingSDE: posterior sampler with the x0 oracle returns x0 ($name)', ({ backend }) => {
  const sde = new DenoisingSDE(CFG, backend);
  const lists: Array<[string, number[]]> = [
    ['all 60 steps', timesteps(60, 60)],
    ['10 linspace steps', timesteps(60, 10)],
    ['5 trailing steps', timesteps(60, 5, 'trailing')],
    ['one jump 60 -> 0', [60]],
  ];
  for (const eta of [1, 0.5, 0]) {
    it.each(lists)(`eta = ${eta}, %s`, async (_name, steps) => {
      const { x0, x0a } = scene(backend);
      const noisy = sde.sampleMarginal(x0, 60, new Rng(2));
      const out = await restore({ sde, model: oracleNoiseModel(sde, x0), lq: noisy, start: 60, sampler: 'posterior', eta, steps, seed: 11 });
      expect(maxAbs(backend.toArray(out), x0a)).toBeLessThan(1e-5);
      backend.dispose([out, x0, noisy]);
    });
  }
});

describe('DenoisingSDE: sde and ode samplers with the x0 oracle approach x0; convergence order', () => {
  const sde = new DenoisingSDE(CFG, hostBackend);
  const N = 2000;
  const x0 = new HostTensor(Float32Array.from(new Rng(1).uniform([1, N])), [1, N]);
  const model = oracleNoiseModel(sde, x0);
  const noisy = sde.sampleMarginal(x0, 100, new Rng(5));

  it('ode (Euler, the reference reverse_ode): error shrinks with the number of steps', async () => {
    const e: number[] = [];
    for (const K of [5, 10, 25, 100]) e.push(rms((await restore({ sde, model, lq: noisy, start: 100, sampler: 'ode', steps: K })).data, x0.data));
    for (let i = 1; i < e.length; i++) expect(e[i], `errors ${e}`).toBeLessThan(0.7 * e[i - 1]);
    // The last Euler step 1 -> 0 removes about half of the remaining sigmaBar_1 eps (the flow is
    // stiff there, ~ sqrt(u)), which leaves ~sigmaBar_1 / 2 = 2e-3.
    expect(e[3]).toBeLessThan(0.8 * sde.sigmaBar(1));
  });

  it('sde: error shrinks with the last jump down to the final noise sigma_1 sqrt(dt)', async () => {
    const e: number[] = [];
    for (const K of [5, 10, 25, 100]) e.push(rms((await restore({ sde, model, lq: noisy, start: 100, sampler: 'sde', steps: K, spacing: 'trailing', seed: 3 })).data, x0.data));
    for (let i = 1; i < e.length; i++) expect(e[i], `errors ${e}`).toBeLessThan(0.75 * e[i - 1]);
    const floor = sde.sigmas[1] * Math.sqrt(sde.dt);
    expect(e[3]).toBeGreaterThan(0.8 * floor);
    expect(e[3]).toBeLessThan(1.3 * floor);
  });

  it('convergence order of the probability-flow ODE: Euler ~1, Heun ~2', async () => {
    // Exact oracle flow for the DenoisingSDE: x_s = x0 + sigmaBar_s eps_T.
    const epsT = sde.noiseFromX0(noisy, x0, 100);
    const exact = sde.sampleMarginal(x0, 20, epsT);
    const counts = [4, 5, 8, 10, 16, 20, 40, 80];
    const order = async (name: 'ode' | 'heun') => {
      const errors: number[] = [];
      for (const n of counts) {
        const stride = 80 / n;
        const list = Array.from({ length: n + 1 }, (_, k) => 100 - k * stride).concat([10]);
        let err = NaN;
        await samplers[name](sde, model, noisy, null, list, {
          callback: ({ s, x }) => {
            if (s === 20) err = rms((x as HostTensor).data, exact.data);
          },
        });
        errors.push(err);
      }
      const lx = counts.map(Math.log);
      const ly = errors.map(Math.log);
      const mx = lx.reduce((a, b) => a + b) / lx.length;
      const my = ly.reduce((a, b) => a + b) / ly.length;
      const slope = lx.reduce((a, x, i) => a + (x - mx) * (ly[i] - my), 0) / lx.reduce((a, x) => a + (x - mx) ** 2, 0);
      return { slope: -slope, errors };
    };
    const euler = await order('ode');
    const heun = await order('heun');
    console.log(`DenoisingSDE probability-flow ODE convergence order (oracle, T=100 cosine): Euler ${euler.slope.toFixed(2)}, Heun ${heun.slope.toFixed(2)}`);
    expect(euler.slope).toBeGreaterThan(0.85);
    expect(euler.slope).toBeLessThan(1.25);
    expect(heun.slope).toBeGreaterThan(1.75);
    expect(heun.slope).toBeLessThan(2.5);
  });
});

describe('DenoisingSDE: samplers driven by the exact Gaussian predictor reproduce N(m, s^2)', () => {
  const m = 0.5;
  const s = 0.15;
  const sde = new DenoisingSDE({ T: 1000, maxSigma: 0.3, schedule: 'cosine' }, hostBackend);
  const model = gaussianNoiseModel(sde, { mean: m, std: s });
  const N = 4000;
  // A draw from the marginal at T: x_T = x0 + sigmaBar_T z with x0 ~ N(m, s^2).
  const r = new Rng(1);
  const xT = new HostTensor(Float32Array.from(r.normal([1, N]), (v, j) => m + s * v + sde.sigmaBar(1000) * r.normal([1, N])[j]), [1, N]);
  const seMean = s / Math.sqrt(N);
  const seVar = s * s * Math.sqrt(2 / (N - 1));
  it.each([['sde'], ['ode'], ['heun'], ['posterior']] as const)('%s over all T steps: mean and variance within 5 SE', async (sampler) => {
    const out = await restore({ sde, model, lq: xT, start: 1000, sampler, seed: 3 });
    let mm = 0;
    for (const v of out.data) mm += v / N;
    let q = 0;
    for (const v of out.data) q += (v - mm) ** 2 / (N - 1);
    expect(Math.abs(mm - m), `mean ${mm}`).toBeLessThan(5 * seMean);
    expect(Math.abs(q - s * s), `variance ${q}`).toBeLessThan(5 * seVar);
  });
});

describe('DenoisingSDE: restore and the samplers', () => {
  const sde = new DenoisingSDE(CFG, hostBackend);
  const x0 = new HostTensor(Float32Array.from(new Rng(4).uniform([2, 12])), [2, 12]);
  const model = oracleNoiseModel(sde, x0);

  it('the full ode run is the reference loop of reverseOdeStep; default sampler ode, default start T', async () => {
    const noisy = sde.sampleMarginal(x0, 30, new Rng(1));
    const got = await restore({ sde, model, lq: noisy, start: 30 });
    let x = noisy;
    for (let t = 30; t >= 1; t--) x = sde.reverseOdeStep(x, sde.scoreFromNoise(model(x, null, t) as HostTensor, t), t);
    expect(maxAbs(got.data, x.data)).toBe(0);
    const fromT = await restore({ sde, model, lq: noisy });
    let y = noisy;
    for (let t = 100; t >= 1; t--) y = sde.reverseOdeStep(y, sde.scoreFromNoise(model(y, null, t) as HostTensor, t), t);
    expect(maxAbs(fromT.data, y.data)).toBe(0);
  });

  it('the sde run with s = t - 1 is the reference loop of reverseSdeStep', async () => {
    const noisy = sde.sampleMarginal(x0, 20, new Rng(1));
    const got = await samplers.sde(sde, model, noisy, null, timesteps(20, 20), { rng: new Rng(9) });
    const rng = new Rng(9);
    let x = noisy;
    for (let t = 20; t >= 1; t--) x = sde.reverseSdeStep(x, sde.scoreFromNoise(model(x, null, t) as HostTensor, t), t, rng);
    expect(maxAbs(got.data, x.data)).toBe(0);
  });

  it('start = optimalTimestep(sigma); 0 returns a copy; K > start is reduced to start; the model sees cond = null', async () => {
    const noisy = sde.sampleMarginal(x0, 14, new Rng(1));
    const conds: unknown[] = [];
    const ts: number[] = [];
    const watching: NoiseModel<HostTensor, HostTensor | null> = (xt, c, t) => {
      conds.push(c);
      ts.push(t);
      return model(xt, c, t);
    };
    const start = sde.optimalTimestep(from255(15));
    expect(start).toBe(14);
    await restore({ sde, model: watching, lq: noisy, start, steps: 50, sampler: 'posterior', eta: 0 });
    expect(ts).toEqual(timesteps(14, 14));
    expect(conds.every((c) => c === null)).toBe(true);
    const same = await restore({ sde, model: watching, lq: noisy, start: sde.optimalTimestep(0) });
    expect(same).not.toBe(noisy);
    expect(Array.from(same.data)).toEqual(Array.from(noisy.data));
  });

  it('uncertainty (samples: N) and a tiled model work under a DenoisingSDE', async () => {
    const img = new HostTensor(Float32Array.from(new Rng(6).uniform([1, 20 * 20 * 1])), [1, 20, 20, 1]);
    const noisy = sde.sampleMarginal(img, 40, new Rng(7));
    const gauss = gaussianNoiseModel(sde, { mean: 0.5, std: 0.2 });
    const tiled = tiledNoiseModel(gauss as NoiseModel<HostTensor, null>, hostBackend, { tile: 8, overlap: 2 });
    const a = await restore({ sde, model: tiled, lq: noisy, start: 40, steps: 5, sampler: 'posterior', eta: 0 });
    const b = await restore({ sde, model: gauss, lq: noisy, start: 40, steps: 5, sampler: 'posterior', eta: 0 });
    expect(maxAbs(a.data, b.data)).toBeLessThan(1e-6);
    const u = await restore({ sde, model: gauss, lq: noisy, start: 40, steps: 5, sampler: 'posterior', samples: 3, seed: 1 });
    expect(u.std.shape).toEqual([1, 20, 20, 1]);
    expect(Math.max(...u.std.data)).toBeGreaterThan(0);
  });

  it('the wrong kind of SDE, a missing or extra mu, a bad start: one-line errors naming the problem', async () => {
    const mr = new MeanRevertingSDE({ T: 100, maxSigma: 0.1 }, hostBackend);
    const x = x0;
    const eps = hostBackend.randomNormal([2, 12], new Rng(1));
    const one = async (p: Promise<unknown> | (() => unknown), re: RegExp) => {
      let msg = '';
      try {
        await (typeof p === 'function' ? p() : p);
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toMatch(re);
      expect(msg).not.toMatch(/\n/);
    };
    await one(samplers.ode(sde, model, x, x as never, [5]), /sampler 'ode': a DenoisingSDE is unconditional and has no mu; pass null/);
    await one(samplers.posterior(mr, model, x, null, [5], { eta: 0 }), /sampler 'posterior': a MeanRevertingSDE needs mu \(the degraded image, shaped like x\), got null/);
    await one(() => sdeJump(sde, x, x, eps, 5, 2, new Rng(1)), /sdeJump: a DenoisingSDE is unconditional and has no mu/);
    await one(() => odeJump(mr, x, null, eps, 5, 2), /odeJump: a MeanRevertingSDE needs mu/);
    await one(() => posteriorJump({ kind: 'vp' } as never, x, null, eps, 5, 2, 0, undefined), /posteriorJump: sde must be a MeanRevertingSDE or a DenoisingSDE/);
    await one(restore({ sde: mr, model, lq: x, start: 5 }), /restore: start is for a DenoisingSDE; a MeanRevertingSDE always starts from its prior at T/);
    await one(restore({ sde, model, lq: x, start: 101 }), /restore: start must be an integer time index in 0..100 \(e.g. sde.optimalTimestep\(sigma\)\), got 101/);
    await one(restore({ sde, model, lq: x, start: 2.5 }), /start must be an integer time index in 0..100.*got 2.5/);
    await one(restore({ sde: {} as never, model, lq: x }), /restore: sde must be a MeanRevertingSDE or a DenoisingSDE/);
  });

  it('tfjs: nothing leaks for any sampler', async () => {
    const t = new DenoisingSDE(CFG);
    const { x0: tx0 } = scene(tfjsBackend);
    const tm = oracleNoiseModel(t, tx0);
    const noisy = t.sampleMarginal(tx0, 50, new Rng(1));
    const before = tf.memory().numTensors;
    for (const sampler of ['sde', 'ode', 'heun', 'posterior', 'ddim', 'ode-adaptive'] as const) {
      const out = await restore({ sde: t, model: tm, lq: noisy, start: 50, sampler, steps: 10, callback: () => undefined });
      out.dispose();
      expect(tf.memory().numTensors, sampler).toBe(before);
    }
    tf.dispose([tx0, noisy]);
  });
});
