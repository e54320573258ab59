/**
 * The main job: restore a noisy photo with the shipped denoising model and write
 * noisy | restored | clean side by side, with PSNR / SSIM.
 *
 *   npm run demo                                   # bundled photo crop, sigma-25 noise
 *   npm run demo -- photo.png --steps 20 --out out.png
 *   npm run demo -- --weights runs/denoise/model.safetensors --sampler sde --steps 100
 *
 * The given photo is treated as the clean image; the demo adds Gaussian noise (sigma on the 0-255
 * scale, default 25) with a fixed seed, so the scores are reproducible.
 */
import { parseArgs } from 'node:util';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  HostTensor,
  asNoiseModel,
  convertChannels,
  MeanRevertingSDE,
  Rng,
  exportOnnx,
  gaussianNoise,
  psnr,
  restore,
  selectBackend,
  ssim,
  tfjsBackend,
  tiledNoiseModel,
  type FloatImage,
  type NoiseModel,
  type SamplerName,
} from '../src/index.js';
import { createNodeOrtNoiseModel, loadModelFile, readImage, writeImage } from '../src/node.js';
import { defaultModelPath } from '../src/cli/default-model.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    weights: { type: 'string' },
    sampler: { type: 'string' },
    steps: { type: 'string' },
    eta: { type: 'string' },
    sigma: { type: 'string', default: '25' },
    seed: { type: 'string', default: '0' },
    engine: { type: 'string', default: 'ort' },
    out: { type: 'string', default: join(here, 'out', 'demo.png') },
  },
});

const weights = values.weights ?? defaultModelPath();
if (!weights) throw new Error('no shipped model found (models/); pass --weights FILE from `irsde train`');
const photo = positionals[0] ?? join(here, 'data', 'astronaut-crop.png');

// With ORT, tfjs only carries tiles to and from the session: its cpu backend is enough.
await selectBackend(values.engine === 'ort' ? 'cpu' : values.engine);
const { unet, sdeConfig, info } = await loadModelFile(weights);
// The model's recommended sampling (stored in its file) unless flags say otherwise.
const sampler = (values.sampler ?? info.sampling?.sampler ?? 'posterior') as SamplerName;
const steps = Number(values.steps ?? info.sampling?.steps ?? 10);
const eta = Number(values.eta ?? info.sampling?.eta ?? 0);
// Noise is added to the photo as it is (grey noise on a grey photo); the model sees its own channel count.
const clean = await readImage(photo);
const noisy = gaussianNoise(clean, { sigma: Number(values.sigma), clip: true }, new Rng(Number(values.seed)));
const input = convertChannels(noisy, unet.config.inChannels as 1 | 3);

let raw = (xt: tf.Tensor, mu: tf.Tensor, t: number): tf.Tensor | Promise<tf.Tensor> => unet.predict(xt, mu, t);
let engine = tf.getBackend();
let release = async () => {};
if (values.engine === 'ort') {
  const ort = await createNodeOrtNoiseModel(exportOnnx(unet.config, unet.stateDict()));
  raw = ort.noiseModel;
  release = () => ort.release();
  engine = 'onnxruntime';
}
// The shipped network predicts x0 - mu ('residual'); asNoiseModel turns any output into noise.
const model: NoiseModel<tf.Tensor> = asNoiseModel(new MeanRevertingSDE<tf.Tensor>(sdeConfig), unet.prediction, raw);
const sde = new MeanRevertingSDE<HostTensor>(sdeConfig, 'float32');
const started = performance.now();
const out = await restore({
  sde,
  model: tiledNoiseModel(model, tfjsBackend, { tile: 512 }),
  lq: new HostTensor(input.data, [1, input.height, input.width, input.channels]),
  sampler,
  steps,
  eta,
  seed: Number(values.seed),
});
const seconds = (performance.now() - started) / 1000;
const restored: FloatImage = convertChannels({ ...input, data: out.data.map((v) => Math.min(1, Math.max(0, v))) }, clean.channels);
await release();
unet.dispose();

// noisy | restored | clean, with a 4-pixel white gap.
const gap = 4;
const { height: H, width: W, channels: C } = clean;
const side: FloatImage = { height: H, width: 3 * W + 2 * gap, channels: C, data: new Float32Array(H * (3 * W + 2 * gap) * C).fill(1) };
[noisy, restored, clean].forEach((img, k) => {
  for (let y = 0; y < H; y++) {
    const src = img.data.subarray(y * W * C, (y + 1) * W * C);
    side.data.set(src.map((v) => Math.min(1, Math.max(0, v))), (y * side.width + k * (W + gap)) * C);
  }
});
await writeImage(values.out!, side);
console.log(`${photo}: ${W}x${H}, sigma ${values.sigma} noise; model ${weights}`);
console.log(`noisy    PSNR ${psnr(noisy, clean).toFixed(2)} dB  SSIM ${ssim(noisy, clean).toFixed(4)}`);
console.log(`restored PSNR ${psnr(restored, clean).toFixed(2)} dB  SSIM ${ssim(restored, clean).toFixed(4)}  (${sampler}, ${steps} steps, ${engine}, ${seconds.toFixed(1)} s)`);
console.log(`wrote ${values.out} (noisy | restored | clean)`);
