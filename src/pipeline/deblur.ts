// Blind deblurring in three steps: the blind deblurring network's restoration, a kernel estimated
// from it and the blurred image (estimateBlurKernel), then the blurred image deconvolved with that
// kernel and a denoiser as the prior (deconvolve). Where no kernel is found with confidence, the
// network's restoration is the result.
import { blurKernel, type BlurKernelParams } from '../data/blur.js';
import type { FloatImage } from '../image/image.js';
import { estimateBlurKernel, MIN_BLUR_ESTIMATE_SIDE, type BlurEstimate } from './blur-estimate.js';
import { deconvolve, type DeconvolveOptions } from './deconvolve.js';
import type { Restorer } from './restorer.js';
import type { RestoreImageOptions } from './types.js';

/** The two models {@link deblurImage} uses; neither is disposed by it. */
export interface DeblurModels {
  /** A blind deblurring restorer (the shipped `deblur` model): its output is the sharper estimate the kernel is fitted against. */
  readonly network: Restorer;
  /** A DenoisingSDE restorer (the shipped `denoise` model): the prior of the deconvolution. */
  readonly denoiser: Restorer;
}

/** Options of {@link deblurImage}: the deconvolution's, and the network's restore options. */
export interface DeblurOptions extends DeconvolveOptions {
  /** Passed to the network's `restore` (sampler, steps, tile, ...; default: its recommendation). */
  readonly network?: Omit<RestoreImageOptions, 'samples' | 'mask' | 'signal' | 'onProgress'>;
}

/** Result of {@link deblurImage}. */
export interface DeblurResult {
  /** The deblurred image (same size and channels as the input). */
  readonly image: FloatImage;
  /** `'kernel'`: deconvolved with the estimated kernel; `'network'`: the network's restoration (no confident kernel, or an image under 64 px). */
  readonly method: 'kernel' | 'network';
  /** The kernel used (`null` with `method: 'network'`). */
  readonly kernel: BlurKernelParams | null;
  /** The kernel estimate's details (`null` when the image is too small to estimate). */
  readonly estimate: BlurEstimate | null;
  /** Wall time in milliseconds. */
  readonly ms: number;
}

/**
 * Deblurs a photo blurred by an isotropic Gaussian or a linear motion blur (blind: no kernel
 * given): see the module comment. Deterministic.
 * @param image - the blurred image, grey or RGB.
 * @param models - the blind network and the denoiser (not disposed).
 * @param options - the deconvolution's options (progress is reported per denoiser pass) and the network's.
 */
export async function deblurImage(image: FloatImage, models: DeblurModels, options: DeblurOptions = {}): Promise<DeblurResult> {
  const started = performance.now();
  options.signal?.throwIfAborted();
  const sharp = (await models.network.restore(image, { ...options.network, ...(options.signal ? { signal: options.signal } : {}) })).image;
  const done = (out: FloatImage, method: DeblurResult['method'], kernel: BlurKernelParams | null, estimate: BlurEstimate | null): DeblurResult => ({ image: out, method, kernel, estimate, ms: performance.now() - started });
  if (Math.min(image.height, image.width) < MIN_BLUR_ESTIMATE_SIDE) return done(sharp, 'network', null, null);
  const estimate = estimateBlurKernel(image, sharp);
  if (estimate.kernel === null) return done(sharp, 'network', null, estimate);
  const { network: _network, ...deconvolveOptions } = options;
  const out = await deconvolve(image, blurKernel(estimate.kernel), models.denoiser, deconvolveOptions);
  return done(out, 'kernel', estimate.kernel, estimate);
}
