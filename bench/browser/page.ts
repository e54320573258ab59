/**
 * The page of `npm run bench:browser` (bench/browser/run.ts builds and serves it): times the
 * U-Net forward pass on each browser engine and reports the rows back.
 * The plan (models, engines, size, repetitions) comes from `plan.json` beside the page.
 */
// irsde's core imports no tfjs backend itself (the app chooses): cpu and wasm here, webgl and webgpu below.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { UNet, Rng, exportOnnx, selectBackend, type UNetConfig } from '../../src/index.js';
import { detectBrowserEngines, loadBrowserNetwork, type BrowserEngineName, type BrowserNetwork, type LoadBrowserNetworkOptions } from '../../src/web.js';
import { postLog, postReport } from '../../scripts/browser-page.js';

/** What run.ts asks for. */
export interface BrowserBenchPlan {
  models: { key: string; config: UNetConfig }[];
  engines: BrowserEngineName[];
  size: number;
  reps: number;
  warmup: number;
  /** Fewer repetitions once one run takes longer than this, s. */
  slowS: number;
  /** Engines on a software renderer run only the models listed here. */
  softwareModels: string[];
  /** ONNX Runtime: the 3x3 convolution forms to time (the faster one is the row). */
  conv3x3: ('direct' | 'winograd')[];
  /** Extra ONNX Runtime session options (e.g. freeDimensionOverrides). */
  sessionOptions?: Record<string, unknown>;
  /** Fix ONNX Runtime's free dimensions to the benchmark's input size. */
  fixedShape?: boolean;
  threads?: number;
}

/** One timing as the page reports it. */
export interface BrowserBenchTiming {
  model: string;
  engine: BrowserEngineName;
  ms: number | null;
  all?: number[];
  conv3x3?: string;
  /** The first call (compilation included), ms. */
  firstMs?: number;
  variants?: Record<string, number | null>;
  threads?: number;
  note?: string;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

function image(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(Float32Array.from(new Rng(seed).uniform(shape)), shape, 'float32');
}

async function time(net: BrowserNetwork, S: number, plan: BrowserBenchPlan): Promise<{ all: number[]; first: number }> {
  const xt = image([1, S, S, 3], 1);
  const mu = image([1, S, S, 3], 2);
  try {
    const once = async () => {
      const t0 = performance.now();
      const y = await net.predict(xt, mu, 50);
      y.dispose();
      return performance.now() - t0;
    };
    // The first call compiles (wasm, shaders); the last warm-up call decides how many timed runs fit.
    const warm: number[] = [];
    for (let i = 0; i < plan.warmup; i++) warm.push(await once());
    const reps = warm[warm.length - 1] > plan.slowS * 1000 ? 1 : plan.reps;
    const all: number[] = [];
    for (let i = 0; i < reps; i++) all.push(await once());
    return { all, first: warm[0] ?? all[0] };
  } finally {
    tf.dispose([xt, mu]);
  }
}

async function main(): Promise<void> {
  const plan = (await (await fetch('plan.json')).json()) as BrowserBenchPlan;
  // Networks for the ONNX export are built on cpu (tfjs's default here would be webgpu).
  await selectBackend('cpu');
  const common: LoadBrowserNetworkOptions = { wasmPaths: './', tfjsWasmPaths: './', threads: plan.threads, onNote: (m) => void postLog(m) };
  const report = await detectBrowserEngines(common);
  await postLog(`page: crossOriginIsolated ${report.crossOriginIsolated}, ${report.cores} cores, WebGPU ${report.webgpu ? `${report.webgpu.vendor}/${report.webgpu.architecture}${report.webgpu.software ? ' (software)' : ''}` : 'none'}, WebGL ${report.webgl?.renderer ?? 'none'}`);
  const S = plan.size;
  const timings: BrowserBenchTiming[] = [];
  for (const { key, config } of plan.models) {
    for (const engine of plan.engines) {
      const probe = report.engines.find((e) => e.name === engine)!;
      const row: BrowserBenchTiming = { model: key, engine, ms: null };
      timings.push(row);
      if (!probe.available) {
        row.note = `not offered here: ${probe.reason}`;
        await postLog(`${key} ${engine}: ${row.note}`);
        continue;
      }
      if (probe.software && !plan.softwareModels.includes(key)) {
        row.note = `skipped: ${probe.reason}; run with --software-models ${key} to time it`;
        await postLog(`${key} ${engine}: ${row.note}`);
        continue;
      }
      if (probe.software) row.note = `software renderer (${engine.includes('webgl') ? report.webgl?.renderer : report.webgpu?.architecture})`;
      try {
        if (engine.startsWith('ort-web-')) {
          row.variants = {};
          let best: number[] | null = null;
          for (const conv3x3 of plan.conv3x3) {
            await selectBackend('cpu');
            const unet = new UNet(config, { seed: 1 });
            const onnx = exportOnnx(config, unet.stateDict(), { conv3x3 });
            unet.dispose();
            const fixed = plan.fixedShape ? { freeDimensionOverrides: { batch: 1, height: S, width: S, time_batch: 1 } } : {};
            let net: BrowserNetwork | null = null;
            try {
              net = await loadBrowserNetwork({ onnx }, { ...common, engine, sessionOptions: { ...plan.sessionOptions, ...fixed } });
              const { all, first } = await time(net, S, plan);
              row.variants[conv3x3] = median(all);
              row.threads = net.threads;
              if (best === null || median(all) < median(best)) {
                best = all;
                row.conv3x3 = conv3x3;
                row.firstMs = Math.round(first);
              }
              await postLog(`${key} ${engine} ${conv3x3}: ${median(all).toFixed(0)} ms [${all.map((x) => x.toFixed(0)).join(', ')}] (${net.threads} threads)`);
            } catch (e) {
              row.variants[conv3x3] = null;
              await postLog(`${key} ${engine} ${conv3x3}: failed: ${(e as Error).message.slice(0, 300)}`);
            } finally {
              await net?.dispose();
            }
          }
          if (best !== null) {
            row.ms = median(best);
            row.all = best.map(Math.round);
          } else row.note = 'failed (see the log)';
        } else {
          // tfjs: switch the backend first, then build the network on it.
          let unet: UNet | null = null;
          const net = await loadBrowserNetwork({ tfjs: (x, m, t) => unet!.predict(x, m, t) }, { ...common, engine });
          unet = new UNet(config, { seed: 1 });
          try {
            const { all, first } = await time(net, S, plan);
            row.ms = median(all);
            row.firstMs = Math.round(first);
            row.all = all.map(Math.round);
            row.threads = net.threads;
            await postLog(`${key} ${engine}: ${row.ms.toFixed(0)} ms [${all.map((x) => x.toFixed(0)).join(', ')}] (backend ${net.tfjsBackend}, ${net.threads} threads)`);
          } finally {
            unet.dispose();
            await net.dispose();
          }
        }
      } catch (e) {
        row.ms = null;
        row.note = `failed: ${(e as Error).message.slice(0, 300)}`;
        await postLog(`${key} ${engine}: ${row.note}`);
      }
    }
  }
  await postReport({ status: 'done', timings, environment: { crossOriginIsolated: report.crossOriginIsolated, cores: report.cores, webgpu: report.webgpu, webgl: report.webgl, userAgent: navigator.userAgent } });
}

main().catch(async (e: Error) => {
  await postReport({ status: `error: ${e.message}` });
});
