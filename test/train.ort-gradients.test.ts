import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  UNet,
  MeanRevertingSDE,
  Rng,
  Trainer,
  createOrtGradients,
  exportOnnxTrainingGraph,
  inProcessGradients,
  microBatchGradients,
  networkParamSpecs,
  type BatchSource,
  type GradientResult,
  type Objective,
  type UNetConfig,
  type NetworkPrediction,
  disposeGradients,
  gradientValues,
  selectBackend,
  type GradientComputer,
  type NetworkConfig,
  createNetwork,
} from '../src/advanced.js';
import { nodeOrt } from '../src/nn/onnx/node.js';
import { ONNX_TRAIN_IO } from '../src/nn/onnx/train-graph.js';
import { normErr } from './helpers/goldens.js';
import { useCpu } from './helpers/backends.js';
import { sharedHostValues } from '../src/train/host-state.js';

beforeAll(useCpu);

const sdeConfig = { T: 100, maxSigma: 25 / 255, schedule: 'cosine', eps: 0.005 } as const;
const ortGrads = createOrtGradients({ ort: nodeOrt, threads: 1 });
afterAll(() => ortGrads.dispose());

/** A network with random (not initial) weights, so every layer's gradient is non-trivial. */
function randomNet(config: UNetConfig, seed: number): UNet {
  const net = new UNet(config, { seed });
  const rng = new Rng(seed);
  const dict = Object.fromEntries(
    networkParamSpecs(config).map((s) => {
      const n = s.torchShape.reduce((a, b) => a * b, 1);
      return [s.name, { shape: [...s.torchShape], data: Float32Array.from(rng.normal([n]), (v) => 0.2 * v) }];
    }),
  );
  net.loadStateDict(dict);
  return net;
}

function batchOf(rng: Rng, B: number, H: number, W: number): { gt: tf.Tensor; lq: tf.Tensor } {
  const gt = tf.tensor(Float32Array.from(rng.uniform([B, H, W, 3])), [B, H, W, 3]);
  const lq = tf.tidy(() => tf.add(gt, tf.mul(tf.tensor(rng.normal([B, H, W, 3]), [B, H, W, 3]), 0.1)));
  return { gt, lq };
}

function worstGradErr(a: GradientResult, b: GradientResult): number {
  expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort());
  let worst = 0;
  for (const [name, g] of Object.entries(b.grads)) {
    expect(gradientValues(a.grads[name]).length).toBe(gradientValues(g).length);
    worst = Math.max(worst, normErr(gradientValues(a.grads[name]), gradientValues(g)));
  }
  return worst;
}

describe('exportOnnxTrainingGraph', () => {
  it('declares the weights and the batch as inputs, and loss, output and one gradient per weight as outputs', async () => {
    const config: UNetConfig = { inChannels: 1, outChannels: 1, nf: 4, depth: 2 };
    const session = await nodeOrt.InferenceSession.create(exportOnnxTrainingGraph(config, { batch: 2, height: 8, width: 12 }));
    const names = networkParamSpecs(config).map((s) => s.name);
    const io = ONNX_TRAIN_IO;
    expect([...session.inputNames].sort()).toEqual([...names, io.xt, io.cond, io.time, io.lossScale, io.lossOffset].sort());
    expect([...session.outputNames].sort()).toEqual([io.loss, io.output, ...names.map((n) => io.gradPrefix + n)].sort());
    await session.release();
  });

  it('refuses crops that are not multiples of 2^depth, bad sizes and bad norms', () => {
    const config: UNetConfig = { inChannels: 3, outChannels: 3, nf: 4, depth: 2 };
    expect(() => exportOnnxTrainingGraph(config, { batch: 1, height: 10, width: 8 })).toThrow(/multiples of 2\^depth = 4/);
    expect(() => exportOnnxTrainingGraph(config, { batch: 0, height: 8, width: 8 })).toThrow(/batch must be a positive integer/);
    expect(() => exportOnnxTrainingGraph(config, { batch: 1, height: 8, width: 8, norm: 'l3' as 'l1' })).toThrow(/norm must be/);
    expect(() => exportOnnxTrainingGraph({ ...config, nf: 3 }, { batch: 1, height: 8, width: 8 })).toThrow(RangeError);
    expect(() => exportOnnxTrainingGraph(config, { batch: 1, height: 8, width: 8, conv3x3: 'fft' as 'direct' })).toThrow(/conv3x3 must be 'direct' or 'winograd'/);
    expect(() => exportOnnxTrainingGraph(config, { batch: 1, height: 8, width: 8, im2colBytes: -1 })).toThrow(/im2colBytes must be a number >= 0, got -1/);
    expect(() => exportOnnxTrainingGraph(config, { batch: 1, height: 8, width: 8, im2colBytes: Number.NaN })).toThrow(/im2colBytes/);
  });
});

describe('createOrtGradients', () => {
  const cases: [NetworkPrediction, Objective, 'l1' | 'l2'][] = [];
  for (const p of ['noise', 'residual'] as const) for (const o of ['ml', 'noise', 'x0'] as const) for (const n of ['l1', 'l2'] as const) cases.push([p, o, n]);

  // l1's gradient is sign(diff): an element whose diff is within rounding of 0 may flip sign
  // between the engines and move the gradient by 2/n of one element, hence the looser tolerance.
  it.each(cases)('%s network, %s objective, %s: same loss and gradients as tfjs (l2 to 1e-4, l1 to 2e-3)', async (prediction, objective, norm) => {
    const model = randomNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 2, prediction }, 3);
    const sde = new MeanRevertingSDE(sdeConfig);
    const rng = new Rng(5);
    const batch = batchOf(rng, 3, 8, 8);
    const noise = tf.tensor(rng.normal([3, 8, 8, 3]), [3, 8, 8, 3]);
    // Early, mid and last timesteps: the loss's affine form differs a lot between them. (A noise
    // network's x0 at large t divides by exp(-thetaBar_t) ~ 1e-23, which amplifies rounding.)
    const t = prediction === 'noise' && objective === 'x0' ? [1, 10, 20] : [1, 37, 100];
    const task = { sde, model, batch, t, noise, objective, norm } as const;
    const ref = inProcessGradients.compute(task) as GradientResult;
    const n0 = tf.memory().numTensors;
    const got = await ortGrads.compute(task);
    // Host arrays, no tensors: a host-state trainer reads them without a trip through the backend.
    expect(tf.memory().numTensors - n0).toBe(0);
    expect(Object.values(got.grads).every((g) => g instanceof Float32Array)).toBe(true);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.abs(ref.loss));
    const err = worstGradErr(got, ref);
    expect(err).toBeLessThan(norm === 'l2' ? 1e-4 : 2e-3);
    disposeGradients(ref.grads);
    tf.dispose([batch.gt, batch.lq, noise]);
    model.dispose();
  });

  it('handles grey images, non-square crops and depth 3 (stride-2 convolutions at several sizes)', async () => {
    const model = randomNet({ inChannels: 1, outChannels: 1, nf: 4, depth: 3, prediction: 'residual' }, 4);
    const sde = new MeanRevertingSDE(sdeConfig);
    const rng = new Rng(8);
    const gt = tf.tensor(Float32Array.from(rng.uniform([2, 8, 16, 1])), [2, 8, 16, 1]);
    const lq = tf.tidy(() => tf.add(gt, tf.mul(tf.tensor(rng.normal([2, 8, 16, 1]), [2, 8, 16, 1]), 0.1)));
    const noise = tf.tensor(rng.normal([2, 8, 16, 1]), [2, 8, 16, 1]);
    const task = { sde, model, batch: { gt, lq }, t: [12, 60], noise, objective: 'x0', norm: 'l1' } as const;
    const ref = inProcessGradients.compute(task) as GradientResult;
    const got = await ortGrads.compute(task);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.abs(ref.loss));
    expect(worstGradErr(got, ref)).toBeLessThan(1e-4);
    // Chunks of one item, accumulated as host arrays, give the whole batch's gradient.
    const chunked = await microBatchGradients(1, ortGrads).compute(task);
    expect(Object.values(chunked.grads).every((g) => g instanceof Float32Array)).toBe(true);
    expect(Math.abs(chunked.loss - ref.loss)).toBeLessThan(1e-5 * Math.abs(ref.loss));
    expect(worstGradErr(chunked, ref)).toBeLessThan(1e-4);
    disposeGradients(ref.grads);
    tf.dispose([gt, lq, noise]);
    model.dispose();
  });

  it("conv3x3 'winograd' (128+ channels) gives the 'direct' loss and gradients to 1e-4 (nf=32, depth=3)", async () => {
    const config: UNetConfig = { inChannels: 3, outChannels: 3, nf: 32, depth: 3 };
    const graph = (conv3x3: 'direct' | 'winograd') => Buffer.from(exportOnnxTrainingGraph(config, { batch: 2, height: 16, width: 16, conv3x3 }));
    // Winograd where the channels allow (levels 2 and the middle), direct per-tap products elsewhere.
    expect(graph('winograd').includes('SpaceToDepth')).toBe(true);
    expect(graph('direct').includes('SpaceToDepth')).toBe(false);
    const model = new UNet(config, { seed: 6 });
    const sde = new MeanRevertingSDE(sdeConfig);
    const rng = new Rng(9);
    const batch = batchOf(rng, 2, 16, 16);
    const noise = tf.tensor(rng.normal([2, 16, 16, 3]), [2, 16, 16, 3]);
    const task = { sde, model, batch, t: [7, 80], noise, objective: 'ml', norm: 'l2' } as const;
    const direct = createOrtGradients({ ort: nodeOrt, conv3x3: 'direct' });
    const winograd = createOrtGradients({ ort: nodeOrt, conv3x3: 'winograd' });
    try {
      const ref = await direct.compute(task);
      const got = await winograd.compute(task);
      expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.abs(ref.loss));
      const err = worstGradErr(got, ref);
      expect(err).toBeLessThan(1e-4);
      expect(err).toBeGreaterThan(0);
    } finally {
      await direct.dispose();
      await winograd.dispose();
      tf.dispose([batch.gt, batch.lq, noise]);
      model.dispose();
    }
  });

  it('trains like tfjs: same seed, 3 steps, same losses and weights to 1e-4, no tensor leak', async () => {
    const unet: UNetConfig = { inChannels: 3, outChannels: 3, nf: 4, depth: 2 };
    const sde = new MeanRevertingSDE(sdeConfig);
    const data: BatchSource = { next: (rng) => batchOf(rng, 2, 8, 8) };
    const config = { lr: 1e-3, seed: 7, clipGradNorm: 1, ema: { updateAfterStep: 0, updateEvery: 1 } } as const;
    const m1 = new UNet(unet, { seed: 2 });
    const m2 = new UNet(unet, { seed: 2 });
    const a = new Trainer({ sde, model: m1, data, config });
    const b = new Trainer({ sde, model: m2, data, config, gradients: ortGrads });
    const la: number[] = [];
    const lb: number[] = [];
    await a.fit({ steps: 3, onStep: (r) => void la.push(r.loss) });
    await b.trainStep();
    const n0 = tf.memory().numTensors;
    await b.fit({ steps: 3, onStep: (r) => void lb.push(r.loss) });
    expect(tf.memory().numTensors).toBe(n0);
    lb.forEach((l, i) => expect(Math.abs(l - la[i + 1])).toBeLessThan(1e-4 * la[i + 1]));
    let worst = 0;
    let moved = 0;
    const w0 = new UNet(unet, { seed: 2 });
    for (const [name, v] of m1.variables) {
      worst = Math.max(worst, normErr(m2.variables.get(name)!.dataSync(), v.dataSync()));
      moved = Math.max(moved, normErr(w0.variables.get(name)!.dataSync(), v.dataSync()));
    }
    expect(worst).toBeLessThan(1e-4);
    expect(moved).toBeGreaterThan(1e-3);
    for (const x of [a, b]) x.dispose();
    for (const m of [m1, m2, w0]) m.dispose();
  });

  it('on tfjs-wasm the weights fed to ORT come back to Adam (GradientResult.weights): the same weights, bit for bit, as re-reading the variables', async () => {
    await selectBackend('wasm');
    try {
      const unet: UNetConfig = { inChannels: 3, outChannels: 3, nf: 4, depth: 2 };
      const sde = new MeanRevertingSDE(sdeConfig);
      const data: BatchSource = { next: (rng) => batchOf(rng, 2, 8, 8) };
      const config = { lr: 1e-3, seed: 7, clipGradNorm: 1 } as const;
      let given = 0;
      const handsBack: GradientComputer = {
        async compute(task) {
          const r = await ortGrads.compute(task);
          if (r.weights) given += 1;
          return r;
        },
      };
      // The same computer with the weights dropped: Adam reads the variables itself.
      const withheld: GradientComputer = { compute: async (task) => ({ ...(await ortGrads.compute(task)), weights: undefined }) };
      const models = [new UNet(unet, { seed: 2 }), new UNet(unet, { seed: 2 })];
      const trainers = [handsBack, withheld].map((gradients, i) => new Trainer({ sde, model: models[i], data, config, gradients }));
      for (const t of trainers) await t.fit({ steps: 3 });
      expect(given).toBe(3);
      for (const [name, v] of models[0].variables) {
        expect(Array.from(v.dataSync())).toEqual(Array.from(models[1].variables.get(name)!.dataSync()));
        // The next step's feed is Adam's own array (no read), equal to the variable, until the variable changes.
        const shared = sharedHostValues(v);
        expect(sharedHostValues(v)).toBe(shared);
        expect(Array.from(shared)).toEqual(Array.from(v.dataSync()));
      }
      const [first, v0] = [...models[0].variables][0];
      v0.assign(tf.zerosLike(v0));
      expect(sharedHostValues(models[0].variables.get(first)!).every((x) => x === 0)).toBe(true);
      for (const t of trainers) t.dispose();
      for (const m of models) m.dispose();
    } finally {
      await useCpu();
    }
  });

  it('refuses a model without a U-Net config, and a missing ort module', async () => {
    const w = tf.variable(tf.zeros([1]));
    const model = { predict: (x: tf.Tensor) => tf.mul(x, w), variables: new Map([['w', w]]) };
    const sde = new MeanRevertingSDE(sdeConfig);
    const x = tf.zeros([1, 8, 8, 3]);
    await expect(ortGrads.compute({ sde, model, batch: { gt: x, lq: x }, t: [1], noise: x, objective: 'ml', norm: 'l1' })).rejects.toThrow(/UNet/);
    expect(() => createOrtGradients({} as never)).toThrow(/ONNX Runtime module/);
    expect(() => createOrtGradients({ ort: nodeOrt, im2colBytes: -1 })).toThrow(/createOrtGradients: im2colBytes must be a number >= 0, got -1/);
    tf.dispose([w, x]);
  });
});

describe('extra condition channels (the inpainting mask as an input channel)', () => {
  it.each([
    ['NAFNet', { arch: 'nafnet', imgChannels: 3, width: 8, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1], extraCondChannels: 1, prediction: 'residual' }],
    ['U-Net', { inChannels: 3, outChannels: 3, nf: 4, depth: 2, extraCondChannels: 1 }],
  ] as const)('masked %s: ORT gives the tfjs loss and gradients (l2, 1e-4), also in micro-batches; the mask reaches the network; a batch without one is refused', async (_name, config) => {
    const model = createNetwork(config as NetworkConfig, { seed: 3 });
    const rng = new Rng(6);
    model.loadStateDict(Object.fromEntries(Object.entries(model.stateDict()).map(([n, v]) => [n, { shape: v.shape, data: Float32Array.from(rng.normal([v.data.length]), (x) => 0.2 * x) }])));
    const sde = new MeanRevertingSDE(sdeConfig);
    const { gt, lq } = batchOf(rng, 3, 8, 8);
    const extraCond = tf.tensor(Float32Array.from(rng.uniform([3 * 8 * 8]), (u) => (u > 0.6 ? 1 : 0)), [3, 8, 8, 1]);
    const noise = tf.tensor(rng.normal([3, 8, 8, 3]), [3, 8, 8, 3]);
    const task = { sde, model, batch: { gt, lq, extraCond }, t: [1, 37, 100], noise, objective: 'x0', norm: 'l2' } as const;
    const ref = inProcessGradients.compute(task) as GradientResult;
    const n0 = tf.memory().numTensors;
    const got = await ortGrads.compute(task);
    expect(tf.memory().numTensors).toBe(n0);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.abs(ref.loss));
    expect(worstGradErr(got, ref)).toBeLessThan(1e-4);
    const chunked = await microBatchGradients(2, ortGrads).compute(task);
    expect(Math.abs(chunked.loss - ref.loss)).toBeLessThan(1e-5 * Math.abs(ref.loss));
    expect(worstGradErr(chunked, ref)).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(n0);
    // Another mask, another loss: the mask reaches the network on both engines.
    const zeros = tf.zerosLike(extraCond);
    const other = await ortGrads.compute({ ...task, batch: { gt, lq, extraCond: zeros } });
    expect(Math.abs(other.loss - ref.loss)).toBeGreaterThan(1e-4 * Math.abs(ref.loss));
    // The mask's input weights get a gradient (the last input channel of the first convolution).
    const name = 'arch' in config ? 'intro.weight' : 'init_conv.weight';
    const w = model.variables.get(name)!;
    const [kh, kw, cin, cout] = w.shape;
    const g = gradientValues(ref.grads[name]);
    let maskGrad = 0;
    for (let p = 0; p < kh * kw; p++) for (let o = 0; o < cout; o++) maskGrad += Math.abs(g[(p * cin + cin - 1) * cout + o]);
    expect(maskGrad).toBeGreaterThan(0);
    for (const c of [inProcessGradients, ortGrads]) {
      await expect(async () => c.compute({ ...task, batch: { gt, lq } })).rejects.toThrow(/takes 1 extra condition channel .* but the batch has none/);
    }
    disposeGradients(ref.grads);
    tf.dispose([gt, lq, extraCond, zeros, noise]);
    model.dispose();
  });

  it('maskLossWeight: the l1 loss grows linearly in the weight of the masked pixels; ORT, micro-batches and tfjs agree (l1 and l2); weight 1 is the unweighted loss; bad weights refused', async () => {
    const config = { arch: 'nafnet', imgChannels: 3, width: 8, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1], extraCondChannels: 1, prediction: 'residual' } as const;
    const model = createNetwork(config as NetworkConfig, { seed: 4 });
    const rng = new Rng(8);
    model.loadStateDict(Object.fromEntries(Object.entries(model.stateDict()).map(([n, v]) => [n, { shape: v.shape, data: Float32Array.from(rng.normal([v.data.length]), (x) => 0.2 * x) }])));
    const sde = new MeanRevertingSDE(sdeConfig);
    const { gt, lq } = batchOf(rng, 3, 8, 8);
    const extraCond = tf.tensor(Float32Array.from(rng.uniform([3 * 8 * 8]), (u) => (u > 0.6 ? 1 : 0)), [3, 8, 8, 1]);
    const noise = tf.tensor(rng.normal([3, 8, 8, 3]), [3, 8, 8, 3]);
    const base = { sde, model, batch: { gt, lq, extraCond }, t: [1, 37, 100], noise, objective: 'x0' } as const;
    const n0 = tf.memory().numTensors;
    const l1 = async (k?: number) => (await ortGrads.compute({ ...base, norm: 'l1', ...(k !== undefined ? { maskLossWeight: k } : {}) })).loss;
    const [plain, w1, w2, w3] = [await l1(), await l1(1), await l1(2), await l1(3)];
    expect(w1).toBe(plain);
    expect(w2).toBeGreaterThan(plain * 1.05); // the masked pixels' share of the loss, added once more
    expect(Math.abs((w3 - w2) - (w2 - w1))).toBeLessThan(1e-5 * w3);
    for (const norm of ['l1', 'l2'] as const) {
      const task = { ...base, norm, maskLossWeight: 5 };
      const ref = inProcessGradients.compute(task) as GradientResult;
      const got = await ortGrads.compute(task);
      expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.abs(ref.loss));
      expect(worstGradErr(got, ref)).toBeLessThan(1e-4);
      const chunked = await microBatchGradients(2, ortGrads).compute(task);
      expect(worstGradErr(chunked, ref)).toBeLessThan(1e-4);
      const unweighted = inProcessGradients.compute({ ...base, norm }) as GradientResult;
      expect(Math.abs(unweighted.loss - ref.loss)).toBeGreaterThan(1e-3 * ref.loss);
      for (const r of [ref, got, chunked, unweighted]) disposeGradients(r.grads);
    }
    // No mask in the batch: no pixel is missing, every weight is 1.
    const { extraCondChannels: _k, ...unmasked } = config;
    const noMask = { ...base, model: createNetwork(unmasked as NetworkConfig, { seed: 4 }), batch: { gt, lq }, norm: 'l1' } as const;
    const a = inProcessGradients.compute(noMask) as GradientResult;
    const b = inProcessGradients.compute({ ...noMask, maskLossWeight: 7 }) as GradientResult;
    expect(b.loss).toBe(a.loss);
    disposeGradients(a.grads);
    disposeGradients(b.grads);
    noMask.model.dispose();
    expect(tf.memory().numTensors).toBe(n0);
    for (const bad of [0, -1, Number.NaN]) {
      expect(() => new Trainer({ sde, model, data: { next: async () => ({ gt, lq }) } as never, config: { maskLossWeight: bad } })).toThrow(/maskLossWeight must be a finite number > 0/);
    }
    tf.dispose([gt, lq, extraCond, noise]);
    model.dispose();
  });
});
