/**
 * Node-only binding of ONNX Runtime: `onnxruntime-node`, an optional peer dependency, loaded on
 * first use (so `irsde/node` imports without it, and a missing package is a one-line error that
 * names it). Exported from `irsde/node` only (it loads a native addon).
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { createOrtNoiseModel, type OrtNoiseModel, type OrtNoiseModelOptions } from './ort-noise-model.js';
import type { OrtModuleLike, OrtSessionFactoryLike, OrtTensorConstructorLike } from './ort-types.js';

/** The package {@link loadNodeOrt} loads. */
const ORT_PACKAGE = 'onnxruntime-node';

/** How to install it (its install script would fetch GPU files from GitHub; the CPU build ships in the package). */
const INSTALL_HINT = `npm install ${ORT_PACKAGE} --onnxruntime-node-install=skip`;

let cached: OrtModuleLike | undefined;

function requireHere(): NodeRequire {
  // ESM build: import.meta.url; CommonJS build (where import.meta is empty): __filename.
  const url = (import.meta as { url?: string }).url;
  return createRequire(url ?? (typeof __filename === 'string' ? __filename : `${process.cwd()}/`));
}

/**
 * Loads `onnxruntime-node` (once; later calls return the same module).
 * @returns the module, typed as the core's injectable ORT module.
 * @throws Error naming the package and how to install it when it is not installed, or when its
 *   native binding fails to load (the cause is kept).
 */
export function loadNodeOrt(): OrtModuleLike {
  if (cached !== undefined) return cached;
  let mod: OrtModuleLike;
  try {
    mod = requireHere()(ORT_PACKAGE) as OrtModuleLike;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(`'${ORT_PACKAGE}'`)) {
      throw new Error(`ONNX Runtime is not installed: the optional peer dependency '${ORT_PACKAGE}' is missing (${INSTALL_HINT})`);
    }
    throw new Error(`cannot load '${ORT_PACKAGE}': ${String(err.message)}`, { cause: e });
  }
  cached = mod;
  return mod;
}

/**
 * The `onnxruntime-node` module, typed as the core's injectable ORT module, loaded on first use
 * of a member (see {@link loadNodeOrt}, which throws when the package is not installed).
 */
export const nodeOrt: OrtModuleLike = {
  get InferenceSession(): OrtSessionFactoryLike {
    return loadNodeOrt().InferenceSession;
  },
  get Tensor(): OrtTensorConstructorLike {
    return loadNodeOrt().Tensor;
  },
};

/**
 * {@link createOrtNoiseModel} with `onnxruntime-node` (CPU; `threads` intra-op threads, default
 * every core of the machine).
 * @param model - ONNX bytes, or a path to a `.onnx` file (read by ONNX Runtime).
 * @param options - as {@link OrtNoiseModelOptions} without `ort`.
 * @returns the model; call `release()` when done.
 * @throws Error (rejects) when `onnxruntime-node` is not installed (see {@link loadNodeOrt}).
 */
export async function createNodeOrtNoiseModel(model: Uint8Array | ArrayBuffer | string, options: Omit<OrtNoiseModelOptions, 'ort'> = {}): Promise<OrtNoiseModel> {
  return createOrtNoiseModel(model, { threads: availableParallelism(), ...options, ort: loadNodeOrt() });
}
