/**
 * Restores a synthetic degraded image with every sampler and several step counts, driven by the
 * analytic test-bench models instead of a trained network, and prints the error of each.
 *
 *   npx tsx examples/samplers.ts
 *
 * - oracle: the noise model that knows the clean image (a perfect network): a good sampler
 *   returns the clean image; the error left is the sampler's own discretisation error.
 * - gaussian: clean pixels ~ N(clean, 0.05^2) (an uncertain model): the restorations scatter
 *   around the clean image with std 0.05, which the uncertainty map recovers. (Its RMSE is that
 *   spread; `posterior` with few steps shrinks the spread, so its RMSE there looks better.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { MeanRevertingSDE, Rng, from255, psnr, restore, restoreWithUncertainty, type NoiseModel, type SamplerName, selectBackend } from '../src/index.js';
import { gaussianNoiseModel, oracleNoiseModel } from '../src/advanced.js';

await selectBackend('cpu');

const H = 32;
const W = 32;
// A smooth clean image in [0, 1] (NHWC) and a degraded one: darkened, with sigma-15 noise.
const rng = new Rng(2024);
const clean = tf.tidy(() => {
  const yy = tf.reshape(tf.linspace(0, 1, H), [1, H, 1, 1]);
  const xx = tf.reshape(tf.linspace(0, 1, W), [1, 1, W, 1]);
  const base = tf.add(tf.mul(tf.sin(tf.mul(tf.add(xx, yy), 5)), 0.3), 0.5);
  return tf.concat([base, tf.add(tf.add(tf.mul(yy, 0.5), 0.25), tf.zerosLike(base)), tf.sub(1, base)], 3);
});
const lq = tf.tidy(() => tf.add(tf.mul(clean, 0.7), tf.mul(tf.tensor(rng.normal([1, H, W, 3]), [1, H, W, 3]), from255(15))));

const sde = new MeanRevertingSDE({ T: 100, maxSigma: from255(10), schedule: 'cosine', eps: 0.005 });

console.log(`T=${sde.T}, lambda=${sde.maxSigma.toFixed(4)}; degraded vs clean: PSNR ${psnr(lq, clean).toFixed(2)} dB\n`);

const models: Array<[string, NoiseModel<tf.Tensor>]> = [
  ['oracle', oracleNoiseModel(sde, clean)],
  ['gaussian (std 0.05)', gaussianNoiseModel(sde, { mean: clean, std: 0.05 })],
];
const runs: Array<[SamplerName, number | undefined, string]> = [
  ['sde', undefined, ''],
  ['sde', 20, ''],
  ['ode', undefined, ''],
  ['ode', 20, ''],
  ['heun', 25, ''],
  ['posterior', undefined, 'eta=1'],
  ['posterior', 10, 'eta=1'],
  ['posterior', 5, 'eta=1'],
  ['ddim', 5, 'eta=0'],
];
for (const [label, model] of models) {
  console.log(`model: ${label}`);
  console.log('  sampler     steps  model calls  PSNR vs clean   RMSE (1/255)   time');
  for (const [sampler, steps, note] of runs) {
    let calls = 0;
    const counted: NoiseModel<tf.Tensor> = (xt, mu, t) => {
      calls++;
      return model(xt, mu, t);
    };
    const t0 = performance.now();
    const out = await restore({ sde, model: counted, lq, sampler, steps, seed: 1 });
    const ms = performance.now() - t0;
    const rmse = tf.tidy(() => Math.sqrt(tf.mean(tf.square(tf.sub(out, clean))).dataSync()[0]) * 255);
    console.log(
      `  ${(sampler + ' ' + note).padEnd(14)}${String(steps ?? sde.T).padStart(4)}  ${String(calls).padStart(10)}  ${psnr(out, clean).toFixed(2).padStart(10)} dB  ${rmse.toFixed(3).padStart(12)}  ${ms.toFixed(0).padStart(5)} ms`,
    );
    out.dispose();
  }
}

// Uncertainty: 16 restorations in one batch; the std map recovers the model's 0.05.
const u = await restoreWithUncertainty({ sde, model: models[1][1], lq, samples: 16, sampler: 'posterior', steps: 50, seed: 3 });
const avgStd = tf.tidy(() => tf.mean(u.std).dataSync()[0]);
console.log(`\nuncertainty (gaussian model, 16 samples, posterior 50 steps): mean per-pixel std ${avgStd.toFixed(4)} (model's std 0.05); PSNR of the mean ${psnr(u.mean, clean).toFixed(2)} dB`);
tf.dispose([u.mean, u.std, clean, lq]);
console.log(`tensors left: ${tf.memory().numTensors}`);
