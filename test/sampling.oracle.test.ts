import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MeanRevertingSDE, Rng, restore, samplers, timesteps, type TensorBackend } from '../src/index.js';
import { HostTensor, hostBackend, oracleNoiseModel } from '../src/advanced.js';
import { BACKENDS, useCpu } from './helpers/backends.js';

beforeAll(useCpu);

const CFG = { T: 100, maxSigma: 10 / 255, schedule: 'cosine', eps: 0.005 } as const;

/** A clean image in [0, 1] and a degraded version of it, [2, 6, 5, 3] (NHWC). */
function scene<X>(b: TensorBackend<X>): { x0: X; mu: X; x0a: Float32Array } {
  const shape = [2, 6, 5, 3];
  const n = shape.reduce((a, c) => a * c, 1);
  const x0a = Float32Array.from({ length: n }, (_, i) => 0.5 + 0.4 * Math.sin(0.37 * i));
  const mua = Float32Array.from(x0a, (v, i) => 0.8 * v + 0.1 + 0.05 * Math.cos(1.3 * i));
  return { x0: b.fromArray(x0a, shape), mu: b.fromArray(mua, shape), x0a };
}

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

describe.each(BACKENDS)('posterior sampler with the x0 oracle returns x0 ($name)', ({ backend }) => {
  const sde = new MeanRevertingSDE(CFG, backend);
  const lists: Array<[string, number[]]> = [
    ['all 100 steps', timesteps(100, 100)],
    ['10 linspace steps', timesteps(100, 10)],
    ['5 trailing steps', timesteps(100, 5, 'trailing')],
    ['5 leading steps', timesteps(100, 5, 'leading')],
    ['one jump T -> 0', [100]],
  ];
  for (const eta of [1, 0.5, 0]) {
    it.each(lists)(`eta = ${eta}, %s`, async (_name, steps) => {
      const { x0, mu, x0a } = scene(backend);
      const out = await restore({ sde, model: oracleNoiseModel(sde, x0), lq: mu, sampler: 'posterior', eta, steps, seed: 11 });
      // The sampler is exact; what is left is float32 rounding, amplified by up to
      // exp(Theta_T dt) = 1/eps = 200 when x0FromNoise is evaluated at t = T (one-jump case).
      expect(maxAbs(backend.toArray(out), x0a)).toBeLessThan(1e-5);
      backend.dispose([out, x0, mu]);
    });
  }
});

describe('sde and ode samplers with the x0 oracle approach x0 as steps grow', () => {
  const sde = new MeanRevertingSDE(CFG, hostBackend);
  const N = 2000;
  const r = new Rng(1);
  const x0 = new HostTensor(Float32Array.from(r.uniform([1, N])), [1, N]);
  const mu = new HostTensor(Float32Array.from(x0.data, (v, i) => 0.7 * v + 0.1 + 0.05 * Math.sin(i)), [1, N]);
  const model = oracleNoiseModel(sde, x0);
  const errs = async (sampler: 'sde' | 'ode' | 'heun', spacing: 'linspace' | 'trailing', Ks: number[]): Promise<number[]> => {
    const res: number[] = [];
    for (const K of Ks) res.push(rms((await restore({ sde, model, lq: mu, sampler, steps: K, spacing, seed: 3 })).data, x0.data));
    return res;
  };

  it('sde: error shrinks with the last jump (trailing spacing) down to the final noise sigma_1 sqrt(dt)', async () => {
    const e = await errs('sde', 'trailing', [5, 10, 25, 100]);
    for (let i = 1; i < e.length; i++) expect(e[i], `K index ${i}: ${e}`).toBeLessThan(0.7 * e[i - 1]);
    // The last Euler–Maruyama step 1 -> 0 adds noise of std sigma_1 sqrt(dt) (= sigmaBar_1 up to
    // rounding), which the oracle cannot remove: the full-length error is that noise floor.
    const floor = sde.sigmas[1] * Math.sqrt(sde.dt);
    expect(e[3]).toBeGreaterThan(0.9 * floor);
    expect(e[3]).toBeLessThan(1.2 * floor);
  });

  it('ode (Euler): error shrinks with the number of steps', async () => {
    const e = await errs('ode', 'linspace', [5, 10, 25, 100]);
    for (let i = 1; i < e.length; i++) expect(e[i], `errors ${e}`).toBeLessThan(0.6 * e[i - 1]);
    expect(e[3]).toBeLessThan(1e-3);
  });

  it('convergence order of the probability-flow ODE: Euler ~1, Heun ~2', async () => {
    // Measured where the flow is smooth: x at s = 20 against the exact oracle flow
    // x_s = muBar_s + sigmaBar_s eps_T (eps is constant along the oracle's ODE trajectory).
    // Near s = 0 the oracle's drift is singular (~1/sqrt(u)), which caps any fixed-order method.
    const xT = sde.prior(mu, new Rng(5));
    const epsT = sde.noiseFromX0(xT, x0, mu, 100);
    const exact = sde.sampleMarginal(x0, mu, 20, epsT);
    const counts = [4, 5, 8, 10, 16, 20, 40, 80];
    const order = async (name: 'ode' | 'heun'): Promise<{ slope: number; errors: number[] }> => {
      const errors: number[] = [];
      for (const n of counts) {
        const stride = 80 / n;
        const list = Array.from({ length: n + 1 }, (_, k) => 100 - k * stride).concat([10]);
        let err = NaN;
        const out = await samplers[name](sde, model, xT, mu, list, {
          callback: ({ s, x }) => {
            if (s === 20) err = rms((x as HostTensor).data, exact.data);
          },
        });
        hostBackend.dispose(out);
        errors.push(err);
      }
      // Least-squares slope of log(error) against log(steps).
      const lx = counts.map(Math.log);
      const ly = errors.map(Math.log);
      const mx = lx.reduce((a, b) => a + b) / lx.length;
      const my = ly.reduce((a, b) => a + b) / ly.length;
      const slope = lx.reduce((a, x, i) => a + (x - mx) * (ly[i] - my), 0) / lx.reduce((a, x) => a + (x - mx) ** 2, 0);
      return { slope: -slope, errors };
    };
    const euler = await order('ode');
    const heun = await order('heun');
    console.log(`probability-flow ODE convergence order (oracle, T=100 cosine, steps ${counts}): Euler ${euler.slope.toFixed(2)}, Heun ${heun.slope.toFixed(2)}`);
    expect(euler.slope).toBeGreaterThan(0.85);
    expect(euler.slope).toBeLessThan(1.25);
    expect(heun.slope).toBeGreaterThan(1.75);
    expect(heun.slope).toBeLessThan(2.5);
    // and Heun is more accurate at equal step counts once resolved
    expect(heun.errors[counts.length - 1]).toBeLessThan(0.1 * euler.errors[counts.length - 1]);
  });
});

describe('single steps agree with the core on the full step list', () => {
  it.each(BACKENDS)('sde sampler with s = t - 1 is the reference loop of reverseSdeStep ($name)', async ({ backend }) => {
    const sde = new MeanRevertingSDE({ ...CFG, T: 20 }, backend);
    const before = backend.name === 'tfjs' ? tf.memory().numTensors : 0;
    const { x0, mu } = scene(backend);
    const model = oracleNoiseModel(sde, x0);
    const xT = sde.prior(mu, new Rng(4));
    const got = await samplers.sde(sde, model, xT, mu, timesteps(20, 20), { rng: new Rng(9) });
    const rng = new Rng(9);
    let x = backend.linear([[xT, 1]]);
    for (let t = 20; t >= 1; t--) {
      const eps = model(x, mu, t) as typeof x;
      const score = sde.scoreFromNoise(eps, t);
      const nx = sde.reverseSdeStep(x, mu, score, t, rng);
      backend.dispose([eps, score, x]);
      x = nx;
    }
    expect(maxAbs(backend.toArray(got), backend.toArray(x))).toBe(0);
    backend.dispose([got, x, xT, x0, mu]);
    if (backend.name === 'tfjs') expect(tf.memory().numTensors).toBe(before);
  });
});
