import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { readImage } from '../src/io/index.js';
import { imageToTensor, createImage, psnr, psnrY, rgbToY, ssim, ssimY, type FloatImage } from '../src/image/index.js';
import { useCpu } from './helpers/backends.js';
import { SHARED } from './helpers/goldens.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), 'fixtures');

interface Case {
  name: string;
  gt: string;
  test: string;
  channels: 1 | 3;
  psnr: number;
  ssim: number;
  ssim_uniform7: number;
  psnr_crop4: number;
  ssim_crop4: number;
  psnr_y?: number;
  ssim_y?: number;
}

// Produced by scripts/skimage_metrics.py (scikit-image 0.19.3) from crops of the shared photos.
const REF = JSON.parse(readFileSync(resolve(FIXTURES, 'skimage_metrics.json'), 'utf8')) as { cases: Case[] };

beforeAll(useCpu);

describe('PSNR / SSIM agree with scikit-image on real photos (1e-3)', () => {
  it('has RGB, grey, several noise levels, blur and a 16-bit pair', () => {
    expect(REF.cases.length).toBeGreaterThanOrEqual(16);
    expect(new Set(REF.cases.map((c) => c.channels))).toEqual(new Set([1, 3]));
  });

  for (const c of REF.cases) {
    it(c.name, async () => {
      const a = await readImage(resolve(FIXTURES, c.gt));
      const b = await readImage(resolve(FIXTURES, c.test));
      expect(a.channels).toBe(c.channels);
      expect(psnr(a, b)).toBeCloseTo(c.psnr, 3);
      expect(ssim(a, b)).toBeCloseTo(c.ssim, 3);
      expect(Math.abs(psnr(a, b) - c.psnr)).toBeLessThan(1e-3);
      expect(Math.abs(ssim(a, b) - c.ssim)).toBeLessThan(1e-3);
      expect(Math.abs(ssim(a, b, { gaussian: false }) - c.ssim_uniform7)).toBeLessThan(1e-3);
      expect(Math.abs(psnr(a, b, { crop: 4 }) - c.psnr_crop4)).toBeLessThan(1e-3);
      expect(Math.abs(ssim(a, b, { crop: 4 }) - c.ssim_crop4)).toBeLessThan(1e-3);
      if (c.psnr_y !== undefined && c.ssim_y !== undefined) {
        expect(Math.abs(psnrY(a, b) - c.psnr_y)).toBeLessThan(1e-3);
        expect(Math.abs(ssimY(a, b) - c.ssim_y)).toBeLessThan(1e-3);
      }
    });
  }
});

describe('metric facts', () => {
  let photo: FloatImage;
  beforeAll(async () => {
    photo = await readImage(resolve(FIXTURES, 'metrics/astronaut_gt.png'));
  });

  it('identical images: PSNR is Infinity, SSIM is 1', () => {
    expect(psnr(photo, photo)).toBe(Infinity);
    expect(ssim(photo, photo)).toBeCloseTo(1, 12);
    expect(psnrY(photo, photo)).toBe(Infinity);
    expect(ssimY(photo, photo)).toBeCloseTo(1, 12);
  });

  it('PSNR of a constant offset d is -20 log10(d); dataRange scales it', () => {
    const shifted = createImage(photo.height, photo.width, 3, photo.data.map((v) => v + 0.1));
    expect(psnr(photo, shifted)).toBeCloseTo(20, 4);
    const x255 = createImage(photo.height, photo.width, 3, photo.data.map((v) => v * 255));
    const s255 = createImage(photo.height, photo.width, 3, shifted.data.map((v) => v * 255));
    expect(psnr(x255, s255, { dataRange: 255 })).toBeCloseTo(20, 3);
  });

  it('PSNR with a mask scores the masked pixels alone: an offset d only inside the mask gives -20 log10(d); white everywhere is the plain PSNR; crop applies to the mask; nothing masked is NaN', () => {
    const H = photo.height, W = photo.width;
    const inside = (p: number) => Math.floor(p / W) < H / 2; // the top half
    const mask = createImage(H, W, 1, Float32Array.from({ length: H * W }, (_, p) => (inside(p) ? 1 : 0)));
    const damaged = createImage(H, W, 3, photo.data.map((v, i) => (inside(Math.floor(i / 3)) ? v + 0.05 : v)));
    expect(psnr(photo, damaged, { mask })).toBeCloseTo(-20 * Math.log10(0.05), 4);
    expect(psnr(photo, damaged)).toBeCloseTo(-20 * Math.log10(0.05) + 10 * Math.log10(2), 2); // half the pixels differ
    const white = createImage(H, W, 1, new Float32Array(H * W).fill(1));
    expect(psnr(photo, damaged, { mask: white })).toBe(psnr(photo, damaged));
    expect(psnr(photo, damaged, { mask: white, crop: 4 })).toBe(psnr(photo, damaged, { crop: 4 }));
    expect(psnr(photo, damaged, { mask: createImage(H, W, 1, new Float32Array(H * W)) })).toBeNaN();
    expect(() => psnr(photo, damaged, { mask: createImage(8, 8, 1, new Float32Array(64)) })).toThrow(/psnr: the mask is 8x8 but the images are/);
  });

  it('is symmetric and takes tensors [1,H,W,C] and [H,W,C] like images', async () => {
    const other = await readImage(resolve(FIXTURES, 'metrics/astronaut_s25.png'));
    expect(ssim(other, photo)).toBeCloseTo(ssim(photo, other), 12);
    const before = tf.memory().numTensors;
    const t4 = imageToTensor(photo);
    const t3 = tf.tensor3d(other.data, [other.height, other.width, 3]);
    expect(psnr(t4, t3)).toBeCloseTo(psnr(photo, other), 5);
    expect(ssim(t4, t3)).toBeCloseTo(ssim(photo, other), 6);
    tf.dispose([t4, t3]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rgbToY is the studio-swing BT.601 luma (16..235)/255', () => {
    const img = createImage(1, 3, 3, Float32Array.from([0, 0, 0, 1, 1, 1, 1, 0, 0]));
    const y = rgbToY(img);
    expect(y.channels).toBe(1);
    expect(y.data[0]).toBeCloseTo(16 / 255, 6);
    expect(y.data[1]).toBeCloseTo(235 / 255, 6);
    expect(y.data[2]).toBeCloseTo((16 + 65.481) / 255, 6);
  });

  it('clear errors for mismatched sizes, small images and bad options', () => {
    const small = createImage(8, 8, 3);
    expect(() => psnr(photo, small)).toThrow(/differ in size: 64x80x3 vs 8x8x3/);
    expect(() => ssim(small, small)).toThrow(/11x11 window does not fit in a 8x8/);
    expect(() => ssim(photo, photo, { winSize: 8 })).toThrow(/odd/);
    expect(() => psnr(photo, photo, { dataRange: 0 })).toThrow(/dataRange/);
    expect(() => psnr(photo, photo, { crop: 40 })).toThrow(/leaves nothing/);
  });

  it('SSIM of a 512x512 RGB photo takes well under 2 s', async () => {
    const big = await readImage(resolve(SHARED, 'data/images/astronaut.png'));
    const noisy = createImage(512, 512, 3, big.data.map((v, i) => v + 0.05 * Math.sin(i)));
    const t0 = performance.now();
    const s = ssim(big, noisy);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(s).toBeGreaterThan(0.3);
    expect(s).toBeLessThan(1);
  });
});
