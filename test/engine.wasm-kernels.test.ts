import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND_ENV_VAR, selectBackend, WASM_TRAINING_KERNELS, wasmTrainingKernelsRegistered } from '../src/engine/index.js';
import { normErr } from './helpers/goldens.js';

const TOL = 1e-5;

/** Deterministic values in [-0.5, 0.5) (an LCG), so both backends see identical inputs. */
function values(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}
const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
const input = (shape: number[], seed: number) => tf.tensor(values(size(shape), seed), shape, 'float32');

type Outputs = Array<{ shape: number[]; data: Float32Array }>;

/** Runs `f` on a backend and reads back every output tensor. */
async function on(backend: string, f: () => tf.Tensor[]): Promise<Outputs> {
  await tf.setBackend(backend);
  const ts = tf.tidy(f);
  const out = ts.map((t) => ({ shape: t.shape.slice(), data: t.dataSync() as Float32Array }));
  tf.dispose(ts);
  return out;
}

/** Worst relative error (max abs error / max abs value) of wasm against cpu over all outputs. */
async function wasmVsCpu(f: () => tf.Tensor[]): Promise<number> {
  const want = await on('cpu', f);
  const got = await on('wasm', f);
  expect(got.map((o) => o.shape)).toEqual(want.map((o) => o.shape));
  return Math.max(...got.map((o, i) => normErr(o.data, want[i].data)));
}

/** Forward value and both gradients of `sum(conv2d(x, w) * dyWeights)`. */
function convGrads(xShape: number[], wShape: number[], strides: number | [number, number], pad: any): () => tf.Tensor[] {
  return () => {
    const x = input(xShape, 1) as tf.Tensor4D;
    const w = input(wShape, 2) as tf.Tensor4D;
    const y = tf.conv2d(x, w, strides, pad);
    const dy = input(y.shape, 3);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), dy)))([x, w]);
    return [y, dx, dw];
  };
}

beforeAll(async () => {
  expect(await selectBackend('wasm')).toBe('wasm');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('wasm training kernels', () => {
  it('are registered on the wasm backend', () => {
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    for (const k of WASM_TRAINING_KERNELS) expect(tf.getKernel(k, 'wasm')).toBeDefined();
  });

  const explicit = [[0, 0], [1, 2], [0, 1], [0, 0]];
  const grid: Array<[number, number, any, number[]]> = [];
  for (const k of [1, 3, 4, 7]) {
    for (const s of [1, 2]) {
      for (const pad of ['same', 'valid', explicit]) {
        for (const hw of [[8, 8], [9, 7]]) grid.push([k, s, pad, hw]);
      }
    }
  }
  it(`conv2d forward, dx and dw match cpu over ${grid.length} kernel/stride/padding/shape cases`, async () => {
    for (const [k, s, pad, [h, w]] of grid) {
      const err = await wasmVsCpu(convGrads([2, h, w, 3], [k, k, 3, 5], s, pad));
      expect(err, `k=${k} s=${s} pad=${JSON.stringify(pad)} ${h}x${w}`).toBeLessThan(TOL);
    }
  });

  it('conv2d gradients match cpu for the U-Net shapes: 4x4 stride 2 pad 1, 7x7, 1x1, rectangular kernels and strides', async () => {
    const cases: Array<[number[], number[], number | [number, number], any]> = [
      [[3, 16, 16, 8], [4, 4, 8, 16], 2, [[0, 0], [1, 1], [1, 1], [0, 0]]],
      [[2, 12, 12, 6], [7, 7, 6, 8], 1, [[0, 0], [3, 3], [3, 3], [0, 0]]],
      [[2, 10, 10, 16], [1, 1, 16, 24], 1, 'valid'],
      [[1, 6, 10, 4], [3, 5, 4, 2], [2, 3], 'same'],
      [[1, 5, 5, 2], [1, 1, 2, 3], 3, 'valid'],
      [[2, 9, 11, 3], [2, 3, 3, 4], [3, 2], 'valid'],
    ];
    for (const [xs, ws, s, pad] of cases) {
      expect(await wasmVsCpu(convGrads(xs, ws, s, pad)), `x=[${xs}] w=[${ws}] s=${s}`).toBeLessThan(TOL);
    }
  });

  it('depthwise conv2d forward, dx (stride 1) and dw (strides 1 and 2) match cpu (NAFNet)', async () => {
    const cases: Array<[number[], number[], number, any, boolean]> = [
      [[2, 8, 8, 6], [3, 3, 6, 1], 1, 'same', true],
      [[1, 9, 7, 4], [3, 3, 4, 1], 1, 'valid', true],
      [[2, 6, 10, 3], [5, 5, 3, 1], 1, 'same', true],
      [[2, 9, 9, 4], [3, 3, 4, 1], 2, 'same', false],
    ];
    for (const [xs, ws, s, pad, dxToo] of cases) {
      const f = () => {
        const x = input(xs, 1) as tf.Tensor4D;
        const w = input(ws, 2) as tf.Tensor4D;
        const y = tf.depthwiseConv2d(x, w, s, pad);
        const dy = input(y.shape, 3);
        const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), dy));
        // dx only where wasm's kernel supports it (stride 1); dw always.
        return dxToo ? [y, ...tf.grads(loss)([x, w])] : [y, tf.grad((b: tf.Tensor) => loss(x, b))(w)];
      };
      expect(await wasmVsCpu(f), `x=[${xs}] w=[${ws}] s=${s} ${pad}`).toBeLessThan(TOL);
    }
  });

  it('matMul (transposed, batched, broadcast) and its gradients match cpu', async () => {
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[3, 4], [4, 5], false, false], [[4, 3], [4, 5], true, false], [[3, 4], [5, 4], false, true],
      [[4, 3], [5, 4], true, true], [[2, 3, 4], [2, 4, 5], false, false], [[2, 4, 3], [2, 5, 4], true, true],
      [[2, 2, 3, 40], [2, 2, 5, 40], false, true], [[2, 2, 40, 3], [2, 2, 40, 5], true, false],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const err = await wasmVsCpu(() => {
        const a = input(sa, 4);
        const b = input(sb, 5);
        const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb))))([a, b]);
        return [tf.matMul(a, b, ta, tb), ga, gb];
      });
      expect(err, `[${sa}]${ta ? 'T' : ''} x [${sb}]${tb ? 'T' : ''}`).toBeLessThan(TOL);
    }
    // One matrix against a batch (tfjs's cpu gradient does not reduce this broadcast: forward only).
    expect(await wasmVsCpu(() => [tf.matMul(input([3, 5, 4], 6), input([4, 6], 7)), tf.matMul(input([5, 4], 6), input([2, 4, 6], 7))])).toBeLessThan(TOL);
  });

  it('slice, split and concat (and their gradients) match cpu', async () => {
    const err = await wasmVsCpu(() => {
      const x = input([2, 5, 6, 7], 8);
      const [g] = tf.grads((a: tf.Tensor) => {
        const [p, q] = tf.split(a, [3, 4], 3);
        return tf.sum(tf.square(tf.concat([tf.slice(p, [0, 1, 1, 0], [1, 3, 4, 3]), tf.slice(q, [1, 0, 2, 1], [1, 3, 4, 2])], 3)));
      })([x]);
      return [g, tf.slice(x, [1, 1, 2, 3], [1, 3, 4, 2]), ...tf.split(x, 2, 2), tf.slice(input([10], 9), [3], [4])];
    });
    expect(err).toBeLessThan(TOL);
  });

  // Every op the U-Net (docs/UNET.md) differentiates through, each checked through tf.grads.
  const opCases: Record<string, [number[][], (...xs: tf.Tensor[]) => tf.Tensor]> = {
    'erf (GELU)': [[[4, 6]], (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))))],
    'sigmoid (SiLU)': [[[4, 6]], (x) => tf.mul(x, tf.sigmoid(x))],
    'softmax (last axis)': [[[3, 4, 7]], (x) => tf.softmax(x)],
    'mirrorPad reflect (value)': [[[1, 5, 5, 2]], (x) => tf.mirrorPad(x as tf.Tensor4D, [[0, 0], [0, 3], [0, 3], [0, 0]], 'reflect')],
    'resizeNearestNeighbor x2': [[[2, 3, 4, 3]], (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [6, 8])],
    'layer norm (mean, variance, rsqrt)': [[[2, 3, 3, 5], [5]], (x, g) => {
      const m = tf.mean(x, 3, true);
      const v = tf.mean(tf.square(tf.sub(x, m)), 3, true);
      return tf.mul(tf.mul(tf.sub(x, m), tf.rsqrt(tf.add(v, 1e-5))), g);
    }],
    'moments': [[[2, 4, 4, 3]], (x) => { const { mean, variance } = tf.moments(x, [1, 2], true); return tf.add(mean, variance); }],
    'sin/cos/exp embedding': [[[5]], (t) => tf.concat([tf.sin(tf.exp(t)), tf.cos(t)], 0)],
    'bias and scale broadcast': [[[2, 3, 3, 4], [4], [2, 1, 1, 4]], (x, b, s) => tf.add(tf.mul(x, tf.add(s, 1)), b)],
    'reshape/transpose (attention)': [[[2, 3, 4, 8]], (x) => tf.transpose(tf.reshape(x, [2, 12, 2, 4]), [0, 2, 3, 1])],
    'crop by slice and pad': [[[1, 6, 6, 2]], (x) => tf.pad(tf.slice(x, [0, 0, 0, 0], [1, 5, 5, 2]), [[0, 0], [1, 0], [0, 1], [0, 0]])],
    'division and sqrt': [[[6], [6]], (a, b) => tf.div(a, tf.sqrt(tf.add(tf.square(b), 1)))],
  };
  it(`tf.grads through each U-Net op matches cpu (${Object.keys(opCases).join(', ')})`, async () => {
    for (const [name, [shapes, f]] of Object.entries(opCases)) {
      const err = await wasmVsCpu(() => {
        const xs = shapes.map((s, i) => input(s, 10 + i));
        return [f(...xs), ...tf.grads((...a: tf.Tensor[]) => tf.sum(tf.square(f(...a))))(xs)];
      });
      expect(err, name).toBeLessThan(TOL);
    }
  });

  it("a tiny conv net's full gradient on wasm equals cpu", async () => {
    const net = () => {
      const w = {
        init: input([7, 7, 6, 8], 20), down: input([4, 4, 8, 16], 21), downB: input([16], 22),
        up: input([3, 3, 16, 8], 23), mix: input([1, 1, 16, 8], 24), out: input([3, 3, 8, 3], 25),
      };
      const x = input([2, 8, 8, 6], 26);
      const ws = Object.values(w);
      const grads = tf.grads((...p: tf.Tensor[]) => {
        const [init, down, downB, up, mix, out] = p as tf.Tensor4D[];
        const xr = tf.mirrorPad(x as tf.Tensor4D, [[0, 0], [3, 3], [3, 3], [0, 0]], 'reflect');
        const h0 = tf.conv2d(xr, init, 1, 'valid');
        const silu = (t: tf.Tensor) => tf.mul(t, tf.sigmoid(t));
        const h1 = silu(tf.add(tf.conv2d(h0, down, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]), downB));
        const h2 = tf.conv2d(tf.image.resizeNearestNeighbor(h1 as tf.Tensor4D, [8, 8]), up, 1, 'same');
        const h3 = tf.conv2d(tf.concat([h2, h0], 3) as tf.Tensor4D, mix, 1, 'valid');
        const gelu = tf.mul(tf.mul(h3, 0.5), tf.add(1, tf.erf(tf.div(h3, Math.SQRT2))));
        return tf.mean(tf.abs(tf.conv2d(gelu as tf.Tensor4D, out, 1, 'same')));
      })(ws);
      return grads;
    };
    expect(await wasmVsCpu(net)).toBeLessThan(TOL);
  });

  it('leaks no tensors and no wasm data', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const step = convGrads([2, 9, 7, 4], [4, 4, 4, 6], 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    tf.dispose(tf.tidy(step)); // warm-up
    const tensors = tf.memory().numTensors;
    const data = backend.numDataIds();
    for (let i = 0; i < 3; i++) {
      tf.dispose(tf.tidy(step));
      tf.dispose(tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.matMul(a, b, true, true)))([input([2, 5, 3], 1), input([2, 4, 5], 2)])));
      tf.dispose(tf.tidy(() => tf.split(input([4, 6], 3), 3, 1)));
    }
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(data);
  });
});

describe('cpu kernel fixes', () => {
  it('the nearest-neighbour upsampling gradient sums each 2x2 block of dy, for every batch item', async () => {
    await selectBackend('cpu');
    const x = tf.zeros([2, 2, 2, 1]);
    const dy = tf.reshape(tf.range(0, 32, 1, 'float32'), [2, 4, 4, 1]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [4, 4]), dy)))(x);
    // Block sums of 0..15 and of 16..31 laid out 4x4.
    expect(Array.from(g.dataSync())).toEqual([10, 18, 42, 50, 74, 82, 106, 114]);
    tf.dispose([x, dy, g]);
  });
});

describe('selectBackend', () => {
  it('selects cpu and wasm by name and rejects unknown names with a clear error', async () => {
    expect(await selectBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(await selectBackend('wasm')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    await expect(selectBackend('nosuch')).rejects.toThrow(/unknown backend 'nosuch'/);
  });

  it(`'auto' picks wasm in Node unless ${BACKEND_ENV_VAR} says otherwise`, async () => {
    const saved = process.env[BACKEND_ENV_VAR];
    try {
      delete process.env[BACKEND_ENV_VAR];
      await tf.setBackend('cpu');
      expect(await selectBackend()).toBe('wasm');
      process.env[BACKEND_ENV_VAR] = 'cpu';
      expect(await selectBackend('auto')).toBe('cpu');
      expect(await selectBackend('wasm')).toBe('wasm'); // an explicit name wins over the variable
    } finally {
      if (saved === undefined) delete process.env[BACKEND_ENV_VAR];
      else process.env[BACKEND_ENV_VAR] = saved;
    }
  });
});
