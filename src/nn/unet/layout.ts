/**
 * PyTorch <-> tfjs parameter layouts (host memory, exact copies; no arithmetic touches the values).
 *
 * | kind          | PyTorch               | tfjs (NHWC)          |
 * |---------------|-----------------------|----------------------|
 * | conv k > 1    | `[out, in, kh, kw]`   | `[kh, kw, in, out]`  |
 * | conv 1x1      | `[out, in, 1, 1]`     | `[in, out]` (matMul) |
 * | linear        | `[out, in]`           | `[in, out]`          |
 * | bias          | `[c]`                 | `[c]`                |
 * | gain (LN `g`) | `[1, c, 1, 1]`        | `[c]`                |
 */
import type { ParamSpec } from './config.js';

/** The tfjs shape a parameter is stored with. */
export function tfjsShape(spec: ParamSpec): number[] {
  const s = spec.torchShape;
  switch (spec.kind) {
    case 'conv':
      return s[2] === 1 && s[3] === 1 ? [s[1], s[0]] : [s[2], s[3], s[1], s[0]];
    case 'linear':
      return [s[1], s[0]];
    case 'bias':
      return [s[0]];
    case 'gain':
      return [s[1]];
  }
}

/**
 * Moves `[out, in, rest]` (rest = kh*kw spatial taps) to `[rest, in, out]` or back. 1x1 convs and
 * linear layers are the case `rest = 1`, i.e. a plain matrix transpose.
 */
function permute(src: Float32Array, out: number, inn: number, rest: number, toTfjs: boolean): Float32Array {
  const dst = new Float32Array(src.length);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inn; i++) {
      const torchBase = (o * inn + i) * rest;
      for (let r = 0; r < rest; r++) {
        const tfIdx = (r * inn + i) * out + o;
        if (toTfjs) dst[tfIdx] = src[torchBase + r];
        else dst[torchBase + r] = src[tfIdx];
      }
    }
  }
  return dst;
}

function matrixDims(spec: ParamSpec): [number, number, number] | null {
  const s = spec.torchShape;
  if (spec.kind === 'conv') return [s[0], s[1], s[2] * s[3]];
  if (spec.kind === 'linear') return [s[0], s[1], 1];
  return null;
}

/** PyTorch-layout values of `spec` to its tfjs layout (a new array; biases and gains are copied). */
export function torchToTfjs(spec: ParamSpec, data: Float32Array): Float32Array {
  const d = matrixDims(spec);
  return d === null ? Float32Array.from(data) : permute(data, d[0], d[1], d[2], true);
}

/** tfjs-layout values of `spec` back to PyTorch's layout (a new array). */
export function tfjsToTorch(spec: ParamSpec, data: Float32Array): Float32Array {
  const d = matrixDims(spec);
  return d === null ? Float32Array.from(data) : permute(data, d[0], d[1], d[2], false);
}
