import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  UNet,
  MeanRevertingSDE,
  ModelCompatibilityError,
  Rng,
  StateDictMismatchError,
  WeightFileError,
  assertCompatible,
  countParameters,
  forwardFlops,
  loadModel,
  mlLoss,
  readModelInfo,
  readSafetensors,
  readTorchStateDict,
  saveModel,
  networkParamSpecs,
  writeSafetensors,
  type StateDict,
  type UNetConfig,
} from '../src/advanced.js';
import { loadModelFile, readWeightsFile, saveModelFile } from '../src/io/model-files.js';
import { tfjsShape, tfjsToTorch, torchToTfjs } from '../src/nn/tfjs/layout.js';
import type { ParamSpec } from '../src/nn/arch/module.js';
import { SHARED, flat, loadJson, type Nested } from './helpers/goldens.js';

const DIR = resolve(SHARED, 'goldens/unet_public');
const io = loadJson('goldens/unet_public/io.json');
const inter = loadJson('goldens/unet_public/intermediates.json');
const PUBLIC: UNetConfig = { inChannels: io.model.in_nc, outChannels: io.model.out_nc, nf: io.model.nf, depth: io.model.depth };
const PAPER: UNetConfig = { inChannels: 3, outChannels: 3, nf: 64, depth: 4 };

const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(resolve(DIR, name)));

/** NCHW nested golden array -> NHWC tensor. */
function nhwc(v: Nested, shape: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(flat(v), shape as [number, number, number, number]), [0, 2, 3, 1]));
}

/** NHWC tensor -> NCHW values (rank 2 passes through). */
function nchwValues(x: tf.Tensor): Float32Array {
  return tf.tidy(() => (x.rank === 4 ? tf.transpose(x, [0, 3, 1, 2]) : tf.clone(x))).dataSync() as Float32Array;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return Number.isNaN(m) ? Infinity : m;
}

/** Index of the first element whose float32 bits differ (-1: bit-identical). `toEqual` is far too slow on big arrays. */
function firstBitDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

/** Asserts two state dicts hold the same keys, shapes and bit-identical values. */
function expectSameStateDict(got: StateDict, want: StateDict): void {
  expect(Object.keys(got)).toEqual(Object.keys(want));
  for (const k of Object.keys(want)) {
    expect(got[k].shape, k).toEqual(want[k].shape);
    expect(firstBitDiff(got[k].data, want[k].data), k).toBe(-1);
  }
}

function timeArg(time: number[]): number | number[] {
  return time.length === 1 ? time[0] : time;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('parameter table and sizes', () => {
  it('names, shapes and order equal the original state_dict', () => {
    const specs = networkParamSpecs(PUBLIC);
    expect(specs.map((s) => [s.name, s.torchShape])).toEqual(io.params.map((p: { name: string; shape: number[] }) => [p.name, p.shape]));
    expect(countParameters(PUBLIC)).toBe(io.param_count);
  });

  it('the paper configuration has 137,147,523 parameters and about 190 GFLOP at 128x128', () => {
    expect(countParameters(PAPER)).toBe(137_147_523);
    expect(countParameters(PAPER)).toBe(io.paper_config_nf64_depth4_param_count);
    const gflop = forwardFlops(PAPER, 128, 128) / 1e9;
    expect(gflop).toBeGreaterThan(185);
    expect(gflop).toBeLessThan(195);
    // Padding: 13x10 costs what 16x16 costs at depth 2 (multiple 4 -> 16x12) and scales with area.
    expect(forwardFlops(PUBLIC, 13, 10)).toBe(forwardFlops(PUBLIC, 16, 12));
    expect(forwardFlops(PAPER, 256, 256)).toBeGreaterThan(3.9 * forwardFlops(PAPER, 128, 128));
  });

  it('PyTorch <-> tfjs weight layouts: each element lands where the layout table says, both ways (tiles not multiples of 32)', () => {
    const cases: ParamSpec[] = [
      { name: 'c', torchShape: [37, 70, 3, 3], kind: 'conv', fanIn: 630 },
      { name: 'p', torchShape: [33, 5, 1, 1], kind: 'conv', fanIn: 5 },
      { name: 'l', torchShape: [65, 40], kind: 'linear', fanIn: 40 },
    ];
    for (const spec of cases) {
      const n = spec.torchShape.reduce((a, b) => a * b, 1);
      const torch = Float32Array.from({ length: n }, (_, i) => i);
      const tfjs = torchToTfjs(spec, torch);
      const [O, I] = spec.torchShape;
      const R = n / (O * I);
      for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let r = 0; r < R; r++) {
        if (tfjs[(r * I + i) * O + o] !== torch[(o * I + i) * R + r]) throw new Error(`${spec.name}: element (${o}, ${i}, ${r}) misplaced`);
      }
      expect(tfjsShape(spec).reduce((a, b) => a * b, 1)).toBe(n);
      expect(tfjsToTorch(spec, tfjs)).toEqual(torch);
    }
  });

  it('rejects invalid configs', () => {
    expect(() => countParameters({ ...PUBLIC, nf: 7 })).toThrow(/nf must be an even integer/);
    expect(() => new UNet({ ...PUBLIC, depth: 0 })).toThrow(/depth must be an integer >= 1/);
    expect(() => countParameters({ ...PUBLIC, inChannels: 1.5 })).toThrow(/inChannels/);
  });
});

describe('public golden weights (nf=8, depth=2)', () => {
  let net: UNet;
  beforeAll(() => {
    net = new UNet(PUBLIC);
    net.loadStateDict(readSafetensors(bytesOf('weights.safetensors')));
  });
  afterAll(() => net.dispose());

  it('weights.safetensors: every io.json case matches to 1e-4 (incl. 13x10 reflect padding and batched t)', () => {
    expect(io.cases.map((c: { shape: number[] }) => c.shape[2] * 100 + c.shape[3])).toContain(1310);
    for (const c of io.cases) {
      const xt = nhwc(c.xt, c.shape);
      const mu = nhwc(c.cond, c.shape);
      const out = net.predict(xt, mu, timeArg(c.time));
      expect(out.shape).toEqual([c.shape[0], c.shape[2], c.shape[3], io.model.out_nc]);
      expect(maxAbsDiff(nchwValues(out), flat(c.output))).toBeLessThan(1e-4);
      tf.dispose([xt, mu, out]);
    }
  });

  it('weights.pth loads to the same parameters and outputs', () => {
    const other = new UNet(PUBLIC, { seed: 5 });
    try {
      other.loadStateDict(readTorchStateDict(bytesOf('weights.pth')));
      expectSameStateDict(other.stateDict(), net.stateDict());
      const c = io.cases[1];
      const xt = nhwc(c.xt, c.shape);
      const mu = nhwc(c.cond, c.shape);
      const out = other.predict(xt, mu, timeArg(c.time));
      expect(maxAbsDiff(nchwValues(out), flat(c.output))).toBeLessThan(1e-4);
      tf.dispose([xt, mu, out]);
    } finally {
      other.dispose();
    }
  });

  it('intermediates match stage by stage', () => {
    const c = io.cases[0];
    const xt = nhwc(c.xt, c.shape);
    const mu = nhwc(c.cond, c.shape);
    const stages = net.trace(xt, mu, timeArg(c.time));
    expect([...stages.keys()]).toEqual(inter.order);
    for (const name of inter.order as string[]) {
      const want = inter.tensors[name];
      const got = stages.get(name) as tf.Tensor;
      const nchwShape = got.rank === 4 ? [got.shape[0], got.shape[3], got.shape[1], got.shape[2]] : got.shape;
      expect(nchwShape, name).toEqual(want.shape);
      expect(maxAbsDiff(nchwValues(got), flat(want.data)), name).toBeLessThan(1e-5);
    }
    tf.dispose([xt, mu, ...stages.values()]);
  });

  it('predict leaks no tensors and is a plain (xt, mu, t) => tensor noise model', () => {
    const xt = tf.randomUniform([2, 13, 10, 3]);
    const mu = tf.randomUniform([2, 13, 10, 3]);
    const before = tf.memory().numTensors;
    const model = net.noiseModel;
    const out = model(xt, mu, [4, 9]);
    expect(tf.memory().numTensors).toBe(before + 1);
    // Per-item t equals running each item alone.
    const one = tf.tidy(() => net.predict(tf.slice(xt, [1, 0, 0, 0], [1, 13, 10, 3]), tf.slice(mu, [1, 0, 0, 0], [1, 13, 10, 3]), 9));
    const second = tf.slice(out, [1, 0, 0, 0], [1, 13, 10, 3]);
    expect(maxAbsDiff(second.dataSync(), one.dataSync())).toBeLessThan(1e-5);
    tf.dispose([out, one, second]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xt, mu]);
  });

  it('rejects bad inputs with clear errors', () => {
    const x = tf.zeros([1, 8, 8, 3]);
    const x4 = tf.zeros([1, 8, 8, 4]);
    const tiny = tf.zeros([1, 2, 8, 3]);
    expect(() => net.predict(x4, x4, 1)).toThrow(/NHWC \[B, H, W, 3\]/);
    expect(() => net.predict(x, x, [1, 2])).toThrow(/t has 2 entries but the batch has 1/);
    expect(() => net.predict(x, x, Number.NaN)).toThrow(/finite/);
    expect(() => net.predict(tiny, tiny, 1)).toThrow(/too small to reflect-pad/);
    tf.dispose([x, x4, tiny]);
  });
});

describe('loadStateDict strictness', () => {
  it('lists every missing, unexpected and mis-shaped key in one error, and assigns nothing', () => {
    const net = new UNet(PUBLIC);
    try {
      const good = readSafetensors(bytesOf('weights.safetensors'));
      const bad: StateDict = { ...good };
      delete bad['mid_attn.fn.norm.g'];
      delete bad['final_conv.bias'];
      bad['extra.weight'] = { shape: [2], data: new Float32Array(2) };
      bad['downs.0.3.weight'] = { shape: [16, 8, 3, 3], data: new Float32Array(16 * 8 * 9) };
      const before = net.stateDict();
      let err: unknown;
      try {
        net.loadStateDict(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StateDictMismatchError);
      const e = err as StateDictMismatchError;
      expect(e.missing).toEqual(['mid_attn.fn.norm.g', 'final_conv.bias']);
      expect(e.unexpected).toEqual(['extra.weight']);
      expect(e.mismatched).toEqual([{ name: 'downs.0.3.weight', expected: [16, 8, 4, 4], found: [16, 8, 3, 3] }]);
      expect(e.message).toMatch(/missing keys \(2\): mid_attn\.fn\.norm\.g, final_conv\.bias/);
      expect(e.message).toMatch(/unexpected keys \(1\): extra\.weight/);
      expect(e.message).toMatch(/downs\.0\.3\.weight is \[16, 8, 3, 3\] in the weights but the network needs \[16, 8, 4, 4\]/);
      expectSameStateDict(net.stateDict(), before);

      // Non-strict: missing and unexpected are reported, not fatal; a wrong shape still is.
      delete bad['downs.0.3.weight'];
      const res = net.loadStateDict(bad, { strict: false });
      expect(res.missing).toEqual(['downs.0.3.weight', 'mid_attn.fn.norm.g', 'final_conv.bias']);
      expect(res.unexpected).toEqual(['extra.weight']);
      const partial = net.stateDict();
      expect(firstBitDiff(partial['init_conv.weight'].data, good['init_conv.weight'].data)).toBe(-1);
      expect(firstBitDiff(partial['final_conv.bias'].data, before['final_conv.bias'].data)).toBe(-1);
      bad['init_conv.weight'] = { shape: [8, 6, 7, 7], data: new Float32Array(5) };
      expect(() => net.loadStateDict(bad, { strict: false })).toThrow(/mis-shaped keys \(1\): init_conv\.weight/);
    } finally {
      net.dispose();
    }
  });

  it('hints at DataParallel prefixes and at the size the weights were saved from', () => {
    const net = new UNet({ ...PUBLIC, nf: 16 });
    try {
      const good = readSafetensors(bytesOf('weights.safetensors'));
      expect(() => net.loadStateDict(good)).toThrow(/look like a network of \{"inChannels":3,"outChannels":3,"nf":8,"depth":2\}/);
      const prefixed: StateDict = {};
      for (const [k, v] of Object.entries(good)) prefixed[`module.${k}`] = v;
      expect(() => net.loadStateDict(prefixed)).toThrow(/'module\.'/);
    } finally {
      net.dispose();
    }
  });
});

describe('another size (nothing depends on nf=8 / depth=2)', () => {
  const CFG: UNetConfig = { inChannels: 1, outChannels: 2, nf: 16, depth: 3 };

  it('stateDict -> loadStateDict round-trips exactly, shapes follow the config, odd sizes are padded and cropped', () => {
    const a = new UNet(CFG, { seed: 1 });
    const b = new UNet(CFG, { seed: 2 });
    try {
      const sd = a.stateDict();
      const specs = networkParamSpecs(CFG);
      expect(Object.keys(sd)).toEqual(specs.map((s) => s.name));
      expect(Object.values(sd).reduce((n, t) => n + t.data.length, 0)).toBe(countParameters(CFG));
      expect(sd['downs.2.3.weight'].shape).toEqual([128, 64, 3, 3]);
      expect(sd['ups.0.0.block1.proj.weight'].shape).toEqual([128, 192, 3, 3]);
      expect(sd['ups.1.3.1.weight'].shape).toEqual([32, 64, 3, 3]);
      expect(sd['ups.2.3.weight'].shape).toEqual([16, 32, 3, 3]);
      expect(sd['mid_attn.fn.fn.to_qkv.weight'].shape).toEqual([384, 128, 1, 1]);
      expect(sd['init_conv.weight'].shape).toEqual([16, 2, 7, 7]);
      expect(sd['final_conv.weight'].shape).toEqual([2, 16, 3, 3]);

      const xt = tf.randomUniform([1, 11, 9, 1], 0, 1, 'float32', 3);
      const mu = tf.randomUniform([1, 11, 9, 1], 0, 1, 'float32', 4);
      const ya = a.predict(xt, mu, 30);
      const yb0 = b.predict(xt, mu, 30);
      expect(ya.shape).toEqual([1, 11, 9, 2]);
      expect(maxAbsDiff(ya.dataSync(), yb0.dataSync())).toBeGreaterThan(1e-3);
      b.loadStateDict(sd);
      expectSameStateDict(b.stateDict(), sd);
      const yb = b.predict(xt, mu, 30);
      expect(firstBitDiff(yb.dataSync() as Float32Array, ya.dataSync() as Float32Array)).toBe(-1);
      tf.dispose([xt, mu, ya, yb0, yb]);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});

describe('training', () => {
  it('the ML loss gives every variable a non-zero gradient, and Adam steps reduce it', () => {
    const net = new UNet(PUBLIC, { seed: 3 });
    const sde = new MeanRevertingSDE({ T: 100, maxSigma: 10 / 255 });
    const rng = new Rng(11);
    const shape = [2, 4, 4, 3];
    const x0 = tf.tensor(Float32Array.from(rng.uniform(shape)), shape, 'float32');
    const mu = tf.tidy(() => tf.clipByValue(tf.add(x0, tf.mul(tf.tensor(rng.normal(shape), shape, 'float32'), 0.1)), 0, 1));
    const t = [20, 60];
    const xt = sde.sampleMarginal(x0, mu, t, rng);
    const loss = (): tf.Scalar => mlLoss(sde, { xt, x0, cond: mu, t, noisePred: net.predict(xt, mu, t) }) as tf.Scalar;
    try {
      const vars = net.trainableVariables;
      expect(vars.length).toBe(io.params.length);
      const { value, grads } = tf.variableGrads(loss, vars);
      const zero = vars.filter((v) => {
        const g = grads[v.name];
        return g === undefined || (tf.tidy(() => tf.max(tf.abs(g))).dataSync()[0] as number) === 0;
      });
      expect(zero.map((v) => v.name)).toEqual([]);
      tf.dispose([value, ...Object.values(grads)]);

      const first = tf.tidy(() => loss().dataSync()[0]);
      const opt = tf.train.adam(1e-3);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 4; i++) tf.dispose(opt.minimize(loss, false, vars) ?? []);
      const last = tf.tidy(() => loss().dataSync()[0]);
      expect(last).toBeLessThan(first);
      opt.dispose();
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
    } finally {
      tf.dispose([x0, mu, xt]);
      net.dispose();
    }
  });
});

describe('model file (weights + configs)', () => {
  const SDE = { T: 100, maxSigma: 10 / 255, schedule: 'cosine' as const, eps: 0.005 };

  it('save -> load round-trips bit-exactly with the SDE config', () => {
    const net = new UNet({ inChannels: 2, outChannels: 2, nf: 8, depth: 3 }, { seed: 9 });
    const bytes = saveModel(net, new MeanRevertingSDE(SDE));
    const { network: unet, sdeConfig, info } = loadModel(bytes);
    try {
      expect(info.network).toEqual(net.config);
      expect(unet.config).toEqual(net.config);
      expect(sdeConfig).toEqual(SDE);
      const a = net.stateDict();
      expectSameStateDict(unet.stateDict(), a);
      // The file is plain safetensors with PyTorch names: the ordinary reader sees the weights.
      expect(Object.keys(readSafetensors(bytes))).toEqual(Object.keys(a));
      const again = saveModel(unet, sdeConfig);
      expect(again.length).toBe(bytes.length);
      expect(again.every((v, i) => v === bytes[i])).toBe(true);
    } finally {
      net.dispose();
      unet.dispose();
    }
  });

  it('refuses a mismatched SDE or network size, and files that are not irsde models', () => {
    const net = new UNet(PUBLIC);
    const bytes = saveModel(net, SDE);
    net.dispose();
    const info = readModelInfo(bytes);
    expect(() => assertCompatible(SDE, info)).not.toThrow();
    expect(() => assertCompatible({ T: 100, maxSigma: 10 / 255, eps: 0.005 }, info)).not.toThrow(); // 'cosine' is the default
    expect(() => assertCompatible({ ...SDE, T: 1000 }, info)).toThrow(ModelCompatibilityError);
    expect(() => assertCompatible({ ...SDE, T: 1000 }, info)).toThrow(/T = 100, the SDE has T = 1000/);
    expect(() => assertCompatible({ ...SDE, maxSigma: 50 / 255 }, info)).toThrow(/maxSigma/);
    expect(() => assertCompatible({ ...SDE, eps: 0.01 }, info)).toThrow(/eps/);
    expect(() => assertCompatible({ ...SDE, schedule: 'linear' }, info)).toThrow(/schedule/);
    expect(() => assertCompatible(SDE, info, { nf: 64 })).toThrow(/network nf: the model has 8, expected 64/);
    expect(() => loadModel(bytes, { sde: { ...SDE, T: 50 } })).toThrow(ModelCompatibilityError);
    expect(() => loadModel(bytes, { network: { inChannels: 1 } })).toThrow(/inChannels/);
    expect(() => readModelInfo(bytesOf('weights.safetensors'))).toThrow(WeightFileError);
    const forged = writeSafetensors(readSafetensors(bytesOf('weights.safetensors')), {
      irsde: JSON.stringify({ format: 'irsde', version: 1, network: { ...PUBLIC, nf: 16 }, sde: SDE }),
    });
    expect(() => loadModel(forged)).toThrow(StateDictMismatchError);
    const future = writeSafetensors({}, { irsde: JSON.stringify({ format: 'irsde', version: 99, network: PUBLIC, sde: SDE }) });
    expect(() => readModelInfo(future)).toThrow(/version 99 is not supported/);
  });

  it('Node file helpers: save/load a model file, read .pth or .safetensors weights by content', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irsde-unet-'));
    const net = new UNet(PUBLIC, { seed: 4 });
    try {
      const path = join(dir, 'model.safetensors');
      const n = await saveModelFile(path, net, SDE);
      expect(n).toBe(readFileSync(path).length);
      const { network: unet, sdeConfig } = await loadModelFile(path, { sde: SDE, network: { inChannels: 3 } });
      expectSameStateDict(unet.stateDict(), net.stateDict());
      expect(sdeConfig.T).toBe(SDE.T);
      unet.dispose();
      await expect(loadModelFile(path, { sde: { ...SDE, maxSigma: 1 } })).rejects.toThrow(/maxSigma/);
      const fromPth = await readWeightsFile(resolve(DIR, 'weights.pth'));
      expectSameStateDict(fromPth, readSafetensors(bytesOf('weights.safetensors')));
    } finally {
      net.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('model files over URLs (the browser path)', () => {
  it('modelBlob -> served over HTTP -> loadModelFromUrl round-trips bit exactly; HTTP errors are clear', async () => {
    const { createServer } = await import('node:http');
    const { modelBlob, loadModelFromUrl, UNet: Net, saveModel: save } = await import('../src/advanced.js');
    const net = new Net({ inChannels: 1, outChannels: 1, nf: 4, depth: 2 }, { seed: 5 });
    const sdeCfg = { T: 20, maxSigma: 0.1, schedule: 'cosine' as const, eps: 0.01 };
    const bytes = new Uint8Array(await modelBlob(net, sdeCfg).arrayBuffer());
    const server = createServer((req, res) => {
      if (req.url === '/model.safetensors') res.end(bytes);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const loaded = await loadModelFromUrl(`http://127.0.0.1:${port}/model.safetensors`, { sde: sdeCfg });
      expect(Buffer.compare(Buffer.from(save(loaded.network, loaded.sdeConfig)), Buffer.from(bytes))).toBe(0);
      loaded.network.dispose();
      await expect(loadModelFromUrl(`http://127.0.0.1:${port}/missing`)).rejects.toThrow(/answered 404/);
    } finally {
      server.close();
      net.dispose();
    }
  });
});
