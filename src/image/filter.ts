import type { FloatImage } from './image.js';

/**
 * Maps an out-of-range index into `0..n-1` by half-sample symmetric reflection
 * (`d c b a | a b c d | d c b a`): SciPy ndimage's `mode='reflect'` and MATLAB's `'symmetric'`
 * padding (what `imresize` uses). Works for any distance outside the range.
 */
export function reflectIndex(i: number, n: number): number {
  if (i >= 0 && i < n) return i;
  if (n === 1) return 0;
  const p = 2 * n;
  const m = ((i % p) + p) % p;
  return m < n ? m : p - 1 - m;
}

/**
 * Normalised Gaussian weights `exp(-x^2 / (2 sigma^2))` for `x = -radius..radius`, as SciPy's
 * `gaussian_filter1d` makes them (its radius is `int(truncate * sigma + 0.5)`).
 */
export function gaussianWeights(sigma: number, radius: number): Float64Array {
  if (!(sigma > 0)) throw new RangeError(`gaussianWeights: sigma must be > 0, got ${sigma}`);
  if (!Number.isInteger(radius) || radius < 0) throw new RangeError(`gaussianWeights: radius must be a non-negative integer, got ${radius}`);
  const w = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let x = -radius; x <= radius; x++) {
    const v = Math.exp((-0.5 * x * x) / (sigma * sigma));
    w[x + radius] = v;
    sum += v;
  }
  for (let i = 0; i < w.length; i++) w[i] /= sum;
  return w;
}

/**
 * Correlates a `height x width` plane (row-major) with a centred odd-length 1-D kernel along
 * both axes (rows first, then columns), reflect padding: SciPy's separable
 * `correlate1d(..., mode='reflect')` applied on axis 0 then axis 1. Returns a new plane.
 */
export function separableFilter(plane: Float64Array, height: number, width: number, weights: Float64Array): Float64Array {
  const k = weights.length;
  if (k % 2 !== 1) throw new RangeError(`separableFilter: kernel length must be odd, got ${k}`);
  const r = (k - 1) / 2;
  const tmp = new Float64Array(height * width);
  // Axis 0 (down the columns): row index offsets, reflected once per output row.
  const rows = new Int32Array(k);
  for (let y = 0; y < height; y++) {
    for (let j = 0; j < k; j++) rows[j] = reflectIndex(y + j - r, height) * width;
    const o = y * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += weights[j] * plane[rows[j] + x];
      tmp[o + x] = s;
    }
  }
  // Axis 1 (along each row) over a padded copy of the row, so the inner loop has no branches.
  const out = new Float64Array(height * width);
  const padded = new Float64Array(width + 2 * r);
  for (let y = 0; y < height; y++) {
    const o = y * width;
    for (let x = -r; x < width + r; x++) padded[x + r] = tmp[o + reflectIndex(x, width)];
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += weights[j] * padded[x + j];
      out[o + x] = s;
    }
  }
  return out;
}

/** Channel `c` of an image as a float64 plane. */
export function channelPlane(img: FloatImage, c: number): Float64Array {
  const n = img.height * img.width;
  const out = new Float64Array(n);
  for (let i = 0, j = c; i < n; i++, j += img.channels) out[i] = img.data[j];
  return out;
}

/** Applies a separable kernel (see {@link separableFilter}) to each channel; returns a new image. */
export function filterImageSeparable(img: FloatImage, weights: Float64Array): FloatImage {
  const out = new Float32Array(img.data.length);
  for (let c = 0; c < img.channels; c++) {
    const f = separableFilter(channelPlane(img, c), img.height, img.width, weights);
    for (let i = 0, j = c; i < f.length; i++, j += img.channels) out[j] = f[i];
  }
  return { data: out, height: img.height, width: img.width, channels: img.channels };
}

/** A 2-D kernel: `size x size` weights, row-major, odd size. */
export interface Kernel2D {
  /** `size * size` weights, row-major. */
  readonly data: Float32Array | Float64Array;
  /** Side length (odd). */
  readonly size: number;
}

/**
 * Convolves each channel with a square odd-sized 2-D kernel (true convolution: the kernel is
 * flipped), reflect padding, centred. Returns a new image; the kernel is used as given (not
 * normalised).
 */
export function convolveImage(img: FloatImage, kernel: Kernel2D): FloatImage {
  const { size, data: kd } = kernel;
  if (!Number.isInteger(size) || size < 1 || size % 2 !== 1) throw new RangeError(`convolveImage: kernel size must be a positive odd integer, got ${size}`);
  if (kd.length !== size * size) throw new RangeError(`convolveImage: kernel has ${kd.length} weights, a ${size}x${size} kernel needs ${size * size}`);
  const { height: H, width: W, channels: C } = img;
  const r = (size - 1) / 2;
  // Only the non-zero taps matter: motion-blur kernels are mostly zeros.
  const taps: { dy: number; dx: number; w: number }[] = [];
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const w = kd[(size - 1 - i) * size + (size - 1 - j)];
      if (w !== 0) taps.push({ dy: i - r, dx: j - r, w });
    }
  }
  const out = new Float32Array(img.data.length);
  const acc = new Float64Array(W * C);
  const colIdx = new Int32Array(W);
  for (let y = 0; y < H; y++) {
    acc.fill(0);
    for (const { dy, dx, w } of taps) {
      const sy = reflectIndex(y + dy, H) * W;
      for (let x = 0; x < W; x++) colIdx[x] = (sy + reflectIndex(x + dx, W)) * C;
      for (let x = 0; x < W; x++) {
        const s = colIdx[x];
        for (let c = 0; c < C; c++) acc[x * C + c] += w * img.data[s + c];
      }
    }
    out.set(acc, y * W * C);
  }
  return { data: out, height: H, width: W, channels: C };
}
