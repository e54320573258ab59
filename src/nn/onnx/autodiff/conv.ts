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
}

/**
 * `Conv(x, w, bias)` with a PyTorch-layout kernel `w [O, C / group, k, k]`. Backward: `dx` is a
 * convolution of `gy` with the flipped, in/out-swapped kernel for stride 1 (ONNX Runtime's Conv is
 * much faster than its ConvTranspose), else ConvTranspose; `dW` of a dense kernel one tap at a
 * time from shifted views of the padded input (a batched matrix product per tap: no
 * `k^2`-times-larger im2col buffer), of a depthwise kernel the `k^2` shifted copies of `x` (one
 * grouped Conv with one-hot kernels) times `gy`, one batched matrix product; `d bias` the sum.
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

function convWeightGrad(t: Tape, gy: string, x: TV, O: number, a: ConvAttrs, Ho: number, Wo: number): string {
  const g = t.g;
  const [B, C, H, W] = x.s;
  const { k, stride, pad } = a;
  const N = Ho * Wo;
  let gyR: string | undefined;
  // One tap of a 1x1 kernel: dense sum_b gy[b] . view[b]^T -> [O, C]; depthwise sum_{b, n} gy . view -> [C].
  const tap = (view: string): string => {
    const v = t.gop('Reshape', [view, g.constInt64([B, C, N])]);
    gyR ??= t.gop('Reshape', [gy, g.constInt64([B, O, N])]);
    if (a.depthwise) return t.gop('ReduceSum', [t.gop('Mul', [gyR, v]), g.constInt64([0, 2])], { keepdims: 0 });
    return t.gop('ReduceSum', [t.gop('MatMul', [gyR, t.gop('Transpose', [v], { perm: [0, 2, 1] })]), g.constInt64([0])], { keepdims: 0 });
  };
  const cin = a.depthwise ? 1 : C;
  if (k === 1 && stride === 1 && pad === 0) return t.gop('Reshape', [tap(x.n), g.constInt64([O, cin, 1, 1])]);
  if (a.depthwise) {
    // The k * k shifted copies of x each plane's taps read ("im2col"), made by one grouped Conv
    // with one-hot kernels [B, C * k * k, Ho, Wo], then each plane's k * k dot products with gy as
    // one batched matrix product summed over b. ORT's im2col writes these copies in long runs; a
    // Conv with the planes of gy as its kernels (output k x k) copied runs of k floats (1.5-2x slower).
    const kk = k * k;
    const oneHot = g.constFloatKeyed(`depthwise-taps-${k}`, [C * kk, 1, k, k], () => {
      const m = new Float32Array(C * kk * kk);
      for (let c = 0; c < C; c++) for (let i = 0; i < kk; i++) m[(c * kk + i) * kk + i] = 1;
      return m;
    });
    const copies = t.gop('Conv', [x.n, oneHot], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [1, 1], group: C });
    const perPlane = t.gop('MatMul', [t.gop('Reshape', [copies, g.constInt64([B, C, kk, N])]), t.gop('Reshape', [gy, g.constInt64([B, C, N, 1])])]); // [B, C, k*k, 1]
    return t.gop('Reshape', [t.gop('ReduceSum', [perPlane, g.constInt64([0])], { keepdims: 0 }), g.constInt64([C, 1, k, k])]);
  }
  const xp = pad > 0 ? t.gop('Pad', [x.n, g.constInt64([0, 0, pad, pad, 0, 0, pad, pad])]) : x.n;
  const taps: string[] = [];
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const view = t.gop('Slice', [xp, g.constInt64([i, j]), g.constInt64([i + stride * (Ho - 1) + 1, j + stride * (Wo - 1) + 1]), g.constInt64([2, 3]), g.constInt64([stride, stride])]);
      taps.push(t.gop('Unsqueeze', [tap(view), g.constInt64([2])]));
    }
  }
  // taps in order (i, j) on the last axis -> [O, C, k, k]
  return t.gop('Reshape', [t.gop('Concat', taps, { axis: 2 }), g.constInt64([O, C, k, k])]);
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
