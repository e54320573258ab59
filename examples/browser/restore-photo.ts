/**
 * The browser example's work, shared with the headless checks: add seeded sigma-25 noise to a
 * clean photo and restore it with an irsde model file through the library's one pipeline
 * (`loadRestorer` with `browserEngine`: onnxruntime-web from the model's ONNX export, or tfjs), with
 * the model's recommended sampling — the same steps, seed and tiling as `npm run demo` in Node,
 * so the PSNR must match it.
 */
import { Rng, loadRestorer, type FloatImage, type RestoredImage } from '../../src/index.js';
import { gaussianNoise } from '../../src/advanced.js';
import { browserEngine, type BrowserEngineName, type BrowserNetwork, type LoadBrowserNetworkOptions } from '../../src/web.js';

/** Options of {@link restorePhoto}. */
export interface RestorePhotoOptions {
  /** Engine: `'auto'` (default), one name, or a list in order of preference. */
  readonly engine?: LoadBrowserNetworkOptions['engine'];
  /** Sampling steps (default: the model file's recommendation). */
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
  /** Sampler used. */
  readonly sampler: string;
  /** Steps used. */
  readonly steps: number;
  /** DenoisingSDE models: the noise level the restoration started from (estimated from the noisy photo). */
  readonly noise?: RestoredImage['noise'];
}

/**
 * Adds noise to `clean` and restores it with the model in `modelBytes` (an `irsde train` model file).
 * @param modelBytes - the model file.
 * @param clean - the clean photo, values in [0, 1].
 * @param options - engine, steps, noise, progress.
 */
export async function restorePhoto(modelBytes: Uint8Array, clean: FloatImage, options: RestorePhotoOptions = {}): Promise<PhotoRestoration> {
  const seed = options.seed ?? 0;
  const noisy = gaussianNoise(clean, { sigma: options.sigma ?? 25, clip: true }, new Rng(seed));
  let net: BrowserNetwork | undefined;
  const restorer = await loadRestorer(modelBytes, {
    engine: browserEngine({ engine: options.engine ?? 'auto', wasmPaths: './', tfjsWasmPaths: './', onNote: options.onNote, onLoad: (n) => (net = n) }),
  });
  try {
    const loaded = net!;
    const r = await restorer.restore(noisy, { steps: options.steps, seed, onProgress: (done, total) => options.onStep?.(done, total, loaded) });
    const { calls, totalMs } = loaded.stats();
    return {
      noisy,
      restored: r.image,
      engine: loaded.engine,
      threads: loaded.threads,
      skipped: loaded.skipped,
      evals: calls,
      msPerEval: calls > 0 ? totalMs / calls : 0,
      seconds: r.ms / 1000,
      sampler: r.sampler,
      steps: r.steps ?? restorer.sde.T,
      ...(r.noise ? { noise: r.noise } : {}),
    };
  } finally {
    await restorer.dispose();
  }
}
