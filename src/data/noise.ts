import type { Rng } from '../backend/rng.js';
import type { FloatImage } from '../image/image.js';
import { lineKernel } from './blur.js';
import { checkRange, Uniforms, type Range } from './random.js';

/** Options of {@link gaussianNoise}. */
export interface GaussianNoiseOptions {
  /**
   * Noise std on the 0–255 scale (the paper's convention: sigma 25 adds N(0, (25/255)^2) to a
   * [0, 1] image). Fixed, or `[min, max]` drawn per image.
   */
  readonly sigma: Range;
  /** Clamp the result to [0, 1] (default false: the paper's denoising adds unclipped noise). */
  readonly clip?: boolean;
}

/**
 * Additive white Gaussian noise: `x + (sigma / 255) * n`, `n ~ N(0, 1)` from `rng.normal`
 * (one draw per image). Returns a new image.
 */
export function gaussianNoise(img: FloatImage, options: GaussianNoiseOptions, rng: Rng): FloatImage {
  checkRange(options.sigma, 'gaussianNoise: sigma (0-255 scale)', 0);
  const sigma = new Uniforms(rng, 1).pick(options.sigma) / 255;
  const n = rng.normal([1, img.data.length]);
  const out = new Float32Array(img.data.length);
  const clip = options.clip ?? false;
  for (let i = 0; i < out.length; i++) {
    const v = img.data[i] + sigma * n[i];
    out[i] = clip ? Math.min(1, Math.max(0, v)) : v;
  }
  return { data: out, height: img.height, width: img.width, channels: img.channels };
}

/** Options of {@link rainStreaks}; every field has a default. */
export interface RainOptions {
  /** Fraction of pixels that start a streak (default [0.002, 0.006]). */
  readonly density?: Range;
  /** Streak length in pixels (default [15, 35]). */
  readonly length?: Range;
  /** Tilt from vertical in degrees, one per image (default [-20, 20]). */
  readonly tilt?: Range;
  /** Streak width in pixels (default [1, 2]). */
  readonly width?: Range;
  /** Brightness of each streak's core, added to the image (default [0.3, 0.8]). */
  readonly brightness?: Range;
}

/**
 * Synthetic rain: streak seeds at random pixels (probability `density`), each drawn as an
 * anti-aliased line of one length, tilt and width per image (the usual motion-blurred noise
 * model of rain synthesis) with its own brightness; the streak layer R (clamped to [0, 1]) is
 * added to every channel, `clamp(x + R, 0, 1)`. Returns a new image.
 */
export function rainStreaks(img: FloatImage, options: RainOptions, rng: Rng): FloatImage {
  const density = options.density ?? [0.002, 0.006];
  const length = options.length ?? [15, 35];
  const tilt = options.tilt ?? [-20, 20];
  const width = options.width ?? [1, 2];
  const brightness = options.brightness ?? [0.3, 0.8];
  checkRange(density, 'rainStreaks: density', 0, 1);
  checkRange(length, 'rainStreaks: length', 1);
  checkRange(tilt, 'rainStreaks: tilt', -90, 90);
  checkRange(width, 'rainStreaks: width', 0.1);
  checkRange(brightness, 'rainStreaks: brightness', 0);
  const u = new Uniforms(rng, 4);
  const d = u.pick(density);
  const k = lineKernel(u.pick(length), 90 + u.pick(tilt), u.pick(width));
  const { height: H, width: W, channels: C } = img;
  const seeds = rng.uniform([1, H * W]);
  const rain = new Float32Array(H * W);
  const r = (k.size - 1) / 2;
  const bright = new Uniforms(rng, 256);
  for (let p = 0; p < H * W; p++) {
    if (seeds[p] >= d) continue;
    const b = bright.pick(brightness);
    const y0 = Math.floor(p / W) - r;
    const x0 = (p % W) - r;
    for (let i = 0; i < k.size; i++) {
      const y = y0 + i;
      if (y < 0 || y >= H) continue;
      for (let j = 0; j < k.size; j++) {
        const x = x0 + j;
        const w = k.data[i * k.size + j];
        if (x < 0 || x >= W || w === 0) continue;
        rain[y * W + x] += b * w;
      }
    }
  }
  const out = new Float32Array(img.data.length);
  for (let p = 0; p < H * W; p++) {
    const add = Math.min(1, rain[p]);
    for (let c = 0; c < C; c++) out[p * C + c] = Math.min(1, Math.max(0, img.data[p * C + c] + add));
  }
  return { data: out, height: H, width: W, channels: C };
}
