/**
 * A qualitative demonstration for a model trained on a synthetic degradation (e.g. rain): degrades
 * held-out photos with a fixed seed, restores them, prints PSNR / SSIM, and writes one picture with
 * a row per photo: degraded | restored | clean (optionally a centre crop of each).
 *
 *   npx tsx scripts/degradation-demo.ts --weights runs/derain/model.safetensors --degradation rain \
 *     --photos ../shared/data/images/astronaut.png,../shared/data/images/camera.png --crop 256 --out docs/derain.png
 */
import { parseArgs } from 'node:util';
import {
  HostTensor,
  MeanRevertingSDE,
  Rng,
  convertChannels,
  degradationFromSpec,
  psnr,
  restore,
  selectBackend,
  ssim,
  tfjsBackend,
  tiledNoiseModel,
  type FloatImage,
  type SamplerName,
} from '../src/index.js';
import * as tf from '@tensorflow/tfjs-core';
import { loadModelFile, readImage, writeImage } from '../src/node.js';
import { parseDegradation } from '../src/cli/commands/train.js';
import { composeRows } from './compose.js';

const { values } = parseArgs({
  options: {
    weights: { type: 'string' },
    degradation: { type: 'string', default: 'rain' },
    photos: { type: 'string', default: '../shared/data/images/astronaut.png,../shared/data/images/camera.png' },
    crop: { type: 'string' },
    sampler: { type: 'string' },
    steps: { type: 'string' },
    eta: { type: 'string' },
    seed: { type: 'string', default: '7' },
    out: { type: 'string', default: 'docs/derain.png' },
  },
});
if (!values.weights) throw new Error('--weights FILE is required');

await selectBackend('wasm');
const { unet, sdeConfig, info } = await loadModelFile(values.weights);
const C = unet.config.inChannels as 1 | 3;
const degrade = degradationFromSpec(parseDegradation(values.degradation!));
const sampler = (values.sampler ?? info.sampling?.sampler ?? 'posterior') as SamplerName;
const steps = Number(values.steps ?? info.sampling?.steps ?? 10);
const eta = Number(values.eta ?? info.sampling?.eta ?? 0);
const sde = new MeanRevertingSDE<HostTensor>(sdeConfig, 'float32');
const model = tiledNoiseModel(unet.noiseModelFor(new MeanRevertingSDE<tf.Tensor>(sdeConfig)), tfjsBackend, { tile: 256 });

function centre(img: FloatImage, size: number | undefined): FloatImage {
  if (size === undefined || (img.width <= size && img.height <= size)) return img;
  const w = Math.min(size, img.width);
  const h = Math.min(size, img.height);
  const x0 = Math.floor((img.width - w) / 2);
  const y0 = Math.floor((img.height - h) / 2);
  const out = new Float32Array(w * h * img.channels);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(((y0 + y) * img.width + x0) * img.channels, ((y0 + y) * img.width + x0 + w) * img.channels), y * w * img.channels);
  return { data: out, height: h, width: w, channels: img.channels };
}

const rows: FloatImage[][] = [];
for (const [i, photo] of values.photos!.split(',').entries()) {
  const clean = centre(await readImage(photo), values.crop === undefined ? undefined : Number(values.crop));
  const bad = degrade(clean, new Rng(Number(values.seed) + i));
  const input = convertChannels(bad, C);
  const t0 = performance.now();
  const out = await restore({ sde, model, lq: new HostTensor(input.data, [1, input.height, input.width, C]), sampler, steps, eta, seed: 0 });
  const restored = convertChannels({ ...input, data: out.data.map((v) => Math.min(1, Math.max(0, v))) }, clean.channels);
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`${photo}: degraded ${psnr(bad, clean).toFixed(2)} dB / ${ssim(bad, clean).toFixed(3)}, restored ${psnr(restored, clean).toFixed(2)} dB / ${ssim(restored, clean).toFixed(3)} (${sampler} ${steps} steps, ${s} s)`);
  rows.push([bad, restored, clean].map((im) => convertChannels(im, 3)));
}
unet.dispose();

const canvas = composeRows(rows, 6);
await writeImage(values.out!, canvas);
console.log(`wrote ${values.out} (rows: ${values.photos}; columns: degraded | restored | clean)`);
