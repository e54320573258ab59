import type { Rng } from '../backend/rng.js';
import { decodeImage, encodeJpeg } from '../image/codec.js';
import { createImage, type FloatImage } from '../image/image.js';
import { checkRange, Uniforms, type Range } from './random.js';

/** Options of {@link cameraNoise}; every field has a default (issue 32's recipe). */
export interface CameraNoiseOptions {
  /**
   * Photon count of a white pixel (linear value 1): a pixel of linear value `x` collects
   * `Poisson(x * photonsAtWhite)` photons. Lower is noisier. Default [10, 100], drawn per image.
   */
  readonly photonsAtWhite?: Range;
  /** Std of the Gaussian read noise in linear light, full-scale units (1 = white). Default [0.005, 0.02]. */
  readonly readSigma?: Range;
  /**
   * JPEG quality 1-100 of the stored result (drawn per image, rounded to an integer), or `false`
   * to store it as 8-bit values without JPEG. Default [75, 95].
   */
  readonly jpegQuality?: Range | false;
}

/**
 * Means above which {@link cameraNoise} draws photon counts from the normal approximation
 * `round(lambda + sqrt(lambda) z)` (clamped at 0) instead of exactly (inversion of the Poisson
 * CDF, one uniform per pixel). At lambda = 50 the approximation's variance is within 0.2% of
 * lambda and its skewness (0.14) is the only visible difference.
 */
export const POISSON_EXACT_MAX_MEAN = 50;

/** The sRGB EOTF (IEC 61966-2-1): an sRGB code value in [0, 1] to linear light. */
export function srgbToLinear(v: number): number {
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

/** The inverse of {@link srgbToLinear}: linear light in [0, 1] to an sRGB code value. */
export function linearToSrgb(l: number): number {
  return l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055;
}

/** A Poisson draw of mean `lambda` from one uniform `u` (exact inversion) or one normal `z` (above the threshold). */
function poisson(lambda: number, u: number, z: number): number {
  if (lambda <= 0) return 0;
  if (lambda > POISSON_EXACT_MAX_MEAN) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * z));
  let k = 0;
  let p = Math.exp(-lambda);
  let cdf = p;
  // The tail beyond lambda + 40 sqrt(lambda) + 40 has probability far below a uniform's resolution.
  const cap = lambda + 40 * Math.sqrt(lambda) + 40;
  while (u > cdf && k < cap) {
    k += 1;
    p *= lambda / k;
    cdf += p;
  }
  return k;
}

/** The parameters {@link cameraNoise} uses for one image (drawn from its ranges). */
export interface CameraNoiseDraw {
  /** Photons of a white pixel. */
  readonly photonsAtWhite: number;
  /** Read-noise std, full scale. */
  readonly readSigma: number;
  /** JPEG quality, or `false` (8-bit values, no JPEG). */
  readonly jpegQuality: number | false;
}

function checkCameraNoise(options: CameraNoiseOptions): Required<CameraNoiseOptions> {
  const photonsAtWhite = options.photonsAtWhite ?? [10, 100];
  const readSigma = options.readSigma ?? [0.005, 0.02];
  const jpegQuality = options.jpegQuality ?? [75, 95];
  checkRange(photonsAtWhite, 'cameraNoise: photonsAtWhite', 1e-6);
  checkRange(readSigma, 'cameraNoise: readSigma (full scale)', 0, 1);
  if (jpegQuality !== false) checkRange(jpegQuality, 'cameraNoise: jpegQuality (or false for no JPEG)', 1, 100);
  return { photonsAtWhite, readSigma, jpegQuality };
}

/**
 * Camera-like noise (issue 32's recipe), for training and evaluating denoisers on the noise real
 * photos carry rather than on white Gaussian noise. For each image, with parameters drawn
 * uniformly from their ranges (one draw each per image):
 * 1. decode the sRGB values to linear light `x` (the sRGB EOTF, {@link srgbToLinear});
 * 2. signal-dependent Poisson-Gaussian noise: `y = Poisson(x * P) / P + r * n`, `n ~ N(0, 1)`,
 *    with `P = photonsAtWhite` and `r = readSigma` (full-scale units), so `E[y] = x` and
 *    `Var[y] = x / P + r^2`; photon counts exact up to a mean of {@link POISSON_EXACT_MAX_MEAN},
 *    from the normal approximation above it;
 * 3. clip to [0, 1], re-encode to sRGB ({@link linearToSrgb}) and quantise to 8 bits;
 * 4. JPEG-compress at `jpegQuality` (jpeg-js, in memory: 4:4:4, browser-safe where jpeg-js's
 *    encoder finds a `Buffer`, see `encodeJpeg`) and decode again; `jpegQuality: false` skips this.
 *
 * Grey images get grey noise; RGB channels get independent noise. Input values are clamped to
 * [0, 1] first. All randomness comes from `rng` (a seed fixes the result). Returns a new image.
 * @throws RangeError for a bad range (one line naming the option).
 */
export function cameraNoise(img: FloatImage, options: CameraNoiseOptions, rng: Rng): FloatImage {
  const opts = checkCameraNoise(options);
  const u = new Uniforms(rng, 3);
  const draw: CameraNoiseDraw = {
    photonsAtWhite: u.pick(opts.photonsAtWhite),
    readSigma: u.pick(opts.readSigma),
    jpegQuality: opts.jpegQuality === false ? false : Math.round(u.pick(opts.jpegQuality)),
  };
  return cameraNoiseWith(img, draw, rng);
}

/** {@link cameraNoise} with its per-image parameters given (the pixels' noise still from `rng`). */
export function cameraNoiseWith(img: FloatImage, draw: CameraNoiseDraw, rng: Rng): FloatImage {
  const n = img.data.length;
  const P = draw.photonsAtWhite;
  const uniforms = rng.uniform([n]);
  const photonNormals = rng.normal([n]);
  const readNormals = rng.normal([n]);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = img.data[i];
    const x = srgbToLinear(v <= 0 ? 0 : v >= 1 ? 1 : Number.isNaN(v) ? 0 : v);
    const y = poisson(x * P, uniforms[i], photonNormals[i]) / P + draw.readSigma * readNormals[i];
    out[i] = Math.round(linearToSrgb(Math.min(1, Math.max(0, y))) * 255) / 255;
  }
  const stored = createImage(img.height, img.width, img.channels, out);
  if (draw.jpegQuality === false) return stored;
  return decodeImage(encodeJpeg(stored, { quality: draw.jpegQuality }), { channels: img.channels });
}
