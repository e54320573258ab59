import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  HostTensor,
  MeanRevertingSDE,
  Rng,
  checkSteps,
  fromScoreModel,
  fromX0Model,
  gaussianNoiseModel,
  hostBackend,
  oracleNoiseModel,
  restore,
  restoreWithUncertainty,
  samplers,
  tfjsBackend,
  timesteps,
  type NoiseModel,
  type StepInfo,
} from '../src/advanced.js';
import { BACKENDS, useCpu } from './helpers/backends.js';

beforeAll(useCpu);

const CFG = { T: 100, maxSigma: 10 / 255, schedule: 'cosine', eps: 0.005 } as const;

function arr(n: number, f: (i: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => f(i));
}

describe('timesteps and step-list validation', () => {
  it('spacings give the documented lists', () => {
    expect(timesteps(100, 10)).toEqual([100, 89, 78, 67, 56, 45, 34, 23, 12, 1]);
    expect(timesteps(100, 10, 'trailing')).toEqual([100, 90, 80, 70, 60, 50, 40, 30, 20, 10]);
    expect(timesteps(100, 10, 'leading')).toEqual([91, 81, 71, 61, 51, 41, 31, 21, 11, 1]);
    expect(timesteps(100, 1)).toEqual([100]);
    expect(timesteps(100, 1, 'trailing')).toEqual([100]);
    expect(timesteps(100, 1, 'leading')).toEqual([1]);
  });
  it('every K in 1..T gives K strictly decreasing integers within 1..T', () => {
    for (const T of [1, 7, 100]) {
      for (const spacing of ['linspace', 'leading', 'trailing'] as const) {
        for (let K = 1; K <= T; K++) {
          const l = timesteps(T, K, spacing);
          expect(l.length).toBe(K);
          expect(checkSteps(l, T)).toEqual(l);
          if (spacing !== 'leading') expect(l[0]).toBe(T);
          if (spacing !== 'trailing' && !(spacing === 'linspace' && K === 1)) expect(l[K - 1]).toBe(1);
        }
      }
    }
  });
  it('refuses bad requests with clear messages', () => {
    expect(() => timesteps(100, 0)).toThrow(/K \(the number of steps\) must be an integer in 1..100, got 0/);
    expect(() => timesteps(100, 101)).toThrow(/in 1..100, got 101/);
    expect(() => timesteps(100, 10, 'cosine' as never)).toThrow(/unknown spacing "cosine"; expected one of 'linspace', 'leading', 'trailing'/);
    expect(() => checkSteps([], 10)).toThrow(/steps is empty/);
    expect(() => checkSteps([10, 10, 1], 10)).toThrow(/strictly decreasing, but steps\[1\] = 10 follows steps\[0\] = 10/);
    expect(() => checkSteps([11, 1], 10)).toThrow(/steps\[0\] must be an integer in 1..10, got 11/);
    expect(() => checkSteps([5, 0], 10)).toThrow(/steps\[1\] must be an integer in 1..10, got 0/);
    expect(() => checkSteps([5, 2.5], 10)).toThrow(/steps\[1\] must be an integer/);
  });
});

describe.each(BACKENDS)('restore: callback, progress, cancellation, determinism ($name)', ({ backend }) => {
  const sde = new MeanRevertingSDE(CFG, backend);
  const shape = [3, 4, 4, 2];
  const n = 96;
  const mk = () => ({
    x0: backend.fromArray(arr(n, (i) => 0.5 + 0.3 * Math.sin(i)), shape),
    lq: backend.fromArray(arr(n, (i) => 0.4 + 0.2 * Math.cos(i)), shape),
  });

  it('callback receives { i, t, s, x, x0Hat } per step; onProgress counts; async callbacks are awaited', async () => {
    const { x0, lq } = mk();
    const seen: Array<[number, number, number]> = [];
    const progress: Array<[number, number]> = [];
    let x0HatErr = 0;
    let pending = 0;
    const out = await restore({
      sde,
      model: oracleNoiseModel(sde, x0),
      lq,
      sampler: 'posterior',
      steps: [100, 60, 30, 5],
      seed: 1,
      callback: async ({ i, t, s, x, x0Hat }: StepInfo<unknown>) => {
        expect(pending).toBe(0);
        pending++;
        await new Promise((r) => setTimeout(r, 1));
        pending--;
        seen.push([i, t, s]);
        expect(backend.shape(x)).toEqual(shape);
        const a = backend.toArray(x0Hat);
        const b = backend.toArray(x0);
        for (let j = 0; j < n; j++) x0HatErr = Math.max(x0HatErr, Math.abs(a[j] - b[j]));
      },
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(seen).toEqual([
      [0, 100, 60],
      [1, 60, 30],
      [2, 30, 5],
      [3, 5, 0],
    ]);
    expect(progress).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
    // The oracle's x0 estimate is x0 itself (float32 error, amplified <= 200x at t = T).
    expect(x0HatErr).toBeLessThan(1e-5);
    backend.dispose([out, x0, lq]);
  });

  it('an AbortSignal stops the run between steps with an AbortError, and a pre-aborted one before any model call', async () => {
    const { x0, lq } = mk();
    const oracle = oracleNoiseModel(sde, x0);
    let calls = 0;
    const model: NoiseModel<unknown> = (xt, mu, t) => {
      calls++;
      return oracle(xt, mu, t);
    };
    const ctl = new AbortController();
    const before = tf.memory().numTensors;
    await expect(
      restore({ sde, model, lq, sampler: 'sde', steps: 10, seed: 2, signal: ctl.signal, callback: ({ i }) => void (i === 2 && ctl.abort()) }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    calls = 0;
    await expect(restore({ sde, model, lq, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toBe(0);
    const custom = new AbortController();
    custom.abort(new Error('user cancelled'));
    await expect(restore({ sde, model, lq, signal: custom.signal })).rejects.toThrow('user cancelled');
    expect(tf.memory().numTensors).toBe(before);
    backend.dispose([x0, lq]);
  });

  it('same seed, same output; another seed differs; seed n equals rng = new Rng(n)', async () => {
    const { lq } = mk();
    const model = gaussianNoiseModel(sde, { mean: 0.5, std: 0.1 });
    const run = async (o: { seed?: number; rng?: Rng }) => {
      const out = await restore({ sde, model, lq, sampler: 'sde', steps: 20, ...o });
      const a = backend.toArray(out);
      backend.dispose(out);
      return a;
    };
    const a = await run({ seed: 7 });
    expect(await run({ seed: 7 })).toEqual(a);
    expect(await run({ rng: new Rng(7) })).toEqual(a);
    const b = await run({ seed: 8 });
    expect(b.some((v, i) => Math.abs(v - a[i]) > 1e-3)).toBe(true);
    backend.dispose(lq);
  });

  it.each([['sde'], ['posterior'], ['heun']] as const)('%s: item i gets the same result alone or in a batch of any size', async (sampler) => {
    const { lq } = mk();
    const all = backend.toArray(lq);
    const model = gaussianNoiseModel(sde, { mean: 0.5, std: 0.1 });
    const per = n / 3;
    const results: Float32Array[] = [];
    for (const B of [1, 2, 3]) {
      const part = backend.fromArray(all.slice(0, B * per), [B, ...shape.slice(1)]);
      const out = await restore({ sde, model, lq: part, sampler, steps: 10, seed: 5, eta: 0.7 });
      results.push(backend.toArray(out));
      backend.dispose([out, part]);
    }
    expect(results[1].slice(0, per)).toEqual(results[0]);
    expect(results[2].slice(0, 2 * per)).toEqual(results[1]);
    backend.dispose(lq);
  });
});

describe('no tfjs tensor leaks', () => {
  const sde = new MeanRevertingSDE(CFG, tfjsBackend);
  const shape = [2, 3, 3, 1];
  it.each([
    ['sde', {}],
    ['ode', {}],
    ['heun', {}],
    ['posterior', {}],
    ['posterior', { eta: 0.3 }],
    ['ddim', {}],
  ] as const)('%s %j: numTensors after = before + the returned tensor', async (sampler, extra) => {
    const x0 = tf.tensor(arr(18, (i) => i / 18), shape);
    const lq = tf.tensor(arr(18, (i) => 1 - i / 18), shape);
    for (const model of [oracleNoiseModel(sde, x0), gaussianNoiseModel(sde, { mean: 0.4, std: 0.2 }), gaussianNoiseModel(sde, { mean: x0, std: 0.1 })]) {
      const before = tf.memory().numTensors;
      const out = await restore({ sde, model, lq, sampler, steps: 7, seed: 1, ...extra, callback: () => undefined });
      expect(tf.memory().numTensors).toBe(before + 1);
      out.dispose();
    }
    tf.dispose([x0, lq]);
  });
  it('errors thrown by the model or the callback leak nothing', async () => {
    const lq = tf.tensor(arr(18, (i) => i / 18), shape);
    const good = gaussianNoiseModel(sde, { mean: 0.4, std: 0.2 });
    const before = tf.memory().numTensors;
    let calls = 0;
    const failing: NoiseModel<tf.Tensor> = (xt, mu, t) => {
      if (++calls === 3) throw new Error('model failed');
      return good(xt, mu, t);
    };
    await expect(restore({ sde, model: failing, lq, sampler: 'heun', steps: 5 })).rejects.toThrow('model failed');
    await expect(restore({ sde, model: good, lq, steps: 5, callback: ({ i }) => void (i === 1 && (() => { throw new Error('cb failed'); })()) })).rejects.toThrow('cb failed');
    await expect(restore({ sde, model: (xt) => tf.zeros([1, ...xt.shape.slice(1)]), lq, steps: 5 })).rejects.toThrow(
      /the model returned shape \[1,3,3,1\] at t = 100; expected the input's shape \[2,3,3,1\]/,
    );
    await expect(restore({ sde, model: (xt) => xt, lq, steps: 5 })).rejects.toThrow(/returned one of its inputs/);
    expect(tf.memory().numTensors).toBe(before);
    lq.dispose();
  });
  it('restoreWithUncertainty returns mean and std (and samples on request) and nothing else', async () => {
    const lq = tf.tensor(arr(18, (i) => i / 18), shape);
    const model = gaussianNoiseModel(sde, { mean: 0.4, std: 0.2 });
    const before = tf.memory().numTensors;
    // restore({ samples }) is restoreWithUncertainty.
    const r = await restore({ sde, model, lq, samples: 3, steps: 5 });
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([r.mean, r.std]);
    const k = await restoreWithUncertainty({ sde, model, lq, samples: 3, steps: 5, keepSamples: true });
    expect(k.samples?.shape).toEqual([6, 3, 3, 1]);
    expect(tf.memory().numTensors).toBe(before + 3);
    tf.dispose([k.mean, k.std, k.samples!]);
    lq.dispose();
  });
});

describe('uncertainty map', () => {
  it('std ~ 0 where the data is known, ~ s where it is N(m, s^2); sample 0 equals restore()', async () => {
    const sde = new MeanRevertingSDE(CFG, hostBackend);
    const P = 256;
    const shape = [1, 16, 16, 1];
    const s = 0.1;
    // Left half known exactly (std 0), right half uncertain (std s).
    const stdMap = new HostTensor(arr(P, (i) => (i % 16 < 8 ? 0 : s)), shape);
    const meanMap = new HostTensor(arr(P, (i) => 0.3 + 0.4 * ((i * 7) % 16) / 16), shape);
    const lq = new HostTensor(arr(P, (i) => 0.5 + 0.1 * Math.sin(i)), shape);
    const model = gaussianNoiseModel(sde, { mean: meanMap, std: stdMap });
    const N = 64;
    const r = await restoreWithUncertainty({ sde, model, lq, samples: N, sampler: 'sde', seed: 21, keepSamples: true });
    let known = 0;
    let unknown = 0;
    let meanErr = 0;
    for (let i = 0; i < P; i++) {
      if (i % 16 < 8) known = Math.max(known, r.std.data[i]);
      else {
        unknown += r.std.data[i] / (P / 2);
        meanErr += (r.mean.data[i] - meanMap.data[i]) / (P / 2);
      }
    }
    // Known pixels: only the last Euler–Maruyama noise, sigma_1 sqrt(dt) ~ 7e-4, is left.
    expect(known).toBeLessThan(2e-3);
    // Uncertain pixels: the restorations' spread is the data's, s (the average of 128 per-pixel
    // estimates from 64 samples has ~1% relative error; allow 10% for that and T = 100 bias).
    expect(Math.abs(unknown - s) / s).toBeLessThan(0.1);
    // The mean map averages N draws: its error averaged over 128 pixels has SE s / sqrt(N * 128).
    expect(Math.abs(meanErr)).toBeLessThan((5 * s) / Math.sqrt(N * 128));
    const single = await restore({ sde, model, lq, sampler: 'sde', seed: 21 });
    expect(r.samples!.data.slice(0, P)).toEqual(single.data);
  });
});

describe('model converters', () => {
  it.each(BACKENDS)('fromScoreModel and fromX0Model reproduce the noise oracle, sync and async ($name)', async ({ backend }) => {
    const sde = new MeanRevertingSDE(CFG, backend);
    const shape = [2, 5];
    const x0 = backend.fromArray(arr(10, (i) => i / 10), shape);
    const mu = backend.fromArray(arr(10, (i) => 0.5 + 0.01 * i), shape);
    const xt = backend.fromArray(new Rng(3).normal(shape), shape);
    const before = backend.name === 'tfjs' ? tf.memory().numTensors : 0;
    const oracle = oracleNoiseModel(sde, x0);
    const viaScore = fromScoreModel(sde, (x, m, t) => sde.scoreFromX0(x, x0, m, t));
    const viaX0 = fromX0Model(sde, async () => backend.linear([[x0, 1]]));
    for (const t of [1, 37, 100]) {
      const want = oracle(xt, mu, t);
      const a = viaScore(xt, mu, t);
      expect(a).not.toBeInstanceOf(Promise);
      const b = await viaX0(xt, mu, t);
      const w = backend.toArray(want);
      const scale = Math.max(...w.map(Math.abs));
      for (const got of [a, b]) {
        const g = backend.toArray(got);
        for (let j = 0; j < 10; j++) expect(Math.abs(g[j] - w[j])).toBeLessThan(1e-5 * scale);
      }
      backend.dispose([want, a, b]);
    }
    if (backend.name === 'tfjs') expect(tf.memory().numTensors).toBe(before);
    backend.dispose([x0, mu, xt]);
  });
});

describe('option validation', () => {
  const sde = new MeanRevertingSDE(CFG, hostBackend);
  const lq = new HostTensor(new Float32Array(4), [1, 4]);
  const model = gaussianNoiseModel(sde, { mean: 0, std: 1 });
  it('gives clear errors', async () => {
    await expect(restore({ sde, model, lq, sampler: 'euler' as never })).rejects.toThrow(/unknown sampler "euler"; expected one of 'sde', 'ode', 'heun', 'posterior', 'ddim'/);
    await expect(restore({ sde, model, lq, sampler: 'posterior', eta: 1.5 })).rejects.toThrow(/eta must be a number in \[0, 1\], got 1.5/);
    await expect(restore({ sde, model, lq, sampler: 'ode', order: 3 as never })).rejects.toThrow(/order must be 1 \(Euler\) or 2 \(Heun\), got 3/);
    await expect(restore({ sde, model, lq, seed: 1, rng: new Rng(1) })).rejects.toThrow(/give seed or rng, not both/);
    await expect(restore({ sde, model, lq, samples: 1 })).rejects.toThrow(/samples must be an integer >= 2, got 1/);
    await expect(restore({ sde, model, lq, steps: [50, 60] })).rejects.toThrow(/strictly decreasing/);
    await expect(restoreWithUncertainty({ sde, model, lq, samples: 1 })).rejects.toThrow(/samples must be an integer >= 2, got 1/);
    await expect(samplers.sde(sde, model, lq, lq, [10])).rejects.toThrow(/options.rng \(an Rng\) is required/);
    await expect(samplers.ode(sde, model, lq, new HostTensor(new Float32Array(2), [1, 2]), [10])).rejects.toThrow(/mu has shape \[1,2\] but x has shape \[1,4\]/);
  });
  it('accepts a sampler function', async () => {
    let called = 0;
    const out = await restore({
      sde,
      model,
      lq,
      steps: 3,
      sampler: async (sd, md, x, mu, steps, o) => {
        called++;
        return samplers.ddim(sd, md, x, mu, steps, o);
      },
    });
    expect(called).toBe(1);
    expect(out.shape).toEqual([1, 4]);
  });
});
