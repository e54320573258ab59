import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  UNet,
  OnnxExportError,
  OrtModelError,
  createOrtNoiseModel,
  exportOnnx,
  readSafetensors,
  networkParamSpecs,
  type OrtNoiseModel,
  type StateDict,
  type UNetConfig,
  type NetworkConfig,
  Rng,
  createNetwork,
  imageChannels,
  inferNetworkConfig,
  withExtraCond,
} from '../src/advanced.js';
import { createNodeOrtNoiseModel, nodeOrt } from '../src/nn/onnx/node.js';
import { GraphBuilder } from '../src/nn/onnx/graph-builder.js';
import { modelProto, valueInfoProto, type OnnxDtype } from '../src/nn/onnx/onnx-proto.js';
import { ProtoMessage } from '../src/nn/onnx/protobuf.js';
import { SHARED, flat, loadJson, normErr, type Nested } from './helpers/goldens.js';
import { ortVsTfjs } from './helpers/onnx.js';

const io = loadJson('goldens/unet_public/io.json');
const PUBLIC: UNetConfig = { inChannels: io.model.in_nc, outChannels: io.model.out_nc, nf: io.model.nf, depth: io.model.depth };
const weights = readSafetensors(new Uint8Array(readFileSync(resolve(SHARED, 'goldens/unet_public/weights.safetensors'))));

/** NCHW nested golden array -> NHWC tensor. */
function nhwc(v: Nested, shape: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(flat(v), shape as [number, number, number, number]), [0, 2, 3, 1]));
}

/** NHWC tensor -> NCHW values. */
function nchwValues(x: tf.Tensor): Float32Array {
  return tf.tidy(() => tf.transpose(x, [0, 3, 1, 2])).dataSync() as Float32Array;
}

/** A small hand-built ONNX model: `out = 2 * a - b + t` with the given input names/types/shapes. */
function tinyModel(inputs: { name: string; dtype: OnnxDtype; shape: (number | string)[] }[], timeCast = false): Uint8Array {
  const g = new GraphBuilder();
  for (const i of inputs) g.reserve(i.name);
  const [a, b, t] = inputs.map((i) => i.name);
  let y = g.op('Sub', 'f', [g.op('Mul', 'f', [a, g.constFloat([2], [])]), b]);
  if (t !== undefined) y = g.op('Add', 'f', [y, timeCast ? g.op('Cast', 'f', [t], { to: 1 }) : t]);
  g.op('Identity', 'f', [y], {}, 'out');
  return modelProto(
    { opset: 17, irVersion: 8, producerName: 'test', producerVersion: '0' },
    {
      name: 'tiny',
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: inputs.map((i) => valueInfoProto(i.name, i.dtype, i.shape)),
      outputs: [valueInfoProto('out', 'float32', ['b', 'c', 'h', 'w'])],
    },
  );
}

const IMG: (number | string)[] = ['b', 3, 'h', 'w'];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('protobuf wire encoding', () => {
  it('encodes varints, negative int64 and floats as the protobuf spec says', () => {
    expect([...new ProtoMessage().varint(1, 300).toBytes()]).toEqual([0x08, 0xac, 0x02]);
    // -1 as int64: ten bytes of two's complement.
    expect([...new ProtoMessage().varint(3, -1).toBytes()]).toEqual([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect([...new ProtoMessage().float(2, 1).toBytes()]).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    const inner = new ProtoMessage().string(1, 'ab');
    expect([...new ProtoMessage().message(7, inner).toBytes()]).toEqual([0x3a, 0x04, 0x0a, 0x02, 0x61, 0x62]);
  });
});

describe('exportOnnx + onnxruntime-node on the golden U-Net (nf=8, depth=2)', () => {
  let model: OrtNoiseModel;
  beforeAll(async () => {
    // Severity 4 (fatal only): the error-path test below makes ORT log the failing Pad node.
    model = await createNodeOrtNoiseModel(exportOnnx(PUBLIC, weights), { sessionOptions: { logSeverityLevel: 4 } });
  });
  afterAll(async () => {
    await model.dispose();
  });

  it('declares the original signature (xt, cond, time) -> noise with dynamic B/H/W', () => {
    expect(model.session.inputNames).toEqual(['xt', 'cond', 'time']);
    expect(model.session.outputNames).toEqual(['noise']);
    expect(model.io).toMatchObject({ xt: 'xt', cond: 'cond', time: 'time', output: 'noise', timeType: 'float32' });
  });

  for (const [k, c] of (io.cases as { shape: number[]; time: number[]; xt: Nested; cond: Nested; output: Nested }[]).entries()) {
    it(`matches the PyTorch output for case ${k} ${JSON.stringify(c.shape)} t=${JSON.stringify(c.time)} (NHWC tfjs in/out, no tensor leaks)`, async () => {
      const xt = nhwc(c.xt, c.shape);
      const mu = nhwc(c.cond, c.shape);
      const before = tf.memory().numTensors;
      const y = await model.noiseModel(xt, mu, c.time.length === 1 ? c.time[0] : c.time);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(y.shape).toEqual([c.shape[0], c.shape[2], c.shape[3], c.shape[1]]);
      expect(normErr(nchwValues(y), flat(c.output))).toBeLessThan(1e-4);
      tf.dispose([xt, mu, y]);
    });
  }

  it('runs on host NCHW arrays directly (runNchw) with the same result', async () => {
    const c = io.cases[1];
    const out = await model.runNchw(flat(c.xt), flat(c.cond), c.time, c.shape);
    expect(out.dims).toEqual(c.shape);
    expect(normErr(out.data, flat(c.output))).toBeLessThan(1e-4);
  });

  it('loads the same model from an .onnx file path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irsde-onnx-'));
    try {
      const file = join(dir, 'unet.onnx');
      writeFileSync(file, exportOnnx(PUBLIC, weights));
      const fromFile = await createNodeOrtNoiseModel(file, { threads: 1 });
      const c = io.cases[0];
      const out = await fromFile.runNchw(flat(c.xt), flat(c.cond), c.time, c.shape);
      expect(normErr(out.data, flat(c.output))).toBeLessThan(1e-4);
      await fromFile.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad inputs with clear errors and leaks no tensors on the error paths', async () => {
    const a = tf.zeros([1, 16, 16, 3]);
    const b = tf.zeros([1, 16, 8, 3]);
    const r3 = tf.zeros([16, 16, 3]);
    const tiny = tf.zeros([1, 2, 2, 3]);
    const before = tf.memory().numTensors;
    await expect(model.predict(a, b, 1)).rejects.toThrow(/xt \[1, 16, 16, 3\] and mu \[1, 16, 8, 3\] must have the same batch, height and width/);
    await expect(model.predict(r3, a, 1)).rejects.toThrow(/NHWC/);
    await expect(model.predict(a, a, [1, 2])).rejects.toThrow(/t has 2 entries but the batch has 1/);
    await expect(model.predict(a, a, Number.NaN)).rejects.toThrow(/finite/);
    // A 2x2 image cannot be reflect-padded to 4x4: ORT's own error, wrapped with the input shape.
    await expect(model.predict(tiny, tiny, 1)).rejects.toThrow(/too small for the reflect padding/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, r3, tiny]);
  });
});

describe('ONNX vs the tfjs UNet (nf=16, depth=3, random weights)', () => {
  it('unet.stateDict() -> exportOnnx -> ORT matches unet.predict to 1e-4 (padding, batch of 2, two times)', async () => {
    const config: UNetConfig = { inChannels: 3, outChannels: 3, nf: 16, depth: 3 };
    const unet = new UNet(config, { seed: 5 });
    try {
      const { shape, err } = await ortVsTfjs(unet, exportOnnx(config, unet.stateDict()), [2, 12, 20, 3], [3, 71]);
      expect(shape).toEqual([2, 12, 20, 3]);
      expect(err).toBeLessThan(1e-4);
    } finally {
      unet.dispose();
    }
  });
});

describe('exportOnnx input checks', () => {
  it('lists missing, mis-shaped and unexpected weights', () => {
    const broken: StateDict = { ...weights, extra: { shape: [1], data: new Float32Array(1) } };
    delete (broken as Record<string, unknown>)['final_conv.bias'];
    broken['init_conv.weight'] = { shape: [8, 6, 3, 3], data: new Float32Array(8 * 6 * 9) };
    let err: unknown;
    try {
      exportOnnx(PUBLIC, broken);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxExportError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/missing final_conv\.bias \[3\]/);
    expect(msg).toMatch(/init_conv\.weight is \[8, 6, 3, 3\] but the network needs \[8, 6, 7, 7\]/);
    expect(msg).toMatch(/unexpected keys \(1; pass \{ strict: false \} to ignore\): extra/);
  });

  it('accepts extra keys with strict: false, and rejects weights of another config or bad configs', () => {
    const extra: StateDict = { ...weights, 'ema.step': { shape: [1], data: new Float32Array(1) } };
    expect(exportOnnx(PUBLIC, extra, { strict: false }).length).toBeGreaterThan(4 * networkParamSpecs(PUBLIC).length);
    expect(() => exportOnnx({ ...PUBLIC, nf: 16 }, weights)).toThrow(OnnxExportError);
    expect(() => exportOnnx({ ...PUBLIC, nf: 7 }, weights)).toThrow(/nf must be an even integer/);
    expect(() => exportOnnx(PUBLIC, null as unknown as StateDict)).toThrow(/state dict/);
    const short: StateDict = { ...weights, 'final_conv.bias': { shape: [3], data: new Float32Array(2) } };
    expect(() => exportOnnx(PUBLIC, short)).toThrow(/final_conv\.bias has 2 values but its shape \[3\] needs 3/);
  });
});

describe('external ONNX models and loading errors', () => {
  const x = Float32Array.from({ length: 12 }, (_, i) => i);
  const c = Float32Array.from({ length: 12 }, (_, i) => 100 * i);
  const expectTiny = (got: Float32Array, t: number): void => {
    expect(Array.from(got)).toEqual(Array.from(x, (v, i) => 2 * v - c[i] + t));
  };

  it('maps aliased names in any order and feeds int64 time as the model declares', async () => {
    const bytes = tinyModel(
      [
        { name: 'x', dtype: 'float32', shape: IMG },
        { name: 'mu', dtype: 'float32', shape: IMG },
        { name: 't', dtype: 'int64', shape: ['b'] },
      ],
      true,
    );
    const m = await createOrtNoiseModel(bytes, { ort: nodeOrt, threads: 1, spinning: false });
    expect(m.io).toMatchObject({ xt: 'x', cond: 'mu', time: 't', timeType: 'int64' });
    const out = await m.runNchw(x, c, 7, [1, 3, 2, 2]);
    expectTiny(out.data, 7);
    await expect(m.runNchw(x, c, 7.5, [1, 3, 2, 2])).rejects.toThrow(/integer times \(int64\)/);
    await m.dispose();
  });

  it('falls back to ranks, then order, for unrecognised names (as torch.onnx.export may write them)', async () => {
    const bytes = tinyModel([
      { name: 'onnx::Sub_0', dtype: 'float32', shape: IMG },
      { name: 'onnx::Sub_1', dtype: 'float32', shape: IMG },
      { name: 'input.3', dtype: 'float32', shape: [1] },
    ]);
    const m = await createOrtNoiseModel(bytes, { ort: nodeOrt });
    expect(m.io).toMatchObject({ xt: 'onnx::Sub_0', cond: 'onnx::Sub_1', time: 'input.3', timeType: 'float32' });
    // A fixed [1] time is broadcast over the batch, so all times must agree.
    const out = await m.runNchw(x, c, [2], [1, 3, 2, 2]);
    expectTiny(out.data, 2);
    const x2 = new Float32Array(24);
    await expect(m.runNchw(x2, x2, [1, 2], [2, 3, 2, 2])).rejects.toThrow(/one time for the whole batch/);
    await m.dispose();
  });

  it('honours explicit names and rejects names the model lacks', async () => {
    const bytes = tinyModel([
      { name: 'b_in', dtype: 'float32', shape: IMG },
      { name: 'a_in', dtype: 'float32', shape: IMG },
      { name: 'tt', dtype: 'float32', shape: ['b'] },
    ]);
    const m = await createOrtNoiseModel(bytes, { ort: nodeOrt, names: { xt: 'b_in', cond: 'a_in', time: 'tt' } });
    expectTiny((await m.runNchw(x, c, 1, [1, 3, 2, 2])).data, 1);
    await m.dispose();
    await expect(createOrtNoiseModel(bytes, { ort: nodeOrt, names: { xt: 'nope' } })).rejects.toThrow(/no input named 'nope'.*\[b_in, a_in, tt\]/);
  });

  it('rejects models whose inputs do not fit (xt, cond, time)', async () => {
    const two = tinyModel([
      { name: 'xt', dtype: 'float32', shape: IMG },
      { name: 'cond', dtype: 'float32', shape: IMG },
    ]);
    await expect(createOrtNoiseModel(two, { ort: nodeOrt })).rejects.toThrow(/3 inputs \(xt, cond, time\).*has 2: \[xt, cond\]/);
    const rank3 = tinyModel([
      { name: 'xt', dtype: 'float32', shape: [3, 'h', 'w'] },
      { name: 'cond', dtype: 'float32', shape: [3, 'h', 'w'] },
      { name: 'time', dtype: 'float32', shape: ['b'] },
    ]);
    await expect(createOrtNoiseModel(rank3, { ort: nodeOrt, sessionOptions: { logSeverityLevel: 3 } })).rejects.toThrow(/'xt' \(xt\) must be rank 4 NCHW/);
    const fixed = tinyModel([
      { name: 'xt', dtype: 'float32', shape: [1, 3, 2, 2] },
      { name: 'cond', dtype: 'float32', shape: [1, 3, 2, 2] },
      { name: 'time', dtype: 'float32', shape: [1] },
    ]);
    const m = await createOrtNoiseModel(fixed, { ort: nodeOrt });
    await expect(m.runNchw(new Float32Array(27), new Float32Array(27), 1, [1, 3, 3, 3])).rejects.toThrow(/fixed shape \[1, 3, 2, 2\].*dimension H must be 2/);
    await m.dispose();
  });

  it('rejects corrupt bytes, empty bytes and a missing ort module', async () => {
    const good = exportOnnx(PUBLIC, weights);
    const corrupt = good.slice(0, 1000);
    await expect(createNodeOrtNoiseModel(corrupt)).rejects.toThrow(/could not load the model \(1000 bytes\)/);
    await expect(createNodeOrtNoiseModel(new TextEncoder().encode('not an onnx file'))).rejects.toThrow(OrtModelError);
    await expect(createNodeOrtNoiseModel(new Uint8Array(0))).rejects.toThrow(/empty/);
    await expect(createNodeOrtNoiseModel('/nonexistent/model.onnx')).rejects.toThrow(/could not load the model \('\/nonexistent\/model\.onnx'\)/);
    await expect(createOrtNoiseModel(good, {} as never)).rejects.toThrow(/options\.ort must be the ONNX Runtime module/);
    await expect(createNodeOrtNoiseModel(good, { threads: 0 })).rejects.toThrow(/threads must be an integer >= 1/);
  });
});

describe('extra condition channels (extraCondChannels: the inpainting mask as an input channel)', () => {
  it.each([
    ['NAFNet', { arch: 'nafnet', imgChannels: 3, width: 8, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1], extraCondChannels: 1, prediction: 'residual' }],
    ['U-Net', { inChannels: 3, outChannels: 3, nf: 8, depth: 2, extraCondChannels: 1 }],
    ['grey NAFNet, 2 extra channels', { arch: 'nafnet', imgChannels: 1, width: 8, encBlocks: [1], middleBlocks: 1, decBlocks: [1], extraCondChannels: 2 }],
  ] as const)('%s: exportOnnx -> ORT matches predict(xt, concat(mu, mask)) to 1e-4; the mask changes the output; plain configs keep 2C inputs', async (_name, config) => {
    const net = createNetwork(config as NetworkConfig, { seed: 3 });
    const c = imageChannels(net.config);
    const k = c.cond - c.input;
    expect(k).toBe(config.extraCondChannels);
    expect(net.stateDict()[net.config.arch === 'nafnet' ? 'intro.weight' : 'init_conv.weight'].shape[1]).toBe(2 * c.input + k);
    // Random weights everywhere (NAFBlocks start with zero beta/gamma), so every input channel matters.
    const rng = new Rng(4);
    net.loadStateDict(Object.fromEntries(Object.entries(net.stateDict()).map(([n, v]) => [n, { shape: v.shape, data: Float32Array.from(rng.normal([v.data.length]), (x) => 0.2 * x) }])));
    const model = await createNodeOrtNoiseModel(exportOnnx(net.config, net.stateDict()));
    const shape = [2, 12, 20, c.input];
    const xt = tf.randomNormal(shape, 0, 1, 'float32', 1);
    const mu = tf.randomUniform(shape, 0, 1, 'float32', 2);
    const maskA = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([2, 12, 20, k], 0, 1, 'float32', 3), 0.7), 'float32'));
    const maskB = tf.zerosLike(maskA);
    const n0 = tf.memory().numTensors;
    try {
      const condA = withExtraCond(mu, maskA);
      const want = net.predict(xt, condA, [3, 71]);
      const got = await model.predict(xt, condA, [3, 71]);
      expect(got.shape).toEqual([2, 12, 20, c.output]);
      expect(normErr(got.dataSync(), want.dataSync())).toBeLessThan(1e-4);
      const condB = withExtraCond(mu, maskB);
      const other = net.predict(xt, condB, [3, 71]);
      expect(normErr(other.dataSync(), want.dataSync())).toBeGreaterThan(1e-3);
      // The condition must carry the extra channels: mu alone is refused with a one-line error naming them.
      expect(() => net.predict(xt, mu, 3)).toThrow(/cond must be NHWC \[B, H, W, \d\] \(mu with \d extra condition channels? appended/);
      tf.dispose([condA, want, got, condB, other]);
      expect(tf.memory().numTensors).toBe(n0);
    } finally {
      tf.dispose([xt, mu, maskA, maskB]);
      await model.dispose();
      net.dispose();
    }
  });

  it('checks the option and infers it from weights; a config without it is unchanged', () => {
    expect(() => createNetwork({ arch: 'nafnet', imgChannels: 3, width: 8, encBlocks: [1], middleBlocks: 1, decBlocks: [1], extraCondChannels: 0 })).toThrow(/extraCondChannels must be an integer >= 1/);
    expect(() => createNetwork({ inChannels: 3, outChannels: 3, nf: 8, depth: 2, conditional: false, extraCondChannels: 1 })).toThrow(/extraCondChannels needs a conditional network/);
    const masked = createNetwork({ arch: 'nafnet', imgChannels: 3, width: 8, encBlocks: [1], middleBlocks: 1, decBlocks: [1], extraCondChannels: 1 });
    const unet = createNetwork({ inChannels: 3, outChannels: 3, nf: 8, depth: 2, extraCondChannels: 1 });
    const plain = createNetwork({ arch: 'nafnet', imgChannels: 3, width: 8, encBlocks: [1], middleBlocks: 1, decBlocks: [1] });
    try {
      expect(inferNetworkConfig(masked.stateDict())).toEqual({ ...masked.config });
      expect(inferNetworkConfig(unet.stateDict())).toEqual({ ...unet.config });
      expect(inferNetworkConfig(plain.stateDict())).toEqual({ ...plain.config });
      expect(plain.stateDict()['intro.weight'].shape).toEqual([8, 6, 3, 3]);
      expect(imageChannels(plain.config)).toEqual({ input: 3, output: 3, cond: 3 });
    } finally {
      [masked, unet, plain].forEach((n) => n.dispose());
    }
  });
});
