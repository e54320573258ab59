import type { Rng } from '../backend/rng.js';
import { convolveImage, filterImageSeparable, gaussianWeights, type Kernel2D } from '../image/filter.js';
import type { FloatImage } from '../image/image.js';
import { checkRange, Uniforms, type Range } from './random.js';

/**
 * An anti-aliased line segment as a square kernel (peak weight 1, not normalised): each cell's
 * weight is `1 - max(0, d - (width - 1) / 2)` clamped at 0, `d` being the distance from the cell
 * centre to the segment. The segment is centred, `length` pixels long, at `angle` degrees
 * counter-clockwise from the +x (rightward) axis as seen on screen (rows grow downwards).
 */
export function lineKernel(length: number, angle: number, width = 1): Kernel2D {
  if (!(length >= 1) || !Number.isFinite(length)) throw new RangeError(`lineKernel: length must be >= 1 pixel, got ${length}`);
  if (!Number.isFinite(angle)) throw new RangeError(`lineKernel: angle must be a finite number of degrees, got ${angle}`);
  if (!(width > 0) || !Number.isFinite(width)) throw new RangeError(`lineKernel: width must be > 0, got ${width}`);
  const half = (length - 1) / 2;
  const r = Math.ceil(half + width / 2 + 1);
  const size = 2 * r + 1;
  const rad = (angle * Math.PI) / 180;
  const dx = Math.cos(rad);
  const dy = -Math.sin(rad);
  const data = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const px = j - r;
      const py = i - r;
      const t = Math.max(-half, Math.min(half, px * dx + py * dy));
      const d = Math.hypot(px - t * dx, py - t * dy);
      data[i * size + j] = Math.max(0, 1 - Math.max(0, d - (width - 1) / 2));
    }
  }
  return { data, size };
}

/** Scales a kernel to sum 1 (a copy). */
export function normalizeKernel(k: Kernel2D): Kernel2D {
  let s = 0;
  for (const v of k.data) s += v;
  if (!(s > 0)) throw new RangeError('normalizeKernel: the kernel weights sum to zero or less');
  return { size: k.size, data: Float64Array.from(k.data, (v) => v / s) };
}

/**
 * A blur kernel of the deblurring recipe, by its parameters: an isotropic Gaussian of `sigma`
 * pixels, or a linear motion blur (an anti-aliased line, see {@link lineKernel}) `length` pixels
 * long at `angle` degrees counter-clockwise from the +x axis.
 */
export type BlurKernelParams =
  | {
      /** An isotropic Gaussian. */
      readonly kind: 'gaussian';
      /** Its standard deviation in pixels (> 0). */
      readonly sigma: number;
    }
  | {
      /** A linear motion blur. */
      readonly kind: 'motion';
      /** The line's length in pixels (>= 1). */
      readonly length: number;
      /** The line's angle in degrees, counter-clockwise from the +x axis as seen on screen. */
      readonly angle: number;
    };

/**
 * The normalised kernel (sum 1) of {@link BlurKernelParams}: a Gaussian of side
 * `2 * ceil(3 * sigma) + 1` (as {@link gaussianBlur} uses), or the line kernel of {@link motionBlur}.
 * @throws RangeError for a sigma <= 0, a length < 1 or non-finite parameters.
 */
export function blurKernel(params: BlurKernelParams): Kernel2D {
  if (params.kind === 'motion') return normalizeKernel(lineKernel(params.length, params.angle));
  if (params.kind !== 'gaussian') throw new RangeError(`blurKernel: kind must be 'gaussian' or 'motion', got '${String((params as { kind?: unknown }).kind)}'`);
  const { sigma } = params;
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`blurKernel: sigma must be a finite number > 0, got ${sigma}`);
  const r = Math.ceil(3 * sigma);
  const w = gaussianWeights(sigma, r);
  const size = 2 * r + 1;
  const data = new Float64Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) data[i * size + j] = w[i] * w[j];
  return normalizeKernel({ data, size });
}

/** Options of {@link gaussianBlur}. */
export interface GaussianBlurOptions {
  /** Std in pixels: fixed, or `[min, max]` drawn per image (needs an `rng`). */
  readonly sigma: Range;
  /** Odd kernel side; default `2 * ceil(3 * sigma) + 1`. */
  readonly kernelSize?: number;
}

/**
 * Gaussian blur, separable, reflect padding (a constant image stays constant; the image mean is
 * kept up to border effects). Returns a new image. `rng` is only needed for a `[min, max]` sigma.
 */
export function gaussianBlur(img: FloatImage, options: GaussianBlurOptions, rng?: Rng): FloatImage {
  checkRange(options.sigma, 'gaussianBlur: sigma', 1e-6);
  if (typeof options.sigma !== 'number' && rng === undefined) throw new RangeError('gaussianBlur: a [min, max] sigma needs an rng');
  const sigma = typeof options.sigma === 'number' ? options.sigma : new Uniforms(rng as Rng, 1).pick(options.sigma);
  const size = options.kernelSize ?? 2 * Math.ceil(3 * sigma) + 1;
  if (!Number.isInteger(size) || size < 1 || size % 2 !== 1) throw new RangeError(`gaussianBlur: kernelSize must be a positive odd integer, got ${size}`);
  return filterImageSeparable(img, gaussianWeights(sigma, (size - 1) / 2));
}

/** Options of {@link motionBlur}. */
export interface MotionBlurOptions {
  /** A given kernel (used as is: normalise it yourself); otherwise a random straight-line kernel. */
  readonly kernel?: Kernel2D;
  /** Line length in pixels for the random kernel (default [5, 21]). */
  readonly length?: Range;
  /** Line angle in degrees from the horizontal (default [0, 180]). */
  readonly angle?: Range;
}

/**
 * Motion blur: convolution (reflect padding) with the given kernel, or with a straight-line
 * kernel of random length and angle, normalised to sum 1 (so a constant image stays constant).
 * Returns a new image. `rng` is needed unless `kernel` is given or length and angle are fixed.
 */
export function motionBlur(img: FloatImage, options: MotionBlurOptions = {}, rng?: Rng): FloatImage {
  if (options.kernel !== undefined) return convolveImage(img, options.kernel);
  const length = options.length ?? [5, 21];
  const angle = options.angle ?? [0, 180];
  checkRange(length, 'motionBlur: length', 1);
  checkRange(angle, 'motionBlur: angle');
  if ((typeof length !== 'number' || typeof angle !== 'number') && rng === undefined) {
    throw new RangeError('motionBlur: a random length or angle needs an rng');
  }
  const u = rng === undefined ? null : new Uniforms(rng, 2);
  const L = typeof length === 'number' ? length : (u as Uniforms).pick(length);
  const a = typeof angle === 'number' ? angle : (u as Uniforms).pick(angle);
  return convolveImage(img, blurKernel({ kind: 'motion', length: L, angle: a }));
}
