import * as tf from '@tensorflow/tfjs-core';
import { hostBackend, tfjsBackend, type TensorBackend } from '../../src/index.js';

export interface BackendCase {
  name: string;
  backend: TensorBackend<any>;
}

/** Both implementations of the tensor interface; tfjs runs on its cpu backend in tests. */
export const BACKENDS: BackendCase[] = [
  { name: 'tfjs', backend: tfjsBackend },
  { name: 'float32', backend: hostBackend },
];

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}
