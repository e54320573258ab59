// The pieces of kernel deblurring: 2-D FFTs, the periodic extension that makes a circular
// convolution match a reflect-padded one, the recipe's kernels, and the blind kernel estimate.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { blurKernel, convolveImage, deconvolve, estimateBlurKernel, gaussianBlur, motionBlur, psnr, type FloatImage } from '../src/advanced.js';
import { fft2d, kernelSpectrum, nextPowerOfTwo, periodicExtension, toComplex } from '../src/image/fft.js';
import { loadRestorerFile, readImage } from '../src/node.js';

const ROOT = join(import.meta.dirname, '..');

/** A deterministic pseudo-random plane. */
function plane(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
}

describe('fft2d', () => {
  it('a forward and an inverse transform give the input back; a centred impulse has a flat spectrum', () => {
    const [P, Q] = [8, 16];
    const x = toComplex(plane(P * Q, 1));
    const y = Float64Array.from(x);
    fft2d(y, P, Q);
    // Parseval: sum |Y|^2 = P Q sum |x|^2
    const e = (a: Float64Array) => a.reduce((s, v) => s + v * v, 0);
    expect(e(y)).toBeCloseTo(P * Q * e(x), 8);
    fft2d(y, P, Q, true);
    for (let i = 0; i < x.length; i++) expect(y[i]).toBeCloseTo(x[i], 12);
    const K = kernelSpectrum({ size: 1, data: new Float64Array([1]) }, P, Q);
    for (let f = 0; f < P * Q; f++) {
      expect(K[2 * f]).toBeCloseTo(1, 12);
      expect(K[2 * f + 1]).toBeCloseTo(0, 12);
    }
  });

  it('rejects sizes that are not powers of two, and data of the wrong length', () => {
    expect(() => fft2d(new Float64Array(2 * 12), 3, 4)).toThrow(/powers of two/);
    expect(() => fft2d(new Float64Array(10), 4, 4)).toThrow(/need 32 numbers, got 10/);
    expect(nextPowerOfTwo(129)).toBe(256);
    expect(nextPowerOfTwo(1)).toBe(2);
  });
});

describe('periodicExtension + kernelSpectrum', () => {
  it('a circular convolution of the extension equals the reflect-padded convolution (convolveImage) on the whole plane', () => {
    const [H, W] = [37, 50];
    const x = plane(H * W, 7);
    const kernel = blurKernel({ kind: 'motion', length: 9, angle: 33 });
    const margin = kernel.size;
    const [P, Q] = [nextPowerOfTwo(H + 2 * margin), nextPowerOfTwo(W + 2 * margin)];
    const d = toComplex(periodicExtension(x, H, W, P, Q, margin));
    fft2d(d, P, Q);
    const K = kernelSpectrum(kernel, P, Q);
    for (let f = 0; f < P * Q; f++) {
      const [a, b, kr, ki] = [d[2 * f], d[2 * f + 1], K[2 * f], K[2 * f + 1]];
      d[2 * f] = a * kr - b * ki;
      d[2 * f + 1] = a * ki + b * kr;
    }
    fft2d(d, P, Q, true);
    const ref = convolveImage({ data: Float32Array.from(x), height: H, width: W, channels: 1 }, kernel);
    let worst = 0;
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) worst = Math.max(worst, Math.abs(d[2 * ((i + margin) * Q + j + margin)] - ref.data[i * W + j]));
    expect(worst).toBeLessThan(1e-6);
  });
});

describe('blurKernel', () => {
  it('makes the kernels gaussianBlur and motionBlur apply (sum 1)', () => {
    const img: FloatImage = { data: Float32Array.from(plane(30 * 30, 3)), height: 30, width: 30, channels: 1 };
    const g = blurKernel({ kind: 'gaussian', sigma: 1.7 });
    expect(g.size).toBe(2 * Math.ceil(3 * 1.7) + 1);
    expect(Array.from(g.data).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    const a = convolveImage(img, g).data;
    const b = gaussianBlur(img, { sigma: 1.7 }).data;
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 5);
    const m = convolveImage(img, blurKernel({ kind: 'motion', length: 7.5, angle: 120 })).data;
    const r = motionBlur(img, { length: 7.5, angle: 120 }).data;
    for (let i = 0; i < m.length; i++) expect(m[i]).toBeCloseTo(r[i], 6);
    expect(() => blurKernel({ kind: 'gaussian', sigma: 0 })).toThrow(/sigma must be a finite number > 0/);
  });
});

describe('estimateBlurKernel', () => {
  /** The photo blurred by `kernel`, plus seeded Gaussian noise of sigma 2/255, clipped, 8-bit (the recipe). */
  async function blurred(name: string, params: Parameters<typeof blurKernel>[0]): Promise<{ clean: FloatImage; blurred: FloatImage }> {
    const clean = await readImage(join(ROOT, `test/fixtures/deblur/${name}-clean.png`));
    const b = convolveImage(clean, blurKernel(params));
    const u = plane(2 * b.data.length, 11);
    const data = Float32Array.from(b.data, (v, i) => {
      const n = Math.sqrt(-2 * Math.log(u[2 * i] + 1e-12)) * Math.cos(2 * Math.PI * u[2 * i + 1]);
      return Math.round(Math.min(1, Math.max(0, v + (2 / 255) * n)) * 255) / 255;
    });
    return { clean, blurred: { ...b, data } };
  }

  it.each([
    ['astronaut', 11, 30],
    ['camera', 15, 140],
  ])('finds a motion blur of %s (length %d px at %d degrees) against the clean image: length within 1 px, angle within 3 degrees', async (name, length, angle) => {
    const { clean, blurred: y } = await blurred(name, { kind: 'motion', length, angle });
    const est = estimateBlurKernel(y, clean);
    expect(est.kernel?.kind).toBe('motion');
    const k = est.kernel as { length: number; angle: number };
    expect(Math.abs(k.length - length)).toBeLessThanOrEqual(1);
    const dA = Math.abs(k.angle - angle);
    expect(Math.min(dA, 180 - dA)).toBeLessThanOrEqual(3);
  }, 30_000);

  it('uses no kernel when strong zero lines contradict the sharper estimate (its kernel fits 2x worse than a Gaussian)', async () => {
    const { clean, blurred: y } = await blurred('camera', { kind: 'motion', length: 15, angle: 140 });
    const right = estimateBlurKernel(y, clean);
    expect(right.zerosScore).toBeGreaterThan(55);
    expect(right.zerosFitRatio).toBeLessThan(1);
    // A "sharper estimate" that is the blurred image itself: the same zero lines (they are the
    // blurred image's), but blurring it again explains nothing a near-identity Gaussian does not.
    const contradicted = estimateBlurKernel(y, y);
    expect(contradicted.zerosScore).toBeCloseTo(right.zerosScore, 6);
    expect(contradicted.zerosFitRatio).toBeGreaterThan(2);
    expect(contradicted.kernel).toBeNull();
  }, 30_000);

  it('finds a Gaussian blur (sigma 1.8) against the clean image: least-squares sigma within 0.15 px, the kernel\'s 1.2 times it', async () => {
    const { clean, blurred: y } = await blurred('astronaut', { kind: 'gaussian', sigma: 1.8 });
    const est = estimateBlurKernel(y, clean);
    expect(est.leastSquares.kind).toBe('gaussian');
    const sigma = (est.leastSquares as { sigma: number }).sigma;
    expect(Math.abs(sigma - 1.8)).toBeLessThan(0.15);
    expect(est.kernel).toEqual({ kind: 'gaussian', sigma: sigma * 1.2 });
    expect(est.zerosScore).toBeLessThan(55);
  }, 30_000);

  it('refuses images of different sizes or under 64 px', () => {
    const img = (h: number, w: number): FloatImage => ({ data: new Float32Array(h * w), height: h, width: w, channels: 1 });
    expect(() => estimateBlurKernel(img(64, 64), img(64, 70))).toThrow(/the sharper estimate is 70x64, the blurred image 64x64/);
    expect(() => estimateBlurKernel(img(40, 80), img(40, 80))).toThrow(/at least 64x64 pixels, got 80x40/);
  });
});

describe('deconvolve (the shipped denoiser as the prior)', () => {
  it('deblurs a crop of a motion-blurred photo given its kernel: +4 dB; the unknown boundary (default) beats reflect on a crop; no tensor left', async () => {
    const denoiser = await loadRestorerFile(join(ROOT, 'models/denoise-blind.safetensors'));
    try {
      const fix = join(ROOT, 'test/fixtures/deblur');
      const [y, clean] = await Promise.all([readImage(join(fix, 'camera-blurred.png')), readImage(join(fix, 'camera-clean.png'))]);
      const kernel = blurKernel({ kind: 'motion', length: 13, angle: 60 });
      const before = tf.memory().numTensors;
      const steps: number[] = [];
      const out = await deconvolve(y, kernel, denoiser, { onProgress: (done) => steps.push(done) });
      expect(tf.memory().numTensors).toBe(before);
      expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect([out.height, out.width, out.channels]).toEqual([y.height, y.width, y.channels]);
      expect(psnr(out, clean) - psnr(y, clean)).toBeGreaterThan(4);
      const reflect = await deconvolve(y, kernel, denoiser, { boundary: 'reflect' });
      expect(psnr(out, clean)).toBeGreaterThan(psnr(reflect, clean) + 1);
      // Same input, same output.
      expect((await deconvolve(y, kernel, denoiser)).data).toEqual(out.data);
      const aborted = new AbortController();
      aborted.abort(new Error('stop'));
      await expect(deconvolve(y, kernel, denoiser, { signal: aborted.signal })).rejects.toThrow('stop');
      await expect(deconvolve(y, kernel, denoiser, { iterations: 0 })).rejects.toThrow(/iterations must be an integer >= 1, got 0/);
    } finally {
      await denoiser.dispose();
    }
    const network = await loadRestorerFile(join(ROOT, 'models/deblur.safetensors'));
    try {
      const y: FloatImage = { data: new Float32Array(32 * 32), height: 32, width: 32, channels: 1 };
      await expect(deconvolve(y, blurKernel({ kind: 'gaussian', sigma: 1 }), network)).rejects.toThrow(/the prior must be a DenoisingSDE model/);
    } finally {
      await network.dispose();
    }
  }, 120_000);
});
