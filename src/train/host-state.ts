/**
 * Where optimiser and EMA state lives, and reading tensors to the host for it (browser-safe).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Where optimiser / EMA state lives: tfjs backend tensors, or host `Float32Array`s. */
export type StateStorage = 'backend' | 'host';

/** Checks a {@link StateStorage} value. */
export function checkStorage(who: string, storage: unknown): StateStorage {
  if (storage !== 'backend' && storage !== 'host') throw new RangeError(`${who}: storage must be 'backend' or 'host', got ${String(storage)}`);
  return storage;
}

/**
 * Values of a float32 tensor on the host. Read-only: on the cpu backend this is the tensor's own
 * storage (wasm returns a copy); never write into it.
 */
export function hostValues(t: tf.Tensor): Float32Array {
  const d = t.dataSync();
  return d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>);
}

// Host arrays known to equal a tensor's data: tfjs replaces a variable's `dataId` on every
// assign, so an entry is valid while the tensor still holds the data it was recorded with.
const remembered = new WeakMap<tf.Tensor, { readonly dataId: object; readonly values: Float32Array }>();

/**
 * Records that `values` equal `t`'s current data (the caller does not change them while `t`
 * holds that data), so that {@link sharedHostValues} can hand them out without a read.
 * Host-state optimisers call it after assigning a variable from an array they own.
 */
export function rememberHostValues(t: tf.Tensor, values: Float32Array): void {
  remembered.set(t, { dataId: t.dataId, values });
}

/**
 * Values of a float32 tensor on the host, shared: the array recorded by
 * {@link rememberHostValues} while the tensor still holds that data (no read), else
 * {@link hostValues}. Read-only for everyone but the optimiser that updates the variable.
 */
export function sharedHostValues(t: tf.Tensor): Float32Array {
  const r = remembered.get(t);
  return r !== undefined && r.dataId === t.dataId ? r.values : hostValues(t);
}

/**
 * The storage a trainer picks when not told: `'host'` on the cpu and wasm backends, whose memory
 * is host memory anyway (and wasm's heap stops at 4 GiB), `'backend'` on GPU backends.
 */
export function defaultStorage(): StateStorage {
  const backend = tf.getBackend();
  return backend === 'cpu' || backend === 'wasm' ? 'host' : 'backend';
}

/**
 * Whether {@link hostValues} hands out a fresh copy the caller may keep and write into:
 * tfjs-wasm slices its heap for every read, the cpu backend returns its own storage. Saves a
 * 0.5 GB allocation per step at nf=64 where it holds.
 */
export function readsFreshCopies(): boolean {
  return tf.getBackend() === 'wasm';
}
