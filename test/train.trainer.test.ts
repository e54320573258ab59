import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { UNet, DenoisingSDE, MeanRevertingSDE, Rng, selectBackend } from '../src/index.js';
import type { GradientComputer, GradientTask } from '../src/train/gradients.js';
import { Adam } from '../src/train/adam.js';
import { EMA } from '../src/train/ema.js';
import { createLRSchedule } from '../src/train/lr-schedule.js';
import { clipGradNorm } from '../src/train/clip.js';
import { Trainer, type BatchSource, type TrainableNoiseModel } from '../src/train/trainer.js';
import { decodeTrainerState, encodeTrainerState } from '../src/train/checkpoint.js';
import { useCpu } from './helpers/backends.js';

beforeAll(useCpu);

/** A tiny conv "noise network": conv3x3 over [xt - mu, mu], scaled by a learnt factor per timestep. */
function tinyModel(seed: number, C = 3, T = 20): TrainableNoiseModel & { dispose(): void } {
  const rng = new Rng(seed);
  const w = tf.variable(tf.mul(tf.tensor(rng.normal([3, 3, 2 * C, C]), [3, 3, 2 * C, C]), 0.1));
  const sc = tf.variable(tf.ones([T + 1]));
  return {
    predict(xt, cond, t) {
      return tf.tidy(() => {
        const mu = cond as tf.Tensor; // a conditional model: trained under the IR-SDE, which passes mu
        const B = xt.shape[0];
        const ts = typeof t === 'number' ? new Array(B).fill(t) : Array.from(t);
        const h = tf.conv2d(tf.concat([tf.sub(xt, mu), mu], 3) as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
        return tf.mul(h, tf.reshape(tf.gather(sc, tf.tensor1d(ts, 'int32')), [B, 1, 1, 1]));
      });
    },
    variables: new Map([['conv.weight', w], ['time.scale', sc]]),
    dispose: () => tf.dispose([w, sc]),
  };
}

/** Random crops of a fixed synthetic pair, drawn from the trainer's generator. */
function syntheticData(B = 2, S = 8): BatchSource {
  return {
    next(rng) {
      const gt = tf.tensor(Float32Array.from(rng.uniform([B, S, S, 3])), [B, S, S, 3]);
      const lq = tf.tidy(() => tf.add(gt, tf.mul(tf.tensor(rng.normal([B, S, S, 3]), [B, S, S, 3]), 0.1)));
      return { gt, lq };
    },
  };
}

const sdeConfig = { T: 20, maxSigma: 0.1, schedule: 'cosine', eps: 0.01 } as const;

describe('Trainer', () => {
  it('resume continues exactly: 3 + 3 steps equal 6 uninterrupted steps, bit for bit', async () => {
    const sde = new MeanRevertingSDE(sdeConfig);
    const config = { lr: 1e-3, seed: 5, clipGradNorm: 1, ema: { updateAfterStep: 2, updateEvery: 2 }, lrSchedule: { type: 'multistep', milestones: [4], gamma: 0.5 } } as const;
    const m1 = tinyModel(1);
    const full = new Trainer({ sde, model: m1, data: syntheticData(), config });
    const losses: number[] = [];
    await full.fit({ steps: 6, onStep: (r) => void losses.push(r.loss) });

    const m2 = tinyModel(1);
    const first = new Trainer({ sde, model: m2, data: syntheticData(), config });
    let saved: ReturnType<Trainer['getState']> | undefined;
    await first.fit({ steps: 3, onCheckpoint: (s) => void (saved = s) });
    const m3 = tinyModel(99);
    const resumed = new Trainer({ sde, model: m3, data: syntheticData(), config: saved!.config });
    // Through the checkpoint file format, as a real resume would go.
    const bytes = encodeTrainerState(saved!, { note: 'hello' });
    const decoded = decodeTrainerState(bytes);
    expect(decoded.extra).toEqual({ note: 'hello' });
    resumed.setState(decoded.state);
    const resumedLosses: number[] = [];
    await resumed.fit({ steps: 6, onStep: (r) => void resumedLosses.push(r.loss) });
    expect(resumedLosses).toEqual(losses.slice(3));
    for (const [k, v] of m1.variables.entries()) {
      expect(Array.from(m3.variables.get(k)!.dataSync())).toEqual(Array.from(v.dataSync()));
    }
    const e1 = full.ema!.weights['conv.weight'].dataSync();
    const e3 = resumed.ema!.weights['conv.weight'].dataSync();
    expect(Array.from(e3)).toEqual(Array.from(e1));
    for (const t of [full, first, resumed]) t.dispose();
    for (const m of [m1, m2, m3]) m.dispose();
  });

  it('training reduces the loss on a fixed batch and leaks no tensors per step', async () => {
    const sde = new MeanRevertingSDE(sdeConfig);
    const model = tinyModel(2);
    const fixed: BatchSource = {
      next(rng) {
        // The same images every step (only t and the noise vary with rng).
        const r = new Rng(7);
        const gt = tf.tensor(Float32Array.from(r.uniform([4, 8, 8, 3])), [4, 8, 8, 3]);
        const lq = tf.tidy(() => tf.add(gt, tf.mul(tf.tensor(r.normal([4, 8, 8, 3]), [4, 8, 8, 3]), 0.1)));
        rng.uniform([1, 1]);
        return { gt, lq };
      },
    };
    const trainer = new Trainer({ sde, model, data: fixed, config: { lr: 3e-2, seed: 1, ema: false } });
    // The expected loss over several fixed noise draws and timesteps (one draw is too noisy).
    const evalLoss = () => {
      const b = fixed.next(new Rng(0)) as { gt: tf.Tensor; lq: tf.Tensor };
      let s = 0;
      for (let k = 0; k < 8; k++) {
        const noise = tf.tensor(new Rng(100 + k).normal(b.gt.shape), b.gt.shape);
        for (const t of [2, 8, 15, 20]) {
          const l = trainer.lossOf(b, [t, t, t, t], noise);
          s += l.dataSync()[0];
          l.dispose();
        }
        noise.dispose();
      }
      tf.dispose([b.gt, b.lq]);
      return s;
    };
    const before = evalLoss();
    await trainer.trainStep();
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 59; i++) await trainer.trainStep();
    expect(tf.memory().numTensors).toBe(n0);
    expect(evalLoss()).toBeLessThan(0.9 * before);
    trainer.dispose();
    model.dispose();
  });

  it("host and backend optimiser state train alike, checkpoints move between them, and host state leaks nothing", async () => {
    const sde = new MeanRevertingSDE(sdeConfig);
    const config = { lr: 1e-2, seed: 3, weightDecay: 1e-3, clipGradNorm: 0.5, ema: { updateAfterStep: 2, updateEvery: 2 } } as const;
    const run = async (storage: 'host' | 'backend', steps: number, from?: ReturnType<Trainer['getState']>) => {
      const model = tinyModel(4);
      const trainer = new Trainer({ sde, model, data: syntheticData(), config, stateStorage: storage });
      expect(trainer.stateStorage).toBe(storage);
      if (from) trainer.setState(from);
      await trainer.fit({ steps });
      return { model, trainer };
    };
    const host = await run('host', 6);
    const backend = await run('backend', 6);
    const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let num = 0;
      let den = 0;
      for (let i = 0; i < a.length; i++) {
        num += (a[i] - b[i]) ** 2;
        den += b[i] ** 2;
      }
      return Math.sqrt(num / den);
    };
    for (const k of ['conv.weight', 'time.scale']) {
      expect(rel(host.model.variables.get(k)!.dataSync(), backend.model.variables.get(k)!.dataSync())).toBeLessThan(1e-5);
      expect(rel(host.trainer.ema!.weights[k].dataSync(), backend.trainer.ema!.weights[k].dataSync())).toBeLessThan(1e-5);
    }
    // A checkpoint written with host state resumes on backend state (and back) to the same end point.
    const h3 = await run('host', 3);
    const b3 = await run('backend', 3);
    const crossB = await run('backend', 6, decodeTrainerState(encodeTrainerState(h3.trainer.getState())).state);
    const crossH = await run('host', 6, decodeTrainerState(encodeTrainerState(b3.trainer.getState())).state);
    const want = backend.model.variables.get('conv.weight')!.dataSync();
    for (const r of [crossB, crossH]) expect(rel(r.model.variables.get('conv.weight')!.dataSync(), want)).toBeLessThan(1e-5);
    expect(h3.trainer.getState().adam.m['conv.weight'].shape).toEqual([3, 3, 6, 3]);
    // Host state: no tensors created per step, even when evalWeights materialises the EMA.
    const n0 = tf.memory().numTensors;
    await host.trainer.fit({ steps: 10, onStep: () => void host.trainer.evalWeights() });
    expect(tf.memory().numTensors).toBe(n0);
    for (const r of [host, backend, h3, b3, crossB, crossH]) {
      r.trainer.dispose();
      r.model.dispose();
    }
    expect(() => new Adam({ storage: 'gpu' as never })).toThrow(/storage must be 'backend' or 'host', got gpu/);
  });

  it('on tfjs-wasm (whose reads are fresh copies, updated in place) host state equals tensor state', async () => {
    await selectBackend('wasm');
    try {
      const sde = new MeanRevertingSDE(sdeConfig);
      const config = { lr: 1e-2, seed: 3, weightDecay: 1e-3, ema: { updateAfterStep: 2, updateEvery: 2 } } as const;
      const runs = [];
      for (const storage of ['host', 'backend'] as const) {
        // A real U-Net: the tiny model's gather has no gradient kernel on wasm.
        const model = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 2 }, { seed: 2 });
        const trainer = new Trainer({ sde, model, data: syntheticData(), config, stateStorage: storage });
        await trainer.fit({ steps: 5 });
        runs.push({ model, trainer });
      }
      expect(runs[0].trainer.stateStorage).toBe('host');
      for (const k of ['init_conv.weight', 'final_conv.bias', 'time_mlp.1.weight']) {
        const [a, b] = runs.map((r) => Array.from(r.model.variables.get(k)!.dataSync()));
        const [ea, eb] = runs.map((r) => Array.from(r.trainer.ema!.weights[k].dataSync()));
        for (let i = 0; i < a.length; i++) {
          expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-5 * (1 + Math.abs(b[i])));
          expect(Math.abs(ea[i] - eb[i])).toBeLessThan(1e-5 * (1 + Math.abs(eb[i])));
        }
      }
      for (const r of runs) {
        r.trainer.dispose();
        r.model.dispose();
      }
    } finally {
      await useCpu();
    }
  });

  it('checkpoint decoding refuses other files clearly', () => {
    expect(() => decodeTrainerState(new Uint8Array(4))).toThrow();
    const notCkpt = encodeTrainerState({ step: 0, rng: new Rng(1).state, config: {}, sde: sdeConfig, weights: {}, adam: { step: 0, m: {}, v: {} } });
    notCkpt[20] = 0x7b; // corrupt the JSON header
    expect(() => decodeTrainerState(notCkpt)).toThrow();
  });

  it('refuses a checkpoint from another SDE or a model of another shape', () => {
    const model = tinyModel(3);
    const t1 = new Trainer({ sde: new MeanRevertingSDE(sdeConfig), model, data: syntheticData() });
    const state = t1.getState();
    const t2 = new Trainer({ sde: new MeanRevertingSDE({ ...sdeConfig, T: 30 }), model, data: syntheticData() });
    expect(() => t2.setState(state)).toThrow(/trained with SDE .*"T":20.* but this trainer uses .*"T":30/);
    const other = tinyModel(3, 1);
    const t3 = new Trainer({ sde: new MeanRevertingSDE(sdeConfig), model: other, data: syntheticData() });
    expect(() => t3.setState(state)).toThrow(/'conv.weight' has shape \[3,3,6,3\] but the model expects \[3,3,2,1\]/);
    for (const t of [t1, t2, t3]) t.dispose();
    model.dispose();
    other.dispose();
  });
});

describe('optimiser pieces', () => {
  it.each(['backend', 'host'] as const)('Adam follows PyTorch’s update rule (hand-computed scalar case, %s state)', (storage) => {
    const p = tf.variable(tf.scalar(1));
    const adam = new Adam({ lr: 0.1, beta1: 0.9, beta2: 0.99, storage });
    let m = 0;
    let v = 0;
    let want = 1;
    for (let k = 1; k <= 5; k++) {
      const g = 2 * want; // d/dp p^2
      m = 0.9 * m + 0.1 * g;
      v = 0.99 * v + 0.01 * g * g;
      want -= (0.1 / (1 - 0.9 ** k)) * (m / (Math.sqrt(v) / Math.sqrt(1 - 0.99 ** k) + 1e-8));
      const grad = tf.mul(p, 2);
      adam.step({ p }, { p: grad });
      grad.dispose();
    }
    expect(p.dataSync()[0]).toBeCloseTo(want, 6);
    adam.dispose();
    p.dispose();
  });

  it.each(['backend', 'host'] as const)('EMA follows ema_pytorch: acts on calls 1, 11, 21, ...; copies through step 100 and once more, then blends with decay capped at beta (%s state)', (storage) => {
    const ema = new EMA({ beta: 0.995, updateEvery: 10, updateAfterStep: 100, storage });
    expect(ema.decayAt(50)).toBe(0);
    expect(ema.decayAt(110)).toBeCloseTo(1 - (1 + 9) ** (-2 / 3), 12);
    expect(ema.decayAt(1e7)).toBe(0.995);
    const w = tf.variable(tf.scalar(0));
    const value = () => ema.weights.w.dataSync()[0];
    for (let k = 1; k <= 100; k++) {
      w.assign(tf.scalar(k));
      ema.update({ w });
      // ema_pytorch: its step s = k - 1 acts when s % 10 == 0, so the last copy was at call 10 * floor((k - 1) / 10) + 1.
      expect(value()).toBe(10 * Math.floor((k - 1) / 10) + 1);
    }
    w.assign(tf.scalar(1000));
    ema.update({ w }); // call 101: s = 100 <= 100, a copy
    expect(value()).toBe(1000);
    w.assign(tf.scalar(2000));
    for (let k = 102; k <= 110; k++) ema.update({ w });
    expect(value()).toBe(1000); // not acting calls
    ema.update({ w }); // call 111: s = 110, ema_pytorch's first blend starts with a copy (its `initted` flag)
    expect(value()).toBe(2000);
    w.assign(tf.scalar(3000));
    for (let k = 112; k <= 121; k++) ema.update({ w }); // call 121 blends with decay(121)
    const d = ema.decayAt(121);
    expect(d).toBeGreaterThan(0);
    expect(value()).toBeCloseTo(2000 * d + 3000 * (1 - d), 2);
    ema.dispose();
    w.dispose();
  });

  it('LR schedules: multistep halves at milestones; cosine anneals to minLr', () => {
    const ms = createLRSchedule({ type: 'multistep', milestones: [10, 20], gamma: 0.5 }, 1e-4);
    expect([ms(0), ms(9), ms(10), ms(25)]).toEqual([1e-4, 1e-4, 5e-5, 2.5e-5]);
    const cos = createLRSchedule({ type: 'cosine', period: 100, minLr: 1e-6 }, 1e-4);
    expect(cos(0)).toBeCloseTo(1e-4, 12);
    expect(cos(50)).toBeCloseTo((1e-4 + 1e-6) / 2, 12);
    expect(cos(99)).toBeLessThan(1.1e-6);
    expect(() => createLRSchedule({ type: 'step' } as never, 1)).toThrow(/unknown schedule type 'step'/);
  });

  it('clipGradNorm scales to the max norm and reports the norm', () => {
    const g = { a: tf.tensor([3, 0]), b: tf.tensor([4]) };
    const { norm, grads } = clipGradNorm(g, 1);
    expect(norm).toBeCloseTo(5, 6);
    expect(Array.from(grads.a.dataSync())[0]).toBeCloseTo(0.6, 5);
    expect(Array.from(grads.b.dataSync())[0]).toBeCloseTo(0.8, 5);
    tf.dispose([...Object.values(g), ...Object.values(grads)]);
  });
});

describe('Trainer grey items (batch.grey)', () => {
  it('a DenoisingSDE gives grey items grey noise (the same in every channel), colour items colour noise; IR-SDE noise stays per channel', async () => {
    const seen: Float32Array[] = [];
    const spy: GradientComputer = {
      compute(task: GradientTask) {
        seen.push(task.noise.dataSync() as Float32Array);
        return { loss: 0, grads: {} };
      },
    };
    const flagged = (source: BatchSource, grey: boolean[]): BatchSource => ({
      async next(rng) {
        return { ...(await source.next(rng)), grey };
      },
    });
    let leaked = 0;
    const noiseOf = async (sde: DenoisingSDE | MeanRevertingSDE, grey: boolean[]) => {
      const model = tinyModel(1);
      const before = tf.memory().numTensors;
      const trainer = new Trainer({ sde, model, data: flagged(syntheticData(2, 8), grey), config: { seed: 3, ema: false }, gradients: spy });
      try {
        await trainer.trainStep();
      } finally {
        trainer.dispose();
        leaked += tf.memory().numTensors - before;
        model.dispose();
      }
      return seen.at(-1)!;
    };
    const per = 8 * 8 * 3;
    const channelsEqual = (z: Float32Array, item: number) => {
      for (let i = item * per; i < (item + 1) * per; i += 3) if (z[i] !== z[i + 1] || z[i] !== z[i + 2]) return false;
      return true;
    };
    const dsde = new DenoisingSDE({ T: 20, maxSigma: 0.5, schedule: 'cosine' });
    const irSde = new MeanRevertingSDE(sdeConfig);
    const mixed = await noiseOf(dsde, [true, false]);
    expect(channelsEqual(mixed, 0)).toBe(true);
    expect(channelsEqual(mixed, 1)).toBe(false);
    // Same generator stream: the colour item's noise and the grey item's first channel are unchanged.
    const colour = await noiseOf(dsde, [false, false]);
    for (let i = 0; i < per; i += 3) expect(mixed[i]).toBe(colour[i]);
    expect(Array.from(mixed.subarray(per))).toEqual(Array.from(colour.subarray(per)));
    const ir = await noiseOf(irSde, [true, true]);
    expect(channelsEqual(ir, 0) || channelsEqual(ir, 1)).toBe(false);
    await expect(noiseOf(dsde, [true])).rejects.toThrow(/batch.grey has 1 entries for a batch of 2/);
    expect(leaked).toBe(0);
  });
});

describe('Trainer clipState (DenoisingSDE states clipped to [0, 1])', () => {
  it('passes the noise of clip(x0 + sigmaBar_t z, 0, 1), and refuses a MeanRevertingSDE', async () => {
    const sde = new DenoisingSDE({ T: 20, maxSigma: 0.5, schedule: 'cosine' });
    const seen: Array<{ gt: Float32Array; noise: Float32Array; t: number[] }> = [];
    // A gradient computer that records what it is given (and returns no gradients).
    const spy: GradientComputer = {
      compute(task: GradientTask) {
        seen.push({ gt: task.batch.gt.dataSync() as Float32Array, noise: task.noise.dataSync() as Float32Array, t: [...task.t] });
        return { loss: 0, grads: {} };
      },
    };
    let leaked = 0;
    const run = async (clipState: boolean) => {
      const model = tinyModel(1);
      const before = tf.memory().numTensors;
      const trainer = new Trainer({ sde, model, data: syntheticData(2, 8), config: { seed: 3, ema: false, clipState, timesteps: [15, 20] }, gradients: spy });
      await trainer.trainStep();
      trainer.dispose();
      leaked += tf.memory().numTensors - before;
      model.dispose();
      return seen.at(-1)!;
    };
    const plain = await run(false);
    const clipped = await run(true);
    expect(leaked).toBe(0);
    expect(clipped.t).toEqual(plain.t);
    const per = plain.gt.length / plain.t.length;
    let clippedPixels = 0;
    for (let i = 0; i < plain.gt.length; i++) {
      const sigma = sde.sigmaBar(plain.t[Math.floor(i / per)]);
      const x0 = plain.gt[i];
      const state = Math.min(1, Math.max(0, x0 + sigma * plain.noise[i]));
      if (state === 0 || state === 1) clippedPixels++;
      expect(clipped.noise[i]).toBeCloseTo((state - x0) / sigma, 4);
      // The state the clipped noise implies is in the image range.
      const implied = x0 + sigma * clipped.noise[i];
      expect(implied).toBeGreaterThanOrEqual(-1e-5);
      expect(implied).toBeLessThanOrEqual(1 + 1e-5);
    }
    expect(clippedPixels).toBeGreaterThan(10); // sigma ~0.5 on uniform data: many pixels clip
    const model = tinyModel(1);
    expect(() => new Trainer({ sde: new MeanRevertingSDE(sdeConfig), model, data: syntheticData(), config: { clipState: true } })).toThrow(/clipState applies to a DenoisingSDE only/);
    model.dispose();
  });

  it("the default objective follows the model's prediction (x0 for a residual network, ml for a noise one), is what the gradients and lossOf use, and is recorded in the checkpoint config; a given one wins", async () => {
    const used: string[] = [];
    const spy: GradientComputer = {
      compute(task: GradientTask) {
        used.push(task.objective);
        return { loss: 0, grads: {} };
      },
    };
    const sde = new MeanRevertingSDE(sdeConfig);
    const noiseNet = tinyModel(1);
    const residualNet = { ...noiseNet, prediction: 'residual' as const };
    const run = async (model: TrainableNoiseModel, config: { objective?: 'ml' | 'noise' | 'x0' }) => {
      const trainer = new Trainer({ sde, model, data: syntheticData(), config: { seed: 3, ema: false, ...config }, gradients: spy });
      try {
        await trainer.trainStep();
        return { objective: trainer.objective, stored: trainer.getState().config.objective, used: used.at(-1) };
      } finally {
        trainer.dispose();
      }
    };
    expect(await run(residualNet, {})).toEqual({ objective: 'x0', stored: 'x0', used: 'x0' });
    expect(await run(noiseNet, {})).toEqual({ objective: 'ml', stored: 'ml', used: 'ml' });
    expect(await run(residualNet, { objective: 'noise' })).toEqual({ objective: 'noise', stored: 'noise', used: 'noise' });
    expect(await run(noiseNet, { objective: 'x0' })).toEqual({ objective: 'x0', stored: 'x0', used: 'x0' });
    // lossOf agrees: a residual network's default loss is the x0 loss, not the ML one.
    const b = syntheticData().next(new Rng(4)) as { gt: tf.Tensor; lq: tf.Tensor };
    const noise = tf.tensor(new Rng(5).normal(b.gt.shape), b.gt.shape);
    const lossWith = (config: { objective?: 'ml' | 'x0' }) => {
      const trainer = new Trainer({ sde, model: residualNet, data: syntheticData(), config });
      const l = trainer.lossOf(b, [3, 17], noise);
      const v = l.dataSync()[0];
      tf.dispose(l);
      trainer.dispose();
      return v;
    };
    expect(lossWith({})).toBe(lossWith({ objective: 'x0' }));
    expect(lossWith({})).not.toBeCloseTo(lossWith({ objective: 'ml' }), 3);
    tf.dispose([b.gt, b.lq, noise]);
    noiseNet.dispose();
  });
});
