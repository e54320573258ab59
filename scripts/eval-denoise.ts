/**
 * The denoising evaluation report: PSNR / SSIM on held-out photos with sigma-25 noise for the
 * noisy input, a trained model with several samplers and step counts (ONNX Runtime, both cores),
 * and scikit-image's classical denoisers (through scripts/classical_baselines.py with Debian's
 * python3-skimage, when available), plus seconds per image. Prints a Markdown table.
 *
 *   npx tsx scripts/eval-denoise.ts --weights models/denoise-sigma25.safetensors [--out .bench/eval] [--json report.json]
 *     [--photos ../shared/data/images/astronaut.png,../shared/data/images/camera.png] [--sigma 25]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { asNoiseModel, convertChannels, HostTensor, MeanRevertingSDE, Rng, exportOnnx, gaussianNoise, psnr, restore, selectBackend, ssim, tfjsBackend, tiledNoiseModel, type SamplerName } from '../src/index.js';
import { createNodeOrtNoiseModel, loadModelFile, readImage, writeImage } from '../src/node.js';

const { values } = parseArgs({
  options: {
    weights: { type: 'string' },
    photos: { type: 'string', default: '../shared/data/images/astronaut.png,../shared/data/images/camera.png' },
    sigma: { type: 'string', default: '25' },
    out: { type: 'string', default: '.bench/eval' },
    json: { type: 'string' },
    configs: { type: 'string', default: 'posterior:10:0,posterior:20:0,posterior:10:1,sde:100:1,ode:20:0' },
  },
});
if (!values.weights) throw new Error('--weights FILE is required');
const sigma = Number(values.sigma);
const cleanDir = join(values.out!, 'clean');
const noisyDir = join(values.out!, 'noisy');
mkdirSync(cleanDir, { recursive: true });
mkdirSync(noisyDir, { recursive: true });

await selectBackend('cpu');
const { unet, sdeConfig } = await loadModelFile(values.weights);
const ort = await createNodeOrtNoiseModel(exportOnnx(unet.config, unet.stateDict()));
const sde = new MeanRevertingSDE<HostTensor>(sdeConfig, 'float32');
const C = unet.config.inChannels as 1 | 3;
const model = tiledNoiseModel(asNoiseModel(new MeanRevertingSDE<tf.Tensor>(sdeConfig), unet.prediction, ort.noiseModel), tfjsBackend, { tile: 512 });

/** A folder name for a method (same rule as classical_baselines.py). */
function slug(method: string): string {
  return method.toLowerCase().replace(/[^a-z0-9]/g, '-').replace(/^-+|-+$/g, '');
}

interface Row { name: string; method: string; psnr: number; ssim: number; seconds: number }
const rows: Row[] = [];
for (const [i, photo] of values.photos!.split(',').entries()) {
  const name = basename(photo, extname(photo));
  // Each photo at its own channel count (grey noise on grey photos); the model sees its own.
  const clean = await readImage(photo);
  // 16-bit PNGs, so the classical baselines read exactly the noisy image the model sees.
  const noisy = gaussianNoise(clean, { sigma, clip: true }, new Rng(1000 + i));
  const noisyQ = await (async () => {
    await writeImage(join(noisyDir, `${name}.png`), noisy, { bitDepth: 16 });
    await writeImage(join(cleanDir, `${name}.png`), clean, { bitDepth: 16 });
    return readImage(join(noisyDir, `${name}.png`), { channels: clean.channels });
  })();
  for (const cfg of values.configs!.split(',')) {
    const [sampler, steps, eta] = cfg.split(':');
    const t0 = performance.now();
    const input = convertChannels(noisyQ, C);
    const out = await restore({ sde, model, lq: new HostTensor(input.data, [1, clean.height, clean.width, C]), sampler: sampler as SamplerName, steps: Number(steps), eta: Number(eta), seed: 0 });
    const seconds = (performance.now() - t0) / 1000;
    const img = convertChannels({ ...input, data: out.data.map((v) => Math.min(1, Math.max(0, v))) }, clean.channels);
    const method = `irsde ${sampler} ${steps} steps${sampler === 'posterior' ? ` eta=${eta}` : ''}`;
    rows.push({ name, method, psnr: psnr(img, clean), ssim: ssim(img, clean), seconds });
    await writeImage(join(values.out!, 'restored', slug(method), `${name}.png`), img);
    console.error(rows[rows.length - 1]);
  }
}
await ort.release();
unet.dispose();

try {
  const py = execFileSync('/usr/bin/python3', ['scripts/classical_baselines.py', cleanDir, noisyDir, String(sigma), join(values.out!, 'restored')], { encoding: 'utf8', maxBuffer: 1 << 24 });
  rows.push(...(JSON.parse(py) as Row[]));
} catch (e) {
  console.error(`classical baselines skipped (need Debian's python3-skimage): ${(e as Error).message.split('\n')[0]}`);
}

const methods = [...new Set(rows.map((r) => r.method))];
const names = [...new Set(rows.map((r) => r.name))];
console.log(`| method | ${names.map((n) => `${n} PSNR / SSIM`).join(' | ')} | mean PSNR | s / image |`);
console.log(`| --- | ${names.map(() => '---').join(' | ')} | --- | --- |`);
for (const m of methods) {
  const rs = names.map((n) => rows.find((r) => r.method === m && r.name === n)!);
  const mean = rs.reduce((s, r) => s + r.psnr, 0) / rs.length;
  const secs = rs.reduce((s, r) => s + r.seconds, 0) / rs.length;
  console.log(`| ${m} | ${rs.map((r) => `${r.psnr.toFixed(2)} / ${r.ssim.toFixed(3)}`).join(' | ')} | ${mean.toFixed(2)} | ${secs.toFixed(1)} |`);
}
if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 1) + '\n');
