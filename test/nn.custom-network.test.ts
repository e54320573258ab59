// A researcher's own network through the public extension points: a module tree written in the
// ops language (NetworkModule + registerNetwork -> CustomNetwork) and a tfjs-layers model
// (fromLayersModel). Both train with the library Trainer; the module network also through ONNX
// Runtime gradients (equal to tfjs's), model files and ONNX export.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Conv2d,
  UNet,
  CustomNetwork,
  LayerNorm,
  Linear,
  MeanRevertingSDE,
  NetworkModule,
  Restorer,
  Rng,
  Trainer,
  tfjsEngine,
  countParameters,
  createNetwork,
  createOrtGradients,
  disposeGradients,
  exportOnnx,
  forwardFlops,
  fromLayersModel,
  gradientValues,
  inProcessGradients,
  loadModel,
  readSafetensors,
  registerNetwork,
  saveModel,
  sinusoidalTimeEmbedding,
  unregisterNetwork,
  writeSafetensors,
  type Batch,
  type CustomNetworkConfig,
  type GradientResult,
  type Ops,
} from '../src/advanced.js';
import { createNodeOrtNoiseModel, nodeOrt } from '../src/nn/onnx/node.js';
import { useCpu } from './helpers/backends.js';

/**
 * concat(x_t - mu, mu) -> conv -> + time -> SiLU -> stride-2 conv -> LayerNorm -> upsample -> + skip -> conv.
 * With `options.depthwise`, the stride-2 conv is a depthwise 3x3 stride-2 conv after a depthwise 5x5 one.
 */
class TinyNet extends NetworkModule {
  override readonly multiple = 2;
  readonly time: Linear;
  readonly head: Conv2d;
  readonly dw: Conv2d | null;
  readonly down: Conv2d;
  readonly norm: LayerNorm;
  readonly tail: Conv2d;
  constructor(readonly config: CustomNetworkConfig) {
    super();
    const c = config.channels;
    const w = Number(config.options?.width ?? 8);
    const depthwise = config.options?.depthwise === true;
    this.time = this.child('time', new Linear(w, w));
    this.head = this.child('head', new Conv2d(config.conditional === false ? c : 2 * c, w, 3));
    this.dw = depthwise ? this.child('dw', new Conv2d(w, w, 5, { depthwise: true })) : null;
    this.down = this.child('down', depthwise ? new Conv2d(w, w, 3, { stride: 2, depthwise: true }) : new Conv2d(w, w, 2, { stride: 2, pad: 0 }));
    this.norm = this.child('norm', new LayerNorm(w));
    this.tail = this.child('tail', new Conv2d(w, c, 3));
    this.finish();
  }
  forward<V>(ops: Ops<V>, xt: V, cond: V | null): V {
    const x = cond === null ? xt : ops.concat([ops.sub(xt, cond), cond]);
    const padded = ops.padToMultiple(x, this.multiple, 'zero');
    const t = ops.vectorToImage(ops.silu(ops.linear(ops.timeEmbedding(this.head.cout), this.time)));
    const h = ops.silu(ops.add(ops.conv(padded, this.head), t));
    const low = ops.layerNorm(ops.conv(this.dw === null ? h : ops.conv(h, this.dw), this.down), this.norm);
    const y = ops.conv(ops.add(ops.upsample2(low), h), this.tail);
    return ops.cropLike(y, xt);
  }
}

const NAME = 'test-tiny-net';
const config: CustomNetworkConfig = { arch: 'custom', name: NAME, channels: 3, prediction: 'residual', options: { width: 8 } };
const sde = new MeanRevertingSDE({ T: 20, maxSigma: 25 / 255, eps: 0.005 });

/** A fixed toy task: smooth images, the degraded ones with noise (drawn from `rng`). */
function toyBatch(seed: number, B = 2, H = 8, W = 8, C = 3): Batch {
  const rng = new Rng(seed);
  return tf.tidy(() => {
    const base = tf.tensor(Float32Array.from(rng.uniform([B, 1, 1, C])), [B, 1, 1, C]);
    const ramp = tf.reshape(tf.linspace(0, 0.5, H * W), [1, H, W, 1]);
    const gt = tf.add(tf.mul(base, 0.5), ramp);
    const lq = tf.add(gt, tf.mul(tf.tensor(rng.normal([B, H, W, C]), [B, H, W, C]), 0.1));
    return { gt, lq };
  });
}

/** 40 Trainer steps (lr 3e-3, no EMA) on one fixed toy batch: the mean loss of the first and the last 8 steps. */
async function fitOnFixedBatch(net: ConstructorParameters<typeof Trainer>[0]['model'], seed: number): Promise<{ first: number; last: number }> {
  const batch = toyBatch(seed);
  const data = { next: () => ({ gt: tf.clone(batch.gt), lq: tf.clone(batch.lq) }) };
  const trainer = new Trainer({ sde, model: net, data, config: { lr: 3e-3, seed: 0, ema: false } });
  const losses: number[] = [];
  await trainer.fit({ steps: 40, onStep: (r) => void losses.push(r.loss) });
  trainer.dispose();
  tf.dispose([batch.gt, batch.lq]);
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  return { first: mean(losses.slice(0, 8)), last: mean(losses.slice(-8)) };
}

beforeAll(async () => {
  await useCpu();
  registerNetwork({ name: NAME, build: (c) => new TinyNet(c) });
});
afterAll(() => {
  unregisterNetwork(NAME);
});

describe('a network written in the ops language (NetworkModule + registerNetwork)', () => {
  it('builds, predicts any size (padded and cropped by its forward) and is sized from its description', () => {
    const net = createNetwork(config, { seed: 3 });
    expect(net).toBeInstanceOf(CustomNetwork);
    expect(net.paramSpecs.map((s) => s.name)).toEqual(['time.weight', 'time.bias', 'head.weight', 'head.bias', 'down.weight', 'down.bias', 'norm.g', 'tail.weight', 'tail.bias']);
    expect(net.countParameters()).toBe(countParameters(config));
    const xt = tf.ones([2, 7, 9, 3]);
    const out = net.predict(xt, xt, [1, 20]);
    expect(out.shape).toEqual([2, 7, 9, 3]);
    expect(Array.from(out.dataSync()).every(Number.isFinite)).toBe(true);
    expect(forwardFlops(config, 8, 8)).toBeGreaterThan(0);
    tf.dispose([xt, out]);
    net.dispose();
  });

  it('refuses an unregistered name, a clashing registration and the wrong class', () => {
    expect(() => new CustomNetwork({ ...config, name: 'nobody' })).toThrow(/registerNetwork/);
    expect(() => registerNetwork({ name: NAME, build: (c) => new TinyNet(c) })).toThrow(/already registered/);
    expect(() => new UNet(config as never)).toThrow(/CustomNetwork/);
    expect(() => new CustomNetwork({ ...config, options: { width: Number.NaN } })).toThrow(/finite/);
  });

  it('trains with the Trainer (tfjs gradients): the loss falls', async () => {
    const net = new CustomNetwork(config, { seed: 1 });
    const { first, last } = await fitOnFixedBatch(net, 5);
    expect(last).toBeLessThan(0.7 * first);
    net.dispose();
  });

  it.each([
    ['', config, undefined],
    ['; depthwise convolutions, 5x5 and 3x3 stride 2', { ...config, options: { width: 8, depthwise: true } }, undefined],
    ['; the same with no im2col buffer allowed (one tap at a time)', { ...config, options: { width: 8, depthwise: true } }, 0],
  ])('ONNX Runtime gradients equal tfjs gradients (l2, to 1e-4 relative)%s', async (_, cfg, im2colBytes) => {
    const ort = createOrtGradients({ ort: nodeOrt, threads: 1, ...(im2colBytes !== undefined ? { im2colBytes } : {}) });
    const net = new CustomNetwork(cfg, { seed: 2 });
    const batch = toyBatch(6);
    const noise = tf.tensor(new Rng(7).normal(batch.gt.shape), batch.gt.shape);
    const task = { sde, model: net, batch, t: [3, 17], noise, objective: 'x0', norm: 'l2' } as const;
    const ref = inProcessGradients.compute(task) as GradientResult;
    const got = await ort.compute(task);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.abs(ref.loss));
    expect(Object.keys(got.grads).sort()).toEqual(Object.keys(ref.grads).sort());
    for (const [k, g] of Object.entries(ref.grads)) {
      const want = gradientValues(g);
      const have = gradientValues(got.grads[k]);
      let num = 0;
      let den = 0;
      for (let i = 0; i < want.length; i++) {
        num = Math.max(num, Math.abs(have[i] - want[i]));
        den = Math.max(den, Math.abs(want[i]));
      }
      expect(den, k).toBeGreaterThan(0);
      expect(num / den, k).toBeLessThan(1e-4);
    }
    disposeGradients(ref.grads);
    tf.dispose([batch.gt, batch.lq, noise]);
    await ort.dispose();
    net.dispose();
  });

  it('saves and loads as a model file, and exports to ONNX with the same outputs', async () => {
    const net = new CustomNetwork(config, { seed: 4 });
    const file = saveModel(net, sde, { sampling: { sampler: 'posterior', steps: 5 } });
    const { network, info } = loadModel(file, { sde });
    expect(info.network).toEqual(config);
    const xt = tf.tidy(() => tf.add(tf.ones([1, 6, 10, 3]), tf.mul(tf.reshape(tf.range(0, 180), [1, 6, 10, 3]), 0.01)));
    const mu = tf.mul(xt, 0.5);
    const a = net.predict(xt, mu, 7);
    const b = network.predict(xt, mu, 7);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    const ortModel = await createNodeOrtNoiseModel(exportOnnx(network.config, network.stateDict()), { threads: 1 });
    try {
      const c = await ortModel.predict(xt, mu, 7);
      const want = a.dataSync();
      const have = c.dataSync();
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(have[i] - want[i]));
      expect(worst).toBeLessThan(1e-4);
      c.dispose();
    } finally {
      await ortModel.dispose();
    }
    tf.dispose([xt, mu, a, b]);
    network.dispose();
    net.dispose();
  });
});

describe('a tfjs-layers model (fromLayersModel)', () => {
  const buildModel = (): tfl.LayersModel => {
    const image = tfl.input({ shape: [null, null, 6] });
    const time = tfl.input({ shape: [16] });
    const h = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(image) as tfl.SymbolicTensor;
    const bias = tfl.layers.reshape({ targetShape: [1, 1, 8] }).apply(tfl.layers.dense({ units: 8 }).apply(time)) as tfl.SymbolicTensor;
    const out = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(tfl.layers.add().apply([h, bias])) as tfl.SymbolicTensor;
    return tfl.model({ inputs: [image, time], outputs: out });
  };

  it('names weights by position and reinitialises them from the seed, whatever tfjs-layers drew', () => {
    const m1 = buildModel();
    const m2 = buildModel();
    const a = fromLayersModel(m1, { seed: 9, prediction: 'residual' });
    const b = fromLayersModel(m2, { seed: 9, prediction: 'residual' });
    expect([...a.variables.keys()]).toEqual([...b.variables.keys()]);
    expect([...a.variables.keys()]).toContain('layers.2.kernel');
    for (const [k, v] of a.variables) expect(Array.from(v.dataSync()), k).toEqual(Array.from((b.variables.get(k) as tf.Variable).dataSync()));
    // Weights round-trip through safetensors under those names.
    const c = fromLayersModel(buildModel(), { seed: 1, prediction: 'residual' });
    c.loadStateDict(readSafetensors(writeSafetensors(a.stateDict())));
    const xt = tf.ones([2, 5, 6, 3]);
    const p = a.predict(xt, xt, 3);
    const q = c.predict(xt, xt, [3, 3]);
    expect(p.shape).toEqual([2, 5, 6, 3]);
    expect(Array.from(q.dataSync())).toEqual(Array.from(p.dataSync()));
    const emb = sinusoidalTimeEmbedding([1, 2], 16);
    expect(emb.shape).toEqual([2, 16]);
    tf.dispose([xt, p, q, emb]);
    for (const m of [m1, m2, c.model as tfl.LayersModel]) m.dispose();
  });

  it('trains with the Trainer (tfjs gradients): the loss falls', async () => {
    const model = buildModel();
    const net = fromLayersModel(model, { seed: 0, prediction: 'residual' });
    const { first, last } = await fitOnFixedBatch(net, 8);
    expect(last).toBeLessThan(0.7 * first);
    model.dispose();
  });

  it('restores through the Restorer on tfjs (the network borrowed); other engines and ownership are refused in one line', async () => {
    const model = buildModel();
    const net = fromLayersModel(model, { seed: 2, prediction: 'residual' });
    const restorer = await Restorer.create(net, sde.config, { sampling: { sampler: 'posterior', steps: 2, eta: 0 } });
    expect(restorer.network).toBe(net);
    const image = { data: Float32Array.from(new Rng(4).uniform([10 * 12]), (v) => 0.2 + 0.5 * v), height: 10, width: 12, channels: 1 as const };
    const before = tf.memory().numTensors;
    const out = await restorer.restore(image, { seed: 0 });
    expect(tf.memory().numTensors).toBe(before);
    expect([out.image.height, out.image.width, out.image.channels]).toEqual([10, 12, 1]);
    expect([out.sampler, out.steps]).toEqual(['posterior', 2]);
    // Grey in, grey out (the network restores RGB inside), clipped to [0, 1].
    expect(out.image.data.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
    await restorer.dispose();
    expect(() => net.predict(tf.zeros([1, 4, 4, 3]), tf.zeros([1, 4, 4, 3]), 1).dispose()).not.toThrow();
    const fakeEngine = async () => tfjsEngine(undefined as never);
    await expect(Restorer.create(net, sde.config, { engine: fakeEngine })).rejects.toThrow(/tfjs engine only/);
    await expect(Restorer.create(net, sde.config, { ownsNetwork: true })).rejects.toThrow(/always borrowed/);
    model.dispose();
  });
});
