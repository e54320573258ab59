/**
 * The page of scripts/browser-check.ts: runs the golden U-Net on every browser engine and
 * restores a photo crop on each, and reports the outputs' differences from what the Node side
 * sent (onnxruntime-node's outputs) and from one another.
 */
// irsde's core imports no tfjs backend itself (the app chooses): cpu and wasm here, webgl and webgpu below.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { UNet, cropImage, decodeImage, exportOnnx, psnr, readSafetensors, selectBackend, type FloatImage, type UNetConfig } from '../src/advanced.js';
import { BROWSER_ENGINES, detectBrowserEngines, loadBrowserNetwork, type BrowserEngineName, type BrowserNetwork } from '../src/web.js';
import { restorePhoto } from '../examples/browser/restore-photo.js';
import { postLog, postReport } from './browser-page.js';

/** What the Node side sends (check.json). */
export interface BrowserCheckInput {
  config: UNetConfig;
  /** NCHW cases of the golden U-Net with onnxruntime-node's outputs. */
  cases: { shape: [number, number, number, number]; time: number[]; xt: number[]; cond: number[]; nodeOrt: number[] }[];
  /** Side of the centre crop of photo.png restored on each engine. */
  crop: number;
}

/** One engine's results. */
export interface BrowserCheckEngine {
  engine: BrowserEngineName;
  available: boolean;
  software?: boolean;
  note?: string;
  /** max |out - nodeOrt| / max |nodeOrt| over every golden case (null: not run). */
  goldenErr: number | null;
  /** Per golden case. */
  goldenErrs?: number[];
  /** The restored crop's PSNR against the clean crop, dB. */
  psnr?: number;
  /** Largest pixel difference of the restored crop from ort-web-wasm's and tfjs-wasm's ([0, 1] scale). */
  maxAbsVsOrtWasm?: number;
  maxAbsVsTfjsWasm?: number;
}

function normErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i] - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return Number.isNaN(num) ? Infinity : den === 0 ? num : num / den;
}

function maxAbs(a: FloatImage, b: FloatImage): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

async function goldens(engine: BrowserEngineName, input: BrowserCheckInput, weights: ReturnType<typeof readSafetensors>): Promise<number[]> {
  let unet: UNet | null = null;
  let net: BrowserNetwork | null = null;
  try {
    await selectBackend('cpu');
    net = await loadBrowserNetwork(
      {
        onnx: () => exportOnnx(input.config, weights),
        tfjs: (xt, mu, t) => {
          if (unet === null) {
            unet = new UNet(input.config);
            unet.loadStateDict(weights, { strict: true });
          }
          return unet.predict(xt, mu, t);
        },
      },
      { engine, wasmPaths: './', tfjsWasmPaths: './', onNote: (m) => void postLog(m) },
    );
    const errs: number[] = [];
    for (const c of input.cases) {
      const [xt, mu] = [c.xt, c.cond].map((v) => tf.tidy(() => tf.transpose(tf.tensor4d(Float32Array.from(v), c.shape), [0, 2, 3, 1])));
      const y = await net.predict(xt, mu, c.time.length === 1 ? c.time[0] : c.time);
      const nchw = tf.tidy(() => tf.transpose(y, [0, 3, 1, 2]));
      errs.push(normErr(await nchw.data(), c.nodeOrt));
      tf.dispose([xt, mu, y, nchw]);
    }
    return errs;
  } finally {
    (unet as UNet | null)?.dispose();
    await net?.dispose();
  }
}

async function main(): Promise<void> {
  const input = (await (await fetch('check.json')).json()) as BrowserCheckInput;
  const [weightBytes, modelBytes, photoBytes] = await Promise.all(['weights.safetensors', 'model.safetensors', 'photo.png'].map(async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer())));
  const weights = readSafetensors(weightBytes);
  const photo = decodeImage(photoBytes);
  const S = input.crop;
  const clean = cropImage(photo, (photo.height - S) >> 1, (photo.width - S) >> 1, S, S);
  const report = await detectBrowserEngines({ wasmPaths: './', onNote: (m) => void postLog(m) });
  const results: BrowserCheckEngine[] = [];
  const restored = new Map<BrowserEngineName, FloatImage>();
  for (const engine of BROWSER_ENGINES) {
    const probe = report.engines.find((e) => e.name === engine)!;
    const r: BrowserCheckEngine = { engine, available: probe.available, software: probe.software, goldenErr: null };
    results.push(r);
    if (!probe.available) {
      r.note = probe.reason;
      await postLog(`${engine}: not offered here (${probe.reason})`);
      continue;
    }
    try {
      r.goldenErrs = await goldens(engine, input, weights);
      r.goldenErr = Math.max(...r.goldenErrs);
      const out = await restorePhoto(modelBytes, clean, { engine, onNote: (m) => void postLog(m) });
      restored.set(engine, out.restored);
      r.psnr = psnr(out.restored, clean);
      await postLog(`${engine}${probe.software ? ' (software)' : ''}: golden U-Net vs onnxruntime-node ${r.goldenErr.toExponential(2)}; restored ${S}x${S} crop ${r.psnr.toFixed(3)} dB`);
    } catch (e) {
      r.note = `failed: ${(e as Error).message.slice(0, 300)}`;
      await postLog(`${engine}: ${r.note}`);
    }
  }
  for (const r of results) {
    const mine = restored.get(r.engine);
    if (mine === undefined) continue;
    const ort = restored.get('ort-web-wasm');
    const tfw = restored.get('tfjs-wasm');
    if (ort) r.maxAbsVsOrtWasm = maxAbs(mine, ort);
    if (tfw) r.maxAbsVsTfjsWasm = maxAbs(mine, tfw);
  }
  await postReport({ status: 'done', results, crossOriginIsolated: report.crossOriginIsolated, webgpu: report.webgpu, webgl: report.webgl, userAgent: navigator.userAgent });
}

main().catch(async (e: Error) => {
  await postReport({ status: `error: ${e.message}` });
});
