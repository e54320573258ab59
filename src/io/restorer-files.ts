/**
 * The restoration pipeline in Node: engines that need Node (ONNX Runtime's native build) and a
 * restorer loaded from a model file on disk, on the fastest engine available by default.
 */
import { availableParallelism } from 'node:os';
import { selectBackend } from '../engine/backend.js';
import { exportOnnx } from '../nn/onnx/export.js';
import { createNodeOrtNoiseModel, loadNodeOrt } from '../nn/onnx/node.js';
import type { Conv3x3 } from '../nn/onnx/winograd.js';
import { loadModelFile } from './model-files.js';
import { DEFAULT_MODEL_FILE, shippedModelPath } from './shipped-model.js';
import { restorerForModel, tfjsEngine, type EngineFactory, type Restorer } from '../pipeline/restorer.js';

/** Options of {@link ortNodeEngine}. */
export interface OrtNodeEngineOptions {
  /** Intra-op threads (default: every core, `os.availableParallelism()`). */
  readonly threads?: number;
  /** 3x3 convolutions with 128+ channels: `'winograd'` (default; faster) or `'direct'` (ONNX Conv). */
  readonly conv3x3?: Conv3x3;
}

/**
 * Runs the network in ONNX Runtime (`onnxruntime-node`, CPU) from its `exportOnnx` graph; tfjs only
 * moves tiles between host memory and the session (the cpu backend is enough).
 * @throws Error naming `onnxruntime-node` when it is not installed.
 */
export function ortNodeEngine(options: OrtNodeEngineOptions = {}): EngineFactory {
  return async (network) => {
    const threads = options.threads ?? availableParallelism();
    const onnx = exportOnnx(network.config, network.stateDict(), { conv3x3: options.conv3x3 ?? 'winograd' });
    const model = await createNodeOrtNoiseModel(onnx, { threads });
    return {
      name: `onnxruntime-node (${threads} thread${threads > 1 ? 's' : ''})`,
      predict: (xt, cond, t) => model.predict(xt, cond, t),
      dispose: () => model.dispose(),
    };
  };
}

/** The engines {@link loadRestorerFile} can start by name. */
export type NodeEngineName = 'auto' | 'ort' | 'wasm' | 'cpu';

/** Whether `onnxruntime-node` (an optional peer dependency) is installed and loads here. */
export function ortNodeAvailable(): boolean {
  try {
    loadNodeOrt();
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads a model file from disk into a {@link Restorer} on the named engine: `'auto'` (default) is
 * ONNX Runtime on every core when `onnxruntime-node` is installed, else tfjs-wasm, else tfjs-cpu
 * (whichever tfjs backend is installed); `'ort'`,
 * `'wasm'` and `'cpu'` pick one (an engine factory may be given instead). `localStatistics`
 * (NAFNet models) replaces the file's channel-attention window for this restorer (`null` or `0`:
 * the global mean), as `loadRestorer`'s.
 * @param path - the model file (`irsde train` / `saveModelFile`); omitted or `undefined`: the
 *   shipped blind denoiser, `models/denoise-blind.safetensors` inside the installed package
 *   ({@link shippedModelPath}).
 * @returns the restorer (its `engine` says what runs the network); call `dispose()` when done.
 * @throws Error for a missing or invalid file, or an engine that cannot start (naming it).
 * @example
 * ```ts
 * import { loadRestorerFile, readImage, writeImage } from 'irsde/node';
 * const restorer = await loadRestorerFile(); // the shipped denoiser, on ONNX Runtime when installed
 * const { image, noise } = await restorer.restore(await readImage('noisy.png'));
 * await writeImage('restored.png', image);   // noise.sigma: the level it estimated
 * await restorer.dispose();
 * ```
 */
export async function loadRestorerFile(
  path?: string,
  options: { readonly engine?: NodeEngineName | EngineFactory; readonly conv3x3?: Conv3x3; readonly threads?: number; readonly localStatistics?: number | null } = {},
): Promise<Restorer> {
  const file = path ?? shippedModelPath();
  if (file === null) throw new Error(`loadRestorerFile: no path given and this install has no shipped model (models/${DEFAULT_MODEL_FILE} next to irsde's dist/); pass a model file's path`);
  const requested = options.engine ?? 'auto';
  let engine: EngineFactory;
  if (typeof requested === 'function') engine = requested;
  else if (requested === 'ort' || (requested === 'auto' && ortNodeAvailable())) {
    // tfjs only moves tiles in and out of the session.
    await selectBackend('cpu');
    engine = ortNodeEngine({ ...(options.conv3x3 ? { conv3x3: options.conv3x3 } : {}), ...(options.threads ? { threads: options.threads } : {}) });
  } else if (requested === 'auto' || requested === 'wasm' || requested === 'cpu') {
    // 'auto' without ONNX Runtime: the best installed tfjs backend (wasm, else cpu).
    await selectBackend(requested);
    engine = tfjsEngine;
  } else throw new RangeError(`loadRestorerFile: unknown engine '${String(requested)}' (use auto, ort, wasm or cpu)`);
  // A bad localStatistics fails here, in one line, before the engine builds its session.
  const model = await loadModelFile(file, undefined, options.localStatistics !== undefined ? { localStatistics: options.localStatistics } : {});
  return restorerForModel(model, engine);
}
