import { reflectIndex } from '../image/filter.js';
import { createImage, type FloatImage } from '../image/image.js';

/** Keys's cubic convolution kernel with a = -0.5 (MATLAB's and Pillow's 'bicubic'). */
function cubic(x: number): number {
  const a = Math.abs(x);
  const a2 = a * a;
  const a3 = a2 * a;
  if (a <= 1) return 1.5 * a3 - 2.5 * a2 + 1;
  if (a <= 2) return -0.5 * a3 + 2.5 * a2 - 4 * a + 2;
  return 0;
}

/** Per output sample: the input indices it reads (already reflected) and their normalised weights. */
interface Contributions {
  readonly taps: number;
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

/**
 * MATLAB `imresize`'s contribution table for one axis (its `contributions` function, also the
 * reference's `calculate_weights_indices`): output sample `i` (1-based) sits at input position
 * `u = i / scale + 0.5 (1 - 1 / scale)`; when shrinking with antialiasing the kernel is widened by
 * `1 / scale`; weights are normalised to sum 1; out-of-range inputs are mirrored (symmetric).
 */
function contributions(inLength: number, outLength: number, scale: number, antialias: boolean): Contributions {
  const shrink = scale < 1 && antialias;
  const kernelWidth = shrink ? 4 / scale : 4;
  const taps = Math.ceil(kernelWidth) + 2;
  const index = new Int32Array(outLength * taps);
  const weight = new Float64Array(outLength * taps);
  for (let i = 0; i < outLength; i++) {
    const u = (i + 1) / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - kernelWidth / 2);
    let sum = 0;
    for (let p = 0; p < taps; p++) {
      const idx = left + p; // 1-based input index
      const d = u - idx;
      const w = shrink ? scale * cubic(d * scale) : cubic(d);
      index[i * taps + p] = reflectIndex(idx - 1, inLength);
      weight[i * taps + p] = w;
      sum += w;
    }
    for (let p = 0; p < taps; p++) weight[i * taps + p] /= sum;
  }
  return { taps, index, weight };
}

/** {@link imresize} by a scale factor. */
export interface ResizeByScale {
  /** The factor for both axes (0.25 shrinks x4); the output is `ceil(H * scale) x ceil(W * scale)`. */
  readonly scale: number;
  /** Widen the kernel when shrinking (MATLAB's default, true). */
  readonly antialias?: boolean;
}

/** {@link imresize} to a size. */
export interface ResizeToSize {
  /** Output rows. */
  readonly height: number;
  /** Output columns. */
  readonly width: number;
  /** Widen the kernel when shrinking (MATLAB's default, true). */
  readonly antialias?: boolean;
}

/** Options of {@link imresize}: a scale factor or an output size. */
export type ResizeOptions = ResizeByScale | ResizeToSize;

/**
 * Bicubic resize matching MATLAB's `imresize(I, scale)` / `imresize(I, [h w])` with the default
 * 'bicubic' method and antialiasing (the reference's `imresize_np`, which its data pipeline uses
 * to make x4 low-resolution images): cubic kernel a = -0.5, widened by 1/scale when shrinking,
 * symmetric border handling, rows resized first then columns, no clamping and no rounding (float
 * in, float out). With `scale`, the output is `ceil(H * scale) x ceil(W * scale)`; with a size,
 * each axis uses scale = out / in. Returns a new image.
 */
export function imresize(img: FloatImage, options: ResizeOptions): FloatImage {
  const antialias = options.antialias ?? true;
  let outH: number;
  let outW: number;
  let sy: number;
  let sx: number;
  if ('scale' in options) {
    const s = options.scale;
    if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`imresize: scale must be a positive number, got ${s}`);
    outH = Math.ceil(img.height * s - 1e-9);
    outW = Math.ceil(img.width * s - 1e-9);
    sy = sx = s;
  } else {
    outH = options.height;
    outW = options.width;
    if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH < 1 || outW < 1) {
      throw new RangeError(`imresize: height and width must be positive integers, got ${outH}x${outW}`);
    }
    sy = outH / img.height;
    sx = outW / img.width;
  }
  const C = img.channels;
  const W = img.width;
  // Rows (axis 0) first.
  const ch = contributions(img.height, outH, sy, antialias);
  const mid = new Float64Array(outH * W * C);
  for (let i = 0; i < outH; i++) {
    const o = i * W * C;
    for (let p = 0; p < ch.taps; p++) {
      const w = ch.weight[i * ch.taps + p];
      if (w === 0) continue;
      const s = ch.index[i * ch.taps + p] * W * C;
      for (let j = 0; j < W * C; j++) mid[o + j] += w * img.data[s + j];
    }
  }
  const cw = contributions(W, outW, sx, antialias);
  const out = new Float32Array(outH * outW * C);
  for (let i = 0; i < outH; i++) {
    for (let j = 0; j < outW; j++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let p = 0; p < cw.taps; p++) s += cw.weight[j * cw.taps + p] * mid[(i * W + cw.index[j * cw.taps + p]) * C + c];
        out[(i * outW + j) * C + c] = s;
      }
    }
  }
  return createImage(outH, outW, C, out);
}
