import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { UNet, exportOnnx, type UNetConfig } from '../src/index.js';

import { GraphBuilder } from '../src/nn/onnx/graph-builder.js';
import { nodeOrt } from '../src/nn/onnx/node.js';
import { modelProto, valueInfoProto } from '../src/nn/onnx/onnx-proto.js';
import { WINOGRAD_F4, WINOGRAD_MIN_CHANNELS, winogradConv3x3 } from '../src/nn/onnx/winograd.js';
import { Rng } from '../src/backend/rng.js';
import { normErr } from './helpers/goldens.js';
import { ortVsTfjs } from './helpers/onnx.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** One 3x3 convolution `x [B, C, H, W] -> y`, as ONNX Conv or as the Winograd ops. */
function convModel(C: number, K: number, w: Float32Array, bias: Float32Array | null, winograd: boolean, wholeTiles = false): Uint8Array {
  const g = new GraphBuilder();
  g.reserve('x');
  const wName = g.weight('w', [K, C, 3, 3], w);
  const bName = bias === null ? null : g.weight('b', [K], bias);
  const y = winograd
    ? winogradConv3x3(g, 'wino', { x: 'x', weight: wName, bias: bName, inChannels: C, outChannels: K, wholeTiles })
    : g.op('Conv', 'direct', bName === null ? ['x', wName] : ['x', wName, bName], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  g.op('Identity', 'out', [y], {}, 'y');
  return modelProto(
    { opset: 17, irVersion: 8, producerName: 'test', producerVersion: '0' },
    { name: 'conv', nodes: g.nodes, initializers: g.initializers, inputs: [valueInfoProto('x', 'float32', ['b', C, 'h', 'w'])], outputs: [valueInfoProto('y', 'float32', ['b', K, 'h', 'w'])] },
  );
}

async function run(model: Uint8Array, x: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const ort = nodeOrt;
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
  try {
    const out = (await session.run({ x: new ort.Tensor('float32', x, dims) })).y;
    return { data: out.data as Float32Array, dims: out.dims };
  } finally {
    await session.release();
  }
}

/** Direct 3x3 correlation with zero padding, in float64: the reference for the matrices themselves. */
function conv3x3Reference(x: Float32Array, w: Float32Array, C: number, K: number, H: number, W: number): Float64Array {
  const y = new Float64Array(K * H * W);
  for (let k = 0; k < K; k++)
    for (let c = 0; c < C; c++)
      for (let r = 0; r < 3; r++)
        for (let s = 0; s < 3; s++) {
          const wv = w[((k * C + c) * 3 + r) * 3 + s];
          for (let i = 0; i < H; i++) {
            const yi = i + r - 1;
            if (yi < 0 || yi >= H) continue;
            for (let j = 0; j < W; j++) {
              const xj = j + s - 1;
              if (xj >= 0 && xj < W) y[(k * H + i) * W + j] += wv * x[(c * H + yi) * W + xj];
            }
          }
        }
  return y;
}

describe('Winograd F(4x4, 3x3) as ONNX ops', () => {
  it('the matrices compute a 1-D correlation exactly: A^T [(G g) . (B^T d)] = g * d for 4 outputs', () => {
    const { BT, G, AT } = WINOGRAD_F4;
    const rng = new Rng(3);
    const g = rng.normal([3]);
    const d = rng.normal([6]);
    const u = G.map((row) => row.reduce((s, v, r) => s + v * g[r], 0));
    const v = BT.map((row) => row.reduce((s, b, r) => s + b * d[r], 0));
    const y = AT.map((row) => row.reduce((s, a, i) => s + a * u[i] * v[i], 0));
    const want = [0, 1, 2, 3].map((i) => g[0] * d[i] + g[1] * d[i + 1] + g[2] * d[i + 2]);
    for (let i = 0; i < 4; i++) expect(y[i]).toBeCloseTo(want[i], 12);
  });

  // Shapes: whole tiles; part tiles (13x21, cropped back) with a batch of 2 and a bias; a 2x2 image.
  const cases = [
    { B: 1, C: 24, K: 16, H: 16, W: 16, bias: false, whole: true },
    { B: 2, C: 20, K: 12, H: 13, W: 21, bias: true, whole: false },
    { B: 1, C: 8, K: 8, H: 2, W: 2, bias: true, whole: false },
  ];
  for (const { B, C, K, H, W, bias, whole } of cases) {
    it(`matches ONNX Conv and a float64 reference for [${B}, ${C}, ${H}, ${W}] -> ${K} channels${bias ? ' with bias' : ''}`, async () => {
      const rng = new Rng(C * 1000 + H);
      const w = Float32Array.from(rng.normal([K * C * 9]), (v) => v / Math.sqrt(9 * C));
      const b = bias ? Float32Array.from(rng.normal([K])) : null;
      const x = Float32Array.from(rng.uniform([B * C * H * W]), (v) => 2 * v - 1);
      const direct = await run(convModel(C, K, w, b, false), x, [B, C, H, W]);
      const wino = await run(convModel(C, K, w, b, true, whole), x, [B, C, H, W]);
      expect(wino.dims).toEqual([B, K, H, W]);
      expect(normErr(wino.data, direct.data)).toBeLessThan(2e-5);
      // The first batch element against float64 maths (so neither ORT path is trusted blindly).
      const ref = conv3x3Reference(x.subarray(0, C * H * W), w, C, K, H, W);
      if (b) for (let i = 0; i < ref.length; i++) ref[i] += b[Math.floor(i / (H * W))];
      expect(normErr(wino.data.subarray(0, K * H * W), ref)).toBeLessThan(2e-5);
      // Not trivially equal: the Winograd path really rounds differently from Conv.
      expect(normErr(wino.data, direct.data)).toBeGreaterThan(0);
    });
  }
});

describe("exportOnnx(..., { conv3x3: 'winograd' })", () => {
  it(`matches the tfjs UNet to 1e-4 where convolutions have >= ${WINOGRAD_MIN_CHANNELS} channels (nf=32, depth=3, batch 2, part tiles)`, async () => {
    const config: UNetConfig = { inChannels: 3, outChannels: 3, nf: 32, depth: 3 };
    const unet = new UNet(config, { seed: 8 });
    const direct = exportOnnx(config, unet.stateDict());
    const fast = exportOnnx(config, unet.stateDict(), { conv3x3: 'winograd' });
    // The Winograd ops are there (and the file keeps the 3x3 kernels: about the same size).
    expect(Buffer.from(fast).includes('DepthToSpace')).toBe(true);
    expect(Buffer.from(direct).includes('DepthToSpace')).toBe(false);
    expect(Math.abs(fast.length - direct.length) / direct.length).toBeLessThan(0.01);
    try {
      // 24x40 pads to 24x40 (multiple of 8): level 2 is 6x10, not whole 4x4 tiles.
      const { shape, err } = await ortVsTfjs(unet, fast, [2, 24, 40, 3], [5, 60]);
      expect(shape).toEqual([2, 24, 40, 3]);
      expect(err).toBeLessThan(1e-4);
    } finally {
      unet.dispose();
    }
  });

  it('rejects an unknown conv3x3 choice', () => {
    const config: UNetConfig = { inChannels: 3, outChannels: 3, nf: 8, depth: 2 };
    const unet = new UNet(config, { seed: 1 });
    try {
      expect(() => exportOnnx(config, unet.stateDict(), { conv3x3: 'fft' as 'direct' })).toThrow(/conv3x3 must be 'direct' or 'winograd'/);
    } finally {
      unet.dispose();
    }
  });
});
