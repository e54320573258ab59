// The model shipped in models/ (what `irsde restore`, `npm run demo` and the browser example use by
// default): a blind Gaussian denoiser for any noise sigma up to 50 (0-255 scale). It loads, says
// how to sample it, estimates the noise level of a noisy photo itself, and denoises real photo
// crops it never saw in training (astronaut and camera are held-out test photos), RGB and grey.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cropImage, isDenoisingSDE, psnr, psnrY, rainStreaks, Rng, selectBackend, ssim, ssimY, type Restorer } from '../src/advanced.js';
import { loadRestorerFile, readImage } from '../src/node.js';
import { DEFAULT_MODEL_FILE, shippedModelPath, SHIPPED_MODELS } from '../src/io/shipped-model.js';
import { SHARED } from './helpers/goldens.js';
import { irsde } from './helpers/cli.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIX = join(ROOT, 'test/fixtures/metrics');

let restorer: Restorer;
let path: string;
beforeAll(async () => {
  await selectBackend('wasm');
  const found = shippedModelPath();
  expect(found, `models/${DEFAULT_MODEL_FILE} is committed`).not.toBeNull();
  path = found!;
  restorer = await loadRestorerFile(path);
});
afterAll(async () => {
  await restorer?.dispose();
  await tf.setBackend('cpu');
});

describe('the shipped denoising model', () => {
  it('is found by shippedModelPath() (irsde/node) and is in the npm package\'s files; the built package finds it next to dist/', () => {
    expect(path).toBe(join(ROOT, 'models', DEFAULT_MODEL_FILE));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain(`models/${DEFAULT_MODEL_FILE}`);
    expect(pkg.files).not.toContain(`models/${SHIPPED_MODELS.derain}`);
    expect(() => shippedModelPath('nope' as never)).toThrow(/unknown task 'nope' \(known: denoise, derain, deblur, sr4, inpaint\)/);
    // The bundle in dist/ looks next to itself: ../models from dist/node.js.
    const built = join(ROOT, 'dist/node.js');
    if (existsSync(built)) {
      const js = `import(${JSON.stringify(pathToFileURL(built).href)}).then((m) => console.log(m.shippedModelPath()))`;
      expect(execFileSync(process.execPath, ['-e', js], { encoding: 'utf8' }).trim()).toBe(path);
    }
  });

  it('is a DenoisingSDE model for noise sigma 0..50, unconditional, at most 10 MB, with a one-step recommended sampler', () => {
    expect(restorer.sde.kind).toBe('denoising');
    expect(restorer.sde.maxSigma * 255).toBeCloseTo(50, 6);
    expect(restorer.network.config.conditional).toBe(false);
    expect(restorer.network.countParameters()).toBeLessThan(5e6);
    expect(statSync(path).size).toBeLessThanOrEqual(10e6);
    expect(restorer.sampling).toMatchObject({ sampler: 'posterior', steps: 1 });
  });

  // Noisy crops made by scikit-image's pipeline (numpy noise, clipped, 8-bit), not by irsde.
  it.each([
    ['astronaut', 3, 5, 1.5],
    ['astronaut', 3, 25, 4],
    ['astronaut', 3, 50, 4],
    ['camera', 1, 5, 1.5],
    ['camera', 1, 25, 4],
    ['camera', 1, 50, 4],
  ])('blind: estimates the level and improves PSNR and SSIM on a held-out noisy crop (%s, %i channel(s), sigma %i: > %f dB)', async (name, channels, sigma, minGain) => {
    const clean = await readImage(join(FIX, `${name}_gt.png`));
    const noisy = await readImage(join(FIX, `${name}_s${sigma}.png`));
    expect(clean.channels).toBe(channels);
    const before = tf.memory().numTensors;
    const out = await restorer.restore(noisy);
    expect(tf.memory().numTensors).toBe(before);
    expect(out.image.channels).toBe(channels);
    expect(out.noise?.estimated).toBe(true);
    // A 64x80 crop gives a rough estimate (clipping lowers it at sigma 50).
    expect(out.noise!.sigma * 255).toBeGreaterThan(0.5 * sigma);
    expect(out.noise!.sigma * 255).toBeLessThan(1.5 * sigma + 3);
    expect(psnr(out.image, clean) - psnr(noisy, clean)).toBeGreaterThan(minGain);
    expect(ssim(out.image, clean)).toBeGreaterThan(ssim(noisy, clean));
  });

  it('told the true level, does at least as well as blind to within 0.5 dB (sigma 25)', async () => {
    const clean = await readImage(join(FIX, 'astronaut_gt.png'));
    const noisy = await readImage(join(FIX, 'astronaut_s25.png'));
    const told = await restorer.restore(noisy, { noiseLevel: 25 / 255 });
    const blind = await restorer.restore(noisy);
    const sde = restorer.sde;
    if (!isDenoisingSDE(sde)) throw new Error('the shipped model is not a DenoisingSDE one');
    expect(told.noise).toMatchObject({ estimated: false, start: sde.optimalTimestep(25 / 255) });
    expect(psnr(told.image, clean)).toBeGreaterThan(psnr(blind.image, clean) - 0.5);
  });
});

// The shipped deraining model (`irsde restore --task derain`): an IR-SDE model trained on the
// project's synthetic rain (`rainStreaks`), restoring held-out photos it never saw.
describe('the shipped deraining model', () => {
  let derain: Restorer;
  let derainPath: string;
  beforeAll(async () => {
    const found = shippedModelPath('derain');
    expect(found, `models/${SHIPPED_MODELS.derain} is committed`).not.toBeNull();
    derainPath = found!;
    derain = await loadRestorerFile(derainPath);
  });
  afterAll(async () => {
    await derain?.dispose();
  });

  it('is a conditional IR-SDE model, at most 10 MB, with a one-step recommended sampler', () => {
    expect(derain.sde.kind).toBe('mean-reverting');
    expect(derain.network.config.conditional).not.toBe(false); // conditional unless stated otherwise
    expect(statSync(derainPath).size).toBeLessThanOrEqual(10e6);
    expect(derain.sampling).toMatchObject({ sampler: 'posterior', steps: 1 });
  });

  // 192x192 centre crops of two held-out photos (grey camera, colour astronaut), rain seeded here.
  it.each([
    ['astronaut', 11],
    ['camera', 12],
  ])('removes synthetic rain from a held-out photo (%s): PSNR gain above 6 dB, SSIM up, no leaked tensors', async (name, seed) => {
    const photo = await readImage(join(SHARED, 'data/images', `${name}.png`));
    const clean = cropImage(photo, (photo.height - 192) >> 1, (photo.width - 192) >> 1, 192, 192);
    const rainy = rainStreaks(clean, {}, new Rng(seed));
    const before = tf.memory().numTensors;
    const out = await derain.restore(rainy);
    expect(tf.memory().numTensors).toBe(before);
    expect(out.image.channels).toBe(clean.channels);
    expect(psnr(out.image, clean) - psnr(rainy, clean)).toBeGreaterThan(6);
    expect(ssim(out.image, clean)).toBeGreaterThan(ssim(rainy, clean));
  });
});

// The shipped deblurring model (`irsde restore --task deblur`), through the built command line, on
// inputs blurred outside irsde by the task's recipe (test/fixtures/deblur/README.md; crops of
// larger blurred photos, so the blur reaches in from beyond their borders): by default the network,
// a kernel estimated from its output and the input deconvolved with the denoise model as the prior;
// with --no-deconvolve the network alone (better on this Gaussian-blurred astronaut crop, where the
// estimate's sigma, 1.2 times the least-squares fit, comes out 15% long).
describe('the shipped deblurring model', () => {
  it.each([
    ['astronaut', 2, -1.5],
    ['camera', 5, 2],
  ])('irsde restore --task deblur sharpens %s (blurred outside irsde): PSNR gain above %d dB and SSIM up; over --no-deconvolve (the network alone, itself +0.7 dB) by more than %d dB', async (name, gain, overNetwork) => {
    const fix = join(ROOT, 'test/fixtures/deblur');
    const dir = mkdtempSync(join(tmpdir(), 'irsde-deblur-'));
    try {
      const [out, net] = [join(dir, `${name}.png`), join(dir, `${name}-network.png`)];
      for (const [file, extra] of [[out, []], [net, ['--no-deconvolve']]] as const) {
        const r = await irsde(['restore', join(fix, `${name}-blurred.png`), file, '--task', 'deblur', '--quiet', ...extra]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
      }
      const [blurred, clean, restored, network] = await Promise.all([join(fix, `${name}-blurred.png`), join(fix, `${name}-clean.png`), out, net].map((f) => readImage(f)));
      expect(psnr(restored, clean) - psnr(blurred, clean)).toBeGreaterThan(gain);
      expect(ssim(restored, clean)).toBeGreaterThan(ssim(blurred, clean));
      expect(psnr(network, clean) - psnr(blurred, clean)).toBeGreaterThan(0.7);
      expect(psnr(restored, clean) - psnr(network, clean)).toBeGreaterThan(overNetwork);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('--samples does not go with the deconvolution (one line, nothing written)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irsde-deblur-'));
    try {
      const out = join(dir, 'x.png');
      const r = await irsde(['restore', join(ROOT, 'test/fixtures/deblur/camera-blurred.png'), out, '--task', 'deblur', '--samples', '2']);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--samples does not go with --task deblur's deconvolution/);
      expect(existsSync(out)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The shipped x4 super-resolution model (`irsde restore --task sr4`), through the built command
// line, on 48x48 inputs downscaled outside irsde by Pillow (test/fixtures/sr4/README.md), scored
// as the super-resolution literature scores: PSNR / SSIM on Y (BT.601), 4 px shaved.
describe('the shipped x4 super-resolution model', () => {
  it.each(['astronaut', 'camera'])('irsde restore --task sr4 upscales %s x4 (downscaled outside irsde): PSNR-Y above Pillow bicubic by 1 dB and above Lanczos, SSIM-Y up', async (name) => {
    const fix = join(ROOT, 'test/fixtures/sr4');
    const dir = mkdtempSync(join(tmpdir(), 'irsde-sr4-'));
    try {
      const out = join(dir, `${name}.png`);
      const r = await irsde(['restore', join(fix, `${name}-lr.png`), out, '--task', 'sr4', '--quiet']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [lr, clean, bicubic, lanczos, restored] = await Promise.all(['lr', 'clean', 'bicubic', 'lanczos'].map((k) => readImage(join(fix, `${name}-${k}.png`))).concat(readImage(out)));
      expect([restored.width, restored.height, restored.channels]).toEqual([4 * lr.width, 4 * lr.height, clean.channels]);
      const y = { crop: 4 };
      expect(psnrY(restored, clean, y) - psnrY(bicubic, clean, y)).toBeGreaterThan(1);
      expect(psnrY(restored, clean, y)).toBeGreaterThan(psnrY(lanczos, clean, y));
      expect(ssimY(restored, clean, y)).toBeGreaterThan(Math.max(ssimY(bicubic, clean, y), ssimY(lanczos, clean, y)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

// The shipped inpainting model (`irsde restore --task inpaint --mask`), through the built command
// line, on 160 px crops of two held-out photos masked outside irsde by the task's recipe
// (test/fixtures/inpaint/README.md: astronaut with brush strokes, camera with rectangles; the
// same run's OpenCV Telea scored 17.60 and 18.54 dB on the masked pixels).
describe('the shipped inpainting model', () => {
  const TELEA_MASKED = { astronaut: 17.6, camera: 18.54 };
  it('irsde restore --task inpaint fills masks made outside irsde: known pixels unchanged, the masked pixels 5 dB above the black input, on average above Telea', async () => {
    const fix = join(ROOT, 'test/fixtures/inpaint');
    const dir = mkdtempSync(join(tmpdir(), 'irsde-inpaint-'));
    try {
      let ours = 0;
      for (const name of ['astronaut', 'camera'] as const) {
        const out = join(dir, `${name}.png`);
        const r = await irsde(['restore', join(fix, `${name}-damaged.png`), out, '--task', 'inpaint', '--mask', join(fix, `${name}-mask.png`), '--quiet']);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const [damaged, clean, mask, filled] = await Promise.all(['damaged', 'clean', 'mask'].map((k) => readImage(join(fix, `${name}-${k}.png`))).concat(readImage(out)));
        for (let p = 0; p < mask.width * mask.height; p++) {
          if (mask.data[p * mask.channels] > 0.5) continue;
          for (let c = 0; c < 3; c++) expect(filled.data[p * 3 + c]).toBe(damaged.data[p * 3 + c]);
        }
        const masked = psnr(filled, clean, { mask });
        expect(masked - psnr(damaged, clean, { mask })).toBeGreaterThan(5);
        expect(psnr(filled, clean) - psnr(damaged, clean)).toBeGreaterThan(5);
        expect(ssim(filled, clean)).toBeGreaterThan(ssim(damaged, clean));
        ours += masked / 2;
      }
      expect(ours).toBeGreaterThan((TELEA_MASKED.astronaut + TELEA_MASKED.camera) / 2);
      // No mask: one line, nothing written.
      const none = await irsde(['restore', join(fix, 'camera-damaged.png'), join(dir, 'x.png'), '--task', 'inpaint', '--quiet']);
      expect(none.code).not.toBe(0);
      expect(none.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(join(dir, 'x.png'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

