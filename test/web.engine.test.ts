// irsde/web outside a browser: onnxruntime-web runs in Node too (its wasm build, one thread), so
// the engine choice, the lazy loading, the fallbacks and the numbers are tested here; the page
// side (threads, WebGPU, WebGL) is covered by test/browser.check.test.ts in headless Chromium.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { UNet, Rng, exportOnnx, loadRestorer, psnr, readSafetensors, selectBackend, type FloatImage, type UNetConfig } from '../src/index.js';
import { gaussianNoise } from '../src/advanced.js';
import { createNodeOrtNoiseModel } from '../src/nn/onnx/node.js';
import { BROWSER_ENGINES, browserEngine, detectBrowserEngines, loadBrowserNetwork, loadOrtWeb, selectBrowserEngine, type BrowserNetwork, type OrtWebModuleLike } from '../src/web.js';
import { SHARED, flat, loadJson, normErr } from './helpers/goldens.js';
import { DEFAULT_MODEL_FILE } from '../src/io/shipped-model.js';

const io = loadJson('goldens/unet_public/io.json');
const CONFIG: UNetConfig = { inChannels: io.model.in_nc, outChannels: io.model.out_nc, nf: io.model.nf, depth: io.model.depth };
const weights = readSafetensors(new Uint8Array(readFileSync(resolve(SHARED, 'goldens/unet_public/weights.safetensors'))));
const missing = () => Promise.reject(new Error("Cannot find package 'onnxruntime-web'"));

beforeAll(async () => {
  await selectBackend('cpu');
});

describe('loadOrtWeb', () => {
  it('names the optional package when it cannot be imported', async () => {
    await expect(loadOrtWeb({ ort: missing })).rejects.toThrow(/optional package 'onnxruntime-web' \(npm install onnxruntime-web\).*Cannot find package/);
  });

  it('refuses a module that is not onnxruntime-web, and bad thread counts', async () => {
    await expect(loadOrtWeb({ ort: { InferenceSession: {}, Tensor: {} } as unknown as OrtWebModuleLike })).rejects.toThrow(TypeError);
    await expect(loadOrtWeb({ threads: 0 })).rejects.toThrow(/threads must be an integer >= 1/);
  });

  it('imports onnxruntime-web lazily; outside a cross-origin isolated page it runs 1 thread and says why', async () => {
    const notes: string[] = [];
    const a = await loadOrtWeb({ threads: 4, onNote: (m) => notes.push(m) });
    expect(a.crossOriginIsolated).toBe(false);
    expect(a.threads).toBe(1);
    expect(a.ort.env.wasm.numThreads).toBe(1);
    expect(a.ort.env.wasm.proxy).toBe(false);
    expect(notes.join('\n')).toMatch(/not cross-origin isolated.*1 thread instead of .*Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp/s);
    // The settings are fixed once: a second load returns them and says so when asked for others.
    const b = await loadOrtWeb({ threads: 1, wasmPaths: '/elsewhere/', onNote: (m) => notes.push(m) });
    expect(b).toBe(a);
    expect(notes.at(-1)).toMatch(/already set up with 1 thread/);
  });
});

describe('engine choice', () => {
  it('lists every engine; without a page only ort-web-wasm and the tfjs wasm/cpu engines are offered', async () => {
    const report = await detectBrowserEngines();
    expect(report.engines.map((e) => e.name)).toEqual([...BROWSER_ENGINES]);
    const offered = report.engines.filter((e) => e.available).map((e) => e.name);
    expect(offered).toEqual(['ort-web-wasm', 'tfjs-wasm', 'tfjs-cpu']);
    expect(report.engines.find((e) => e.name === 'tfjs-webgl')!.reason).toMatch(/tfjs-backend-webgl|no WebGL/);
    expect(await selectBrowserEngine()).toBe('ort-web-wasm');
    expect(await selectBrowserEngine({ engine: ['tfjs-webgpu', 'tfjs-cpu'] })).toBe('tfjs-cpu');
    expect(await selectBrowserEngine({ ort: missing })).toBe('tfjs-wasm');
  });

  it('rejects unknown engines and empty sources; a named engine that cannot run says why', async () => {
    await expect(selectBrowserEngine({ engine: 'tfjs-gpu' as never })).rejects.toThrow(/unknown engine 'tfjs-gpu'/);
    await expect(selectBrowserEngine({ engine: 'tfjs-webgl' })).rejects.toThrow(/tfjs-webgl: .*(tfjs-backend-webgl|no WebGL)/);
    await expect(loadBrowserNetwork({})).rejects.toThrow(/source needs onnx/);
    await expect(loadBrowserNetwork({ tfjs: () => tf.zeros([1]) }, { engine: 'ort-web-wasm' })).rejects.toThrow(/ort-web-wasm: no ONNX graph given/);
  });
});

describe('loadBrowserNetwork', () => {
  const cases = io.cases as { shape: [number, number, number, number]; time: number[]; xt: unknown; cond: unknown; output: unknown }[];
  const nhwc = (v: unknown, shape: [number, number, number, number]) => tf.tidy(() => tf.transpose(tf.tensor4d(flat(v as never), shape), [0, 2, 3, 1]));

  it('runs any exported network on onnxruntime-web, equal to onnxruntime-node and the goldens (reflect padding included)', async () => {
    const onnx = exportOnnx(CONFIG, weights);
    const net = await loadBrowserNetwork({ onnx }, { engine: 'auto' });
    const node = await createNodeOrtNoiseModel(onnx);
    expect(net.engine).toBe('ort-web-wasm');
    expect(net.tfjsBackend).toBe('cpu');
    const before = tf.memory().numTensors;
    try {
      for (const c of cases) {
        const [xt, mu] = [nhwc(c.xt, c.shape), nhwc(c.cond, c.shape)];
        const t = c.time.length === 1 ? c.time[0] : c.time;
        const web = await net.predict(xt, mu, t);
        const ref = await node.predict(xt, mu, t);
        expect(web.shape).toEqual([c.shape[0], c.shape[2], c.shape[3], c.shape[1]]);
        expect(normErr(web.dataSync(), ref.dataSync())).toBeLessThan(1e-5);
        const nchw = tf.tidy(() => tf.transpose(web, [0, 3, 1, 2]));
        expect(normErr(nchw.dataSync(), flat(c.output as never))).toBeLessThan(1e-4);
        tf.dispose([xt, mu, web, ref, nchw]);
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(net.stats().calls).toBe(cases.length);
      expect(net.stats().totalMs).toBeGreaterThan(0);
    } finally {
      await net.dispose();
      await net.dispose();
      await node.dispose();
    }
    await expect(net.predict(tf.zeros([1, 16, 16, 3]), tf.zeros([1, 16, 16, 3]), 1)).rejects.toThrow(/used after dispose/);
  });

  it('falls back to tfjs when onnxruntime-web is missing, recording why, with the same output', async () => {
    const unet = new UNet(CONFIG);
    unet.loadStateDict(weights, { strict: true });
    const net = await loadBrowserNetwork({ onnx: () => exportOnnx(CONFIG, weights), tfjs: (x, m, t) => unet.predict(x, m, t) }, { engine: ['ort-web-wasm', 'tfjs-cpu'], ort: missing });
    try {
      expect(net.engine).toBe('tfjs-cpu');
      expect(net.skipped).toEqual([{ engine: 'ort-web-wasm', reason: expect.stringMatching(/onnxruntime-web/) }]);
      const c = cases[1];
      const [xt, mu] = [nhwc(c.xt, c.shape), nhwc(c.cond, c.shape)];
      const y = await net.predict(xt, mu, c.time[0]);
      const nchw = tf.tidy(() => tf.transpose(y, [0, 3, 1, 2]));
      expect(normErr(nchw.dataSync(), flat(c.output as never))).toBeLessThan(1e-4);
      tf.dispose([xt, mu, y, nchw]);
    } finally {
      await net.dispose();
      unet.dispose();
    }
  });

  it('fails with every reason when nothing can run', async () => {
    await expect(loadBrowserNetwork({ onnx: new Uint8Array([1, 2, 3]) }, { engine: ['ort-web-webgpu', 'ort-web-wasm'] })).rejects.toThrow(
      /no engine could run the network \(ort-web-webgpu: no WebGPU adapter here; ort-web-wasm: createOrtNoiseModel: ONNX Runtime could not load the model/,
    );
  });
});

describe('browserEngine (the pipeline on browser engines)', () => {
  const shipped = new Uint8Array(readFileSync(resolve('models', DEFAULT_MODEL_FILE)));
  // A 48x40 crop of a smooth synthetic scene with seeded noise: small enough for one wasm thread.
  const clean: FloatImage = { height: 48, width: 40, channels: 3, data: new Float32Array(48 * 40 * 3).map((_, i) => 0.5 + 0.3 * Math.sin(i / 97) * Math.cos(i / 311)) };
  const noisy = gaussianNoise(clean, { sigma: 25, clip: true }, new Rng(3));

  it('restores through loadRestorer on onnxruntime-web as on tfjs, reporting the engine and its network', async () => {
    const reference = await loadRestorer(shipped);
    const expected = await reference.restore(noisy, { seed: 1 });
    await reference.dispose();
    let net: BrowserNetwork | undefined;
    const before = tf.memory().numTensors;
    const restorer = await loadRestorer(shipped, { engine: browserEngine({ engine: 'ort-web-wasm', onLoad: (n) => (net = n) }) });
    try {
      expect(restorer.engine).toBe('ort-web-wasm (1 thread)');
      const got = await restorer.restore(noisy, { seed: 1 });
      expect(net!.engine).toBe('ort-web-wasm');
      expect(net!.stats().calls).toBeGreaterThan(0);
      expect(normErr(got.image.data, expected.image.data)).toBeLessThan(1e-4);
      expect(psnr(got.image, clean)).toBeGreaterThan(psnr(noisy, clean));
    } finally {
      await restorer.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    // The tfjs fallback runs the restorer's own network.
    const viaTfjs = await loadRestorer(shipped, { engine: browserEngine({ engine: 'tfjs-cpu' }) });
    try {
      expect(viaTfjs.engine).toBe('tfjs-cpu');
      expect(normErr((await viaTfjs.restore(noisy, { seed: 1 })).image.data, expected.image.data)).toBeLessThan(1e-5);
    } finally {
      await viaTfjs.dispose();
    }
  });
});
