/**
 * Micro-benchmark: one [1,128,128,64] x [3,3,64,64] 'same' convolution on tfjs-backend-wasm with
 * irsde's training kernels, forward and forward+backward (dx and dw), against the figures in
 * ../shared/reference/README.md (28 ms and 122 ms on the reference 2-core machine).
 * Run: npx tsx bench/conv-grad.ts [--runs N]
 */
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/engine/index.js';

const REFERENCE = { forward: 28, forwardBackward: 122 };
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 9;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Median wall time of `f` (ms) after two warm-ups, reading every output back. */
function time(f: () => tf.Tensor[]): number {
  const ts: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const t0 = performance.now();
    const out = f();
    for (const t of out) t.dataSync();
    const dt = performance.now() - t0;
    tf.dispose(out);
    if (i >= 2) ts.push(dt);
  }
  return median(ts);
}

const backend = await selectBackend('wasm');
const x = tf.randomNormal([1, 128, 128, 64]) as tf.Tensor4D;
const w = tf.mul(tf.randomNormal([3, 3, 64, 64]), 0.05) as tf.Tensor4D;
const dy = tf.randomNormal([1, 128, 128, 64]) as tf.Tensor4D;
const gradFn = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), dy)));
const before = tf.memory().numTensors;

const rows = [
  { name: 'forward', ms: time(() => [tf.conv2d(x, w, 1, 'same')]), ref: REFERENCE.forward },
  {
    name: 'dx (Conv2DBackpropInput)',
    ms: time(() => [tf.conv2dTranspose(dy, w, [1, 128, 128, 64], 1, 'same')]),
    ref: undefined,
  },
  {
    name: 'dw (Conv2DBackpropFilter)',
    ms: time(() => [tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 64, 64],
    }) as tf.Tensor]),
    ref: undefined,
  },
  { name: 'forward + backward (tf.grads)', ms: time(() => gradFn([x, w])), ref: REFERENCE.forwardBackward },
];

console.log(`backend: ${backend}, conv [1,128,128,64] x [3,3,64,64] 'same' (1.21 GFLOP forward), median of ${RUNS}`);
for (const r of rows) {
  const gflops = r.name === 'forward' ? ` ${(1.208 / (r.ms / 1000)).toFixed(1)} GFLOP/s` : '';
  const ref = r.ref === undefined ? '' : `  reference ${r.ref} ms (ratio ${(r.ms / r.ref).toFixed(2)})`;
  console.log(`${r.name.padEnd(32)} ${r.ms.toFixed(1).padStart(8)} ms${gflops}${ref}`);
}
console.log(`tensors leaked: ${tf.memory().numTensors - before}`);
tf.dispose([x, w, dy]);
