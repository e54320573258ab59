/**
 * Running a network in a browser on the fastest engine there is: ONNX Runtime Web (WebGPU, or
 * WebAssembly on every core) from the network's ONNX graph, else TensorFlow.js (webgpu, webgl,
 * wasm, cpu) from its tfjs model.
 */
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../engine/backend.js';
import { createOrtNoiseModel, type OrtNoiseModel, type OrtNoiseModelOptions } from '../nn/onnx/ort-noise-model.js';
import type { OrtSessionOptions } from '../nn/onnx/ort-types.js';
import { hasDocument, isCrossOriginIsolated, loadOrtWeb, logicalCores, type LoadOrtWebOptions } from './ort-web.js';

/**
 * A browser engine: onnxruntime-web with its WebGPU or wasm execution provider, or a tfjs backend.
 * Names as in `npm run bench:browser`.
 */
export type BrowserEngineName = 'ort-web-webgpu' | 'ort-web-wasm' | 'tfjs-webgpu' | 'tfjs-webgl' | 'tfjs-wasm' | 'tfjs-cpu';

/**
 * Every engine, in the order `'auto'` tries them: GPU engines first (ONNX Runtime's WebGPU
 * provider, then tfjs's webgpu and webgl backends; on a hardware GPU only), then ONNX Runtime's
 * wasm provider (threads + SIMD), tfjs-wasm and tfjs-cpu.
 */
export const BROWSER_ENGINES: readonly BrowserEngineName[] = Object.freeze(['ort-web-webgpu', 'tfjs-webgpu', 'tfjs-webgl', 'ort-web-wasm', 'tfjs-wasm', 'tfjs-cpu']);

/** One engine as {@link detectBrowserEngines} found it. */
export interface BrowserEngineProbe {
  /** The engine. */
  readonly name: BrowserEngineName;
  /** Whether it can run here. */
  readonly available: boolean;
  /** A GPU engine on a software renderer (SwiftShader): it works, but far slower than wasm; `'auto'` skips it. */
  readonly software?: boolean;
  /** Why it is unavailable or skipped by `'auto'`. */
  readonly reason?: string;
}

/** Options of {@link detectBrowserEngines}, {@link selectBrowserEngine} and {@link loadBrowserNetwork}. */
export interface BrowserEngineOptions extends LoadOrtWebOptions {
  /**
   * `'auto'` (default): the first engine of {@link BROWSER_ENGINES} that is available here and
   * can run the network; a name: that engine or an error; a list: the first of those that works.
   */
  readonly engine?: 'auto' | BrowserEngineName | readonly BrowserEngineName[];
  /** Where tfjs-backend-wasm's `.wasm` files are served (its `setWasmPaths`). Default in a page `'./'` (in Node: its package folder). */
  readonly tfjsWasmPaths?: string | Record<string, string>;
}

/** The page's WebGPU adapter, as the browser reports it. */
export interface WebGpuAdapterSummary {
  /** `adapter.info.vendor`, e.g. `'nvidia'`, `'google'`. */
  readonly vendor: string;
  /** `adapter.info.architecture`, e.g. `'swiftshader'`. */
  readonly architecture: string;
  /** A fallback / software adapter (SwiftShader, llvmpipe). */
  readonly software: boolean;
}

/** The page's WebGL 2 renderer. */
export interface WebGlRendererSummary {
  /** The renderer string (unmasked where the browser allows). */
  readonly renderer: string;
  /** A software renderer (SwiftShader, llvmpipe). */
  readonly software: boolean;
}

/** An engine {@link loadBrowserNetwork} tried and passed over. */
export interface SkippedEngine {
  /** The engine. */
  readonly engine: BrowserEngineName;
  /** Why it could not run the network. */
  readonly reason: string;
}

/** What {@link detectBrowserEngines} found. */
export interface BrowserEngineReport {
  /** Every engine of {@link BROWSER_ENGINES}, in that order. */
  readonly engines: readonly BrowserEngineProbe[];
  /** Whether the page is cross-origin isolated (wasm threads possible). */
  readonly crossOriginIsolated: boolean;
  /** Logical cores (`navigator.hardwareConcurrency`). */
  readonly cores: number;
  /** The WebGPU adapter, if any: vendor / architecture as the browser reports them. */
  readonly webgpu: WebGpuAdapterSummary | null;
  /** The WebGL renderer string (unmasked where allowed), if WebGL 2 works. */
  readonly webgl: WebGlRendererSummary | null;
}

interface GpuAdapterLike {
  readonly info?: { vendor?: string; architecture?: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
}

const SOFTWARE = /swiftshader|llvmpipe|software|basic render/i;

async function probeWebGpu(): Promise<BrowserEngineReport['webgpu']> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } } }).navigator?.gpu;
  if (gpu === undefined) return null;
  try {
    const adapter = await gpu.requestAdapter();
    if (adapter === null) return null;
    const vendor = adapter.info?.vendor ?? '';
    const architecture = adapter.info?.architecture ?? '';
    const software = adapter.info?.isFallbackAdapter === true || adapter.isFallbackAdapter === true || SOFTWARE.test(`${vendor} ${architecture}`);
    return { vendor, architecture, software };
  } catch {
    return null;
  }
}

function probeWebGl(): BrowserEngineReport['webgl'] {
  const doc = (globalThis as { document?: { createElement(tag: 'canvas'): HTMLCanvasElement } }).document;
  const OffscreenCanvasCtor = (globalThis as { OffscreenCanvas?: new (w: number, h: number) => OffscreenCanvas }).OffscreenCanvas;
  try {
    const canvas = doc !== undefined ? doc.createElement('canvas') : OffscreenCanvasCtor !== undefined ? new OffscreenCanvasCtor(1, 1) : null;
    const gl = canvas?.getContext('webgl2') as WebGL2RenderingContext | null | undefined;
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return { renderer, software: SOFTWARE.test(renderer) };
  } catch {
    return null;
  }
}

/**
 * Finds which engines can run in this browser (nothing is compiled or downloaded except
 * onnxruntime-web's JavaScript, to see whether it loads). tfjs's webgpu and webgl engines count
 * only when their packages (`@tensorflow/tfjs-backend-webgpu`, `-webgl`) have been imported.
 * @param options - how to load onnxruntime-web (see {@link LoadOrtWebOptions}).
 * @returns the engines in {@link BROWSER_ENGINES} order with availability and reasons.
 */
export async function detectBrowserEngines(options: BrowserEngineOptions = {}): Promise<BrowserEngineReport> {
  const [webgpu, webgl] = [await probeWebGpu(), probeWebGl()];
  let ortError: string | null = null;
  try {
    await loadOrtWeb(options);
  } catch (e) {
    ortError = e instanceof Error ? e.message : String(e);
  }
  const registered = (b: string) => tf.findBackendFactory(b) != null;
  const gpuProbe = (name: BrowserEngineName, found: { software: boolean } | null, what: string, extra: string | null): BrowserEngineProbe => {
    if (extra !== null) return { name, available: false, reason: extra };
    if (found === null) return { name, available: false, reason: `no ${what} here` };
    return found.software ? { name, available: true, software: true, reason: `${what} is a software renderer here (slower than wasm)` } : { name, available: true };
  };
  const engines: BrowserEngineProbe[] = BROWSER_ENGINES.map((name) => {
    switch (name) {
      case 'ort-web-webgpu':
        return gpuProbe(name, webgpu, 'WebGPU adapter', ortError);
      case 'tfjs-webgpu':
        return gpuProbe(name, webgpu, 'WebGPU adapter', registered('webgpu') ? null : "import '@tensorflow/tfjs-backend-webgpu' to enable it");
      case 'tfjs-webgl':
        return gpuProbe(name, webgl, 'WebGL 2', registered('webgl') ? null : "import '@tensorflow/tfjs-backend-webgl' to enable it");
      case 'ort-web-wasm':
        return ortError === null ? { name, available: true } : { name, available: false, reason: ortError };
      default:
        return { name, available: true };
    }
  });
  return { engines, crossOriginIsolated: isCrossOriginIsolated(), cores: logicalCores(), webgpu, webgl };
}

function candidates(request: BrowserEngineOptions['engine'], report: BrowserEngineReport): { list: BrowserEngineName[]; explicit: boolean } {
  if (request === undefined || request === 'auto') {
    return { list: report.engines.filter((e) => e.available && e.software !== true).map((e) => e.name), explicit: false };
  }
  const list = typeof request === 'string' ? [request] : [...request];
  for (const n of list) if (!BROWSER_ENGINES.includes(n)) throw new RangeError(`browser engine: unknown engine '${String(n)}'; known: auto, ${BROWSER_ENGINES.join(', ')}`);
  return { list, explicit: true };
}

/**
 * The engine `loadBrowserNetwork` would try first: the fastest available here (`'auto'`), or
 * the first available of those asked for.
 * @param options - `engine` and how to load onnxruntime-web.
 * @returns the engine's name.
 * @throws Error when none of the requested engines is available (with each one's reason).
 */
export async function selectBrowserEngine(options: BrowserEngineOptions = {}): Promise<BrowserEngineName> {
  const report = await detectBrowserEngines(options);
  const { list } = candidates(options.engine, report);
  const hit = list.find((n) => report.engines.find((e) => e.name === n)?.available);
  if (hit === undefined) throw new Error(`selectBrowserEngine: none of ${list.join(', ')} is available here: ${reasons(report, list)}`);
  return hit;
}

function reasons(report: BrowserEngineReport, names: readonly BrowserEngineName[]): string {
  return names.map((n) => `${n}: ${report.engines.find((e) => e.name === n)?.reason ?? 'failed'}`).join('; ');
}

/** A network's raw forward pass in tfjs: NHWC tensors in, a new NHWC tensor out (e.g. `UNet.predict`). */
export type TfjsForward = (xt: tf.Tensor, mu: tf.Tensor, t: number | number[]) => tf.Tensor | Promise<tf.Tensor>;

/** What a network can run from: its ONNX graph (ONNX Runtime engines) and/or its tfjs forward (tfjs engines). */
export interface BrowserNetworkSource {
  /**
   * The ONNX graph with the standard inputs `(xt, cond, time)` (e.g. `exportOnnx(config, weights)`),
   * or a function making it, called only when an ONNX Runtime engine is tried.
   */
  readonly onnx?: Uint8Array | ArrayBuffer | (() => Uint8Array | ArrayBuffer | Promise<Uint8Array | ArrayBuffer>);
  /** The tfjs forward pass, for the tfjs engines (not disposed by {@link BrowserNetwork.dispose}). */
  readonly tfjs?: TfjsForward;
}

/** Options of {@link loadBrowserNetwork}. */
export interface LoadBrowserNetworkOptions extends BrowserEngineOptions {
  /**
   * Extra ONNX Runtime session options (over irsde's: the engine's execution provider,
   * `graphOptimizationLevel: 'all'`), e.g. `freeDimensionOverrides: { batch: 1, height: 256,
   * width: 256, time_batch: 1 }` for a fixed input size.
   */
  readonly sessionOptions?: OrtSessionOptions;
  /** Input/output names and time type for external ONNX graphs (see {@link OrtNoiseModelOptions}). */
  readonly names?: OrtNoiseModelOptions['names'];
  /** Element type of the time input (see {@link OrtNoiseModelOptions}). */
  readonly timeType?: OrtNoiseModelOptions['timeType'];
}

/** Timing of a network's evaluations (wall time from the call to the output's values being ready). */
export interface BrowserNetworkStats {
  /** Evaluations so far. */
  readonly calls: number;
  /** Their total time, ms. */
  readonly totalMs: number;
  /** The last one's time, ms. */
  readonly lastMs: number;
}

/**
 * A network loaded on one browser engine (see {@link loadBrowserNetwork}).
 *
 * Memory: ONNX Runtime sessions hold wasm/GPU memory until {@link BrowserNetwork.dispose}. Each
 * `predict` returns one new tfjs tensor owned by the caller.
 */
export interface BrowserNetwork {
  /** The engine it runs on. */
  readonly engine: BrowserEngineName;
  /** The tfjs backend now active (tfjs engines: theirs; ONNX Runtime engines: `cpu`, for the small tensor glue). */
  readonly tfjsBackend: string;
  /** Worker threads of the wasm engines (ONNX Runtime wasm: its threads; otherwise 1). */
  readonly threads: number;
  /** Engines tried before this one and why each failed (empty when the first worked). */
  readonly skipped: readonly SkippedEngine[];
  /**
   * The network's raw output for NHWC float32 tensors `[B, H, W, C]` (arguments not disposed), as
   * a new `[B, H, W, outC]` tensor owned by the caller, whose values are ready when it resolves.
   * Wrap it with `asNoiseModel(sde, prediction, net.predict)` for the samplers.
   */
  readonly predict: (xt: tf.Tensor, mu: tf.Tensor, t: number | number[]) => Promise<tf.Tensor>;
  /** Timing so far. */
  readonly stats: () => BrowserNetworkStats;
  /** Frees the ONNX Runtime session (no-op for tfjs engines). Idempotent. */
  dispose(): Promise<void>;
}

function timed(engine: BrowserEngineName, tfjsBackend: string, threads: number, skipped: BrowserNetwork['skipped'], run: (xt: tf.Tensor, mu: tf.Tensor, t: number | number[]) => Promise<tf.Tensor>, dispose: () => Promise<void>): BrowserNetwork {
  let calls = 0;
  let totalMs = 0;
  let lastMs = 0;
  return {
    engine,
    tfjsBackend,
    threads,
    skipped,
    predict: async (xt, mu, t) => {
      const t0 = performance.now();
      const y = await run(xt, mu, t);
      lastMs = performance.now() - t0;
      totalMs += lastMs;
      calls++;
      return y;
    },
    stats: () => ({ calls, totalMs, lastMs }),
    dispose,
  };
}

async function loadOn(name: BrowserEngineName, source: BrowserNetworkSource, options: LoadBrowserNetworkOptions, skipped: BrowserNetwork['skipped']): Promise<BrowserNetwork> {
  if (name.startsWith('ort-web-')) {
    if (source.onnx === undefined) throw new Error('no ONNX graph given (source.onnx)');
    const runtime = await loadOrtWeb(options);
    const bytes = typeof source.onnx === 'function' ? await source.onnx() : source.onnx;
    const provider = name === 'ort-web-webgpu' ? 'webgpu' : 'wasm';
    const model: OrtNoiseModel = await createOrtNoiseModel(bytes, {
      ort: runtime.ort,
      names: options.names,
      timeType: options.timeType,
      sessionOptions: { graphOptimizationLevel: 'all', ...options.sessionOptions, executionProviders: [provider] },
    });
    const tfjsBackend = await selectBackend('cpu');
    return timed(name, tfjsBackend, provider === 'wasm' ? runtime.threads : 1, skipped, (xt, mu, t) => model.predict(xt, mu, t), () => model.dispose());
  }
  if (source.tfjs === undefined) throw new Error('no tfjs forward pass given (source.tfjs)');
  const forward = source.tfjs;
  const wasmPaths = options.tfjsWasmPaths ?? (hasDocument() ? './' : undefined);
  const tfjsName = name.slice('tfjs-'.length);
  // tfjs-wasm's binaries are served by the app: setting their path needs the wasm package itself
  // (an optional peer the page imports anyway; this dynamic import resolves to that instance).
  const wasmOptions = tfjsName === 'wasm' && wasmPaths !== undefined ? { wasm: await import('@tensorflow/tfjs-backend-wasm'), wasmPaths } : {};
  const backend = await selectBackend(tfjsName, wasmOptions);
  const threads = backend === 'wasm' && isCrossOriginIsolated() ? logicalCores() : 1;
  return timed(name, backend, threads, skipped, async (xt, mu, t) => {
    const y = await forward(xt, mu, t);
    await y.data(); // GPU backends compute lazily: wait for the values, as a sampler reading them would
    return y;
  }, async () => undefined);
}

/**
 * Loads a network on the fastest engine that works in this browser (or on the one asked for):
 * ONNX Runtime Web from `source.onnx` (any network irsde exports, or an external graph with
 * inputs `(xt, cond, time)`), else tfjs from `source.tfjs`. Engines that are unavailable, lack
 * the source they need, or fail to load (e.g. an operator the WebGPU provider lacks) are skipped
 * in order, each with its reason in {@link BrowserNetwork.skipped}.
 *
 * Side effects: onnxruntime-web is configured once per page (see {@link loadOrtWeb}); the tfjs
 * backend is switched to the engine's (tfjs engines) or to `cpu` (ONNX Runtime engines).
 *
 * @param source - the network's ONNX graph and/or tfjs forward pass.
 * @param options - the engine (`'auto'` by default), where runtime files are served, threads.
 * @returns the loaded network; call `dispose()` when done.
 * @throws Error listing every engine tried and why it failed, when none works.
 */
export async function loadBrowserNetwork(source: BrowserNetworkSource, options: LoadBrowserNetworkOptions = {}): Promise<BrowserNetwork> {
  if (source === null || typeof source !== 'object' || (source.onnx === undefined && source.tfjs === undefined)) {
    throw new TypeError('loadBrowserNetwork: source needs onnx (ONNX bytes, e.g. from exportOnnx) and/or tfjs (a forward function)');
  }
  const report = await detectBrowserEngines(options);
  const { list, explicit } = candidates(options.engine, report);
  const skipped: SkippedEngine[] = [];
  for (const name of list) {
    const probe = report.engines.find((e) => e.name === name)!;
    if (!probe.available) {
      skipped.push({ engine: name, reason: probe.reason ?? 'unavailable' });
      continue;
    }
    if (!explicit && (name.startsWith('ort-web-') ? source.onnx === undefined : source.tfjs === undefined)) continue;
    try {
      return await loadOn(name, source, options, [...skipped]);
    } catch (e) {
      skipped.push({ engine: name, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  throw new Error(`loadBrowserNetwork: no engine could run the network (${skipped.map((s) => `${s.engine}: ${s.reason}`).join('; ') || `nothing to try among ${list.join(', ')}`})`);
}
