/**
 * Node-only entry of the ONNX Runtime noise model: binds `onnxruntime-node` so callers need not
 * pass the module. Not exported from the core index (it imports a native addon); import it from
 * this file directly.
 */
import * as ort from 'onnxruntime-node';
import { createOrtNoiseModel, type OrtNoiseModel, type OrtNoiseModelOptions } from './ort-noise-model.js';
import type { OrtModuleLike } from './ort-types.js';

/** The `onnxruntime-node` module, typed as the core's injectable ORT module. */
export const nodeOrt: OrtModuleLike = ort;

/**
 * {@link createOrtNoiseModel} with `onnxruntime-node` (CPU, `threads` intra-op threads, default 2).
 * @param model - ONNX bytes, or a path to a `.onnx` file (read by ONNX Runtime).
 * @param options - as {@link OrtNoiseModelOptions} without `ort`.
 * @returns the model; call `release()` when done.
 */
export function createNodeOrtNoiseModel(model: Uint8Array | ArrayBuffer | string, options: Omit<OrtNoiseModelOptions, 'ort'> = {}): Promise<OrtNoiseModel> {
  return createOrtNoiseModel(model, { ...options, ort: nodeOrt });
}
