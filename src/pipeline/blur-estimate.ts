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
import { convertChannels, type FloatImage } from '../image/image.js';

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
   * motion-blurred ones mostly 50-160). Above 55 the zeros decide, unless {@link BlurEstimate.zerosFitRatio} contradicts them.
   */
  readonly zerosScore: number;
  /**
   * How much worse the spectral-zeros kernel explains the blurred image from the sharper estimate
   * than the best Gaussian does (ratio of their least-squares residuals; below 1 it explains it
   * better). Strong zero lines whose kernel gives 2x the residual or more contradict the sharper
   * estimate: no kernel is used (on the training and validation photos, correct strong-zeros fits
   * came out at most 1.4; a 10 px blur read as 26 px at 6.8).
   */
  readonly zerosFitRatio: number;
}

/**
 * The least-squares Gaussian sigma is multiplied by this: the network's output keeps some blur, so
 * the fit comes out short (by a median factor of 1.19 on the validation photos; 1.2 deconvolved
 * best there, 0.5 dB above the unscaled fit).
 */
const GAUSSIAN_SCALE = 1.2;

/** A spectral-zeros score above which the motion fit is used even when the least-squares fit disagrees (set on the training photos). */
export const STRONG_ZEROS = 55;

/** A strong spectral-zeros fit is used only when its least-squares residual is below this many times the best Gaussian's. */
export const ZEROS_FIT_RATIO = 2;

/** Welch window side (pixels): windows of this size, half overlapping. */
const WINDOW = 128;
/** Smallest image side the estimate works on (one window at the smaller size). */
export const MIN_BLUR_ESTIMATE_SIDE = 64;

/** The image's BT.601 luma plane (grey images as they are), in float64. */
const luma = (img: FloatImage): Float64Array => Float64Array.from(convertChannels(img, 1).data);

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

/** What both fits need, from one Welch pass over the sharper estimate S and the blurred image Y. */
interface Spectra {
  readonly n: number;
  /** Sum over windows of |S|^2, Re and Im of S conj(Y), per frequency; sum of |Y|^2 over all. */
  readonly sxx: Float64Array;
  readonly sxyRe: Float64Array;
  readonly sxyIm: Float64Array;
  readonly syy: number;
  /** log of the mean |Y|^2, each value minus its frequency ring's mean (0 outside the rings). */
  readonly logPower: Float64Array;
  /** Each frequency's ring (radius 0.03..0.45 cycles per pixel), -1 outside, and the rings' sizes. */
  readonly ring: Int32Array;
  readonly rings: Float64Array;
}

/** Each value minus the mean of its frequency ring (0 outside the rings). */
function ringDemean(v: Float64Array, ring: Int32Array, rings: Float64Array): Float64Array {
  const s = new Float64Array(rings.length);
  for (let f = 0; f < v.length; f++) if (ring[f] >= 0) s[ring[f]] += v[f];
  const o = new Float64Array(v.length);
  for (let f = 0; f < v.length; f++) if (ring[f] >= 0) o[f] = v[f] - s[ring[f]] / rings[ring[f]];
  return o;
}

function spectraOf(sharp: Float64Array, blurred: Float64Array, H: number, W: number, n: number): Spectra {
  const sxx = new Float64Array(n * n);
  const sxyRe = new Float64Array(n * n);
  const sxyIm = new Float64Array(n * n);
  const power = new Float64Array(n * n);
  let syy = 0;
  let windows = 0;
  welch([sharp, blurred], H, W, n, ([X, Y]) => {
    for (let f = 0; f < n * n; f++) {
      const xr = X[2 * f], xi = X[2 * f + 1], yr = Y[2 * f], yi = Y[2 * f + 1];
      sxx[f] += xr * xr + xi * xi;
      sxyRe[f] += xr * yr + xi * yi; // X conj(Y)
      sxyIm[f] += xi * yr - xr * yi;
      power[f] += yr * yr + yi * yi;
      syy += yr * yr + yi * yi;
    }
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
  const logPower = ringDemean(power.map((v) => Math.log(v / windows + 1e-12)), ring, rings);
  return { n, sxx, sxyRe, sxyIm, syy, logPower, ring, rings };
}

/** Least-squares residual `sum_f |K S - Y|^2 = sum |K|^2 |S|^2 - 2 Re(K S conj(Y)) + |Y|^2` of a transfer function K. */
function residual(s: Spectra, K: Float64Array): number {
  let e = s.syy;
  for (let f = 0; f < s.n * s.n; f++) {
    const kr = K[2 * f], ki = K[2 * f + 1];
    e += (kr * kr + ki * ki) * s.sxx[f] - 2 * (kr * s.sxyRe[f] - ki * s.sxyIm[f]);
  }
  return e;
}

/** Minus the spectral-zeros match of K: the ring-demeaned log power against the ring-demeaned `log(|K|^2 + eps)`, normalised by the template. */
function zerosMismatch(s: Spectra, K: Float64Array): number {
  const t = ringDemean(new Float64Array(s.n * s.n).map((_, f) => Math.log(K[2 * f] * K[2 * f] + K[2 * f + 1] * K[2 * f + 1] + 1e-3)), s.ring, s.rings);
  let dot = 0, norm = 0;
  for (let f = 0; f < t.length; f++) {
    dot += s.logPower[f] * t[f];
    norm += t[f] * t[f];
  }
  return -dot / Math.sqrt(norm + 1e-12);
}

type Scored<P> = { p: P; score: number };

/** The best (lowest) of `best` and each candidate's `score(p, K)`, K the candidate's transfer function; ties keep the earlier one. */
function bestOf<P extends BlurKernelParams>(s: Spectra, candidates: P[], score: (s: Spectra, K: Float64Array) => number, best: Scored<P>): Scored<P> {
  for (const p of candidates) {
    const e = score(s, kernelSpectrum(blurKernel(p), s.n, s.n));
    if (e < best.score) best = { p, score: e };
  }
  return best;
}

type MotionParams = BlurKernelParams & { kind: 'motion' };
type GaussianParams = BlurKernelParams & { kind: 'gaussian' };

const motion = (length: number, angle: number): MotionParams => ({ kind: 'motion', length, angle: ((angle % 180) + 180) % 180 });
const gaussian = (sigma: number): GaussianParams => ({ kind: 'gaussian', sigma });
const range = (from: number, to: number, step: number): number[] => Array.from({ length: Math.floor((to - from) / step + 1e-9) + 1 }, (_, i) => from + i * step);
/** Two finer grids around a motion fit (length 0.5 then 0.25 px, angle 2 then 1 degree). */
function refineMotion(s: Spectra, best: Scored<MotionParams>, score: (s: Spectra, K: Float64Array) => number): Scored<MotionParams> {
  for (const [dl, da] of [[0.5, 2], [0.25, 1]]) {
    const b = best.p;
    best = bestOf(s, range(-2, 2, 1).flatMap((i) => range(-2, 2, 1).map((j) => motion(b.length + i * dl, b.angle + j * da))).filter((p) => p.length >= 1), score, best);
  }
  return best;
}

/**
 * Both fits: the least-squares one over both families (the better family), and the spectral-zeros
 * one over motion blurs with its score. The coarse motion grid's transfer functions serve both.
 */
function fits(s: Spectra): { leastSquares: BlurKernelParams; zeros: MotionParams; zerosScore: number; zerosFitRatio: number } {
  let g: Scored<GaussianParams> = bestOf(s, range(0.4, 3.6, 0.1).map(gaussian), residual, { p: gaussian(0.4), score: Infinity });
  for (const step of [0.02, 0.005]) {
    const b = g.p.sigma;
    g = bestOf(s, range(-4, 4, 1).map((i) => gaussian(b + i * step)).filter((p) => p.sigma > 0.3), residual, g);
  }
  let m: Scored<MotionParams> = { p: motion(3, 0), score: Infinity };
  let z: Scored<MotionParams> = { p: motion(3, 0), score: Infinity };
  for (const p of range(3, 25, 1).flatMap((L) => range(0, 174, 6).map((a) => motion(L, a)))) {
    const K = kernelSpectrum(blurKernel(p), s.n, s.n);
    const e = residual(s, K);
    if (e < m.score) m = { p, score: e };
    const t = zerosMismatch(s, K);
    if (t < z.score) z = { p, score: t };
  }
  m = refineMotion(s, m, residual);
  z = refineMotion(s, z, zerosMismatch);
  const zerosFitRatio = residual(s, kernelSpectrum(blurKernel(z.p), s.n, s.n)) / Math.max(g.score, 1e-300);
  return { leastSquares: g.score <= m.score ? g.p : m.p, zeros: z.p, zerosScore: -z.score, zerosFitRatio };
}

/**
 * Estimates the blur of `blurred` (an isotropic Gaussian or a linear motion blur, as the
 * deblurring task's recipe makes), given `sharp`, a sharper estimate of the same image (the blind
 * deblurring network's output). Deterministic; about 1 s for 512x512 on one core.
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
  const { leastSquares, zeros: spectralZeros, zerosScore, zerosFitRatio } = fits(spectraOf(luma(sharp), luma(blurred), H, W, n));
  const found = (kernel: BlurKernelParams | null): BlurEstimate => ({ kernel, leastSquares, spectralZeros, zerosScore, zerosFitRatio });
  // Strong zero lines are a motion blur's signature, unless that kernel explains the image from
  // the sharper estimate far worse than a Gaussian does (the image's own directional content, or
  // a wrong length): then the evidence contradicts itself and no kernel is used.
  if (zerosScore > STRONG_ZEROS) return found(zerosFitRatio < ZEROS_FIT_RATIO ? spectralZeros : null);
  if (leastSquares.kind === 'gaussian') return found({ kind: 'gaussian', sigma: leastSquares.sigma * GAUSSIAN_SCALE });
  const dAngle = Math.abs(spectralZeros.angle - leastSquares.angle);
  const ratio = spectralZeros.length / leastSquares.length;
  // Both fits see the same motion: the zeros' length (the least-squares one comes out short).
  const agree = Math.min(dAngle, 180 - dAngle) <= 10 && ratio >= 0.8 && ratio <= 1.6;
  return found(agree ? spectralZeros : null);
}
