import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { type KernelScope, WASM, withScope } from './wasm-kernel-scope.js';
import { assertNhwc } from './wasm-conv-util.js';

/**
 * One output phase `r` (input positions `i = s*q + r`) along one spatial axis. Position `i`
 * receives `dy[q + c - m] * w[k0 + s*m]` for `m = 0..taps-1`, so the phase is a stride-1
 * correlation of `dy` with the sub-kernel `w[k0 + s*(taps-1-m')]`, padded by `before`/`after`
 * (negative means: crop `dy` instead).
 */
interface AxisPhase {
  k0: number;
  taps: number;
  outLen: number;
  before: number;
  after: number;
}

function axisPhases(inLen: number, k: number, s: number, padBefore: number, dyLen: number): AxisPhase[] {
  const phases: AxisPhase[] = [];
  for (let r = 0; r < s; r++) {
    const k0 = (r + padBefore) % s;
    const c = Math.floor((r + padBefore) / s);
    const taps = k0 < k ? Math.ceil((k - k0) / s) : 0;
    const outLen = r < inLen ? Math.ceil((inLen - r) / s) : 0;
    const before = taps - 1 - c;
    const after = outLen - dyLen - before + taps - 1;
    phases.push({ k0, taps, outLen, before, after });
  }
  return phases;
}

/** The phase's sub-filter, flipped and with in/out channels swapped: `[tapsH, tapsW, outC, inC]`. */
function subFilter(s: KernelScope, filter: TensorInfo, ph: AxisPhase, pw: AxisPhase, sh: number, sw: number): TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  let f = filter;
  if (ph.taps !== kh || pw.taps !== kw) {
    f = s.run('StridedSlice', { x: filter }, {
      begin: [ph.k0, pw.k0, 0, 0], end: [ph.k0 + (ph.taps - 1) * sh + 1, pw.k0 + (pw.taps - 1) * sw + 1, ci, co],
      strides: [sh, sw, 1, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
    });
  }
  const flipped = ph.taps * pw.taps > 1 ? s.run('Reverse', { x: f }, { dims: [0, 1] }) : f;
  return s.run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
}

/** dX restricted to one (row, column) phase: `[batch, ph.outLen, pw.outLen, inC]`. */
function phaseConv(s: KernelScope, dy: TensorInfo, filter: TensorInfo, ph: AxisPhase, pw: AxisPhase, sh: number, sw: number): TensorInfo {
  const [b, oh, ow] = dy.shape;
  const ci = filter.shape[2];
  if (ph.taps === 0 || pw.taps === 0 || ph.outLen === 0 || pw.outLen === 0) {
    return s.run('Fill', {}, { shape: [b, ph.outLen, pw.outLen, ci], value: 0, dtype: 'float32' });
  }
  // XNNPACK takes no negative padding: crop dy where the phase starts inside it or ends early.
  const cropTop = Math.max(0, -ph.before);
  const cropLeft = Math.max(0, -pw.before);
  const cropBottom = Math.max(0, -ph.after);
  const cropRight = Math.max(0, -pw.after);
  let src = dy;
  if (cropTop + cropLeft + cropBottom + cropRight > 0) {
    src = s.run('Slice', { x: dy }, {
      begin: [0, cropTop, cropLeft, 0], size: [b, oh - cropTop - cropBottom, ow - cropLeft - cropRight, dy.shape[3]],
    });
  }
  const pad = [[0, 0], [Math.max(0, ph.before), Math.max(0, ph.after)], [Math.max(0, pw.before), Math.max(0, pw.after)], [0, 0]];
  return s.run('Conv2D', { x: src, filter: subFilter(s, filter, ph, pw, sh, sw) }, {
    strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined,
  });
}

/**
 * dX for an NHWC conv2d (dilation 1) on wasm as XNNPACK convolutions: with stride 1 it is one
 * convolution of `dy` with the flipped, channel-swapped filter; with stride `s` the input splits
 * into `s*s` phases, each a stride-1 convolution of `dy` with a sub-filter, interleaved after.
 * This does the same arithmetic as the forward conv (no multiplications by inserted zeros).
 */
function conv2DBackpropInput(args: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: any; attrs: Conv2DBackpropInputAttrs }): TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  assertNhwc(dataFormat, 'Conv2DBackpropInput');
  const info = backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize: b, inHeight: h, inWidth: w, inChannels: ci, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  if (dy.shape[0] !== b || dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== info.outChannels) {
    throw new RangeError(`Conv2DBackpropInput: dy has shape [${dy.shape}] but the convolution gives [${b},${oh},${ow},${info.outChannels}]`);
  }
  const rows = axisPhases(h, kh, sh, info.padInfo.top, oh);
  const cols = axisPhases(w, kw, sw, info.padInfo.left, ow);
  return withScope(backend, (s) => {
    if (sh === 1 && sw === 1) return phaseConv(s, dy, filter, rows[0], cols[0], 1, 1);
    // Interleave: pad every phase to the longest (phase 0), stack so that index q*s + r is
    // contiguous, then crop the padding.
    const qh = rows[0].outLen;
    const qw = cols[0].outLen;
    const rowBlocks: TensorInfo[] = [];
    for (const ph of rows) {
      const parts: TensorInfo[] = [];
      for (const pw of cols) {
        let part = phaseConv(s, dy, filter, ph, pw, sh, sw);
        if (ph.outLen < qh || pw.outLen < qw) {
          part = s.run('PadV2', { x: part }, { paddings: [[0, 0], [0, qh - ph.outLen], [0, qw - pw.outLen], [0, 0]], constantValue: 0 });
        }
        parts.push(part);
      }
      const packed = sw === 1 ? parts[0] : s.run('Pack', parts, { axis: 3 }); // [b, qh, qw, sw, ci]
      rowBlocks.push(s.reshape(packed, [b, qh, qw * sw, ci]));
    }
    const all = sh === 1 ? rowBlocks[0] : s.run('Pack', rowBlocks, { axis: 2 }); // [b, qh, sh, qw*sw, ci]
    const full = s.reshape(all, [b, qh * sh, qw * sw, ci]);
    if (qh * sh === h && qw * sw === w) return full;
    return s.run('Slice', { x: full }, { begin: [0, 0, 0, 0], size: [b, h, w, ci] });
  });
}

/** Kernel config: a faster `Conv2DBackpropInput` on wasm (replaces the package's direct loop). */
export const wasmConv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: WASM,
  kernelFunc: conv2DBackpropInput as unknown as KernelFunc,
};
