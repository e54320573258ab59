// The model shipped in models/: it loads, says how to sample it, and denoises real photo crops
// it never saw in training (astronaut and camera are held out), RGB and grey.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostTensor, MeanRevertingSDE, convertChannels, psnr, restore, selectBackend, ssim, tfjsBackend, tiledNoiseModel, type LoadedModel, type SamplerName } from '../src/advanced.js';
import { loadModelFile, readImage } from '../src/node.js';
import { defaultModelPath } from '../src/cli/default-model.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIX = join(ROOT, 'test/fixtures/metrics');

let model: LoadedModel;
beforeAll(async () => {
  await selectBackend('wasm');
  const path = defaultModelPath();
  expect(path, 'models/denoise-sigma25.safetensors is committed').not.toBeNull();
  model = await loadModelFile(path!);
});
afterAll(async () => {
  model?.unet.dispose();
  await tf.setBackend('cpu');
});

describe('the shipped denoising model', () => {
  it('is a small residual RGB network for sigma-25 noise with a recommended few-step sampler', () => {
    expect(model.info.network).toMatchObject({ inChannels: 3, outChannels: 3, prediction: 'residual' });
    expect(model.unet.countParameters()).toBeLessThan(5e6);
    expect(model.info.sampling).toBeDefined();
    expect(model.info.sampling!.steps).toBeLessThanOrEqual(20);
  });

  // Noisy crops made by scikit-image's pipeline (numpy noise, clipped, 8-bit), not by irsde.
  it.each([
    ['astronaut', 3],
    ['camera', 1],
  ])('improves PSNR and SSIM on a held-out noisy crop (%s, %i channel(s))', async (name, channels) => {
    const clean = await readImage(join(FIX, `${name}_gt.png`));
    const noisy = await readImage(join(FIX, `${name}_s25.png`));
    expect(clean.channels).toBe(channels);
    const input = convertChannels(noisy, 3);
    const sde = new MeanRevertingSDE<HostTensor>(model.sdeConfig, 'float32');
    const tfSde = new MeanRevertingSDE<tf.Tensor>(model.sdeConfig);
    const s = model.info.sampling!;
    const before = tf.memory().numTensors;
    const out = await restore({
      sde,
      model: tiledNoiseModel(model.unet.noiseModelFor(tfSde), tfjsBackend, { tile: 512 }),
      lq: new HostTensor(input.data, [1, input.height, input.width, 3]),
      sampler: s.sampler as SamplerName,
      steps: s.steps,
      ...(s.eta !== undefined ? { eta: s.eta } : {}),
      seed: 0,
    });
    expect(tf.memory().numTensors).toBe(before);
    const restored = convertChannels({ ...input, data: out.data.map((v) => Math.min(1, Math.max(0, v))) }, clean.channels);
    const gain = psnr(restored, clean) - psnr(noisy, clean);
    expect(gain).toBeGreaterThan(3);
    expect(ssim(restored, clean)).toBeGreaterThan(ssim(noisy, clean) + 0.1);
  });
});
