import * as tf from '@tensorflow/tfjs-core';
// No tfjs backend is imported here: the app picks its backends (or `selectBackend` loads the
// installed ones in Node), so that the core needs nothing beyond @tensorflow/tfjs-core.
import type { Coef, Term, TensorBackend } from './types.js';
import { registerCpuKernelFixes } from './cpu-kernel-fixes.js';
import { quietCpuBackendBanner } from './quiet-banner.js';
import type { Rng } from './rng.js';

/** A coefficient as a tensor broadcastable against `shape`: `[B, 1, ..., 1]` when per-item. */
function coefTensor(c: Float64Array, shape: readonly number[], where: string): tf.Tensor {
  if (shape.length === 0 || c.length !== shape[0]) {
    throw new RangeError(`${where}: per-item coefficient has length ${c.length} but the batch axis has size ${shape[0]}`);
  }
  const s = shape.map((d, i) => (i === 0 ? d : 1));
  return tf.tensor(Float32Array.from(c), s, 'float32');
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The TensorFlow.js implementation of {@link TensorBackend}: works on whichever tfjs backend is
 * active (cpu, wasm, webgl, webgpu, node). Tensors are `tf.Tensor` (float32). All operations
 * are ordinary tfjs ops, so they are differentiable with `tf.grad` / `tf.variableGrads`.
 */
export class TfjsBackend implements TensorBackend<tf.Tensor> {
  readonly name = 'tfjs';

  shape(x: tf.Tensor): number[] {
    return x.shape.slice();
  }

  linear(terms: ReadonlyArray<Term<tf.Tensor>>, bias?: Coef): tf.Tensor {
    if (terms.length === 0) throw new RangeError('TfjsBackend.linear: at least one term is required');
    const shape = terms[0][0].shape;
    for (const [x] of terms) {
      if (!sameShape(x.shape, shape)) {
        throw new RangeError(`TfjsBackend.linear: shape mismatch [${x.shape}] vs [${shape}]`);
      }
    }
    return tf.tidy(() => {
      let acc: tf.Tensor | null = null;
      for (const [x, c] of terms) {
        if (acc !== null && c === 1) acc = tf.add(acc, x);
        else if (acc !== null && c === -1) acc = tf.sub(acc, x);
        else {
          let term: tf.Tensor;
          if (typeof c === 'number') term = c === 1 ? x : tf.mul(x, tf.scalar(c, 'float32'));
          else term = tf.mul(x, coefTensor(c, shape, 'TfjsBackend.linear'));
          acc = acc === null ? term : tf.add(acc, term);
        }
      }
      if (bias !== undefined) {
        const b = typeof bias === 'number' ? tf.scalar(bias, 'float32') : coefTensor(bias, shape, 'TfjsBackend.linear');
        acc = tf.add(acc as tf.Tensor, b);
      }
      // A single unit term would hand back the caller's own tensor: copy to keep ownership clear.
      return acc === terms[0][0] ? tf.clone(acc) : (acc as tf.Tensor);
    });
  }

  mul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    if (!sameShape(a.shape, b.shape)) throw new RangeError(`TfjsBackend.mul: shape mismatch [${a.shape}] vs [${b.shape}]`);
    return tf.mul(a, b);
  }

  abs(x: tf.Tensor): tf.Tensor {
    return tf.abs(x);
  }

  square(x: tf.Tensor): tf.Tensor {
    return tf.square(x);
  }

  meanPerItem(x: tf.Tensor): tf.Tensor {
    if (x.rank === 0) throw new RangeError('TfjsBackend.meanPerItem: needs a tensor of rank >= 1');
    if (x.rank === 1) return tf.clone(x);
    return tf.mean(x, Array.from({ length: x.rank - 1 }, (_, i) => i + 1));
  }

  mean(x: tf.Tensor): tf.Tensor {
    return tf.mean(x);
  }

  randomNormal(shape: readonly number[], rng: Rng): tf.Tensor {
    return tf.tensor(rng.normal(shape), shape.slice(), 'float32');
  }

  fromArray(data: Float32Array | ArrayLike<number>, shape: readonly number[]): tf.Tensor {
    return tf.tensor(data instanceof Float32Array ? data : Float32Array.from(data), shape.slice(), 'float32');
  }

  toArray(x: tf.Tensor): Float32Array {
    return Float32Array.from(x.dataSync() as ArrayLike<number>);
  }

  dispose(x: tf.Tensor | readonly tf.Tensor[]): void {
    tf.dispose(x as tf.Tensor | tf.Tensor[]);
  }

  tidy<R extends tf.Tensor | number | void>(fn: () => R): R {
    return tf.tidy(fn as () => tf.Tensor | void) as R;
  }
}

// tfjs-backend-cpu 4.22 computes some gradients wrongly (see cpu-kernel-fixes.ts): replace them.
registerCpuKernelFixes();
// When the app registered the cpu backend before importing irsde: no tfjs-node banner in Node.
quietCpuBackendBanner();

/** The shared default tfjs backend instance. */
export const tfjsBackend: TfjsBackend = new TfjsBackend();
