// Blind estimate of a blur kernel of the deblurring recipe (an isotropic Gaussian or a linear
// motion blur) from the blurred image and a sharper estimate of it (e.g. the blind deblurring
// network's output), by two fits on Welch-averaged spectra:
//  - least squares: the kernel k minimising sum_f |K(f) S(f) - Y(f)|^2 (S the sharper estimate,
//    Y the blurred image): picks the family and a Gaussian's sigma; its motion lengths come out
//    short, as the sharper estimate still holds some blur;
//  - spectral zeros: a motion blur's transfer function vanishes along lines |f . u| = n / length,
//    which show as dark lines in the blurred image's power spectrum whatever the image; the
//    ring-demeaned log power spectrum is matched against each candidate's log(|K|^2 + eps).
// The zeros' motion kernel is returned when its zero lines are strong, or when both fits agree on
// its direction and roughly on its length; the least-squares Gaussian (sigma scaled up, see
// GAUSSIAN_SCALE) when that fit says Gaussian and the zero lines are weak; otherwise none (`kernel: null`: use the sharper estimate).
import { blurKernel, type BlurKernelParams } from '../data/blur.js';
import { fft2d, kernelSpectrum } from '../image/fft.js';
import type { FloatImage } from '../image/image.js';

/** What {@link estimateBlurKernel} found. */
export interface BlurEstimate {
  /** The kernel to deconvolve with, or `null` when the fits disagree (no confident estimate). */
  readonly kernel: BlurKernelParams | null;
  /** The least-squares fit against the sharper estimate (unscaled; biased short, as the estimate keeps some blur). */
  readonly leastSquares: BlurKernelParams;
  /** The spectral-zeros fit of a motion blur. */
  readonly spectralZeros: BlurKernelParams;
  /**
   * How strongly the blurred image's spectrum shows that motion blur's zero lines (the matched
   * template's correlation; photos blurred by a Gaussian scored up to ~52 in the training photos,
   * motion-blurred ones mostly 50-160). Above 55 the zeros are trusted alone.
   */
  readonly zerosScore: number;
}

/**
 * The least-squares Gaussian sigma is multiplied by this: the network's output keeps some blur, so
 * the fit comes out short (by a median factor of 1.19 on the validation photos; 1.2 deconvolved
 * best there, 0.5 dB above the unscaled fit).
 */
const GAUSSIAN_SCALE = 1.2;

/** A spectral-zeros score above which the motion fit is used even when the least-squares fit disagrees (set on the training photos). */
export const STRONG_ZEROS = 55;

/** Welch window side (pixels): windows of this size, half overlapping. */
const WINDOW = 128;
/** Smallest image side the estimate works on (one window at the smaller size). */
export const MIN_BLUR_ESTIMATE_SIDE = 64;

function luma(img: FloatImage): Float64Array {
  const { height: H, width: W, channels: C, data } = img;
  const o = new Float64Array(H * W);
  for (let i = 0; i < H * W; i++) o[i] = C === 1 ? data[i] : 0.299 * data[3 * i] + 0.587 * data[3 * i + 1] + 0.114 * data[3 * i + 2];
  return o;
}

/** Calls `visit(spectrum)` for each Hann-windowed, mean-removed `n x n` window (half overlapping) of each plane. */
function welch(planes: Float64Array[], H: number, W: number, n: number, visit: (spectra: Float64Array[]) => void): void {
  const win = new Float64Array(n);
  for (let i = 0; i < n; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n);
  const bufs = planes.map(() => new Float64Array(2 * n * n));
  for (let i0 = 0; i0 + n <= H; i0 += n / 2) {
    for (let j0 = 0; j0 + n <= W; j0 += n / 2) {
      planes.forEach((a, p) => {
        const d = bufs[p];
        let mean = 0;
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) mean += a[(i0 + i) * W + j0 + j];
        mean /= n * n;
        d.fill(0);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[2 * (i * n + j)] = win[i] * win[j] * (a[(i0 + i) * W + j0 + j] - mean);
        fft2d(d, n, n);
      });
      visit(bufs);
    }
  }
}

/** The kernel's transfer function on an `n x n` grid (interleaved complex). */
const transfer = (p: BlurKernelParams, n: number): Float64Array => kernelSpectrum(blurKernel(p), n, n);

/** Minimises `score` over a coarse grid, then twice over finer grids around the best. */
function search<P extends BlurKernelParams>(score: (p: P) => number, grid: P[], refine: (best: P, pass: number) => P[]): { p: P; score: number } {
  let best = { p: grid[0], score: Infinity };
  const tryAll = (ps: P[]): void => {
    for (const p of ps) {
      const s = score(p);
      if (s < best.score) best = { p, score: s };
    }
  };
  tryAll(grid);
  for (let pass = 0; pass < 2; pass++) tryAll(refine(best.p, pass));
  return best;
}

const motion = (length: number, angle: number): BlurKernelParams & { kind: 'motion' } => ({ kind: 'motion', length, angle: ((angle % 180) + 180) % 180 });
const gaussian = (sigma: number): BlurKernelParams & { kind: 'gaussian' } => ({ kind: 'gaussian', sigma });
const range = (from: number, to: number, step: number): number[] => Array.from({ length: Math.floor((to - from) / step + 1e-9) + 1 }, (_, i) => from + i * step);
const motionGrid = (): Array<BlurKernelParams & { kind: 'motion' }> => range(3, 25, 1).flatMap((L) => range(0, 174, 6).map((a) => motion(L, a)));
const motionRefine = (b: BlurKernelParams & { kind: 'motion' }, pass: number): Array<BlurKernelParams & { kind: 'motion' }> => {
  const dl = pass === 0 ? 0.5 : 0.25;
  const da = pass === 0 ? 2 : 1;
  return range(-2, 2, 1).flatMap((i) => range(-2, 2, 1).map((j) => motion(b.length + i * dl, b.angle + j * da))).filter((p) => p.length >= 1);
};

/** Least-squares fit of each family against the sharper estimate; the better family first. */
function leastSquaresFit(sharp: Float64Array, blurred: Float64Array, H: number, W: number, n: number): BlurKernelParams {
  const sxx = new Float64Array(n * n);
  const sxyRe = new Float64Array(n * n);
  const sxyIm = new Float64Array(n * n);
  let syy = 0;
  welch([sharp, blurred], H, W, n, ([X, Y]) => {
    for (let f = 0; f < n * n; f++) {
      const xr = X[2 * f], xi = X[2 * f + 1], yr = Y[2 * f], yi = Y[2 * f + 1];
      sxx[f] += xr * xr + xi * xi;
      sxyRe[f] += xr * yr + xi * yi; // X conj(Y)
      sxyIm[f] += xi * yr - xr * yi;
      syy += yr * yr + yi * yi;
    }
  });
  // sum_f |K X - Y|^2 = sum |K|^2 |X|^2 - 2 Re(K X conj(Y)) + |Y|^2
  const residual = (p: BlurKernelParams): number => {
    const K = transfer(p, n);
    let e = syy;
    for (let f = 0; f < n * n; f++) {
      const kr = K[2 * f], ki = K[2 * f + 1];
      e += (kr * kr + ki * ki) * sxx[f] - 2 * (kr * sxyRe[f] - ki * sxyIm[f]);
    }
    return e;
  };
  const g = search(residual, range(0.4, 3.6, 0.1).map(gaussian), (b, pass) => range(-4, 4, 1).map((i) => gaussian(b.sigma + i * (pass === 0 ? 0.02 : 0.005))).filter((p) => p.sigma > 0.3));
  const m = search(residual, motionGrid(), motionRefine);
  return g.score <= m.score ? g.p : m.p;
}

/** Spectral-zeros fit of a motion blur from the blurred plane alone, and its score. */
function spectralZerosFit(blurred: Float64Array, H: number, W: number, n: number): { p: BlurKernelParams & { kind: 'motion' }; score: number } {
  const power = new Float64Array(n * n);
  let windows = 0;
  welch([blurred], H, W, n, ([Y]) => {
    for (let f = 0; f < n * n; f++) power[f] += Y[2 * f] * Y[2 * f] + Y[2 * f + 1] * Y[2 * f + 1];
    windows++;
  });
  // Rings of radius 0.03..0.45 cycles per pixel; each value minus its ring's mean removes the
  // image's (isotropic) spectral fall-off and keeps the kernel's directional pattern.
  const ring = new Int32Array(n * n);
  const rings = new Float64Array(n);
  for (let f = 0; f < n * n; f++) {
    const i = Math.floor(f / n), j = f % n;
    const r = Math.hypot(Math.min(i, n - i), Math.min(j, n - j)) / n;
    ring[f] = r < 0.03 || r > 0.45 ? -1 : Math.round(r * n);
    if (ring[f] >= 0) rings[ring[f]]++;
  }
  const demean = (v: Float64Array): Float64Array => {
    const s = new Float64Array(n);
    for (let f = 0; f < n * n; f++) if (ring[f] >= 0) s[ring[f]] += v[f];
    const o = new Float64Array(n * n);
    for (let f = 0; f < n * n; f++) if (ring[f] >= 0) o[f] = v[f] - s[ring[f]] / rings[ring[f]];
    return o;
  };
  const logPower = demean(power.map((v) => Math.log(v / windows + 1e-12)));
  const score = (p: BlurKernelParams): number => {
    const K = transfer(p, n);
    const t = demean(new Float64Array(n * n).map((_, f) => Math.log(K[2 * f] * K[2 * f] + K[2 * f + 1] * K[2 * f + 1] + 1e-3)));
    let dot = 0, norm = 0;
    for (let f = 0; f < n * n; f++) {
      dot += logPower[f] * t[f];
      norm += t[f] * t[f];
    }
    return -dot / Math.sqrt(norm + 1e-12);
  };
  const best = search(score, motionGrid(), motionRefine);
  return { p: best.p, score: -best.score };
}

/**
 * Estimates the blur of `blurred` (an isotropic Gaussian or a linear motion blur, as the
 * deblurring task's recipe makes), given `sharp`, a sharper estimate of the same image (the blind
 * deblurring network's output). Deterministic; about 2 s for 512x512 on one core.
 * @param blurred - the blurred image (grey or RGB; its luma is used), at least 64x64.
 * @param sharp - a sharper estimate, the same size.
 * @returns the kernel to use (`null` when the two fits disagree) and both fits.
 * @throws RangeError for images of different sizes or smaller than 64 pixels on a side.
 */
export function estimateBlurKernel(blurred: FloatImage, sharp: FloatImage): BlurEstimate {
  const { height: H, width: W } = blurred;
  if (sharp.height !== H || sharp.width !== W) throw new RangeError(`estimateBlurKernel: the sharper estimate is ${sharp.width}x${sharp.height}, the blurred image ${W}x${H}; they must be the same size`);
  if (Math.min(H, W) < MIN_BLUR_ESTIMATE_SIDE) throw new RangeError(`estimateBlurKernel: the image must be at least ${MIN_BLUR_ESTIMATE_SIDE}x${MIN_BLUR_ESTIMATE_SIDE} pixels, got ${W}x${H}`);
  const n = Math.min(H, W) >= WINDOW ? WINDOW : MIN_BLUR_ESTIMATE_SIDE;
  const y = luma(blurred);
  const leastSquares = leastSquaresFit(luma(sharp), y, H, W, n);
  const zeros = spectralZerosFit(y, H, W, n);
  const spectralZeros = zeros.p;
  const found = (kernel: BlurKernelParams | null): BlurEstimate => ({ kernel, leastSquares, spectralZeros, zerosScore: zeros.score });
  // Strong zero lines are a motion blur's signature whatever the sharper estimate says.
  if (zeros.score > STRONG_ZEROS) return found(spectralZeros);
  if (leastSquares.kind === 'gaussian') return found({ kind: 'gaussian', sigma: leastSquares.sigma * GAUSSIAN_SCALE });
  const dAngle = Math.abs(spectralZeros.angle - leastSquares.angle);
  const ratio = spectralZeros.length / leastSquares.length;
  // Both fits see the same motion: the zeros' length (the least-squares one comes out short).
  const agree = Math.min(dAngle, 180 - dAngle) <= 10 && ratio >= 0.8 && ratio <= 1.6;
  return found(agree ? spectralZeros : null);
}
