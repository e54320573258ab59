// Non-blind deblurring with a denoiser as the image prior: half-quadratic splitting
// (plug-and-play). Alternates
//   x = argmin |y - k * x|^2 + alpha_i |x - z|^2   (closed form in the Fourier domain)
//   z = D(x, sigma_i)                              (the DenoisingSDE restorer at noise level sigma_i)
// with sigma_i falling log-uniformly from `startNoise` to the image's noise level and
// alpha_i = max(minAlpha, lambda * noise^2 / sigma_i^2). The Fourier step works on each plane
// extended periodically by a band of at least the kernel's size (see the `boundary` option).
import { estimateNoiseSigma } from '../image/noise-level.js';
import { fft2d, kernelSpectrum, nextPowerOfTwo, periodicExtension } from '../image/fft.js';
import type { Kernel2D } from '../image/filter.js';
import type { FloatImage } from '../image/image.js';
import { isDenoisingSDE } from '../sde/kinds.js';
import type { Restorer } from './restorer.js';

/** Options of {@link deconvolve}. */
export interface DeconvolveOptions {
  /** Denoiser passes (default 8). */
  readonly iterations?: number;
  /** Gaussian noise sigma of the blurred image, data units (default: `estimateNoiseSigma`, at least 1/255). */
  readonly noiseLevel?: number;
  /** The first pass's noise level (default 49/255; at most the denoiser's `maxSigma`). */
  readonly startNoise?: number;
  /** Weight of the data term's noise ratio (default 0.23). */
  readonly lambda?: number;
  /** Floor of the coupling weight alpha (default 0.03): keeps the early passes from amplifying the noise near the kernel's zeros into stripes. */
  readonly minAlpha?: number;
  /**
   * What lies beyond the image's borders: `'unknown'` (default: a photo, blurred by a scene larger
   * than the frame; the band around the image is re-estimated each pass from the current result
   * blurred by the kernel) or `'reflect'` (the image was blurred with reflect padding, as the
   * `gaussian-blur` and `motion-blur` degradations do).
   */
  readonly boundary?: 'unknown' | 'reflect';
  /** Called after each pass with `(done, total)`. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Aborts between passes (rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

/**
 * Deblurs `image`, blurred by the known `kernel` (reflect boundary) plus Gaussian noise, with a
 * DenoisingSDE restorer (e.g. the shipped `denoise` model) as the prior. Each pass costs one
 * denoiser restore and two FFTs per channel of the image padded to powers of two.
 * @param image - the blurred image, grey or RGB (nothing to dispose).
 * @param kernel - the blur kernel (normalised; `blurKernel` makes the recipe's).
 * @param denoiser - a restorer of a DenoisingSDE model; not disposed.
 * @returns the deblurred image, the same size and channels.
 * @throws RangeError for a denoiser that is not a DenoisingSDE model or bad options.
 */
export async function deconvolve(image: FloatImage, kernel: Kernel2D, denoiser: Restorer, options: DeconvolveOptions = {}): Promise<FloatImage> {
  const where = 'deconvolve';
  if (!isDenoisingSDE(denoiser.sde)) throw new RangeError(`${where}: the prior must be a DenoisingSDE model (a denoiser such as the shipped denoise one)`);
  const iterations = options.iterations ?? 8;
  if (!(Number.isInteger(iterations) && iterations >= 1)) throw new RangeError(`${where}: iterations must be an integer >= 1, got ${String(iterations)}`);
  const lambda = options.lambda ?? 0.23;
  const minAlpha = options.minAlpha ?? 0.03;
  for (const [name, v] of [['lambda', lambda], ['minAlpha', minAlpha]] as const) if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`${where}: ${name} must be a finite number >= 0, got ${String(v)}`);
  if (lambda === 0 && minAlpha === 0) throw new RangeError(`${where}: lambda and minAlpha cannot both be 0`);
  const noise = options.noiseLevel ?? Math.max(1 / 255, estimateNoiseSigma(image, { clipped: true }));
  const start = Math.min(options.startNoise ?? 49 / 255, denoiser.sde.maxSigma);
  if (!(noise > 0 && Number.isFinite(noise))) throw new RangeError(`${where}: noiseLevel must be a finite sigma > 0, got ${String(noise)}`);
  if (!(start > 0 && Number.isFinite(start))) throw new RangeError(`${where}: startNoise must be a finite sigma > 0, got ${String(options.startNoise)}`);
  const { height: H, width: W, channels: C } = image;
  const margin = Math.min(Math.max(16, kernel.size), H, W);
  const P = nextPowerOfTwo(H + 2 * margin);
  const Q = nextPowerOfTwo(W + 2 * margin);
  const K = kernelSpectrum(kernel, P, Q);
  const unknown = (options.boundary ?? 'unknown') === 'unknown';
  // Full-grid planes: the observed image at (margin, margin), the band around it.
  const full = (img: FloatImage, c: number): Float64Array => {
    const plane = new Float64Array(H * W);
    for (let i = 0; i < H * W; i++) plane[i] = img.data[i * C + c];
    return periodicExtension(plane, H, W, P, Q, margin);
  };
  // Two real planes travel in one complex FFT (the first as the real part, the second as the
  // imaginary part): every Fourier step here is a filter with a real kernel, which keeps the two
  // parts apart, so an RGB image takes two transforms per step instead of three.
  const pairs: Array<[number, number]> = [];
  for (let c = 0; c < C; c += 2) pairs.push([c, c + 1 < C ? c + 1 : -1]);
  const spectrum = (planes: Float64Array[], [a, b]: [number, number]): Float64Array => {
    const d = new Float64Array(2 * P * Q);
    const pa = planes[a];
    for (let f = 0; f < P * Q; f++) d[2 * f] = pa[f];
    if (b >= 0) {
      const pb = planes[b];
      for (let f = 0; f < P * Q; f++) d[2 * f + 1] = pb[f];
    }
    fft2d(d, P, Q);
    return d;
  };
  /** Writes the real and imaginary parts of `d` into the planes of the pair (all of them, or outside the image region only). */
  const unpack = (d: Float64Array, planes: Float64Array[], [a, b]: [number, number], bandOnly: boolean): void => {
    for (const [c, part] of [[a, 0], [b, 1]] as const) {
      if (c < 0) continue;
      const plane = planes[c];
      for (let i = 0; i < P; i++) {
        const inRows = i >= margin && i < margin + H;
        for (let j = 0; j < Q; j++) if (!(bandOnly && inRows && j >= margin && j < margin + W)) plane[i * Q + j] = d[2 * (i * Q + j) + part];
      }
    }
  };
  const yFull = Array.from({ length: C }, (_, c) => full(image, c));
  // With a known (reflect) boundary the observation's spectrum is fixed; with an unknown one the
  // band is re-filled each pass with the current estimate blurred by the kernel.
  const yFixed = unknown ? null : pairs.map((pair) => spectrum(yFull, pair));
  const zFull = yFull.map((p) => Float64Array.from(p));
  let z = image;
  for (let it = 0; it < iterations; it++) {
    options.signal?.throwIfAborted();
    const sigma = iterations === 1 ? noise : Math.exp(Math.log(start) + ((Math.log(Math.min(noise, start)) - Math.log(start)) * it) / (iterations - 1));
    const alpha = Math.max(minAlpha, (lambda * noise * noise) / (sigma * sigma));
    const x = new Float32Array(H * W * C);
    pairs.forEach((pair, k) => {
      const d = spectrum(zFull, pair);
      let Yc: Float64Array;
      if (yFixed !== null) Yc = yFixed[k];
      // The first pass starts from the observation itself: its spectrum is the one just taken.
      else if (it === 0) Yc = Float64Array.from(d);
      else {
        // The band: the current estimate blurred (what the camera saw beyond the frame is unknown).
        const b = Float64Array.from(d);
        for (let f = 0; f < P * Q; f++) {
          const re = b[2 * f] * K[2 * f] - b[2 * f + 1] * K[2 * f + 1];
          b[2 * f + 1] = b[2 * f] * K[2 * f + 1] + b[2 * f + 1] * K[2 * f];
          b[2 * f] = re;
        }
        fft2d(b, P, Q, true);
        unpack(b, yFull, pair, true);
        Yc = spectrum(yFull, pair);
      }
      for (let f = 0; f < P * Q; f++) {
        const kr = K[2 * f], ki = K[2 * f + 1], yr = Yc[2 * f], yi = Yc[2 * f + 1];
        // (conj(K) Y + alpha Z) / (|K|^2 + alpha)
        const q = kr * kr + ki * ki + alpha;
        const re = (kr * yr + ki * yi + alpha * d[2 * f]) / q;
        d[2 * f + 1] = (kr * yi - ki * yr + alpha * d[2 * f + 1]) / q;
        d[2 * f] = re;
      }
      fft2d(d, P, Q, true);
      // The band keeps the data step's values; the image region is denoised below.
      unpack(d, zFull, pair, false);
      for (const c of pair) {
        if (c < 0) continue;
        const zc = zFull[c];
        for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) x[(i * W + j) * C + c] = zc[(i + margin) * Q + j + margin];
      }
    });
    z = (await denoiser.restore({ data: x, height: H, width: W, channels: C }, { noiseLevel: sigma, ...(options.signal ? { signal: options.signal } : {}) })).image;
    for (let c = 0; c < C; c++) {
      const zc = zFull[c];
      for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) zc[(i + margin) * Q + j + margin] = z.data[(i * W + j) * C + c];
    }
    options.onProgress?.(it + 1, iterations);
  }
  return z;
}
