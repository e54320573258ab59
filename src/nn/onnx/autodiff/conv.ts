/**
 * Differentiable convolutions: ONNX `Conv` (dense or depthwise) and Winograd F(4x4, 3x3) products
 * (`../winograd.ts`), each with its backward rule.
 */
import { winogradInput, winogradKernelTaps, winogradKernelTapsAdjoint, winogradOutput, winogradOutputAdjoint } from '../winograd.js';
import type { Tape, TV } from './tape.js';

/** What a convolution does besides its operands. */
export interface ConvAttrs {
  /** Square kernel size. */
  readonly k: number;
  /** Stride (both axes). */
  readonly stride: number;
  /** Zero padding on every side. */
  readonly pad: number;
  /** `true`: one filter per channel (`group = C`, kernel `[C, 1, k, k]`). */
  readonly depthwise: boolean;
  /** Largest im2col buffer (bytes) the weight gradient may make (default {@link DEFAULT_IM2COL_BYTES}). */
  readonly im2colBytes?: number;
}

/**
 * Default largest im2col buffer of one weight gradient in a training graph: 256 MiB (a depthwise
 * 3x3 kernel on 8x32x256x256 would need 604 MB); above it the gradient is taken one tap at a time.
 */
export const DEFAULT_IM2COL_BYTES = 256 * 2 ** 20;

/** An `im2colBytes` option, or the default when it is undefined. @throws RangeError unless a number >= 0. */
export function checkIm2colBytes(value: number | undefined, where: string): number {
  const v = value ?? DEFAULT_IM2COL_BYTES;
  if (!(v >= 0)) throw new RangeError(`${where}: im2colBytes must be a number >= 0, got ${String(value)}`);
  return v;
}

/**
 * `Conv(x, w, bias)` with a PyTorch-layout kernel `w [O, C / group, k, k]`. Backward: `dx` is a
 * convolution of `gy` with the flipped, in/out-swapped kernel for stride 1 (ONNX Runtime's Conv is
 * much faster than its ConvTranspose), else ConvTranspose; `dW` from the `k^2` shifted copies of
 * `x` (im2col, made by one grouped Conv with one-hot kernels) times `gy` as one batched matrix
 * product (for a dense kernel only where the copies are few or no larger than x), or, where the
 * copies would pass `im2colBytes`, one tap at a time from shifted views of the padded input (a
 * stride-1 depthwise kernel: one Conv with the planes of `gy` as `B * C` group kernels); `d bias`
 * the sum.
 */
export function conv(t: Tape, x: TV, w: TV, bias: TV | null, a: ConvAttrs): TV {
  const [B, C, H, W] = x.s;
  const O = w.s[0];
  const { k, stride, pad } = a;
  const group = a.depthwise ? C : 1;
  const Ho = Math.floor((H + 2 * pad - k) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - k) / stride) + 1;
  const attrs = { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [1, 1], group };
  return t.op('Conv', bias === null ? [x, w] : [x, w, bias], attrs, [B, O, Ho, Wo], (gy) => {
    if (x.rg) t.acc(x, convInputGrad(t, gy, w.n, x.s, a));
    if (w.rg) t.acc(w, convWeightGrad(t, gy, x, O, a, Ho, Wo));
    if (bias !== null) t.acc(bias, t.gop('ReduceSum', [gy, t.g.constInt64([0, 2, 3])], { keepdims: 0 }));
  });
}

function convInputGrad(t: Tape, gy: string, w: string, xs: readonly number[], a: ConvAttrs): string {
  const [, C, H, W] = xs;
  const { k, stride, pad } = a;
  const group = a.depthwise ? C : 1;
  if (stride === 1 && 2 * pad === k - 1) {
    const g = t.g;
    const flipped = k > 1 ? t.gop('Slice', [w, g.constInt64([-1, -1]), g.constInt64([-(2 ** 62), -(2 ** 62)]), g.constInt64([2, 3]), g.constInt64([-1, -1])]) : w;
    // A depthwise kernel [C, 1, k, k] is its own in/out swap.
    const kernel = a.depthwise ? flipped : t.gop('Transpose', [flipped], { perm: [1, 0, 2, 3] });
    return t.gop('Conv', [gy, kernel], { kernel_shape: [k, k], strides: [1, 1], pads: [pad, pad, pad, pad], dilations: [1, 1], group });
  }
  const Ho = Math.floor((H + 2 * pad - k) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - k) / stride) + 1;
  const outH = (Ho - 1) * stride - 2 * pad + k;
  const outW = (Wo - 1) * stride - 2 * pad + k;
  const attrs = { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [1, 1], group, output_padding: [H - outH, W - outW] };
  return t.gop('ConvTranspose', [gy, w], attrs);
}

/** A dense weight gradient sums over b inside one product when N (O + rows) <= this * O * rows. */
const FOLD_RATIO = 2;
/** Most im2col rows (C * k * k) a dense kernel with k > stride takes its weight gradient from. */
const DENSE_COPY_ROWS = 64;

function convWeightGrad(t: Tape, gy: string, x: TV, O: number, a: ConvAttrs, Ho: number, Wo: number): string {
  const g = t.g;
  const [B, C, H, W] = x.s;
  const { k, stride, pad } = a;
  const N = Ho * Wo;
  const kk = k * k;
  let gyR: string | undefined;
  let gyFolded: string | undefined;
  // sum_b gy[b] . cols[b]^T -> [O, rows] for dense kernels (cols [B, rows, N]): B products summed,
  // or where the per-item products [B, O, rows] outweigh the operands (few pixels, many channels:
  // the deep levels, the channel attention's 1x1) one product over b and the pixels together,
  // [O, B*N] . [B*N, rows] (measured 0.75 -> 0.45 ms at 8x256x8x8, 0.35 -> 0.13 at 8x256x1x1;
  // at 8x128x16x16 the transposes cost what the product saves in the training graph).
  const denseProduct = (cols: string, rows: number): string => {
    const rowsOfGy = (): string => (gyR ??= t.gop('Reshape', [gy, g.constInt64([B, O, N])]));
    if (N * (O + rows) > FOLD_RATIO * O * rows) return t.gop('ReduceSum', [t.gop('MatMul', [rowsOfGy(), t.gop('Transpose', [cols], { perm: [0, 2, 1] })]), g.constInt64([0])], { keepdims: 0 });
    gyFolded ??= N === 1 ? t.gop('Reshape', [gy, g.constInt64([B, O])]) : t.gop('Reshape', [t.gop('Transpose', [rowsOfGy()], { perm: [1, 0, 2] }), g.constInt64([O, B * N])]);
    const colsFolded = t.gop('Reshape', [N === 1 ? cols : t.gop('Transpose', [cols], { perm: [0, 2, 1] }), g.constInt64([B * N, rows])]);
    return t.gop('MatMul', [N === 1 ? t.gop('Transpose', [gyFolded], { perm: [1, 0] }) : gyFolded, colsFolded]);
  };
  const plain = k === 1 && stride === 1 && pad === 0;
  // Dense kernels take the copies where they are no larger than x (k <= stride, e.g. a 2x2 stride-2
  // kernel) or few (an RGB input's 27 rows); with more rows one tap at a time measured faster.
  const copiesFit = B * C * kk * N * 4 <= (a.im2colBytes ?? DEFAULT_IM2COL_BYTES);
  const denseCopies = (k <= stride || C * kk <= DENSE_COPY_ROWS) && copiesFit;
  if (plain || (a.depthwise ? copiesFit : denseCopies)) {
    // The k * k shifted copies of x that each output reads ("im2col", [B, C * k * k, N], channel
    // major like the kernel's [C, k, k]), made by one grouped Conv with one-hot kernels (x itself for
    // a plain 1x1 kernel), then one batched matrix product with gy summed over b. ORT's im2col writes
    // these copies in long runs (a Conv with the planes of gy as kernels, output k x k, copied runs
    // of k floats: 1.5-2x slower for depthwise kernels).
    const copies = plain ? x.n : t.gop('Conv', [x.n, oneHotTaps(t, C, k)], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [1, 1], group: C });
    if (!a.depthwise) return t.gop('Reshape', [denseProduct(t.gop('Reshape', [copies, g.constInt64([B, C * kk, N])]), C * kk), g.constInt64([O, C, k, k])]);
    const perPlane = t.gop('MatMul', [t.gop('Reshape', [copies, g.constInt64([B, C, kk, N])]), t.gop('Reshape', [gy, g.constInt64([B, C, N, 1])])]); // [B, C, k*k, 1]
    return t.gop('Reshape', [t.gop('ReduceSum', [perPlane, g.constInt64([0])], { keepdims: 0 }), g.constInt64([C, 1, k, k])]);
  }
  // Otherwise one tap (i, j) at a time from a shifted view of the padded input (no im2col buffer).
  const xp = pad > 0 ? t.gop('Pad', [x.n, g.constInt64([0, 0, pad, pad, 0, 0, pad, pad])]) : x.n;
  if (a.depthwise && stride === 1) {
    // Every (b, c) plane of gy is the kernel of its own group over the same plane of the padded
    // input: one Conv with B * C groups gives each plane's k x k taps (ORT's im2col per group:
    // a few MB at a time), summed over b after.
    const planes = t.gop('Reshape', [xp, g.constInt64([1, B * C, H + 2 * pad, W + 2 * pad])]);
    const kernels = t.gop('Reshape', [gy, g.constInt64([B * C, 1, Ho, Wo])]);
    const perPlane = t.gop('Conv', [planes, kernels], { kernel_shape: [Ho, Wo], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: B * C }); // [1, B*C, k, k]
    const summed = t.gop('ReduceSum', [t.gop('Reshape', [perPlane, g.constInt64([B, C * kk])]), g.constInt64([0])], { keepdims: 0 });
    return t.gop('Reshape', [summed, g.constInt64([C, 1, k, k])]);
  }
  const gyPlanes = a.depthwise ? t.gop('Reshape', [gy, g.constInt64([B, C, N])]) : '';
  const taps: string[] = [];
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const view = t.gop('Reshape', [t.gop('Slice', [xp, g.constInt64([i, j]), g.constInt64([i + stride * (Ho - 1) + 1, j + stride * (Wo - 1) + 1]), g.constInt64([2, 3]), g.constInt64([stride, stride])]), g.constInt64([B, C, N])]);
      // depthwise: sum_{b, n} gy . view -> [C]; dense: sum_b gy[b] . view[b]^T -> [O, C]
      const tap = a.depthwise ? t.gop('ReduceSum', [t.gop('Mul', [gyPlanes, view]), g.constInt64([0, 2])], { keepdims: 0 }) : denseProduct(view, C);
      taps.push(t.gop('Unsqueeze', [tap, g.constInt64([a.depthwise ? 1 : 2])]));
    }
  }
  // taps in order (i, j) on the last axis -> [O, C / group, k, k]
  return t.gop('Reshape', [t.gop('Concat', taps, { axis: a.depthwise ? 1 : 2 }), g.constInt64([O, a.depthwise ? 1 : C, k, k])]);
}

/** One-hot kernels `[C * k * k, 1, k, k]` whose grouped Conv (group C) copies each of the k * k taps of every channel. */
function oneHotTaps(t: Tape, C: number, k: number): string {
  const kk = k * k;
  return t.g.constFloatKeyed(`one-hot-taps-${k}`, [C * kk, 1, k, k], () => {
    const m = new Float32Array(C * kk * kk);
    for (let c = 0; c < C; c++) for (let i = 0; i < kk; i++) m[(c * kk + i) * kk + i] = 1;
    return m;
  });
}

/**
 * A 3x3 stride-1 convolution as Winograd F(4x4, 3x3) products on whole 4x4 tiles, with the
 * tfjs-layout kernel `w [3, 3, C, K]` (its taps are already the leading axis). Backward: `dx` is the
 * Winograd convolution of `gy` with the flipped kernel, whose transform `[36, C, K]` is already laid
 * out for it (rather than the adjoint of this one: ONNX Runtime's ConvTranspose for that overlap-add
 * is slow at high resolution, and keeping every transformed kernel costs ~2 GB at nf = 64); `dW`
 * from the forward's transformed input, `dU = V dM^T` with `dM = A gy_tile A^T`, then
 * `dW = G^T dU G`: a quarter of the multiplications of per-tap products.
 */
export function winogradConv(t: Tape, x: TV, w: TV, bias: TV | null): TV {
  const g = t.g;
  const [B, C, H, W] = x.s;
  const K = w.s[3];
  const input = winogradInput(g, 'fwd', x.n, C);
  const U = winogradKernelTaps(g, 'fwd', w.n, C, K, false); // [36, C, K]
  const M = g.op('MatMul', 'fwd', [g.op('Transpose', 'fwd', [U], { perm: [0, 2, 1] }), input.V]); // ORT fuses the transpose into the product
  const y: TV = { n: winogradOutput(g, 'fwd', M, K, input, true, bias === null ? null : bias.n), s: [B, K, H, W], rg: x.rg || w.rg || (bias?.rg ?? false) };
  if (!y.rg) return y;
  t.record(y, (gy) => {
    if (x.rg) {
      const gyIn = winogradInput(g, 'grad', gy, K);
      const dM = t.gop('MatMul', [winogradKernelTaps(g, 'grad', w.n, C, K, true), gyIn.V]); // [36, C, T]
      t.acc(x, winogradOutput(g, 'grad', dM, C, gyIn, true, null));
    }
    if (w.rg) {
      const dM = winogradOutputAdjoint(g, 'grad', gy, B, K, H, W);
      const dU = t.gop('MatMul', [input.V, t.gop('Transpose', [dM], { perm: [0, 2, 1] })]); // [36, C, K]
      t.acc(w, winogradKernelTapsAdjoint(g, 'grad', dU, C, K));
    }
    if (bias !== null) t.acc(bias, t.gop('ReduceSum', [gy, g.constInt64([0, 2, 3])], { keepdims: 0 }));
  });
  return y;
}
