/**
 * A Keras-style network (a `tf.LayersModel` of `@tensorflow/tfjs-layers`) trained and sampled
 * with irsde: `fromLayersModel` adapts it (the image input gets `concat(x_t, mu)`, a second input
 * the sinusoidal time embedding of `t`), the library `Trainer` trains it on tfjs gradients, a
 * sampler restores with it, and its weights are saved and resumed under stable names. It uses
 * the public API only ('irsde', 'irsde/advanced').
 *
 *   npx tsx examples/layers-network.ts
 *
 * A LayersModel has no module/ops description, so it gets no ONNX export, ORT gradients or
 * irsde model file (its weights go to safetensors, its SDE config beside them), and the Restorer
 * runs it on tfjs: examples/custom-network.ts writes a network that has them all.
 * Asserts that the loss falls, that a checkpoint resumes into a freshly built model, and that
 * the reloaded weights restore through a sampler and through the Restorer, beating the input.
 * About 10 s on 2 cores.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ImageDataset, MeanRevertingSDE, Restorer, Rng, Trainer, from255, imageToTensor, createImage, memorySource, psnr, readSafetensors, restore, selectBackend, tensorToImage, type FloatImage } from 'irsde';
import { writeSafetensors } from 'irsde/advanced';
import { fromLayersModel } from 'irsde/advanced';

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`layers-network example: ${what}`);
  console.log(`ok: ${what}`);
}

/** The network in Keras style: conv features plus a per-channel bias from the time embedding. */
function buildModel(width = 16, timeDim = 32): tfl.LayersModel {
  const image = tfl.input({ shape: [null, null, 6] }); // concat(x_t, mu), RGB
  const time = tfl.input({ shape: [timeDim] }); // sinusoidalTimeEmbedding(t, timeDim)
  const conv = (filters: number, activation?: 'relu') => tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', ...(activation ? { activation } : {}) });
  const h = conv(width, 'relu').apply(image) as tfl.SymbolicTensor;
  const t = tfl.layers.reshape({ targetShape: [1, 1, width] }).apply(tfl.layers.dense({ units: width, activation: 'relu' }).apply(time)) as tfl.SymbolicTensor;
  const h2 = conv(width, 'relu').apply(tfl.layers.add().apply([h, t])) as tfl.SymbolicTensor;
  const out = conv(3).apply(h2) as tfl.SymbolicTensor;
  return tfl.model({ inputs: [image, time], outputs: out });
}

await selectBackend();

// The toy task of examples/custom-network.ts: half the contrast and a little noise.
function picture(seed: number, size = 24): FloatImage {
  const [a, b, c, cx, cy] = Array.from(new Rng(seed).uniform([5]));
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const disc = Math.hypot(x / size - cx, y / size - cy) < 0.3 ? 0.35 : 0;
      const i = (y * size + x) * 3;
      data[i] = 0.2 + 0.5 * a * (x / size) + disc;
      data[i + 1] = 0.2 + 0.5 * b * (y / size) + disc;
      data[i + 2] = 0.2 + 0.4 * c;
    }
  }
  return createImage(size, size, 3, data);
}
function degrade(gt: FloatImage, r: Rng): FloatImage {
  const z = r.normal([gt.data.length]);
  return createImage(gt.height, gt.width, gt.channels as 1 | 3, Float32Array.from(gt.data, (v, i) => 0.5 * v + 0.25 + 0.02 * z[i]));
}
const images = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`img${i}`, picture(100 + i)]));
const data = ImageDataset.synthetic({ gt: memorySource(images), degradation: degrade, cropSize: 16, batchSize: 4 });
const sde = new MeanRevertingSDE({ T: 20, maxSigma: from255(10), schedule: 'cosine', eps: 0.005 });

// seed: irsde re-draws the kernels and biases, so the run does not depend on tfjs-layers' draws.
const model = buildModel();
const net = fromLayersModel(model, { prediction: 'residual', seed: 0 });
console.log(`weights: ${[...net.variables.keys()].join(', ')}`);
const trainer = new Trainer({ sde, model: net, data, config: { lr: 2e-3, seed: 0, ema: false } });
const losses: number[] = [];
await trainer.fit({ steps: 300, onStep: (r) => void losses.push(r.loss) });
const mean = (xs: number[]): number => xs.reduce((s, v) => s + v, 0) / xs.length;
const [first, last] = [mean(losses.slice(0, 10)), mean(losses.slice(-10))];
check(last < 0.6 * first, `tfjs training: the loss fell from ${first.toFixed(4)} to ${last.toFixed(4)} in ${losses.length} steps`);

// A checkpoint resumes into a model built afresh (tfjs-layers' auto-names differ; irsde's do not).
const state = trainer.getState();
trainer.dispose();
const model2 = buildModel();
const net2 = fromLayersModel(model2, { prediction: 'residual' });
const resumed = new Trainer({ sde, model: net2, data, config: state.config });
resumed.setState(state);
const next = await resumed.trainStep();
check(next.step === 301 && Number.isFinite(next.loss), `the checkpoint resumed into a fresh model (step ${next.step}, loss ${next.loss.toFixed(4)})`);
resumed.dispose();

// Restore a held-out picture with a sampler (3 posterior steps), from weights saved and reloaded.
const clean = picture(999);
const degraded = degrade(clean, new Rng(7));
const model3 = buildModel();
const net3 = fromLayersModel(model3, { prediction: 'residual' });
net3.loadStateDict(readSafetensors(writeSafetensors(net.stateDict())));
const lq = imageToTensor(degraded);
const out = await restore({ sde, model: net3.noiseModelFor(sde), lq, sampler: 'posterior', steps: 3, seed: 0 });
const restored = tensorToImage(tf.clipByValue(out, 0, 1));
check(out.shape.join() === lq.shape.join() && restored.data.every(Number.isFinite), 'the restoration is finite and of the input\'s size');
const [before, after] = [psnr(degraded, clean), psnr(restored, clean)];
check(after > before + 3, `the restoration beats its input: ${before.toFixed(2)} dB -> ${after.toFixed(2)} dB`);
tf.dispose([lq, out]);

// The same reloaded network through the Restorer (the pipeline of loadRestorer: the recommended
// sampling, grey/RGB conversion, tiling and clipping), on the tfjs engine.
const restorer = await Restorer.create(net3, sde.config, { sampling: { sampler: 'posterior', steps: 3, eta: 0 } });
const viaRestorer = await restorer.restore(degraded, { seed: 0 });
check(psnr(viaRestorer.image, clean) > before + 3, `the Restorer restores with it too: ${before.toFixed(2)} dB -> ${psnr(viaRestorer.image, clean).toFixed(2)} dB (${viaRestorer.sampler}, ${viaRestorer.steps} steps, ${restorer.engine})`);
await restorer.dispose();
for (const m of [model, model2, model3]) m.dispose();
console.log('layers-network example: done');
