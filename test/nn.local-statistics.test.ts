// Test-time local statistics (TLC) for NAFNet's channel attention: `Ops.localMeanHW` on every
// engine (tfjs, the ONNX inference graph at any runtime size, the ONNX training graph with its
// backward pass, the FLOP count), the `localStatistics` config field (checks, model files,
// overrides) and the CLI flags.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DenoisingSDE,
  MeanRevertingSDE,
  NAFNet,
  Rng,
  UNet,
  checkNetworkConfig,
  createOrtGradients,
  createOrtNoiseModel,
  disposeGradients,
  exportOnnx,
  forwardFlops,
  gradientValues,
  inProcessGradients,
  inferNetworkConfig,
  loadModel,
  loadRestorer,
  networkParamSpecs,
  readModelInfo,
  saveModel,
  withLocalStatistics,
  type GradientResult,
  type NAFNetConfig,
} from '../src/advanced.js';
import { TfjsOps } from '../src/nn/tfjs/tfjs-ops.js';
import { InferOps } from '../src/nn/onnx/infer-ops.js';
import { modelProto, valueInfoProto } from '../src/nn/onnx/onnx-proto.js';
import { createNodeOrtNoiseModel, nodeOrt } from '../src/nn/onnx/node.js';
import { normErr } from './helpers/goldens.js';
import { useCpu } from './helpers/backends.js';
import { irsde } from './helpers/cli.js';

beforeAll(useCpu);

/** The definition, looped: the mean over the clipped window [i - a, i - a + k) x [j - a, j - a + k), a = floor((k - 1) / 2), of NHWC values. */
function bruteLocalMean(x: Float32Array, [B, H, W, C]: number[], k: number): Float64Array {
  const a = Math.floor((k - 1) / 2);
  const out = new Float64Array(B * H * W * C);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let c = 0; c < C; c++) {
          let sum = 0;
          let n = 0;
          for (let y = Math.max(0, i - a); y < Math.min(H, i - a + k); y++)
            for (let z = Math.max(0, j - a); z < Math.min(W, j - a + k); z++) {
              sum += x[((b * H + y) * W + z) * C + c];
              n++;
            }
          out[((b * H + i) * W + j) * C + c] = sum / n;
        }
  return out;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const tfjsOps = new TfjsOps(() => {
  throw new Error('no parameters here');
}, []);

/** [H, W, window]: odd and even windows, square and non-square maps, a window covering one side only. */
const LOCAL_CASES: [number, number, number][] = [
  [7, 7, 3],
  [7, 7, 4],
  [6, 11, 5],
  [6, 11, 8],
  [9, 5, 2],
  [5, 5, 1],
  [16, 12, 7],
  [13, 17, 10],
];

describe('localMeanHW on tfjs', () => {
  it.each(LOCAL_CASES)('%ix%i, window %i: the mean over each clipped window (brute force, to 1e-5)', (H, W, k) => {
    const shape = [2, H, W, 3];
    const data = Float32Array.from(new Rng(H * 100 + W * 10 + k).normal([2 * H * W * 3]), (v) => 2 * v + 0.5);
    const got = tf.tidy(() => tfjsOps.localMeanHW(tf.tensor(data, shape), k).dataSync());
    expect(maxAbs(got, bruteLocalMean(data, shape, k))).toBeLessThan(1e-5);
  });

  it('a window at least the height and the width is the global mean, bit for bit ([B, 1, 1, C])', () => {
    const x = tf.tensor(new Rng(1).normal([2 * 6 * 11 * 3]), [2, 6, 11, 3]);
    for (const k of [11, 12, 50]) {
      const got = tfjsOps.localMeanHW(x, k);
      const want = tfjsOps.meanHW(x);
      expect(got.shape).toEqual([2, 1, 1, 3]);
      expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
      tf.dispose([got, want]);
    }
    x.dispose();
  });
});

/** An ONNX graph (xt, time) -> localMeanHW(xt, window), built by the inference ops (dynamic B, H, W). */
function localMeanGraph(window: number): Uint8Array {
  const ops = new InferOps({}, 'time', false);
  const g = ops.g;
  g.reserve('xt');
  g.reserve('time');
  // [B, C, H, W] either way (where the window covers the map, the global mean broadcast).
  g.op('Identity', 'out', [ops.localMeanHW({ n: 'xt', m: 1 }, window).n], {}, 'noise');
  return modelProto(
    { opset: 17, irVersion: 8, producerName: 'test', producerVersion: '0' },
    {
      name: 'local_mean',
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [valueInfoProto('xt', 'float32', ['b', 3, 'h', 'w']), valueInfoProto('time', 'float32', ['tb'])],
      outputs: [valueInfoProto('noise', 'float32', ['b', 3, 'h', 'w'])],
    },
  );
}

describe('localMeanHW in the ONNX inference graph (dynamic height and width)', () => {
  it.each([3, 4, 5, 8])('window %i: one graph run at several sizes equals the brute force (local) and the global mean (window >= H and W), to 1e-5', async (k) => {
    const model = await createOrtNoiseModel(localMeanGraph(k), { ort: nodeOrt, threads: 1 });
    try {
      for (const [H, W] of [
        [7, 7],
        [6, 11],
        [13, 5],
        [3, 4],
        [k, k],
        [2, 9],
      ]) {
        const shape = [2, H, W, 3];
        const data = Float32Array.from(new Rng(H * W + k).normal([2 * H * W * 3]), (v) => v - 0.3);
        const x = tf.tensor(data, shape);
        const got = await model.predict(x, null, 1);
        const global = k >= H && k >= W;
        const want = global ? tf.tidy(() => tf.broadcastTo(tf.mean(x, [1, 2], true), shape).dataSync()) : bruteLocalMean(data, shape, k);
        expect(maxAbs(got.dataSync(), want), `${H}x${W}`).toBeLessThan(1e-5);
        tf.dispose([x, got]);
      }
    } finally {
      await model.dispose();
    }
  });
});

const TINY: NAFNetConfig = { arch: 'nafnet', imgChannels: 3, width: 4, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1], conditional: false };

/** A NAFNet with random weights (NAFBlock's zero-initialised beta / gamma would skip the attention). */
function randomNaf(config: NAFNetConfig, seed = 3): NAFNet {
  const net = new NAFNet(config);
  const rng = new Rng(seed);
  net.loadStateDict(Object.fromEntries(networkParamSpecs(config).map((s) => [s.name, { shape: [...s.torchShape], data: Float32Array.from(rng.normal([s.torchShape.reduce((a, b) => a * b, 1)]), (v) => 0.3 * v) }])));
  return net;
}

describe('NAFNet with localStatistics', () => {
  it('ONNX Runtime equals tfjs to 1e-5 at sizes with every level local, some global, all global, and padding', async () => {
    const config: NAFNetConfig = { ...TINY, conditional: true, localStatistics: 6 };
    const net = randomNaf(config);
    const model = await createNodeOrtNoiseModel(exportOnnx(config, net.stateDict()), { threads: 1 });
    try {
      // Windows 6, 3, 2 at levels 0, 1, 2: 20x28 all local; 8x8 local, local, global; 4x4 all global; 10x14 pads to 12x16.
      for (const [H, W] of [
        [20, 28],
        [8, 8],
        [4, 4],
        [10, 14],
      ]) {
        const xt = tf.randomNormal([2, H, W, 3], 0, 1, 'float32', 1);
        const mu = tf.randomUniform([2, H, W, 3], 0, 1, 'float32', 2);
        const want = net.predict(xt, mu, [5, 60]);
        const got = await model.predict(xt, mu, [5, 60]);
        expect(normErr(got.dataSync(), want.dataSync()), `${H}x${W}`).toBeLessThan(1e-5);
        tf.dispose([xt, mu, want, got]);
      }
    } finally {
      await model.dispose();
      net.dispose();
    }
  });

  it('a window at least the input size gives the global network: bit for bit on tfjs, to 1e-6 on ONNX Runtime; a small one changes the output', async () => {
    const plain = randomNaf(TINY);
    const covering = randomNaf({ ...TINY, localStatistics: 16 });
    const small = randomNaf({ ...TINY, localStatistics: 4 });
    const xt = tf.randomNormal([1, 16, 16, 3], 0, 1, 'float32', 7);
    const want = plain.predict(xt, null, 30);
    const same = covering.predict(xt, null, 30);
    const other = small.predict(xt, null, 30);
    expect(Array.from(same.dataSync())).toEqual(Array.from(want.dataSync()));
    expect(normErr(other.dataSync(), want.dataSync())).toBeGreaterThan(1e-3);
    const ort = await createNodeOrtNoiseModel(exportOnnx(covering.config, covering.stateDict()), { threads: 1 });
    const viaOrt = await ort.predict(xt, null, 30);
    expect(normErr(viaOrt.dataSync(), want.dataSync())).toBeLessThan(1e-6);
    await ort.dispose();
    tf.dispose([xt, want, same, other, viaOrt]);
    [plain, covering, small].forEach((n) => n.dispose());
  });

  it('ORT training gradients equal tfjs gradients with local windows (the backward pass is the mirrored window sum)', async () => {
    const config: NAFNetConfig = { arch: 'nafnet', imgChannels: 3, width: 4, encBlocks: [1], middleBlocks: 1, decBlocks: [1], prediction: 'residual', localStatistics: 5 };
    const net = randomNaf(config, 4);
    const rng = new Rng(6);
    const [B, H, W] = [2, 8, 12];
    const gt = tf.tensor(Float32Array.from(rng.uniform([B * H * W * 3])), [B, H, W, 3]);
    const lq = tf.tidy(() => tf.add(gt, tf.mul(tf.tensor(rng.normal([B * H * W * 3]), [B, H, W, 3]), 0.1)));
    const noise = tf.tensor(rng.normal([B * H * W * 3]), [B, H, W, 3]);
    const task = { sde: new MeanRevertingSDE({ T: 100, maxSigma: 25 / 255 }), model: net, batch: { gt, lq }, t: [3, 70], noise, objective: 'x0', norm: 'l2' } as const;
    const ortGrads = createOrtGradients({ ort: nodeOrt, threads: 1 });
    try {
      const ref = inProcessGradients.compute(task) as GradientResult;
      const got = await ortGrads.compute(task);
      expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.abs(ref.loss));
      for (const [k, g] of Object.entries(ref.grads)) expect(normErr(gradientValues(got.grads[k]), gradientValues(g)), k).toBeLessThan(1e-4);
      disposeGradients(ref.grads);
    } finally {
      await ortGrads.dispose();
      tf.dispose([gt, lq, noise]);
      net.dispose();
    }
  });

  it('FLOPs: a covering window counts as the global mean; a smaller one runs the attention 1x1 convolution on every position', () => {
    const [H, W] = [32, 32];
    const global = forwardFlops(TINY, H, W);
    expect(forwardFlops({ ...TINY, localStatistics: 32 }, H, W)).toBe(global);
    // localStatistics 8: windows 8, 4, 2 on 32, 16, 8 px maps (all local). Per block the sca
    // convolution (c x c) runs on H W positions instead of 1: levels 0 and 1 have two blocks each (c = 4, 8), the middle one (c = 16).
    const extra = 2 * (2 * (H * W - 1) * 16 + 2 * ((H * W) / 4 - 1) * 64 + ((H * W) / 16 - 1) * 256);
    expect(forwardFlops({ ...TINY, localStatistics: 8 }, H, W) - global).toBe(extra);
  });
});

describe('the localStatistics config field', () => {
  it('is checked (one-line RangeError naming the field), kept by the config checks, and cannot be inferred from weights', () => {
    for (const bad of [0, -3, 2.5, '96', Number.NaN, null]) {
      expect(() => checkNetworkConfig({ ...TINY, localStatistics: bad as number })).toThrow(/^network: localStatistics must be an integer >= 1 \(.*\), got .*$/);
    }
    expect(() => new NAFNet({ ...TINY, localStatistics: 0 })).toThrow(RangeError);
    expect(checkNetworkConfig({ ...TINY, localStatistics: 96 })).toEqual({ ...TINY, localStatistics: 96 });
    expect(checkNetworkConfig(TINY)).not.toHaveProperty('localStatistics');
    const net = randomNaf({ ...TINY, localStatistics: 96 });
    expect(inferNetworkConfig(net.stateDict())).toEqual(TINY);
    net.dispose();
  });

  it('withLocalStatistics sets, replaces and removes it; a U-Net refuses a window', () => {
    expect(withLocalStatistics(TINY, 64)).toEqual({ ...TINY, localStatistics: 64 });
    expect(withLocalStatistics({ ...TINY, localStatistics: 64 }, null)).toEqual(TINY);
    expect(withLocalStatistics({ ...TINY, localStatistics: 64 }, 0)).toEqual(TINY);
    expect(() => withLocalStatistics(TINY, -1, 'here')).toThrow(/^here: localStatistics must be an integer >= 1/);
    const unet = { inChannels: 3, outChannels: 3, nf: 4, depth: 2 };
    expect(withLocalStatistics(unet, null)).toEqual(unet);
    expect(() => withLocalStatistics(unet, 96, 'here')).toThrow(/^here: local statistics apply to NAFNet networks only; this network is a U-Net one$/);
  });

  it('model files round-trip it; loadModel and loadRestorer override it for one load', async () => {
    const sde = new DenoisingSDE({ T: 10, maxSigma: 50 / 255 });
    const net = randomNaf({ ...TINY, localStatistics: 96 });
    const bytes = saveModel(net, sde);
    expect(readModelInfo(bytes).network).toEqual({ ...TINY, localStatistics: 96 });
    const same = loadModel(bytes);
    expect(same.network.config).toMatchObject({ localStatistics: 96 });
    const off = loadModel(bytes, {}, { localStatistics: null });
    expect(off.network.config).toEqual(TINY);
    expect(off.info.network).toMatchObject({ localStatistics: 96 }); // the file's record
    const other = loadModel(bytes, {}, { localStatistics: 24 });
    expect(other.network.config).toMatchObject({ localStatistics: 24 });
    expect(saveModel(other.network, sde).length).toBeGreaterThan(0);
    expect(readModelInfo(saveModel(other.network, sde)).network).toEqual({ ...TINY, localStatistics: 24 });
    expect(readModelInfo(saveModel(off.network, sde)).network).toEqual(TINY);
    expect(() => loadModel(bytes, {}, { localStatistics: 1.5 })).toThrow(/^loadModel: localStatistics must be an integer >= 1/);
    const restorer = await loadRestorer(bytes, { localStatistics: 32 });
    expect(restorer.network.config).toMatchObject({ localStatistics: 32 });
    await restorer.dispose();
    [net, same.network, off.network, other.network].forEach((n) => n.dispose());
  });
});

describe('irsde export / restore --local-stats', () => {
  let dir: string;
  let model: string;
  let unet: string;
  let image: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'irsde-local-'));
    model = join(dir, 'naf.safetensors');
    unet = join(dir, 'unet.safetensors');
    image = join(dir, 'in.png');
    const sde = new MeanRevertingSDE({ T: 10, maxSigma: 10 / 255 });
    const naf = randomNaf({ ...TINY, conditional: true });
    writeFileSync(model, saveModel(naf, sde, { sampling: { sampler: 'posterior', steps: 1, eta: 0 } }));
    naf.dispose();
    const u = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 1 });
    writeFileSync(unet, saveModel(u, sde));
    u.dispose();
    // A 24x24 RGB PNG, through the library's own codec.
    const px = Float32Array.from(new Rng(9).uniform([24 * 24 * 3]));
    return import('../src/io/images.js').then(({ writeImage }) => writeImage(image, { data: px, height: 24, width: 24, channels: 3 }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('export --model writes it into the network config (off removes it); a U-Net or no output refuses it in one line', async () => {
    const tlc = join(dir, 'tlc.safetensors');
    const ex = await irsde(['export', model, '--model', tlc, '--local-stats', '8']);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stderr).toContain('local statistics 8 px');
    expect(readModelInfo(new Uint8Array(readFileSync(tlc))).network).toMatchObject({ localStatistics: 8 });
    const plain = join(dir, 'plain.safetensors');
    expect((await irsde(['export', tlc, '--model', plain, '--local-stats', 'off'])).code).toBe(0);
    expect(readModelInfo(new Uint8Array(readFileSync(plain))).network).not.toHaveProperty('localStatistics');
    const bad = await irsde(['export', model, '--model', plain, '--local-stats', '-2']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--local-stats must be a window side in pixels/);
    const onUnet = await irsde(['export', unet, '--model', plain, '--local-stats', '8']);
    expect(onUnet.stderr.trim()).toMatch(/^irsde: --local-stats: local statistics apply to NAFNet networks only; this network is a U-Net one$/);
    expect((await irsde(['export', model, '--safetensors', plain, '--local-stats', '8'])).stderr).toMatch(/--local-stats is stored in a model file/);
  });

  it('restore --local-stats N overrides the file for one restore (ONNX Runtime and tfjs agree); a U-Net refuses it', async () => {
    const outs: Float32Array[] = [];
    const { readImage } = await import('../src/io/images.js');
    for (const [engine, stats] of [
      ['ort', '8'],
      ['cpu', '8'],
      ['ort', 'off'],
    ]) {
      const out = join(dir, `out-${engine}-${stats}.png`);
      const r = await irsde(['restore', image, out, '--weights', model, '--engine', engine, '--local-stats', stats, '--bit-depth', '16', '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      outs.push((await readImage(out)).data);
    }
    expect(maxAbs(outs[0], outs[1])).toBeLessThanOrEqual(2 / 65535);
    expect(maxAbs(outs[0], outs[2])).toBeGreaterThan(0);
    const r = await irsde(['restore', image, join(dir, 'u.png'), '--weights', unet, '--local-stats', '8', '--quiet']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^irsde: --local-stats: local statistics apply to NAFNet networks only; this network is a U-Net one$/);
  });
});
