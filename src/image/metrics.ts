import { asFloatImage, cropBorder, createImage, maskedPixels, type FloatImage, type ImageLike } from './image.js';
import { channelPlane, gaussianWeights, separableFilter } from './filter.js';

/** Options shared by the metrics. */
export interface MetricOptions {
  /**
   * The data range (max possible value minus min): 1 for [0, 1] images (default), 255 for
   * [0, 255] data. scikit-image's `data_range`.
   */
  readonly dataRange?: number;
  /** Pixels cropped from every side of both images before scoring (the reference's `crop_border`, e.g. the SR scale); default 0. */
  readonly crop?: number;
}

/** PSNR options. */
export interface PsnrOptions extends MetricOptions {
  /**
   * Scores only the pixels where this image's first channel is above 0.5 (white): e.g. an
   * inpainting mask's missing pixels, the "masked PSNR" (MSE over those pixels x channels). The
   * images' size; cropped with them. A mask that selects nothing gives `NaN`.
   */
  readonly mask?: ImageLike;
}

/** SSIM options: scikit-image's `structural_similarity` keywords. */
export interface SsimOptions extends MetricOptions {
  /**
   * Gaussian-weighted windows (default true, Wang et al. 2004 and the common paper setting);
   * false uses a `winSize x winSize` uniform window (scikit-image's own default).
   */
  readonly gaussian?: boolean;
  /** Gaussian std in pixels (default 1.5); the filter radius is `int(3.5 * sigma + 0.5)` as in scikit-image. */
  readonly sigma?: number;
  /**
   * Window side (odd). Default: `2 * int(3.5 * sigma + 0.5) + 1` (11 for sigma 1.5) with
   * Gaussian weights, 7 otherwise. With Gaussian weights it only sets the border left out of the
   * mean, `(winSize - 1) / 2`, exactly as scikit-image does.
   */
  readonly winSize?: number;
  /** Stabiliser constant K1 (default 0.01): C1 = (K1 * dataRange)^2. */
  readonly K1?: number;
  /** Stabiliser constant K2 (default 0.03): C2 = (K2 * dataRange)^2. */
  readonly K2?: number;
  /**
   * Sample (N - 1) instead of population covariance. Default: false with Gaussian weights (the
   * paper setting), true with the uniform window (scikit-image's default).
   */
  readonly useSampleCovariance?: boolean;
}

function checkPair(a: ImageLike, b: ImageLike, crop: number | undefined, where: string): [FloatImage, FloatImage] {
  let x = asFloatImage(a, where);
  let y = asFloatImage(b, where);
  if (x.height !== y.height || x.width !== y.width || x.channels !== y.channels) {
    throw new RangeError(
      `${where}: images differ in size: ${x.height}x${x.width}x${x.channels} vs ${y.height}x${y.width}x${y.channels}`,
    );
  }
  if (crop !== undefined && crop !== 0) {
    x = cropBorder(x, crop);
    y = cropBorder(y, crop);
  }
  return [x, y];
}

function checkRange(dataRange: number, where: string): void {
  if (!(dataRange > 0) || !Number.isFinite(dataRange)) throw new RangeError(`${where}: dataRange must be a positive number, got ${dataRange}`);
}

/**
 * Peak signal-to-noise ratio in dB, `10 log10(dataRange^2 / MSE)` over all pixels and channels
 * (scikit-image's `peak_signal_noise_ratio` with `data_range`), or with `mask` over the masked
 * pixels alone (an inpainting's filled-in part). Identical images give `Infinity`.
 * Symmetric in its arguments; nothing is disposed.
 */
export function psnr(a: ImageLike, b: ImageLike, options: PsnrOptions = {}): number {
  const dataRange = options.dataRange ?? 1;
  checkRange(dataRange, 'psnr');
  const [x, y] = checkPair(a, b, options.crop, 'psnr');
  let se = 0;
  let n = 0;
  if (options.mask === undefined) {
    for (let i = 0; i < x.data.length; i++) {
      const d = x.data[i] - y.data[i];
      se += d * d;
    }
    n = x.data.length;
  } else {
    let m = asFloatImage(options.mask, 'psnr (mask)');
    const crop = options.crop ?? 0;
    if (m.height !== x.height + 2 * crop || m.width !== x.width + 2 * crop) {
      throw new RangeError(`psnr: the mask is ${m.height}x${m.width} but the images are ${x.height + 2 * crop}x${x.width + 2 * crop}`);
    }
    if (crop !== 0) m = cropBorder(m, crop);
    const selected = maskedPixels(m);
    const C = x.channels;
    for (let p = 0; p < x.height * x.width; p++) {
      if (!selected[p]) continue;
      for (let i = p * C; i < (p + 1) * C; i++) {
        const d = x.data[i] - y.data[i];
        se += d * d;
      }
      n += C;
    }
    if (n === 0) return NaN;
  }
  const mse = se / n;
  return mse === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / mse);
}

/**
 * Mean structural similarity (Wang et al. 2004), following scikit-image's
 * `structural_similarity` exactly: local statistics by a Gaussian (sigma 1.5, truncated at 3.5
 * sigma, reflect padding) or uniform filter, `S = (2 ux uy + C1)(2 vxy + C2) /
 * ((ux^2 + uy^2 + C1)(vx + vy + C2))`, the mean of S after dropping a `(winSize - 1) / 2` border,
 * averaged over channels. Identical images give 1. Symmetric; nothing is disposed.
 */
export function ssim(a: ImageLike, b: ImageLike, options: SsimOptions = {}): number {
  const dataRange = options.dataRange ?? 1;
  checkRange(dataRange, 'ssim');
  const [x, y] = checkPair(a, b, options.crop, 'ssim');
  const gaussian = options.gaussian ?? true;
  const sigma = options.sigma ?? 1.5;
  const K1 = options.K1 ?? 0.01;
  const K2 = options.K2 ?? 0.03;
  if (!(sigma > 0)) throw new RangeError(`ssim: sigma must be > 0, got ${sigma}`);
  if (!(K1 >= 0) || !(K2 >= 0)) throw new RangeError(`ssim: K1 and K2 must be >= 0, got ${K1}, ${K2}`);
  const radius = Math.floor(3.5 * sigma + 0.5);
  const winSize = options.winSize ?? (gaussian ? 2 * radius + 1 : 7);
  if (!Number.isInteger(winSize) || winSize < 1 || winSize % 2 !== 1) throw new RangeError(`ssim: winSize must be a positive odd integer, got ${winSize}`);
  if (x.height < winSize || x.width < winSize) {
    throw new RangeError(`ssim: the ${winSize}x${winSize} window does not fit in a ${x.height}x${x.width} image (after cropping)`);
  }
  const weights = gaussian ? gaussianWeights(sigma, radius) : new Float64Array(winSize).fill(1 / winSize);
  const np = winSize * winSize;
  const covNorm = (options.useSampleCovariance ?? !gaussian) ? np / (np - 1) : 1;
  const C1 = (K1 * dataRange) ** 2;
  const C2 = (K2 * dataRange) ** 2;
  const { height: H, width: W } = x;
  const n = H * W;
  const pad = (winSize - 1) / 2;
  let total = 0;
  for (let c = 0; c < x.channels; c++) {
    const p = channelPlane(x, c);
    const q = channelPlane(y, c);
    const pp = new Float64Array(n);
    const qq = new Float64Array(n);
    const pq = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      pp[i] = p[i] * p[i];
      qq[i] = q[i] * q[i];
      pq[i] = p[i] * q[i];
    }
    const ux = separableFilter(p, H, W, weights);
    const uy = separableFilter(q, H, W, weights);
    const uxx = separableFilter(pp, H, W, weights);
    const uyy = separableFilter(qq, H, W, weights);
    const uxy = separableFilter(pq, H, W, weights);
    let sum = 0;
    for (let r = pad; r < H - pad; r++) {
      for (let col = pad; col < W - pad; col++) {
        const i = r * W + col;
        const mx = ux[i];
        const my = uy[i];
        const vx = covNorm * (uxx[i] - mx * mx);
        const vy = covNorm * (uyy[i] - my * my);
        const vxy = covNorm * (uxy[i] - mx * my);
        sum += ((2 * mx * my + C1) * (2 * vxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      }
    }
    total += sum / ((H - 2 * pad) * (W - 2 * pad));
  }
  return total / x.channels;
}

/**
 * The luma (Y of YCbCr, ITU-R BT.601 studio swing) of an RGB image in [0, 1], as a grey image in
 * [16/255, 235/255]: `Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255`, MATLAB's `rgb2ycbcr`
 * and the reference's `bgr2ycbcr(only_y=True)` on float input. A grey image is returned as is.
 */
export function rgbToY(img: ImageLike): FloatImage {
  const x = asFloatImage(img, 'rgbToY');
  if (x.channels === 1) return x;
  const n = x.height * x.width;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = (16 + 65.481 * x.data[3 * i] + 128.553 * x.data[3 * i + 1] + 24.966 * x.data[3 * i + 2]) / 255;
  }
  return createImage(x.height, x.width, 1, out);
}

/** {@link psnr} on the Y channel ({@link rgbToY}) of both images: the paper's PSNR-Y. */
export function psnrY(a: ImageLike, b: ImageLike, options: PsnrOptions = {}): number {
  return psnr(rgbToY(a), rgbToY(b), options);
}

/** {@link ssim} on the Y channel ({@link rgbToY}) of both images: the paper's SSIM-Y. */
export function ssimY(a: ImageLike, b: ImageLike, options: SsimOptions = {}): number {
  return ssim(rgbToY(a), rgbToY(b), options);
}
