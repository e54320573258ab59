// The original's other networks (ConditionalNAFNet in both forms, the unconditional U-Net), each
// described once and run on tfjs (cpu, wasm) and ONNX Runtime, against goldens from the PyTorch code.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  NAFNet,
  UNet,
  MeanRevertingSDE,
  ModelCompatibilityError,
  Rng,
  StateDictMismatchError,
  assertCompatible,
  countParameters,
  createOrtGradients,
  exportOnnx,
  exportOnnxTrainingGraph,
  forwardFlops,
  imageChannels,
  inProcessGradients,
  inferNetworkConfig,
  loadModel,
  networkParamSpecs,
  readSafetensors,
  readTorchStateDict,
  saveModel,
  selectBackend,
  disposeGradients,
  gradientValues,
  type GradientResult,
  type NAFNetConfig,
  type NetworkConfig,
  type StateDict,
  type TfjsNetwork,
  type UNetConfig,
} from '../src/advanced.js';
import { createNodeOrtNoiseModel, nodeOrt } from '../src/nn/onnx/node.js';
import { SHARED, flat, loadJson, type Nested } from './helpers/goldens.js';
import { useCpu } from './helpers/backends.js';

interface Golden {
  arch: 'unet' | 'nafnet';
  conditional: boolean;
  kwargs: Record<string, number | number[]>;
  parameters: number;
  cases: { shape: [number, number, number, number]; t: number[]; x: Nested; cond?: Nested; out: Nested }[];
}

const NAMES = ['nafnet_cond_public', 'nafnet_uncond_public', 'unet_uncond_public'] as const;

/** The irsde config of a golden's constructor arguments. */
function configOf(g: Golden): NetworkConfig {
  const k = g.kwargs;
  return g.arch === 'nafnet'
    ? { arch: 'nafnet', imgChannels: k.img_channel as number, width: k.width as number, encBlocks: k.enc_blk_nums as number[], middleBlocks: k.middle_blk_num as number, decBlocks: k.dec_blk_nums as number[], ...(g.conditional ? {} : { conditional: false }) }
    : { inChannels: k.in_nc as number, outChannels: k.out_nc as number, nf: k.nf as number, depth: k.depth as number, ...(g.conditional ? {} : { conditional: false }) };
}

/** Builds a network through its public constructor (the contract hidden checks use). */
function build(config: NetworkConfig, seed = 0): TfjsNetwork {
  if (config.arch === 'nafnet') {
    const { imgChannels, width, encBlocks, middleBlocks, decBlocks, conditional, prediction } = config;
    return new NAFNet({ imgChannels, width, encBlocks, middleBlocks, decBlocks, conditional: conditional ?? true, ...(prediction ? { prediction } : {}) }, { seed });
  }
  return new UNet(config as UNetConfig, { seed });
}

const nhwc = (v: Nested, s: readonly number[]): tf.Tensor4D => tf.tidy(() => tf.transpose(tf.tensor4d(flat(v), s as [number, number, number, number]), [0, 2, 3, 1]));

/** `max|got - want|` relative to the largest output magnitude (absolute where that is below 1). */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i] - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return Number.isNaN(num) ? Infinity : num / Math.max(1, den);
}

/** NHWC output -> NCHW values (the golden's layout). */
const nchwValues = (x: tf.Tensor): Float32Array => tf.tidy(() => tf.transpose(x, [0, 3, 1, 2])).dataSync() as Float32Array;

const bytes = (name: string, file: string): Uint8Array => new Uint8Array(readFileSync(resolve(SHARED, 'goldens', name, file)));

describe.each(NAMES)('%s', (name) => {
  const golden = loadJson<Golden>(`goldens/${name}/io.json`);
  const config = configOf(golden);
  const dicts: [string, StateDict][] = [
    ['weights.safetensors', readSafetensors(bytes(name, 'weights.safetensors'))],
    ['weights.pth', readTorchStateDict(bytes(name, 'weights.pth'))],
  ];

  it('has the original parameters in state_dict order, and the config is read back from the weights', () => {
    expect(countParameters(config)).toBe(golden.parameters);
    for (const [, dict] of dicts) {
      expect(networkParamSpecs(config).map((s) => s.name)).toEqual(Object.keys(dict));
      expect(inferNetworkConfig(dict)).toEqual(config);
    }
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`tfjs-${backend}: every case matches from both weight files to 1e-4 (padding, batched t), no tensor leaks`, async () => {
      await (backend === 'cpu' ? useCpu() : selectBackend('wasm'));
      const net = build(config);
      try {
        for (const [, dict] of dicts) {
          net.loadStateDict(dict);
          for (const c of golden.cases) {
            const x = nhwc(c.x, c.shape);
            const cond = c.cond === undefined ? null : nhwc(c.cond, c.shape);
            const n0 = tf.memory().numTensors;
            const out = net.predict(x, cond, c.t);
            expect(tf.memory().numTensors - n0).toBe(1);
            expect(out.shape).toEqual([c.shape[0], c.shape[2], c.shape[3], c.shape[1]]);
            expect(relErr(nchwValues(out), flat(c.out))).toBeLessThan(1e-4);
            tf.dispose([x, out, ...(cond ? [cond] : [])]);
          }
        }
      } finally {
        net.dispose();
        await useCpu();
      }
    });
  }

  it('ONNX Runtime: exportOnnx of both weight files matches every case to 1e-4', async () => {
    for (const [, dict] of dicts) {
      const model = await createNodeOrtNoiseModel(exportOnnx(config, dict));
      try {
        expect(model.io.cond === null).toBe(!golden.conditional);
        for (const c of golden.cases) {
          const out = await model.runNchw(flat(c.x), c.cond === undefined ? null : flat(c.cond), c.t, c.shape);
          expect(relErr(out.data, flat(c.out))).toBeLessThan(1e-4);
        }
      } finally {
        await model.dispose();
      }
    }
  });
});

describe('ORT training gradients equal tfjs gradients for every network', () => {
  const ortGrads = createOrtGradients({ ort: nodeOrt, threads: 1 });
  afterAll(() => ortGrads.dispose());
  const configs: [string, NetworkConfig][] = [
    ['conditional NAFNet', { arch: 'nafnet', imgChannels: 3, width: 8, encBlocks: [1, 2], middleBlocks: 1, decBlocks: [2, 1], prediction: 'residual' }],
    ['unconditional NAFNet', { arch: 'nafnet', imgChannels: 1, width: 4, encBlocks: [1], middleBlocks: 2, decBlocks: [1], conditional: false }],
    ['unconditional U-Net', { inChannels: 3, outChannels: 3, nf: 4, depth: 2, conditional: false }],
  ];
  it.each(configs)('%s: same loss and gradients (l2, to 1e-4)', async (_label, config) => {
    await useCpu();
    const net = build(config, 1);
    // NAFNets get random (not initial) weights: NAFBlock's zero beta/gamma would hide most
    // gradients. The U-Net keeps PyTorch's initialisation (random N(0, 0.04) weights make its
    // activations explode through full attention, and the gradients mostly rounding noise).
    const rng = new Rng(2);
    if (config.arch === 'nafnet') {
      net.loadStateDict(Object.fromEntries(networkParamSpecs(config).map((s) => [s.name, { shape: [...s.torchShape], data: Float32Array.from(rng.normal([s.torchShape.reduce((a, b) => a * b, 1)]), (v) => 0.2 * v) }])));
    }
    const C = imageChannels(config).input;
    const [B, H, W] = [2, 8, 12];
    const gt = tf.tensor(Float32Array.from(rng.uniform([B, H, W, C])), [B, H, W, C]);
    const lq = tf.tidy(() => tf.add(gt, tf.mul(tf.tensor(rng.normal([B, H, W, C]), [B, H, W, C]), 0.1)));
    const noise = tf.tensor(rng.normal([B, H, W, C]), [B, H, W, C]);
    const task = { sde: new MeanRevertingSDE({ T: 100, maxSigma: 25 / 255 }), model: net, batch: { gt, lq }, t: [3, 70], noise, objective: 'x0', norm: 'l2' } as const;
    const ref = inProcessGradients.compute(task) as GradientResult;
    const got = await ortGrads.compute(task);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.abs(ref.loss));
    let worst = 0;
    for (const [k, g] of Object.entries(ref.grads)) {
      const want = gradientValues(g);
      const have = gradientValues(got.grads[k]);
      let num = 0;
      let den = 0;
      for (let i = 0; i < want.length; i++) {
        num = Math.max(num, Math.abs(have[i] - want[i]));
        den = Math.max(den, Math.abs(want[i]));
      }
      // Every parameter gets a gradient (none is cut off from the loss).
      expect(den, k).toBeGreaterThan(0);
      worst = Math.max(worst, num / den);
    }
    expect(worst).toBeLessThan(1e-4);
    disposeGradients(ref.grads);
    tf.dispose([gt, lq, noise]);
    net.dispose();
  });

  it('the training graph refuses crops that are not multiples of 2^levels', () => {
    const config: NAFNetConfig = { arch: 'nafnet', imgChannels: 3, width: 4, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1] };
    expect(() => exportOnnxTrainingGraph(config, { batch: 1, height: 6, width: 8 })).toThrow(/multiples of 2\^levels = 4/);
  });
});

describe('sizes are read off the description', () => {
  it("the U-Net's FLOP count equals its closed form (both forms), the NAFNet's its own", () => {
    // The U-Net's multiply-accumulates written out by hand from UNET.md (as the count was before
    // the networks were described once), for the conditional and unconditional forms.
    const unetMacs = (c: UNetConfig, H: number, W: number): number => {
      const { inChannels: cin0, outChannels, nf, depth } = c;
      const conditional = c.conditional !== false;
      const m = 2 ** depth;
      let n = Math.ceil(H / m) * m * Math.ceil(W / m) * m;
      const tdim = 4 * nf;
      const hid = 128;
      const res = (n: number, ci: number, co: number): number => tdim * 2 * co + n * ci * co * 9 + n * co * co * 9 + (ci !== co ? n * ci * co : 0);
      const lin = (n: number, c: number): number => n * c * 3 * hid + 2 * n * 4 * 32 * 32 + n * hid * c;
      const full = (n: number, c: number): number => n * c * 3 * hid + 2 * n * n * 4 * 32 + n * hid * c;
      let macs = nf * tdim + tdim * tdim + n * (conditional ? 2 : 1) * cin0 * nf * 49;
      for (let i = 0; i < depth; i++) {
        const ch = nf * 2 ** i;
        macs += 2 * res(n, ch, ch) + lin(n, ch);
        if (i < depth - 1) {
          macs += (n / 4) * ch * 2 * ch * 16;
          n /= 4;
        } else macs += n * ch * 2 * ch * 9;
      }
      const mid = nf * 2 ** depth;
      macs += 2 * res(n, mid, mid) + (conditional ? lin(n, mid) : full(n, mid));
      for (let i = depth - 1; i >= 0; i--) {
        const ch = nf * 2 ** i;
        macs += 2 * res(n, 3 * ch, 2 * ch) + lin(n, 2 * ch);
        if (i > 0) n *= 4;
        macs += n * 2 * ch * ch * 9;
      }
      return 2 * (macs + res(n, 2 * nf, nf) + n * nf * outChannels * 9);
    };
    for (const c of [
      { inChannels: 3, outChannels: 3, nf: 64, depth: 4 },
      { inChannels: 1, outChannels: 1, nf: 16, depth: 3, conditional: false },
    ] as UNetConfig[]) {
      expect(forwardFlops(c, 256, 200)).toBe(unetMacs(c, 256, 200));
    }
    // NAFNet: per block at n pixels and c channels: the time MLP, 1x1 c->2c, depthwise 3x3 on 2c,
    // SCA c->c (once per image), 1x1 c->c, 1x1 c->2c, 1x1 c->c.
    const naf: NAFNetConfig = { arch: 'nafnet', imgChannels: 3, width: 32, encBlocks: [1, 1, 1, 4], middleBlocks: 1, decBlocks: [1, 1, 1, 1] };
    const blk = (n: number, c: number): number => 2 * 32 * 4 * c + n * c * 2 * c + n * 2 * c * 9 + c * c + n * c * c + n * c * 2 * c + n * c * c;
    let n = 128 * 128;
    let macs = 32 * 256 + 128 * 128 + n * 6 * 32 * 9 + n * 32 * 3 * 9;
    let c = 32;
    for (const k of naf.encBlocks) {
      macs += k * blk(n, c) + (n / 4) * c * 2 * c * 4;
      n /= 4;
      c *= 2;
    }
    macs += blk(n, c);
    for (const k of naf.decBlocks) {
      macs += n * c * 2 * c;
      n *= 4;
      c /= 2;
      macs += k * blk(n, c);
    }
    expect(forwardFlops(naf, 128, 128)).toBe(2 * macs);
  });
});

describe('bad input', () => {
  it('a state dict of another architecture or size names the missing, unexpected and mis-shaped keys, with a hint', async () => {
    await useCpu();
    const nafDict = readSafetensors(bytes('nafnet_cond_public', 'weights.safetensors'));
    const unet = new UNet({ inChannels: 3, outChannels: 3, nf: 8, depth: 2 });
    const err = (() => {
      try {
        unet.loadStateDict(nafDict);
      } catch (e) {
        return e as StateDictMismatchError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(StateDictMismatchError);
    expect(err.message).toMatch(/missing keys \(\d+\): init_conv.weight/);
    expect(err.message).toMatch(/unexpected keys \(\d+\): time_mlp.1.weight|unexpected keys \(\d+\):.*intro.weight/);
    expect(err.message).toMatch(/build the NAFNet with that config/);
    unet.dispose();
    const naf = new NAFNet({ imgChannels: 3, width: 16, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1], conditional: true });
    expect(() => naf.loadStateDict(nafDict)).toThrow(/mis-shaped keys \(\d+\): time_mlp.1.weight is \[64, 8\] in the weights but the network needs \[128, 16\]/);
    naf.dispose();
  });

  it('bad NAFNet configs, and unconditional / conditional inputs, fail in one line naming the problem', async () => {
    await useCpu();
    const ok = { imgChannels: 3, width: 8, encBlocks: [1], middleBlocks: 1, decBlocks: [1], conditional: true };
    expect(() => new NAFNet({ ...ok, width: 7 })).toThrow(/width must be an even integer/);
    expect(() => new NAFNet({ ...ok, decBlocks: [1, 1] })).toThrow(/one entry per level/);
    expect(() => new NAFNet({ ...ok, nf: 8 } as never)).toThrow(/unknown NAFNet option nf/);
    expect(() => new UNet({ inChannels: 3, outChannels: 3, nf: 8, depth: 2, width: 8 } as never)).toThrow(/unknown U-Net option width/);
    const cond = new NAFNet(ok);
    const x = tf.zeros([1, 8, 8, 3]);
    expect(() => cond.predict(x, null, 1)).toThrow(/cond must be a tf.Tensor \[B, H, W, 3\] \(this network is conditional\)/);
    cond.dispose();
    const uncond = new NAFNet({ ...ok, conditional: false });
    const y = uncond.predict(x, null, 1);
    expect(y.shape).toEqual([1, 8, 8, 3]);
    tf.dispose([x, y]);
    uncond.dispose();
  });
});

describe('model files record the architecture', () => {
  it('save -> load round-trips a NAFNet bit-exactly; a mismatch of architecture is refused', async () => {
    await useCpu();
    const sde = { T: 50, maxSigma: 10 / 255 };
    const naf = new NAFNet({ imgChannels: 1, width: 4, encBlocks: [1], middleBlocks: 1, decBlocks: [1], conditional: false }, { seed: 3 });
    const file = saveModel(naf, sde);
    const { network, info } = loadModel(file, { sde });
    expect(network).toBeInstanceOf(NAFNet);
    expect(info.network).toEqual(naf.config);
    for (const [k, v] of Object.entries(naf.stateDict())) expect(network.stateDict()[k].data).toEqual(v.data);
    expect(() => assertCompatible(sde, info, { arch: 'unet' })).toThrow(ModelCompatibilityError);
    expect(() => loadModel(file, { sde, network: { conditional: true } })).toThrow(/network conditional: the model has false, expected true/);
    network.dispose();
    naf.dispose();
  });
});
