// Residual ('x0 - mu') networks and the x0 objective: conversions to noise, losses, model files.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  UNet,
  MeanRevertingSDE,
  Rng,
  Trainer,
  asNoiseModel,
  fromResidualModel,
  loadModel,
  readModelInfo,
  restore,
  saveModel,
  timesteps,
  trainingLoss,
  type TrainableNoiseModel,
} from '../src/advanced.js';
import { BACKENDS, useCpu } from './helpers/backends.js';

beforeAll(useCpu);

const CFG = { T: 100, maxSigma: 25 / 255, schedule: 'cosine', eps: 0.005 } as const;
const SHAPE = [2, 6, 5, 3];

function arrays(): { x0: Float32Array; mu: Float32Array } {
  const n = SHAPE.reduce((a, c) => a * c, 1);
  const x0 = Float32Array.from({ length: n }, (_, i) => 0.5 + 0.4 * Math.sin(0.37 * i));
  const mu = Float32Array.from(x0, (v, i) => v + 0.1 * Math.cos(1.3 * i));
  return { x0, mu };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe.each(BACKENDS)('residual models as noise models ($name)', ({ backend }) => {
  it('the residual oracle (x0 - mu) restores x0 with the posterior sampler, in 10 steps and in one jump', async () => {
    const sde = new MeanRevertingSDE(CFG, backend);
    const a = arrays();
    const x0 = backend.fromArray(a.x0, SHAPE);
    const mu = backend.fromArray(a.mu, SHAPE);
    const oracle = fromResidualModel(sde, (_xt, m) => backend.linear([[x0, 1], [m, -1]]));
    for (const steps of [timesteps(100, 10), [100]]) {
      const out = await restore({ sde, model: oracle, lq: mu, sampler: 'posterior', eta: 0, steps, seed: 1 });
      expect(maxAbs(backend.toArray(out), a.x0)).toBeLessThan(2e-5);
      backend.dispose(out);
    }
    // The implied noise is the true noise of x_t.
    const z = backend.randomNormal(SHAPE, new Rng(2));
    const xt = sde.sampleMarginal(x0, mu, 40, z);
    const eps = await oracle(xt, mu, 40);
    expect(maxAbs(backend.toArray(eps), backend.toArray(z))).toBeLessThan(5e-4);
    backend.dispose([x0, mu, z, xt, eps]);
  });
});

describe('asNoiseModel', () => {
  it('passes noise models through and refuses unknown predictions', () => {
    const sde = new MeanRevertingSDE(CFG);
    const f = (xt: tf.Tensor) => tf.clone(xt);
    expect(asNoiseModel(sde, 'noise', f)).toBe(f);
    expect(() => asNoiseModel(sde, 'x0' as 'noise', f)).toThrow(/prediction must be 'noise' or 'residual'/);
  });
});

/** A "network" that returns fixed tensors, declared as the given prediction. */
function fixedModel(out: tf.Tensor, prediction: 'noise' | 'residual'): TrainableNoiseModel {
  return { predict: () => tf.clone(out), variables: new Map(), prediction };
}

describe('trainingLoss with residual predictions and the x0 objective', () => {
  const sde = new MeanRevertingSDE(CFG);
  const a = arrays();
  const t = [7, 93];

  it('is zero for the oracle of either prediction, and the residual ML loss equals the noise ML loss', () => {
    const batch = { gt: tf.tensor(a.x0, SHAPE), lq: tf.tensor(a.mu, SHAPE) };
    const z = tf.tensor(new Rng(5).normal(SHAPE), SHAPE);
    const residual = fixedModel(tf.sub(batch.gt, batch.lq), 'residual');
    const noise = fixedModel(z, 'noise');
    const value = (m: TrainableNoiseModel, objective: 'x0' | 'ml' | 'noise') => {
      const l = trainingLoss(sde, m, batch, t, z, { objective });
      const v = l.dataSync()[0];
      l.dispose();
      return v;
    };
    expect(value(residual, 'x0')).toBeLessThan(1e-6);
    // A noise network's x0 goes through 1/exp(-thetaBar_t) (about 200 at t = 93): float32 rounding only.
    expect(value(noise, 'x0')).toBeLessThan(2e-4);
    expect(value(residual, 'noise')).toBeLessThan(5e-4);
    expect(Math.abs(value(residual, 'ml') - value(noise, 'ml'))).toBeLessThan(1e-6);
    tf.dispose([batch.gt, batch.lq, z]);
  });

  it('x0 loss of a residual r is mean |mu + r - x0| (l1) and mean (mu + r - x0)^2 (l2)', () => {
    const batch = { gt: tf.tensor(a.x0, SHAPE), lq: tf.tensor(a.mu, SHAPE) };
    const r = Float32Array.from(a.x0, (_, i) => 0.05 * Math.sin(2.1 * i));
    const model = fixedModel(tf.tensor(r, SHAPE), 'residual');
    const z = tf.zeros(SHAPE);
    const d = Array.from(a.x0, (v, i) => a.mu[i] + r[i] - v);
    const l1 = trainingLoss(sde, model, batch, t, z, { objective: 'x0', norm: 'l1' });
    const l2 = trainingLoss(sde, model, batch, t, z, { objective: 'x0', norm: 'l2' });
    expect(l1.dataSync()[0]).toBeCloseTo(d.reduce((s, v) => s + Math.abs(v), 0) / d.length, 6);
    expect(l2.dataSync()[0]).toBeCloseTo(d.reduce((s, v) => s + v * v, 0) / d.length, 6);
    tf.dispose([batch.gt, batch.lq, z, l1, l2]);
  });

  it('the Trainer accepts the x0 objective, refuses unknown ones, and lowers the x0 loss of a residual U-Net', async () => {
    const net = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 2, prediction: 'residual' }, { seed: 3 });
    const data = {
      next(rng: Rng) {
        const gt = tf.tensor(Float32Array.from(rng.uniform([2, 8, 8, 3])), [2, 8, 8, 3]);
        const lq = tf.tidy(() => tf.add(gt, tf.mul(tf.tensor(rng.normal([2, 8, 8, 3]), [2, 8, 8, 3]), 0.1)));
        return { gt, lq };
      },
    };
    const small = new MeanRevertingSDE({ T: 20, maxSigma: 0.1, schedule: 'cosine', eps: 0.01 });
    expect(() => new Trainer({ sde: small, model: net, data, config: { objective: 'bogus' as 'ml' } })).toThrow(/objective must be one of 'ml', 'noise', 'x0'/);
    // A fixed batch: the loss must fall under Adam.
    const fixed = data.next(new Rng(9));
    const trainer = new Trainer({ sde: small, model: net, data: { next: () => ({ gt: tf.clone(fixed.gt), lq: tf.clone(fixed.lq) }) }, config: { objective: 'x0', lr: 3e-3, ema: false } });
    const losses: number[] = [];
    await trainer.fit({ steps: 12, onStep: (r) => void losses.push(r.loss) });
    expect(Math.min(...losses.slice(-3))).toBeLessThan(0.8 * losses[0]);
    trainer.dispose();
    net.dispose();
    tf.dispose([fixed.gt, fixed.lq]);
  });
});

describe('residual UNet', () => {
  const config = { inChannels: 3, outChannels: 3, nf: 4, depth: 2, prediction: 'residual' } as const;

  it('validates the prediction and keeps noise configs as they were', () => {
    expect(() => new UNet({ ...config, prediction: 'x0' as 'noise' })).toThrow(/prediction must be one of 'noise', 'residual', got "x0"/);
    const noise = new UNet({ ...config, prediction: 'noise' });
    expect(noise.config).toEqual({ inChannels: 3, outChannels: 3, nf: 4, depth: 2 });
    expect(noise.prediction).toBe('noise');
    noise.dispose();
  });

  it('noiseModel refuses; noiseModelFor converts the output with the SDE; model files keep the prediction', () => {
    const sde = new MeanRevertingSDE(CFG);
    const net = new UNet(config, { seed: 1 });
    const a = arrays();
    const xt = tf.tensor(a.x0, SHAPE);
    const mu = tf.tensor(a.mu, SHAPE);
    expect(() => net.noiseModel(xt, mu, 5)).toThrow(/predicts 'residual', not noise; use unet.noiseModelFor\(sde\)/);
    const n0 = tf.memory().numTensors;
    const eps = net.noiseModelFor(sde)(xt, mu, 5) as tf.Tensor;
    expect(tf.memory().numTensors).toBe(n0 + 1);
    // By hand: eps = ((x_t - mu) - exp(-thetaBar_t) r) / sigmaBar_t.
    const r = net.predict(xt, mu, 5);
    const want = tf.tidy(() => tf.div(tf.sub(tf.sub(xt, mu), tf.mul(r, sde.meanDecay(5))), sde.sigmaBar(5)));
    expect(maxAbs(eps.dataSync(), want.dataSync())).toBeLessThan(1e-4);

    const bytes = saveModel(net, sde);
    expect(readModelInfo(bytes).network.prediction).toBe('residual');
    const back = loadModel(bytes);
    expect(back.network.prediction).toBe('residual');
    const r2 = back.network.predict(xt, mu, 5);
    expect(maxAbs(r2.dataSync(), r.dataSync())).toBe(0);
    tf.dispose([xt, mu, eps, r, want, r2]);
    back.network.dispose();
    net.dispose();
  });
});
