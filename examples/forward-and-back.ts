/**
 * The core in one page: diffuse a synthetic "clean" image towards its degraded version with the
 * mean-reverting SDE, then walk back with the exact posterior given the true x0 (an oracle in
 * place of a trained network), over the full step list and over jumps.
 *
 *   npx tsx examples/forward-and-back.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import { MeanRevertingSDE, Rng, from255, psnr, selectBackend } from '../src/index.js';
import { mlLoss } from '../src/advanced.js';

await selectBackend('cpu');

const H = 32;
const W = 32;
// A smooth clean image in [0, 1] (NHWC) and a degraded one: clean + sigma-25 Gaussian noise.
const rng = new Rng(2024);
const clean = tf.tidy(() => {
  const yy = tf.reshape(tf.linspace(0, 1, H), [1, H, 1, 1]);
  const xx = tf.reshape(tf.linspace(0, 1, W), [1, 1, W, 1]);
  const r = tf.add(tf.mul(yy, 0.6), 0.2);
  const g = tf.add(tf.mul(tf.sin(tf.mul(xx, 6)), 0.3), 0.5);
  const b = tf.mul(tf.add(yy, xx), 0.5);
  return tf.concat([tf.add(r, tf.zerosLike(g)), tf.add(g, tf.zerosLike(r)), tf.add(b, tf.zeros([1, H, W, 1]))], 3);
});
const noise = tf.tensor(rng.normal([1, H, W, 3]), [1, H, W, 3]);
const degraded = tf.tidy(() => tf.add(clean, tf.mul(noise, from255(25))));

const sde = new MeanRevertingSDE({ T: 100, maxSigma: from255(10), schedule: 'cosine', eps: 0.005 });
console.log(`T=${sde.T} lambda=${sde.maxSigma.toFixed(4)} dt=${sde.dt.toFixed(4)} sigmaBar_T=${sde.sigmaBar(sde.T).toFixed(4)}`);

console.log(`degraded vs clean: PSNR ${psnr(degraded, clean).toFixed(2)} dB`);

// The ML training loss of a "network" that predicts zero noise, at a random t per item.
const t = Array.from(rng.integers(1, 1, sde.T));
const xt = sde.sampleMarginal(clean, degraded, t, rng);
const zero = tf.zerosLike(xt);
const loss = mlLoss(sde, { xt, x0: clean, cond: degraded, noisePred: zero, t });
console.log(`ML loss of a zero-noise predictor at t=${t[0]}: ${loss.dataSync()[0].toExponential(3)}`);
tf.dispose([xt, zero, loss]);

// Reverse: x_T = mu + lambda z, then the exact posterior q(x_s | x_t, x0) with the true x0.
for (const K of [100, 20, 5]) {
  const grid = Array.from({ length: K }, (_, i) => Math.round(sde.T - (i * sde.T) / K));
  let x = sde.prior(degraded, rng);
  for (let i = 0; i < grid.length; i++) {
    const s = grid[i + 1] ?? 0;
    const next = tf.tidy(() => {
      const mean = sde.optimalReverseMean(x, clean, degraded, grid[i], s);
      const std = sde.optimalReverseStd(grid[i], s);
      return s === 0 ? mean : sde.backend.linear([[mean, 1], [tf.tensor(rng.normal(mean.shape), mean.shape), std]]);
    });
    x.dispose();
    x = next;
  }
  console.log(`oracle posterior chain, ${String(K).padStart(3)} steps: PSNR vs clean ${psnr(x, clean).toFixed(2)} dB`);
  x.dispose();
}
tf.dispose([clean, noise, degraded]);
console.log(`tensors alive at the end: ${tf.memory().numTensors}`);
