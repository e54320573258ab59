import { asFloatImage, type ImageLike } from './image.js';

/*
 * Blind noise-level estimation: the wavelet median-absolute-deviation estimator of Donoho and
 * Johnstone ("Ideal spatial adaptation by wavelet shrinkage", Biometrika 1994, section 4.2), as
 * scikit-image's `restoration.estimate_sigma` defines it: one level of the separable 2-D
 * Daubechies-2 (4-tap) wavelet transform with half-sample symmetric extension (PyWavelets'
 * default mode), the finest diagonal detail band (high-pass along rows and columns), exact zeros
 * left out, and `sigma = median(|d|) / Phi^-1(0.75)`; for colour images each channel separately,
 * then the mean of the channel estimates.
 */

/** `Phi^-1(0.75)`, the 75th percentile of the standard normal: `median(|z|)` for `z ~ N(0, 1)`. */
const NORMAL_Q75 = 0.6744897501960817;

/**
 * The Daubechies-2 decomposition high-pass filter, `(-(1 + sqrt 3), 3 + sqrt 3, -(3 - sqrt 3),
 * 1 - sqrt 3) / (4 sqrt 2)` (the quadrature mirror of the scaling filter), to the 17 digits the
 * published tables (and PyWavelets) give, applied as `y[k] = sum_j HI[j] x[2k + 1 - j]`.
 */
const HI = [-0.48296291314453416, 0.8365163037378079, -0.2241438680420134, -0.12940952255126037];

/** Half-sample symmetric index into `0..n-1`: `... x1 x0 | x0 x1 ... x(n-1) | x(n-1) x(n-2) ...`. */
function symmetric(i: number, n: number): number {
  const period = 2 * n;
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - 1 - j;
  return j;
}

/**
 * One level of the high-pass DWT along one axis of a strided 2-D float64 array: output length
 * `floor((n + 3) / 2)`, `y[k] = sum_j HI[j] x[2k + 1 - j]` with symmetric extension.
 */
function highPass(src: Float64Array, rows: number, cols: number, alongRows: boolean): { data: Float64Array; rows: number; cols: number } {
  const n = alongRows ? cols : rows;
  const m = Math.floor((n + HI.length - 1) / 2);
  const outRows = alongRows ? rows : m;
  const outCols = alongRows ? m : cols;
  const out = new Float64Array(outRows * outCols);
  const lines = alongRows ? rows : cols;
  // Source indices of each output k (symmetric extension only near the ends), computed once.
  const taps = new Int32Array(m * HI.length);
  for (let k = 0; k < m; k++) for (let j = 0; j < HI.length; j++) taps[k * HI.length + j] = symmetric(2 * k + 1 - j, n);
  const J = HI.length;
  if (alongRows) {
    for (let l = 0; l < lines; l++) {
      const base = l * cols;
      for (let k = 0; k < m; k++) {
        let acc = 0;
        for (let j = 0; j < J; j++) acc += HI[j] * src[base + taps[k * J + j]];
        out[l * outCols + k] = acc;
      }
    }
  } else {
    // Whole rows at a time (contiguous), each output summed over the taps in the same order as
    // the row pass: the same floating-point operations, row-major memory access.
    for (let k = 0; k < m; k++) {
      const dst = k * outCols;
      for (let j = 0; j < J; j++) {
        const h = HI[j];
        const row = taps[k * J + j] * cols;
        if (j === 0) for (let l = 0; l < cols; l++) out[dst + l] = 0 + h * src[row + l];
        else for (let l = 0; l < cols; l++) out[dst + l] += h * src[row + l];
      }
    }
  }
  return { data: out, rows: outRows, cols: outCols };
}

/**
 * Moves the `k`-th smallest value of `a[lo..hi]` to index `k`, smaller-or-equal values before it
 * and larger-or-equal after (Hoare's selection with a median-of-three pivot): O(n) on average,
 * where sorting a 12-megapixel photo's coefficients took most of the estimate's time.
 */
function select(a: Float64Array, k: number, lo = 0, hi = a.length - 1): void {
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    // Median of three as the pivot, moved to `lo`.
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    swap(a, lo, mid);
    const pivot = a[lo];
    let i = lo;
    let j = hi + 1;
    for (;;) {
      do i++; while (i <= hi && a[i] < pivot);
      do j--; while (a[j] > pivot);
      if (i >= j) break;
      swap(a, i, j);
    }
    swap(a, lo, j);
    if (j === k) return;
    if (j < k) lo = j + 1;
    else hi = j - 1;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** The median of a float64 array (reordered in place); `NaN` when empty. The same value as sorting gives. */
function median(a: Float64Array): number {
  if (a.length === 0) return NaN;
  const h = a.length >> 1;
  select(a, h);
  if (a.length % 2 === 1) return a[h];
  // The lower middle is the largest value left of h once h is in place.
  let lower = a[0];
  for (let i = 1; i < h; i++) if (a[i] > lower) lower = a[i];
  return 0.5 * (lower + a[h]);
}

/** Sums of `plane` over `[0, r) x [0, c)` for every `r, c` (`(rows + 1) x (cols + 1)`). */
function integralImage(plane: Float64Array, rows: number, cols: number): Float64Array {
  const w = cols + 1;
  const sums = new Float64Array((rows + 1) * w);
  for (let r = 0; r < rows; r++) {
    let run = 0;
    for (let c = 0; c < cols; c++) {
      run += plane[r * cols + c];
      sums[(r + 1) * w + c + 1] = sums[r * w + c + 1] + run;
    }
  }
  return sums;
}

/** `median(|d|) / 0.6745` over the nonzero coefficients that `keep` accepts (0 when there are none). */
function madSigma(d: Float64Array, keep: (i: number) => boolean): { sigma: number; n: number } {
  let n = 0;
  const abs = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) if (d[i] !== 0 && keep(i)) abs[n++] = Math.abs(d[i]);
  // Exactly zero detail everywhere (a constant image): no noise to measure.
  return { sigma: n === 0 ? 0 : median(abs.subarray(0, n)) / NORMAL_Q75, n };
}

/** Re-estimation rounds of the clipping-aware estimate, and the margin in estimated sigmas. */
const CLIPPED_ROUNDS = 2;
const CLIPPED_MARGIN = 2;

/**
 * The estimate for one channel plane (`rows x cols`, float64). Columns are filtered first, then
 * rows, each output summed over the taps in order: the same floating-point operations as
 * PyWavelets, so that which coefficients come out exactly zero (left out of the median; flat,
 * clipped regions give many) is the same too. `clipped`: see {@link NoiseSigmaOptions.clipped}.
 */
function planeSigma(plane: Float64Array, rows: number, cols: number, clipped: boolean): number {
  const a = highPass(plane, rows, cols, false);
  const d = highPass(a.data, a.rows, a.cols, true);
  let est = madSigma(d.data, () => true);
  if (!clipped || est.sigma === 0) return est.sigma;
  // Coefficient (k, l) reads rows 2k - 2 .. 2k + 1 and columns 2l - 2 .. 2l + 1 (clamped to the image).
  const sums = integralImage(plane, rows, cols);
  const w = cols + 1;
  const mean = new Float64Array(d.data.length);
  for (let k = 0; k < d.rows; k++) {
    const r0 = Math.max(0, 2 * k - 2);
    const r1 = Math.min(rows, 2 * k + 2);
    for (let l = 0; l < d.cols; l++) {
      const c0 = Math.max(0, 2 * l - 2);
      const c1 = Math.min(cols, 2 * l + 2);
      const total = sums[r1 * w + c1] - sums[r0 * w + c1] - sums[r1 * w + c0] + sums[r0 * w + c0];
      mean[k * d.cols + l] = total / ((r1 - r0) * (c1 - c0));
    }
  }
  const enough = Math.max(16, Math.ceil(0.05 * est.n));
  for (let round = 0; round < CLIPPED_ROUNDS; round++) {
    const margin = CLIPPED_MARGIN * est.sigma;
    const next = madSigma(d.data, (i) => mean[i] >= margin && mean[i] <= 1 - margin);
    if (next.n < enough) break;
    est = { sigma: next.sigma, n: est.n };
  }
  return est.sigma;
}

/**
 * A float32 pixel that is the rounding of an 8-bit level `k / 255` is read as that level in
 * float64 (what a decoder working in float64, like scikit-image's, sees); any other value as it
 * is. This moves values by at most one float32 rounding, and makes exact zeros of the wavelet
 * transform (equal neighbours) agree with a float64 pipeline.
 */
function exactLevel(v: number): number {
  const k = Math.round(v * 255);
  return Math.fround(k / 255) === v ? k / 255 : v;
}

/** Options of {@link estimateNoiseSigma}. */
export interface NoiseSigmaOptions {
  /**
   * Return one estimate per channel instead of their mean (default false: the mean, as
   * scikit-image's `average_sigmas=True`).
   */
  readonly perChannel?: boolean;
  /**
   * The noisy image was clipped to [0, 1] (as any 8-bit photo is): clipping shrinks the noise
   * near black and white, which lowers the plain estimate (by ~15% at sigma 50 on photos with
   * bright skies). With `clipped: true` the median is re-taken twice over the detail coefficients
   * whose 4x4 neighbourhood mean lies at least two estimated sigmas inside (0, 1) (when at least
   * 5% of them do). Default false: scikit-image's estimate exactly.
   */
  readonly clipped?: boolean;
}

/**
 * Estimates the standard deviation of additive white Gaussian noise in an image, blind: the
 * wavelet median-absolute-deviation estimator (Donoho & Johnstone 1994), defined as scikit-image's
 * `estimate_sigma(image, channel_axis=-1, average_sigmas=True)` and matching it exactly on the
 * same pixels (bit for bit on the test photos, 8-bit PNGs): the finest diagonal band of a one-level Daubechies-2 wavelet transform
 * (half-sample symmetric borders) holds mostly noise, so `median(|d|) / 0.6745` is a robust
 * noise std. Colour images: each channel separately, then their mean.
 *
 * Use it to pick the starting time of a `DenoisingSDE` restoration when the noise level is not
 * known: `sde.optimalTimestep(Math.min(estimateNoiseSigma(img), sde.maxSigma))`. It reads image
 * structure at the finest scale as noise too (fine textures such as grass raise it), and clipping
 * at 0 and 1 lowers it; it is most accurate for photos with smooth regions.
 *
 * @param image - a `FloatImage` (`[H, W, C]` float32, values in the data's units, e.g. [0, 1]) or
 *   a tensor `[H, W, C]` / `[1, H, W, C]` (read, not disposed); C is 1 or 3; at least 2x2 pixels.
 * @returns the estimated sigma in the image's own units (a [0, 1] image gives [0, 1] units;
 *   multiply by 255 for the 0–255 scale), or one per channel with `perChannel: true`. A channel
 *   without any nonzero detail coefficient (e.g. all zero) gives 0 (scikit-image: NaN); other
 *   constant channels give a rounding residue (~1e-33), as scikit-image does.
 * @throws RangeError for an image smaller than 2x2 or with non-finite values; TypeError for a non-image.
 */
export function estimateNoiseSigma(image: ImageLike, options?: NoiseSigmaOptions & { readonly perChannel?: false }): number;
export function estimateNoiseSigma(image: ImageLike, options: NoiseSigmaOptions & { readonly perChannel: true }): number[];
export function estimateNoiseSigma(image: ImageLike, options: NoiseSigmaOptions = {}): number | number[] {
  const where = 'estimateNoiseSigma';
  const img = asFloatImage(image, where);
  const { height: rows, width: cols, channels: C, data } = img;
  if (rows < 2 || cols < 2) throw new RangeError(`${where}: the image must be at least 2x2 pixels, got ${rows}x${cols}`);
  const sigmas: number[] = [];
  const plane = new Float64Array(rows * cols);
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < rows * cols; p++) {
      const v = data[p * C + c];
      if (!Number.isFinite(v)) throw new RangeError(`${where}: pixel ${p} of channel ${c} is not finite (${v})`);
      plane[p] = exactLevel(v);
    }
    sigmas.push(planeSigma(plane, rows, cols, options.clipped === true));
  }
  if (options.perChannel) return sigmas;
  return sigmas.reduce((a, b) => a + b, 0) / sigmas.length;
}
