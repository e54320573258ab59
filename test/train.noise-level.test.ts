import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { readImage } from '../src/io/index.js';
import { DenoisingSDE, Rng, estimateNoiseSigma, from255, imageToTensor, createImage, type FloatImage } from '../src/index.js';
import { useCpu } from './helpers/backends.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), 'fixtures');

// Produced by scripts/noise_sigma_fixtures.py (scikit-image 0.19.3, PyWavelets 1.1.1): noisy
// 48x53 crops of every photo in ../shared/data/images at sigma 5, 15, 25, 50 (0-255), 8-bit PNGs.
const REF = JSON.parse(readFileSync(resolve(FIXTURES, 'noise_sigma.json'), 'utf8')) as {
  cases: Array<{ name: string; file: string; channels: 1 | 3; sigma255: number; estimate: number; perChannel: number[] }>;
};

beforeAll(useCpu);

describe("estimateNoiseSigma agrees with scikit-image's estimate_sigma (1e-3 relative)", () => {
  it('covers every shared photo, RGB and grey, at sigma 5, 15, 25, 50', () => {
    expect(REF.cases.length).toBe(40);
    expect(new Set(REF.cases.map((c) => c.sigma255))).toEqual(new Set([5, 15, 25, 50]));
    expect(new Set(REF.cases.map((c) => c.channels))).toEqual(new Set([1, 3]));
  });
  for (const c of REF.cases) {
    it(c.name, async () => {
      const img = await readImage(resolve(FIXTURES, c.file));
      expect(img.channels).toBe(c.channels);
      const got = estimateNoiseSigma(img);
      expect(Math.abs(got - c.estimate) / c.estimate).toBeLessThan(1e-3);
      const per = estimateNoiseSigma(img, { perChannel: true });
      per.forEach((v, i) => expect(Math.abs(v - c.perChannel[i]) / c.perChannel[i]).toBeLessThan(1e-3));
    });
  }
});

describe('estimateNoiseSigma: facts and bad input', () => {
  it('recovers the sigma of Gaussian noise on a smooth image within its statistical error', () => {
    const H = 200;
    const W = 201;
    const rng = new Rng(3);
    for (const s255 of [2, 10, 30]) {
      const z = rng.normal([1, H * W]);
      const data = Float32Array.from(z, (v, p) => 0.3 + 0.2 * Math.sin((p % W) / 40) + 0.1 * Math.cos(Math.floor(p / W) / 30) + from255(s255) * v);
      const est = estimateNoiseSigma(createImage(H, W, 1, data));
      // The median of ~10000 |d| has a relative standard error of about 1.1 / sqrt(n) ~ 1.1%.
      expect(Math.abs(est - from255(s255)) / from255(s255)).toBeLessThan(0.05);
    }
  });
  it('a constant image gives ~0; tensors [H,W,C] and [1,H,W,C] give the image result; scale equivariant', async () => {
    // All coefficients exactly zero: 0 (scikit-image: NaN). A constant 0.5: the same rounding
    // residue as scikit-image, 5.71e-34.
    expect(estimateNoiseSigma(createImage(8, 9, 3, new Float32Array(8 * 9 * 3)))).toBe(0);
    expect(estimateNoiseSigma(createImage(8, 9, 3, new Float32Array(8 * 9 * 3).fill(0.5)))).toBeLessThan(1e-30);
    const img = await readImage(resolve(FIXTURES, REF.cases[2].file));
    const t4 = imageToTensor(img);
    const t3 = tf.squeeze(t4, [0]);
    expect(estimateNoiseSigma(t4)).toBe(estimateNoiseSigma(img));
    expect(estimateNoiseSigma(t3)).toBe(estimateNoiseSigma(img));
    tf.dispose([t4, t3]);
    const x255 = createImage(img.height, img.width, img.channels, img.data.map((v) => v * 255));
    expect(estimateNoiseSigma(x255) / 255).toBeCloseTo(estimateNoiseSigma(img), 6);
  });
  it('bad input: one-line errors', () => {
    expect(() => estimateNoiseSigma(createImage(1, 5, 1))).toThrow(/estimateNoiseSigma: the image must be at least 2x2 pixels, got 1x5/);
    const nan = createImage(4, 4, 1);
    nan.data[5] = NaN;
    expect(() => estimateNoiseSigma(nan)).toThrow(/estimateNoiseSigma: pixel 5 of channel 0 is not finite \(NaN\)/);
    expect(() => estimateNoiseSigma({} as never)).toThrow(/estimateNoiseSigma: expected a FloatImage/);
  });
  it('clipped: true undoes the low bias of clipped noise near black and white, and equals the plain estimate away from them', () => {
    const H = 160;
    const rng = new Rng(21);
    // Left half mid-grey, right half near white (0.93): sigma-50 noise clipped to [0, 1], on the 8-bit grid.
    const clean = Float32Array.from({ length: H * H }, (_, p) => (p % H < H / 2 ? 0.45 + 0.05 * Math.sin(p / 300) : 0.93));
    const noisy = (sigma: number, img: Float32Array): FloatImage => {
      const z = rng.normal([1, H * H]);
      return createImage(H, H, 1, Float32Array.from(img, (v, p) => Math.round(Math.min(1, Math.max(0, v + from255(sigma) * z[p])) * 255) / 255));
    };
    const n50 = noisy(50, clean);
    const plain = estimateNoiseSigma(n50) * 255;
    const clippedEst = estimateNoiseSigma(n50, { clipped: true }) * 255;
    expect(plain).toBeLessThan(45);
    expect(Math.abs(clippedEst - 50)).toBeLessThan(2.5);
    // Nothing near 0 or 1 (values 0.3..0.7, sigma 5): every coefficient is kept, the same estimate.
    const mid = noisy(5, Float32Array.from({ length: H * H }, (_, p) => 0.5 + 0.2 * Math.sin(p / 700)));
    expect(estimateNoiseSigma(mid, { clipped: true })).toBe(estimateNoiseSigma(mid));
    // Per channel too; an all-black image (no coefficient inside the margin) keeps the plain estimate.
    const black = noisy(10, new Float32Array(H * H));
    expect(estimateNoiseSigma(black, { clipped: true, perChannel: true })).toEqual(estimateNoiseSigma(black, { perChannel: true }));
  });
  it('blind denoising start: the estimate picks the DenoisingSDE timestep of the true sigma (smooth image)', () => {
    const sde = new DenoisingSDE({ T: 100, maxSigma: from255(75) });
    const H = 128;
    const rng = new Rng(9);
    const z = rng.normal([1, H * H]);
    const data = Float32Array.from(z, (v, p) => 0.5 + 0.1 * Math.sin(p / 500) + from255(25) * v);
    const t = sde.optimalTimestep(Math.min(estimateNoiseSigma(createImage(H, H, 1, data)), sde.maxSigma));
    expect(Math.abs(t - sde.optimalTimestep(from255(25)))).toBeLessThanOrEqual(1);
  });
});
