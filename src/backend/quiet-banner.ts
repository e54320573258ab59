import * as tf from '@tensorflow/tfjs-core';

const QUIET = Symbol.for('irsde.quietCpuFactory');

type Factory = (() => tf.KernelBackend | Promise<tf.KernelBackend>) & { [QUIET]?: true };

/** Makes the cpu backend's first write (of one float, freed at once) with `IS_NODE` false. */
function firstWriteQuietly(backend: tf.KernelBackend): void {
  const env = tf.env();
  env.set('IS_NODE', false);
  try {
    backend.disposeData(backend.write(new Float32Array(1), [1], 'float32'), true);
  } finally {
    env.set('IS_NODE', true);
  }
}

/**
 * Keeps tfjs-backend-cpu from printing its "install the node backend" banner in Node, without
 * muting any other tfjs warning (the `PROD` / `IS_TEST` flags would mute them all). A cpu backend
 * prints the banner once, on its first `write`, when the `IS_NODE` flag is true; tfjs makes a new
 * cpu backend whenever it initialises one, so this wraps the registered cpu factory: each new
 * instance gets its first write (of one float, freed at once) with `IS_NODE` briefly false. The
 * banner recommends tfjs-node, which irsde does not use (its fast paths are ONNX Runtime and
 * tfjs-backend-wasm). A no-op outside Node, when the cpu backend is not registered, or once done.
 * Internal: called when irsde's tfjs module loads and by `selectBackend`.
 */
export function quietCpuBackendBanner(): void {
  if (!tf.env().getBool('IS_NODE')) return;
  const engine = tf.engine();
  const entry = engine.registryFactory['cpu'] as { factory: Factory } | undefined;
  if (entry === undefined || entry.factory[QUIET] === true) return;
  const make = entry.factory;
  const quiet: Factory = () => {
    const made = make();
    if (made instanceof Promise) return made.then((b) => (firstWriteQuietly(b), b));
    firstWriteQuietly(made);
    return made;
  };
  quiet[QUIET] = true;
  entry.factory = quiet;
  const existing = engine.registry['cpu'];
  if (existing !== undefined) firstWriteQuietly(existing);
}
