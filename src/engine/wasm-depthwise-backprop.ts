import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { WASM, withScope } from './wasm-kernel-scope.js';
import { sliceInfo } from './wasm-slice.js';

/** The conv info of a depthwise convolution (channel multiplier 1), checking what the kernels support. */
function depthwiseInfo(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: { strides: [number, number] | number; dilations: [number, number] | number; pad: DepthwiseConv2dNativeBackpropFilterAttrs['pad']; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
  kernel: string,
): backend_util.Conv2DInfo {
  const d = attrs.dilations;
  if (d !== undefined && (Array.isArray(d) ? d.some((v) => v !== 1) : d !== 1)) throw new Error(`${kernel} on wasm: only dilation 1 is supported`);
  if (filterShape[3] !== 1) throw new Error(`${kernel} on wasm: only channel multiplier 1 is supported, got ${filterShape[3]}`);
  return backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, true, 'channelsLast');
}

/**
 * dW of a depthwise NHWC convolution on wasm (missing from tfjs-backend-wasm 4.22): per filter tap
 * `(i, j)`, `dW[i, j, c] = sum_{b, y, x} x_pad[b, y s + i, x s + j, c] dy[b, y, x, c]`: a (strided)
 * view of the padded input read from the heap in place, a product and a sum over the pixels.
 */
function depthwiseBackpropFilter(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: any; attrs: DepthwiseConv2dNativeBackpropFilterAttrs }): TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args;
  const info = depthwiseInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs, DepthwiseConv2dNativeBackpropFilter);
  const { batchSize: b, inHeight: h, inWidth: w, inChannels: c, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  return withScope(backend, (s) => {
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const bottom = Math.max(0, (oh - 1) * sh + kh - top - h);
    const right = Math.max(0, (ow - 1) * sw + kw - left - w);
    const xp = top + bottom + left + right > 0 ? s.run('PadV2', { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 }) : x;
    const taps: TensorInfo[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const view = s.own(sliceInfo(backend, xp, [0, i, j, 0], [b, oh, ow, c], [1, sh, sw, 1]));
        const prod = s.run('Multiply', { a: view, b: dy });
        taps.push(s.reshape(s.run('Sum', { x: prod }, { axis: [0, 1, 2], keepDims: false }), [1, c]));
      }
    }
    const flat = taps.length === 1 ? taps[0] : s.run('Concat', taps, { axis: 0 });
    return s.reshape(flat, [kh, kw, c, 1]);
  });
}

/**
 * dx of a depthwise NHWC convolution with stride 1 on wasm (missing from tfjs-backend-wasm 4.22):
 * the depthwise convolution of `dy`, padded by `k - 1 - pad` on each side, with the spatially
 * flipped filter (wasm's own depthwise kernel, XNNPACK).
 */
function depthwiseBackpropInput(args: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: any; attrs: DepthwiseConv2dNativeBackpropInputAttrs }): TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const info = depthwiseInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs, DepthwiseConv2dNativeBackpropInput);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  if (sh !== 1 || sw !== 1) throw new Error(`${DepthwiseConv2dNativeBackpropInput} on wasm: only stride 1 is supported, got ${sh}x${sw}`);
  const { top, bottom, left, right } = info.padInfo;
  const pads = [kh - 1 - top, kh - 1 - bottom, kw - 1 - left, kw - 1 - right];
  if (pads.some((p) => p < 0)) throw new Error(`${DepthwiseConv2dNativeBackpropInput} on wasm: padding larger than the filter is not supported`);
  return withScope(backend, (s) => {
    const dyp = pads.some((p) => p > 0) ? s.run('PadV2', { x: dy }, { paddings: [[0, 0], [pads[0], pads[1]], [pads[2], pads[3]], [0, 0]], constantValue: 0 }) : dy;
    const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    return s.run('DepthwiseConv2dNative', { x: dyp, filter: flipped }, { strides: [1, 1], pad: 'valid', dilations: [1, 1], dataFormat: 'NHWC' });
  });
}

/** Kernel config: `DepthwiseConv2dNativeBackpropFilter` on wasm. */
export const wasmDepthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: WASM,
  kernelFunc: depthwiseBackpropFilter as unknown as KernelFunc,
};

/** Kernel config: `DepthwiseConv2dNativeBackpropInput` (stride 1) on wasm. */
export const wasmDepthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: WASM,
  kernelFunc: depthwiseBackpropInput as unknown as KernelFunc,
};
