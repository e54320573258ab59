import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNet, MeanRevertingSDE, Rng, Trainer, inProcessGradients, microBatchGradients, disposeGradients, gradientValues, type BatchSource } from '../src/advanced.js';
import { WorkerGradientPool } from '../src/train/parallel/index.js';
import { normErr } from './helpers/goldens.js';
import { useCpu } from './helpers/backends.js';

beforeAll(useCpu);

const unetConfig = { inChannels: 3, outChannels: 3, nf: 4, depth: 2 };
const sdeConfig = { T: 20, maxSigma: 0.1, schedule: 'cosine', eps: 0.01 } as const;

/** Batches of 3 (an odd size, so the two shards have different weights) drawn from the trainer's generator. */
function data(B = 3, S = 8): BatchSource {
  return {
    next(rng) {
      const gt = tf.tensor(Float32Array.from(rng.uniform([B, S, S, 3])), [B, S, S, 3]);
      const lq = tf.tidy(() => tf.add(gt, tf.mul(tf.tensor(rng.normal([B, S, S, 3]), [B, S, S, 3]), 0.1)));
      return { gt, lq };
    },
  };
}

// One pool for the file: workers take a few seconds to start (they load the sources through tsx).
const pool = new WorkerGradientPool({ workers: 2, backend: 'cpu' });
afterAll(() => pool.dispose());

describe('WorkerGradientPool', () => {
  it('gives the full-batch gradient: 2 workers on shards of 2 + 1, and micro-batches of 1, equal one thread to 1e-5', async () => {
    const sde = new MeanRevertingSDE(sdeConfig);
    const model = new UNet(unetConfig, { seed: 4 });
    const batch = data().next(new Rng(3)) as { gt: tf.Tensor; lq: tf.Tensor };
    const noise = tf.tensor(new Rng(4).normal(batch.gt.shape), batch.gt.shape);
    const task = { sde, model, batch, t: [3, 17, 9], noise, objective: 'ml', norm: 'l1' } as const;
    const one = inProcessGradients.compute(task) as Awaited<ReturnType<typeof pool.compute>>;
    const two = await pool.compute(task);
    // In-thread chunks of one item give the same result too (and leave no tensor behind).
    const n0 = tf.memory().numTensors;
    const chunked = await microBatchGradients(1).compute(task);
    expect(tf.memory().numTensors - n0).toBe(Object.keys(chunked.grads).length);
    expect(Math.abs(chunked.loss - one.loss)).toBeLessThan(1e-6 * Math.abs(one.loss));
    expect(Math.abs(two.loss - one.loss)).toBeLessThan(1e-6 * Math.abs(one.loss));
    expect(Object.keys(two.grads).sort()).toEqual(Object.keys(one.grads).sort());
    let worst = 0;
    for (const [name, g] of Object.entries(one.grads)) {
      worst = Math.max(worst, normErr(gradientValues(two.grads[name]), gradientValues(g)), normErr(gradientValues(chunked.grads[name]), gradientValues(g)));
    }
    expect(worst).toBeLessThan(1e-5);
    // Each shard alone has a different gradient: the average is not trivially one worker's result.
    expect(pool.lastShardMs).toHaveLength(2);
    for (const r of [one, two, chunked]) disposeGradients(r.grads);
    tf.dispose([batch.gt, batch.lq, noise]);
    model.dispose();
  });

  it('trains like one thread: same seed, 3 steps, weights and EMA equal to 1e-5 relative, no tensor leak', async () => {
    const sde = new MeanRevertingSDE(sdeConfig);
    const config = { lr: 1e-4, seed: 7, clipGradNorm: 1, ema: { updateAfterStep: 0, updateEvery: 1 } } as const;
    const m1 = new UNet(unetConfig, { seed: 2 });
    const m2 = new UNet(unetConfig, { seed: 2 });
    const single = new Trainer({ sde, model: m1, data: data(), config });
    const parallel = new Trainer({ sde, model: m2, data: data(), config, gradients: pool });
    const l1: number[] = [];
    const l2: number[] = [];
    await single.fit({ steps: 3, onStep: (r) => void l1.push(r.loss) });
    await parallel.trainStep();
    const n0 = tf.memory().numTensors;
    await parallel.fit({ steps: 3, onStep: (r) => void l2.push(r.loss) });
    expect(tf.memory().numTensors).toBe(n0);
    expect(l2.length).toBe(2);
    l2.forEach((l, i) => expect(Math.abs(l - l1[i + 1])).toBeLessThan(1e-5 * l1[i + 1]));
    let worst = 0;
    let moved = 0;
    const w0 = new UNet(unetConfig, { seed: 2 });
    for (const [name, v] of m1.variables) {
      worst = Math.max(worst, normErr(m2.variables.get(name)!.dataSync(), v.dataSync()));
      moved = Math.max(moved, normErr(w0.variables.get(name)!.dataSync(), v.dataSync()));
      const e1 = single.ema!.weights[name].dataSync();
      worst = Math.max(worst, normErr(parallel.ema!.weights[name].dataSync(), e1));
    }
    expect(worst).toBeLessThan(1e-5);
    // The weights did move (by far more than the tolerance), so the comparison is not vacuous.
    expect(moved).toBeGreaterThan(1e-4);
    for (const x of [single, parallel]) x.dispose();
    for (const m of [m1, m2, w0]) m.dispose();
  });

  it('residual networks with the x0 objective: the workers build the same network and match one thread', async () => {
    const sde = new MeanRevertingSDE(sdeConfig);
    const model = new UNet({ ...unetConfig, prediction: 'residual' }, { seed: 5 });
    const batch = data().next(new Rng(6)) as { gt: tf.Tensor; lq: tf.Tensor };
    const noise = tf.tensor(new Rng(7).normal(batch.gt.shape), batch.gt.shape);
    const task = { sde, model, batch, t: [2, 19, 11], noise, objective: 'x0', norm: 'l1' } as const;
    const one = inProcessGradients.compute(task) as Awaited<ReturnType<typeof pool.compute>>;
    const two = await pool.compute(task);
    expect(Math.abs(two.loss - one.loss)).toBeLessThan(1e-6 * Math.abs(one.loss));
    let worst = 0;
    for (const [name, g] of Object.entries(one.grads)) worst = Math.max(worst, normErr(gradientValues(two.grads[name]), gradientValues(g)));
    expect(worst).toBeLessThan(1e-5);
    for (const r of [one, two]) disposeGradients(r.grads);
    tf.dispose([batch.gt, batch.lq, noise]);
    model.dispose();
  });

  it('maskLossWeight reaches the workers: a batch with a mask, weighted, matches one thread and differs from unweighted', async () => {
    const sde = new MeanRevertingSDE(sdeConfig);
    const model = new UNet({ ...unetConfig, prediction: 'residual' }, { seed: 5 });
    const batch0 = data().next(new Rng(6)) as { gt: tf.Tensor; lq: tf.Tensor };
    const extraCond = tf.tensor(Float32Array.from(new Rng(8).uniform([3 * 8 * 8]), (u) => (u > 0.7 ? 1 : 0)), [3, 8, 8, 1]);
    const batch = { ...batch0, extraCond };
    const noise = tf.tensor(new Rng(7).normal(batch.gt.shape), batch.gt.shape);
    const task = { sde, model, batch, t: [2, 19, 11], noise, objective: 'x0', norm: 'l1', maskLossWeight: 4 } as const;
    const one = inProcessGradients.compute(task) as Awaited<ReturnType<typeof pool.compute>>;
    const two = await pool.compute(task);
    const plain = await pool.compute({ ...task, maskLossWeight: 1 });
    expect(Math.abs(two.loss - one.loss)).toBeLessThan(1e-6 * Math.abs(one.loss));
    expect(plain.loss).toBeLessThan(0.95 * one.loss);
    let worst = 0;
    for (const [name, g] of Object.entries(one.grads)) worst = Math.max(worst, normErr(gradientValues(two.grads[name]), gradientValues(g)));
    expect(worst).toBeLessThan(1e-5);
    for (const r of [one, two, plain]) disposeGradients(r.grads);
    tf.dispose([batch.gt, batch.lq, extraCond, noise]);
    model.dispose();
  });

  it('refuses a model that is not a UNet, and bad worker counts', async () => {
    const w = tf.variable(tf.zeros([1]));
    const model = { predict: (x: tf.Tensor) => tf.mul(x, w), variables: new Map([['w', w]]) };
    const sde = new MeanRevertingSDE(sdeConfig);
    const x = tf.zeros([1, 8, 8, 3]);
    await expect(pool.compute({ sde, model, batch: { gt: x, lq: x }, t: [1], noise: x, objective: 'ml', norm: 'l1' })).rejects.toThrow(/UNet/);
    expect(() => new WorkerGradientPool({ workers: 0 })).toThrow(/workers must be/);
    expect(() => microBatchGradients(0)).toThrow(/size must be/);
    tf.dispose([w, x]);
  });
});
