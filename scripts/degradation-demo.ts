/**
 * A qualitative demonstration for a model trained on a synthetic degradation (e.g. rain): degrades
 * held-out photos with a fixed seed, restores them, prints PSNR / SSIM, and writes one picture with
 * a row per photo: degraded | restored | clean (optionally a centre crop of each).
 *
 *   npx tsx scripts/degradation-demo.ts --weights runs/derain/model.safetensors --degradation rain \
 *     --photos ../shared/data/images/astronaut.png,../shared/data/images/camera.png --crop 256 --out docs/derain.png
 */
import { parseArgs } from 'node:util';
import { Rng, convertChannels, cropImage, degradationFromSpec, psnr, ssim, type FloatImage, type SamplerName } from '../src/advanced.js';
import { loadRestorerFile, readImage, writeImage } from '../src/node.js';
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

const restorer = await loadRestorerFile(values.weights);
const degrade = degradationFromSpec(parseDegradation(values.degradation!));

function centre(img: FloatImage, size: number | undefined): FloatImage {
  if (size === undefined || (img.width <= size && img.height <= size)) return img;
  const w = Math.min(size, img.width);
  const h = Math.min(size, img.height);
  return cropImage(img, Math.floor((img.height - h) / 2), Math.floor((img.width - w) / 2), h, w);
}

const rows: FloatImage[][] = [];
for (const [i, photo] of values.photos!.split(',').entries()) {
  const clean = centre(await readImage(photo), values.crop === undefined ? undefined : Number(values.crop));
  const bad = degrade(clean, new Rng(Number(values.seed) + i));
  const out = await restorer.restore(bad, {
    ...(values.sampler !== undefined ? { sampler: values.sampler as SamplerName } : {}),
    ...(values.steps !== undefined ? { steps: Number(values.steps) } : {}),
    ...(values.eta !== undefined ? { eta: Number(values.eta) } : {}),
    tile: 256,
  });
  const restored = out.image;
  const s = (out.ms / 1000).toFixed(1);
  console.log(`${photo}: degraded ${psnr(bad, clean).toFixed(2)} dB / ${ssim(bad, clean).toFixed(3)}, restored ${psnr(restored, clean).toFixed(2)} dB / ${ssim(restored, clean).toFixed(3)} (${out.sampler} ${out.steps ?? 'all'} steps, ${restorer.engine}, ${s} s)`);
  rows.push([bad, restored, clean].map((im) => convertChannels(im, 3)));
}
await restorer.dispose();

const canvas = composeRows(rows, 6);
await writeImage(values.out!, canvas);
console.log(`wrote ${values.out} (rows: ${values.photos}; columns: degraded | restored | clean)`);
