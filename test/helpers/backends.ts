import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type TensorBackend } from '../../src/index.js';
import { hostBackend, tfjsBackend } from '../../src/advanced.js';

export interface BackendCase {
  name: string;
  backend: TensorBackend<any>;
  /** Makes the case's tfjs backend active (tfjs cases only). */
  setup: () => Promise<unknown>;
}

/** Both implementations of the tensor interface; tfjs runs on its cpu backend in tests. */
export const BACKENDS: BackendCase[] = [
  { name: 'tfjs', backend: tfjsBackend, setup: () => useCpu() },
  { name: 'float32', backend: hostBackend, setup: async () => undefined },
];

/** The tfjs implementation on tfjs-backend-wasm (with irsde's kernels), for "any tfjs backend" checks. */
export const WASM_CASE: BackendCase = { name: 'tfjs-wasm', backend: tfjsBackend, setup: () => selectBackend('wasm') };

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}
