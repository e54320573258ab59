/**
 * The browser example's work, shared with the headless checks: add seeded sigma-25 noise to a
 * clean photo and restore it with an irsde model file on a browser engine (onnxruntime-web from
 * the model's ONNX export, or tfjs), with the model's recommended sampling — the same steps,
 * seed and tiling as `npm run demo` in Node, so the PSNR must match it.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ConditionalUNet,
  HostTensor,
  createNetwork,
  imageChannels,
  MeanRevertingSDE,
  Rng,
  asNoiseModel,
  convertChannels,
  exportOnnx,
  gaussianNoise,
  predictionOf,
  readModelInfo,
  readSafetensors,
  restore,
  tfjsBackend,
  tiledNoiseModel,
  type FloatImage,
  type SamplerName,
} from '../../src/index.js';
import { loadBrowserNetwork, type BrowserEngineName, type BrowserNetwork, type LoadBrowserNetworkOptions } from '../../src/web.js';

/** Options of {@link restorePhoto}. */
export interface RestorePhotoOptions {
  /** Engine: `'auto'` (default), one name, or a list in order of preference. */
  readonly engine?: LoadBrowserNetworkOptions['engine'];
  /** Sampling steps (default: the model file's recommendation, else 5). */
  readonly steps?: number;
  /** Noise sigma on the 0-255 scale (default 25, as the demo). */
  readonly sigma?: number;
  /** Seed of the added noise and of the sampler (default 0, as the demo). */
  readonly seed?: number;
  /** Called after each sampling step with the network's timing so far. */
  readonly onStep?: (done: number, total: number, net: BrowserNetwork) => void;
  /** Where onnxruntime-web prints notes (default console.warn). */
  readonly onNote?: (message: string) => void;
}

/** What {@link restorePhoto} produced. */
export interface PhotoRestoration {
  /** The photo with noise added (the input). */
  readonly noisy: FloatImage;
  /** The restoration, clipped to [0, 1], with the photo's channels. */
  readonly restored: FloatImage;
  /** The engine that ran the network. */
  readonly engine: BrowserEngineName;
  /** wasm threads of that engine. */
  readonly threads: number;
  /** Engines skipped before it, with reasons. */
  readonly skipped: BrowserNetwork['skipped'];
  /** Network evaluations and their mean time, ms. */
  readonly evals: number;
  /** Mean time per network evaluation, ms. */
  readonly msPerEval: number;
  /** Wall time of the restoration (network loading excluded), s. */
  readonly seconds: number;
  /** Sampler and steps used. */
  readonly sampler: SamplerName;
  /** Steps used. */
  readonly steps: number;
}

/**
 * Adds noise to `clean` and restores it with the model in `modelBytes` (an `irsde train` model file).
 * @param modelBytes - the model file.
 * @param clean - the clean photo, values in [0, 1].
 * @param options - engine, steps, noise, progress.
 */
export async function restorePhoto(modelBytes: Uint8Array, clean: FloatImage, options: RestorePhotoOptions = {}): Promise<PhotoRestoration> {
  const info = readModelInfo(modelBytes);
  const weights = readSafetensors(modelBytes);
  const seed = options.seed ?? 0;
  const noisy = gaussianNoise(clean, { sigma: options.sigma ?? 25, clip: true }, new Rng(seed));
  const input = convertChannels(noisy, imageChannels(info.network).input as 1 | 3);
  // The tfjs network is built only if a tfjs engine runs, after it has switched the backend.
  let unet: ConditionalUNet | null = null;
  const net = await loadBrowserNetwork(
    {
      onnx: () => exportOnnx(info.network, weights),
      tfjs: (xt, mu, t) => {
        if (unet === null) {
          unet = createNetwork(info.network) as ConditionalUNet;
          unet.loadStateDict(weights, { strict: true });
        }
        return unet.predict(xt, mu, t);
      },
    },
    { engine: options.engine ?? 'auto', wasmPaths: './', tfjsWasmPaths: './', onNote: options.onNote },
  );
  try {
    const steps = options.steps ?? info.sampling?.steps ?? 5;
    const sampler = (info.sampling?.sampler ?? 'posterior') as SamplerName;
    const model = asNoiseModel(new MeanRevertingSDE<tf.Tensor>(info.sde), predictionOf(info.network), net.predict);
    const started = performance.now();
    const out = await restore({
      sde: new MeanRevertingSDE<HostTensor>(info.sde, 'float32'),
      model: tiledNoiseModel(model, tfjsBackend, { tile: 512 }),
      lq: new HostTensor(input.data, [1, input.height, input.width, input.channels]),
      sampler,
      eta: info.sampling?.eta ?? 0,
      steps,
      seed,
      onProgress: (done, total) => options.onStep?.(done, total, net),
    });
    const seconds = (performance.now() - started) / 1000;
    const restored = convertChannels({ ...input, data: out.data.map((v) => Math.min(1, Math.max(0, v))) }, clean.channels as 1 | 3);
    const { calls, totalMs } = net.stats();
    return { noisy, restored, engine: net.engine, threads: net.threads, skipped: net.skipped, evals: calls, msPerEval: calls > 0 ? totalMs / calls : 0, seconds, sampler, steps };
  } finally {
    (unet as ConditionalUNet | null)?.dispose();
    await net.release();
  }
}
