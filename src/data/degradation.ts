import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../backend/rng.js';
import { checkChannels, imagesToTensor, createImage, type FloatImage } from '../image/image.js';
import { gaussianBlur, motionBlur, type GaussianBlurOptions } from './blur.js';
import type { Kernel2D } from '../image/filter.js';
import { applyMask, inpaintingMask, isInpaintFill, type InpaintFill, type MaskOptions } from './mask.js';
import { gaussianNoise, rainStreaks, type GaussianNoiseOptions, type RainOptions } from './noise.js';
import { cameraNoise, type CameraNoiseOptions } from './camera-noise.js';
import type { Range } from './random.js';
import { imresize } from './resize.js';

/**
 * A degraded image, with the pixels a degradation removed when it removes some: `mask` (one byte
 * per pixel, 1 = missing), set by `inpaint` (and passed on by `one-of` and `chain`), so a data set
 * can give a network the inpainting mask as an input channel.
 */
export type DegradedImage = FloatImage & {
  /** The removed pixels, one byte per pixel (`height * width`, row-major), 1 = missing; absent when none were removed. */
  readonly mask?: Uint8Array;
};

/**
 * A synthetic degradation: clean image in, new degraded image of the same size and channels
 * out (with its inpainting `mask` when it removes pixels, see {@link DegradedImage}), all
 * randomness drawn from `rng` (so a seed fixes the result). Must not modify its input.
 */
export type Degradation = (gt: FloatImage, rng: Rng) => DegradedImage;

/**
 * x`scale` bicubic down-scaling restored to full size, as the reference's super-resolution
 * pipeline: MATLAB `imresize(gt, 1/scale, 'bicubic')` (antialiased) then `imresize(lr, scale)`
 * back to `H x W` (see {@link imresize}). No clamping. Returns a new image.
 * @throws RangeError when H or W is not a multiple of `scale` (crop with `modcrop` first).
 */
export function bicubicDownUp(img: FloatImage, scale = 4): FloatImage {
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`bicubicDownUp: scale must be a positive integer, got ${scale}`);
  if (img.height % scale !== 0 || img.width % scale !== 0) {
    throw new RangeError(`bicubicDownUp: the image is ${img.height}x${img.width}, not a multiple of the scale ${scale} (modcrop it first)`);
  }
  const lr = imresize(img, { scale: 1 / scale });
  return imresize(lr, { height: img.height, width: img.width });
}

/** Spec of {@link gaussianNoise}. */
export interface NoiseSpec extends GaussianNoiseOptions {
  /** Discriminant. */
  readonly kind: 'noise';
}

/**
 * Spec of {@link cameraNoise}: Poisson-Gaussian noise in linear light, stored as 8-bit sRGB and
 * JPEG, e.g. `{ kind: 'camera-noise', photonsAtWhite: [10, 100], readSigma: [0.005, 0.02],
 * jpegQuality: [75, 95] }` (those ranges are the defaults).
 */
export interface CameraNoiseSpec extends CameraNoiseOptions {
  /** Discriminant. */
  readonly kind: 'camera-noise';
}

/** Spec of {@link rainStreaks}. */
export interface RainSpec extends RainOptions {
  /** Discriminant. */
  readonly kind: 'rain';
}

/** Spec of {@link gaussianBlur}. */
export interface GaussianBlurSpec extends GaussianBlurOptions {
  /** Discriminant. */
  readonly kind: 'gaussian-blur';
}

/** Spec of {@link motionBlur}; a given kernel is plain JSON here. */
export interface MotionBlurSpec {
  /** Discriminant. */
  readonly kind: 'motion-blur';
  /** Random line length in pixels (default [5, 21]). */
  readonly length?: Range;
  /** Random line angle in degrees (default [0, 180]). */
  readonly angle?: Range;
  /** A fixed kernel instead: `size * size` row-major weights (used as given). */
  readonly kernel?: Kernel2DJson;
}

/** A 2-D kernel as JSON. */
export interface Kernel2DJson {
  /** `size * size` weights, row-major. */
  readonly data: readonly number[];
  /** Odd side length. */
  readonly size: number;
}

/** Spec of {@link bicubicDownUp}. */
export interface BicubicSpec {
  /** Discriminant. */
  readonly kind: 'bicubic';
  /** Down-scaling factor (default 4). */
  readonly scale?: number;
}

/** Spec of inpainting: a random {@link inpaintingMask}, masked pixels set to `fill`. */
export interface InpaintSpec extends MaskOptions {
  /** Discriminant. */
  readonly kind: 'inpaint';
  /** What masked pixels become (default 0): a value, `'smooth'` or `'harmonic'` (filled from the others; see {@link InpaintFill}). */
  readonly fill?: InpaintFill;
}

/** One of several degradations, picked uniformly per image (e.g. Gaussian or motion blur). */
export interface OneOfSpec {
  /** Discriminant. */
  readonly kind: 'one-of';
  /** The candidates (at least one). */
  readonly options: readonly DegradationSpec[];
}

/**
 * Clamping to [0, 1] and rounding to `levels + 1` grey levels, as storing an image as 8-bit does
 * (default 255 levels: `round(255 x) / 255`).
 */
export interface QuantizeSpec {
  /** Discriminant. */
  readonly kind: 'quantize';
  /** The largest code value (default 255: 8-bit). */
  readonly levels?: number;
}

/** Several degradations applied in order. */
export interface ChainSpec {
  /** Discriminant. */
  readonly kind: 'chain';
  /** The steps, first applied first. */
  readonly steps: readonly DegradationSpec[];
}

/** A JSON-serialisable description of a {@link Degradation} (for configs and checkpoints). */
export type DegradationSpec = NoiseSpec | CameraNoiseSpec | RainSpec | GaussianBlurSpec | MotionBlurSpec | BicubicSpec | InpaintSpec | OneOfSpec | QuantizeSpec | ChainSpec;

/** The `kind`s of {@link DegradationSpec}. */
export const DEGRADATION_KINDS = ['noise', 'rain', 'gaussian-blur', 'motion-blur', 'bicubic', 'inpaint', 'one-of', 'quantize', 'chain', 'camera-noise'] as const;

/**
 * Builds the {@link Degradation} a spec describes:
 * - `noise`: {@link gaussianNoise} (sigma on the 0–255 scale);
 * - `camera-noise`: {@link cameraNoise} (Poisson-Gaussian noise in linear light, 8-bit sRGB, JPEG);
 * - `rain`: {@link rainStreaks};
 * - `gaussian-blur`: {@link gaussianBlur};
 * - `motion-blur`: {@link motionBlur} (a given kernel, or a random line);
 * - `bicubic`: {@link bicubicDownUp} (default scale 4);
 * - `inpaint`: a random {@link inpaintingMask}, masked pixels set to `fill` (default 0; `'smooth'` / `'harmonic'`: filled from the others);
 * - `one-of`: one of `options`, picked uniformly per image (the first draw of the rng; the
 *   chosen one runs on a child of it);
 * - `quantize`: clamp to [0, 1] and round to `levels` (default 255: as an 8-bit file stores it);
 * - `chain`: the steps in order, each with its own child of the rng.
 * @throws RangeError for an unknown kind or bad options (checked now, not at first use).
 */
export function createDegradation(spec: DegradationSpec): Degradation {
  if (spec === null || typeof spec !== 'object') throw new TypeError(`createDegradation: expected an object with a 'kind', got ${String(spec)}`);
  const probe = { data: new Float32Array(16 * 16), height: 16, width: 16, channels: 1 } as const;
  let deg: Degradation;
  switch (spec.kind) {
    case 'noise':
      deg = (gt, rng) => gaussianNoise(gt, spec, rng);
      break;
    case 'camera-noise':
      deg = (gt, rng) => cameraNoise(gt, spec, rng);
      break;
    case 'rain':
      deg = (gt, rng) => rainStreaks(gt, spec, rng);
      break;
    case 'gaussian-blur':
      deg = (gt, rng) => gaussianBlur(gt, spec, rng);
      break;
    case 'motion-blur': {
      const kernel: Kernel2D | undefined = spec.kernel === undefined ? undefined : { data: Float64Array.from(spec.kernel.data), size: spec.kernel.size };
      const opts = { kernel, length: spec.length, angle: spec.angle };
      deg = (gt, rng) => motionBlur(gt, opts, rng);
      break;
    }
    case 'bicubic': {
      const scale = spec.scale ?? 4;
      deg = (gt) => bicubicDownUp(gt, scale);
      if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`createDegradation: bicubic scale must be a positive integer, got ${scale}`);
      return deg;
    }
    case 'inpaint':
      if (spec.fill !== undefined && !isInpaintFill(spec.fill)) {
        throw new RangeError(`createDegradation: inpaint fill must be a number, 'smooth' or 'harmonic', got ${JSON.stringify(spec.fill)}`);
      }
      deg = (gt, rng) => {
        const mask = inpaintingMask(gt.height, gt.width, spec, rng);
        return { ...applyMask(gt, mask, spec.fill ?? 0), mask };
      };
      break;
    case 'one-of': {
      if (!Array.isArray(spec.options) || spec.options.length === 0) throw new RangeError("createDegradation: 'one-of' needs a non-empty options array");
      const options = spec.options.map(createDegradation);
      deg = (gt, rng) => {
        const [pick, child] = rng.split(2);
        const i = Math.min(options.length - 1, Math.floor(pick.uniform([1])[0] * options.length));
        return options[i](gt, child);
      };
      break;
    }
    case 'quantize': {
      const levels = spec.levels ?? 255;
      if (!Number.isInteger(levels) || levels < 1) throw new RangeError(`createDegradation: quantize levels must be a positive integer, got ${String(levels)}`);
      deg = (gt) => {
        const out = new Float32Array(gt.data.length);
        for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, gt.data[i])) * levels) / levels;
        return createImage(gt.height, gt.width, gt.channels, out);
      };
      break;
    }
    case 'chain': {
      if (!Array.isArray(spec.steps) || spec.steps.length === 0) throw new RangeError("createDegradation: 'chain' needs a non-empty steps array");
      const steps = spec.steps.map(createDegradation);
      deg = (gt, rng) => {
        const rngs = rng.split(steps.length);
        // A step's mask stays with the image through the later steps (the last one set wins).
        let mask: Uint8Array | undefined;
        const out = steps.reduce<DegradedImage>((img, step, i) => {
          const next = step(img, rngs[i]);
          mask = next.mask ?? mask;
          return next;
        }, gt);
        return mask === undefined || out.mask === mask ? out : { ...out, mask };
      };
      break;
    }
    default:
      throw new RangeError(
        `createDegradation: unknown kind ${JSON.stringify((spec as { kind?: unknown }).kind)}; expected one of ${DEGRADATION_KINDS.join(', ')}`,
      );
  }
  // Options are validated by running once on a tiny image, so a bad config fails at start-up.
  deg(probe, new Rng(0));
  return deg;
}

/**
 * The fill of the inpainting in a spec (see {@link InpaintSpec.fill}): what a restorer must put in
 * the missing pixels to show a model what it saw in training. Looks through `one-of` and `chain`.
 * @returns the fill (a value, `'smooth'` or `'harmonic'`), or `undefined` when the spec makes no masks.
 * @throws RangeError when its inpaintings use different fills (a restorer can apply only one).
 */
export function inpaintFillOf(spec: DegradationSpec): InpaintFill | undefined {
  const fills = new Set<InpaintFill>();
  const walk = (s: DegradationSpec): void => {
    if (s.kind === 'inpaint') fills.add(s.fill ?? 0);
    else if (s.kind === 'one-of') s.options.forEach(walk);
    else if (s.kind === 'chain') s.steps.forEach(walk);
  };
  walk(spec);
  if (fills.size > 1) throw new RangeError(`inpaintFillOf: the degradation's inpaintings use different fills (${[...fills].map((f) => JSON.stringify(f)).join(', ')}); a restorer applies one`);
  return fills.size === 1 ? [...fills][0] : undefined;
}

/**
 * Degrades every item of a batch `[B, H, W, C]`: item `b` uses child `b` of `rng.split(B)`, so
 * an item's result does not depend on the batch size. Returns a new tensor (the caller
 * disposes it); `x` is not disposed.
 */
export function degradeBatch(x: tf.Tensor, degradation: Degradation, rng: Rng): tf.Tensor4D {
  if (x.rank !== 4) throw new RangeError(`degradeBatch: expected a tensor [B, H, W, C], got shape [${x.shape}]`);
  const [B, H, W, C] = x.shape as [number, number, number, number];
  checkChannels(C, 'degradeBatch');
  const all = x.dataSync() as Float32Array;
  const per = H * W * C;
  const rngs = rng.split(B);
  const items = rngs.map((r, b) => degradation(createImage(H, W, C as 1 | 3, all.slice(b * per, (b + 1) * per)), r));
  return imagesToTensor(items);
}
