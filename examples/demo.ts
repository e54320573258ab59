/**
 * The main job: restore a noisy photo with the shipped denoising model and write
 * noisy | restored | clean side by side, with PSNR / SSIM.
 *
 *   npm run demo                                   # bundled photo crop, sigma-25 noise
 *   npm run demo -- photo.png --steps 20 --out out.png
 *   npm run demo -- --weights runs/denoise/model.safetensors --sampler sde --steps 100
 *
 * The given photo is treated as the clean image; the demo adds Gaussian noise (sigma on the 0-255
 * scale, default 25) with a fixed seed, so the scores are reproducible. A DenoisingSDE model is
 * blind, as `irsde restore` is: it estimates the noise level from the noisy image (printed);
 * `--noise-level 25` tells it instead.
 */
import { parseArgs } from 'node:util';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, from255, psnr, ssim, type FloatImage, type SamplerName } from '../src/index.js';
import { gaussianNoise } from '../src/advanced.js';
import { loadRestorerFile, readImage, writeImage, type NodeEngineName } from '../src/node.js';
import { shippedModelPath } from '../src/io/shipped-model.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    weights: { type: 'string' },
    sampler: { type: 'string' },
    steps: { type: 'string' },
    eta: { type: 'string' },
    sigma: { type: 'string', default: '25' },
    'noise-level': { type: 'string' },
    seed: { type: 'string', default: '0' },
    engine: { type: 'string', default: 'auto' },
    out: { type: 'string', default: join(here, 'out', 'demo.png') },
  },
});

const weights = values.weights ?? shippedModelPath();
if (!weights) throw new Error('no shipped model found (models/); pass --weights FILE from `irsde train`');
const photo = positionals[0] ?? join(here, 'data', 'astronaut-crop.png');

// The pipeline applies the model's recommended sampling (stored in its file) unless flags say otherwise.
const restorer = await loadRestorerFile(weights, { engine: values.engine as NodeEngineName });
// Noise is added to the photo as it is (grey noise on a grey photo); the pipeline feeds the model its own channel count.
const clean = await readImage(photo);
const noisy = gaussianNoise(clean, { sigma: Number(values.sigma), clip: true }, new Rng(Number(values.seed)));
const result = await restorer.restore(noisy, {
  ...(values.sampler !== undefined ? { sampler: values.sampler as SamplerName } : {}),
  ...(values.steps !== undefined ? { steps: Number(values.steps) } : {}),
  ...(values.eta !== undefined ? { eta: Number(values.eta) } : {}),
  // A DenoisingSDE model estimates the noise level unless told (--noise-level, 0-255 scale).
  ...(values['noise-level'] !== undefined ? { noiseLevel: from255(Number(values['noise-level'])) } : {}),
  seed: Number(values.seed),
});
const restored: FloatImage = result.image;
const engine = restorer.engine;
await restorer.dispose();

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
const level = result.noise ? `, noise sigma ${(result.noise.sigma * 255).toFixed(1)} (${result.noise.estimated ? 'estimated' : 'given'})` : '';
console.log(`restored PSNR ${psnr(restored, clean).toFixed(2)} dB  SSIM ${ssim(restored, clean).toFixed(4)}  (${result.sampler}, ${result.steps ?? 'all'} steps${level}, ${engine}, ${(result.ms / 1000).toFixed(1)} s)`);
console.log(`wrote ${values.out} (noisy | restored | clean)`);
