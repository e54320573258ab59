import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { WASM, withScope } from './wasm-kernel-scope.js';
import { assertNhwc } from './wasm-conv-util.js';
import { sliceInfo } from './wasm-slice.js';

/**
 * dW for an NHWC conv2d (dilation 1) on wasm, as one XNNPACK matrix product per filter tap:
 * `dW[kh, kw] = X_tap^T dy`, where `X_tap` (`[inC, batch*outH*outW]`) gathers the input pixels
 * that tap `(kh, kw)` touches. wasm's matMul is fast only for a single, untransposed product, so
 * the input is transposed once to channel-major and each tap is a (strided) slice of it read from the heap in place; this
 * keeps the extra memory at one copy of the input instead of a full im2col matrix.
 */
function conv2DBackpropFilter(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: any; attrs: Conv2DBackpropFilterAttrs }): TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  assertNhwc(dataFormat, 'Conv2DBackpropFilter');
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize: b, inHeight: h, inWidth: w, inChannels: ci, outChannels: co, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  if (dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== co) {
    throw new RangeError(`Conv2DBackpropFilter: dy has shape [${dy.shape}] but the convolution gives [${b},${oh},${ow},${co}]`);
  }
  const n = b * oh * ow;
  return withScope(backend, (s) => {
    const dyFlat = s.reshape(dy, [n, co]);
    // Pad only as far as the taps reach; an unused remainder at the far edge needs none.
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const bottom = Math.max(0, (oh - 1) * sh + kh - top - h);
    const right = Math.max(0, (ow - 1) * sw + kw - left - w);
    const xp = top + bottom + left + right > 0
      ? s.run('PadV2', { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 })
      : x;
    const taps: TensorInfo[] = [];
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && xp.shape[1] === oh && xp.shape[2] === ow) {
      const xT = s.run('Transpose', { x: s.reshape(xp, [n, ci]) }, { perm: [1, 0] });
      taps.push(s.run('BatchMatMul', { a: xT, b: dyFlat }, { transposeA: false, transposeB: false }));
    } else {
      const xT = s.run('Transpose', { x: xp }, { perm: [3, 0, 1, 2] }); // [ci, b, hp, wp]
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const tap = s.own(sliceInfo(backend, xT, [0, 0, i, j], [ci, b, oh, ow], [1, 1, sh, sw]));
          taps.push(s.run('BatchMatMul', { a: s.reshape(tap, [ci, n]), b: dyFlat }, { transposeA: false, transposeB: false }));
        }
      }
    }
    const flat = taps.length === 1 ? taps[0] : s.run('Concat', taps.map((t) => s.reshape(t, [ci, co])), { axis: 0 });
    return s.reshape(flat, [kh, kw, ci, co]);
  });
}

/** Kernel config: `Conv2DBackpropFilter` on wasm (missing from tfjs-backend-wasm 4.22). */
export const wasmConv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: WASM,
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
