/**
 * PyTorch <-> tfjs parameter layouts (host memory, exact copies; no arithmetic touches the values).
 *
 * | kind          | PyTorch               | tfjs (NHWC)          |
 * |---------------|-----------------------|----------------------|
 * | conv k > 1    | `[out, in, kh, kw]`   | `[kh, kw, in, out]`  |
 * | conv 1x1      | `[out, in, 1, 1]`     | `[in, out]` (matMul) |
 * | depthwise     | `[c, 1, kh, kw]`      | `[kh, kw, c, 1]`     |
 * | linear        | `[out, in]`           | `[in, out]`          |
 * | bias          | `[c]`                 | `[c]`                |
 * | gain (LN `g`) | `[1, c, 1, 1]`        | `[c]`                |
 */
import type { ParamSpec } from '../arch/module.js';

/** The tfjs shape a parameter is stored with. */
export function tfjsShape(spec: ParamSpec): number[] {
  const s = spec.torchShape;
  switch (spec.kind) {
    case 'conv':
      return s[2] === 1 && s[3] === 1 ? [s[1], s[0]] : [s[2], s[3], s[1], s[0]];
    case 'dwconv':
      return [s[2], s[3], s[0], 1];
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
 * linear layers are the case `rest = 1`, i.e. a plain matrix transpose. Walks 32x32 tiles of
 * (out, in) so that both sides stay in cache: the plain loop was twice as slow on 512-channel
 * kernels, and ONNX Runtime training converts all 137M weights of the nf=64 U-Net every step.
 */
function permute(src: Float32Array, out: number, inn: number, rest: number, toTfjs: boolean, into?: Float32Array): Float32Array {
  if (into !== undefined && (into.length !== src.length || into === src)) throw new RangeError(`layout: the destination must be a different array of ${src.length} values`);
  const dst = into ?? new Float32Array(src.length);
  const tile = 32;
  for (let o0 = 0; o0 < out; o0 += tile) {
    const o1 = Math.min(out, o0 + tile);
    for (let i0 = 0; i0 < inn; i0 += tile) {
      const i1 = Math.min(inn, i0 + tile);
      for (let o = o0; o < o1; o++) {
        for (let i = i0; i < i1; i++) {
          const torchBase = (o * inn + i) * rest;
          if (toTfjs) for (let r = 0; r < rest; r++) dst[(r * inn + i) * out + o] = src[torchBase + r];
          else for (let r = 0; r < rest; r++) dst[torchBase + r] = src[(r * inn + i) * out + o];
        }
      }
    }
  }
  return dst;
}

function matrixDims(spec: ParamSpec): [number, number, number] | null {
  const s = spec.torchShape;
  // A depthwise kernel [c, 1, k*k] -> [k*k, 1, c] has the memory order of tfjs's [kh, kw, c, 1].
  if (spec.kind === 'conv' || spec.kind === 'dwconv') return [s[0], s[1], s[2] * s[3]];
  if (spec.kind === 'linear') return [s[0], s[1], 1];
  return null;
}

function copyInto(data: Float32Array, into?: Float32Array): Float32Array {
  if (into === undefined) return Float32Array.from(data);
  if (into.length !== data.length) throw new RangeError(`layout: the destination must hold ${data.length} values, got ${into.length}`);
  into.set(data);
  return into;
}

/**
 * PyTorch-layout values of `spec` to its tfjs layout (biases and gains are copied).
 * @param into - where to write (a distinct array of the same length); default a new array.
 */
export function torchToTfjs(spec: ParamSpec, data: Float32Array, into?: Float32Array): Float32Array {
  const d = matrixDims(spec);
  return d === null ? copyInto(data, into) : permute(data, d[0], d[1], d[2], true, into);
}

/**
 * tfjs-layout values of `spec` back to PyTorch's layout.
 * @param into - where to write (a distinct array of the same length); default a new array.
 */
export function tfjsToTorch(spec: ParamSpec, data: Float32Array, into?: Float32Array): Float32Array {
  const d = matrixDims(spec);
  return d === null ? copyInto(data, into) : permute(data, d[0], d[1], d[2], false, into);
}
