// Two-dimensional FFTs of image planes (fft.js does the 1-D transforms), the periodic extension of
// a plane that makes a circular convolution model a reflect-padded one, and a kernel's transfer
// function. Used by the blur estimate and the kernel deconvolution.
import FFT from 'fft.js';
import type { Kernel2D } from './filter.js';

const plans = new Map<number, FFT>();
function plan(n: number): FFT {
  let p = plans.get(n);
  if (p === undefined) {
    p = new FFT(n);
    plans.set(n, p);
  }
  return p;
}

/** The smallest power of two `>= n` (at least 2): the sizes {@link fft2d} takes. */
export function nextPowerOfTwo(n: number): number {
  let p = 2;
  while (p < n) p *= 2;
  return p;
}

/**
 * In-place 2-D discrete Fourier transform of a complex array stored as interleaved
 * `[re, im]` pairs, `rows x cols` row-major (`2 * rows * cols` numbers). Both sizes must be
 * powers of two. The inverse (`inverse: true`) divides by `rows * cols`, so that a forward and an
 * inverse transform give the input back.
 * @throws RangeError for sizes that are not powers of two or data of the wrong length.
 */
export function fft2d(data: Float64Array, rows: number, cols: number, inverse = false): void {
  for (const n of [rows, cols]) if (!(Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0)) throw new RangeError(`fft2d: sizes must be powers of two >= 2, got ${rows}x${cols}`);
  if (data.length !== 2 * rows * cols) throw new RangeError(`fft2d: ${rows}x${cols} complex values need ${2 * rows * cols} numbers, got ${data.length}`);
  const run = (f: FFT, out: Float64Array, input: Float64Array): void => (inverse ? f.inverseTransform(out, input) : f.transform(out, input));
  const fr = plan(cols);
  const rowIn = new Float64Array(2 * cols);
  const rowOut = new Float64Array(2 * cols);
  for (let i = 0; i < rows; i++) {
    rowIn.set(data.subarray(2 * cols * i, 2 * cols * (i + 1)));
    run(fr, rowOut, rowIn);
    data.set(rowOut, 2 * cols * i);
  }
  const fc = plan(rows);
  const colIn = new Float64Array(2 * rows);
  const colOut = new Float64Array(2 * rows);
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < rows; i++) {
      colIn[2 * i] = data[2 * (i * cols + j)];
      colIn[2 * i + 1] = data[2 * (i * cols + j) + 1];
    }
    run(fc, colOut, colIn);
    for (let i = 0; i < rows; i++) {
      data[2 * (i * cols + j)] = colOut[2 * i];
      data[2 * (i * cols + j) + 1] = colOut[2 * i + 1];
    }
  }
}

/** A real plane as interleaved complex values (imaginary parts 0). */
export function toComplex(plane: ArrayLike<number>): Float64Array {
  const out = new Float64Array(2 * plane.length);
  for (let i = 0; i < plane.length; i++) out[2 * i] = plane[i];
  return out;
}

/** One line of {@link periodicExtension}: `n` source values at `src[off + k * stride]` into `len` values, the source starting at `margin`. */
function extendLine(src: ArrayLike<number>, off: number, stride: number, n: number, len: number, margin: number, out: Float64Array, outOff: number, outStride: number): void {
  const band = len - n;
  // The band between the far edge and the near edge (across the wrap): `margin` values of each
  // edge's half-sample reflection next to it, cross-faded linearly in between.
  const fade = band - 2 * margin;
  for (let q = 0; q < len; q++) {
    let s = q - margin;
    if (s < 0) s += len;
    let v: number;
    if (s < n) v = src[off + s * stride];
    else {
      const j = s - n;
      const w = fade <= 0 ? (j < band - margin ? 0 : 1) : Math.min(1, Math.max(0, (j - margin + 0.5) / fade));
      const far = src[off + Math.max(0, n - 1 - j) * stride];
      const near = src[off + Math.min(n - 1, band - 1 - j) * stride];
      v = w === 0 ? far : w === 1 ? near : (1 - w) * far + w * near;
    }
    out[outOff + q * outStride] = v;
  }
}

/**
 * Extends a `height x width` plane to `rows x cols` (both larger), the plane placed at
 * `(margin, margin)`: around it `margin` pixels of the plane's half-sample reflection on every
 * side, cross-faded between opposite edges beyond that so that the result varies smoothly when
 * repeated periodically. A circular convolution of the extension with a kernel of radius up to
 * `margin` then equals the reflect-padded convolution of the plane on the whole plane.
 * @throws RangeError unless `rows >= height + 2 * margin` and `cols >= width + 2 * margin`, and `margin <= min(height, width)`.
 */
export function periodicExtension(plane: ArrayLike<number>, height: number, width: number, rows: number, cols: number, margin: number): Float64Array {
  if (!(rows >= height + 2 * margin && cols >= width + 2 * margin)) throw new RangeError(`periodicExtension: ${rows}x${cols} must hold the plane's ${height}x${width} and a margin of ${margin} on every side`);
  if (margin > Math.min(height, width)) throw new RangeError(`periodicExtension: a margin of ${margin} needs a plane at least that large, got ${height}x${width}`);
  const wide = new Float64Array(height * cols);
  for (let i = 0; i < height; i++) extendLine(plane, i * width, 1, width, cols, margin, wide, i * cols, 1);
  const out = new Float64Array(rows * cols);
  for (let j = 0; j < cols; j++) extendLine(wide, j, cols, height, rows, margin, out, j, cols);
  return out;
}

/**
 * The transfer function of a centred kernel on a `rows x cols` grid: the 2-D DFT of the kernel
 * placed with its centre at `(0, 0)` (wrapped), as interleaved complex values. Multiplying an
 * image's spectrum by it is a circular convolution with the kernel.
 */
export function kernelSpectrum(kernel: Kernel2D, rows: number, cols: number): Float64Array {
  const { size, data } = kernel;
  const d = new Float64Array(2 * rows * cols);
  const r = (size - 1) / 2;
  for (let a = 0; a < size; a++) {
    for (let b = 0; b < size; b++) {
      const i = (((a - r) % rows) + rows) % rows;
      const j = (((b - r) % cols) + cols) % cols;
      d[2 * (i * cols + j)] += data[a * size + b];
    }
  }
  fft2d(d, rows, cols);
  return d;
}
