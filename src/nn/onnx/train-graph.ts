/**
 * An ONNX graph that computes the conditional U-Net's output AND the gradient of a loss with
 * respect to every weight, so that ONNX Runtime (which has no training API in its npm packages)
 * can run the backward pass with its fast CPU kernels. Reverse-mode differentiation is done here,
 * at graph-build time: each forward op records how to emit its backward ops on a tape.
 *
 * Shapes are static (one graph per batch/crop size), which keeps every broadcast reduction known
 * when the graph is built. Weights are graph inputs (not initializers) so one session serves every
 * step of a training run; they come in tfjs's layout, which the trainer holds, because converting
 * 137M weights and their gradients to and from PyTorch's layout in JavaScript took ~3 s of every
 * nf = 64 step, while in the graph only the small kernels that ONNX's Conv needs pay a transpose.
 */
import { ATTN_DIM_HEAD, ATTN_HEADS, checkUNetConfig, unetParamSpecs, type ParamSpec, type UNetConfig } from '../unet/config.js';
import { GraphBuilder } from './graph-builder.js';
import { timeFrequencies, unetTrunk } from './unet-walk.js';
import { modelProto, valueInfoProto } from './onnx-proto.js';
import { ONNX_EXPORT_IR_VERSION, ONNX_EXPORT_OPSET, softmaxMiddle } from './export.js';
import { checkConv3x3, winogradApplies, winogradInput, winogradKernelTaps, winogradKernelTapsAdjoint, winogradOutput, winogradOutputAdjoint, type Conv3x3 } from './winograd.js';
import { tfjsShape } from '../unet/layout.js';

/** Input and output names of {@link exportOnnxTrainingGraph} besides the weights (PyTorch names). */
export const ONNX_TRAIN_IO = {
  /** `x_t`, float32 `[B, C, H, W]`. */
  xt: 'xt',
  /** The condition `mu`, float32 `[B, C, H, W]`. */
  cond: 'cond',
  /** Diffusion time per batch element, float32 `[B]`. */
  time: 'time',
  /** The loss's per-element scale `a` in `diff = a * output + b`, float32 `[B, outC, H, W]`. */
  lossScale: 'loss_scale',
  /** The loss's per-element offset `b` in `diff = a * output + b`, float32 `[B, outC, H, W]`. */
  lossOffset: 'loss_offset',
  /** The loss `mean(|diff|)` (l1) or `mean(diff^2)` (l2), float32 scalar. */
  loss: 'loss',
  /** The network output, float32 `[B, outC, H, W]`. */
  output: 'output',
  /** Prefix of the gradient outputs: `grad.<PyTorch parameter name>`, in the parameter's tfjs layout (as the weight inputs). */
  gradPrefix: 'grad.',
} as const;

/** A value of the graph with its static shape and whether it depends on a weight. */
interface V {
  readonly n: string;
  readonly s: readonly number[];
  readonly rg: boolean;
}

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Forward ops with a tape of backward closures. */
class TrainGraph {
  readonly g = new GraphBuilder();
  readonly #tape: (() => void)[] = [];
  readonly #grads = new Map<string, string>();
  /** The weight inputs, in tfjs layout (see `tfjsShape`). */
  readonly params = new Map<string, V>();
  readonly #specs = new Map<string, ParamSpec>();
  /** PyTorch-layout views of the weights, made on first use. */
  readonly #torchViews = new Map<string, V>();
  readonly #winograd: boolean;

  constructor(config: UNetConfig, winograd: boolean) {
    this.#winograd = winograd;
    for (const spec of unetParamSpecs(config)) {
      this.params.set(spec.name, { n: this.g.reserve(spec.name), s: tfjsShape(spec), rg: true });
      this.#specs.set(spec.name, spec);
    }
  }

  input(name: string, s: readonly number[]): V {
    return { n: this.g.reserve(name), s, rg: false };
  }

  /** A weight as fed, in tfjs layout. */
  raw(name: string): V {
    const v = this.params.get(name);
    if (v === undefined) throw new Error(`exportOnnxTrainingGraph: no parameter ${name}`);
    return v;
  }

  /**
   * A weight in PyTorch's layout (what ONNX's Conv takes), as a differentiable view of the tfjs
   * input: the gradient flows back through the same transpose. Only the layers that need it pay
   * for the transpose; Winograd convolutions and linear layers use the tfjs layout directly.
   */
  p(name: string): V {
    let v = this.#torchViews.get(name);
    if (v !== undefined) return v;
    const w = this.raw(name);
    const spec = this.#specs.get(name) as ParamSpec;
    const t = spec.torchShape;
    if (spec.kind === 'conv') v = t[2] === 1 && t[3] === 1 ? this.reshape(this.transpose(w, [1, 0]), t) : this.transpose(w, [3, 2, 0, 1]);
    else if (spec.kind === 'linear') v = this.transpose(w, [1, 0]);
    else if (spec.kind === 'gain') v = this.reshape(w, t);
    else v = w;
    this.#torchViews.set(name, v);
    return v;
  }

  c(value: number): V {
    return { n: this.g.constFloat([value], []), s: [], rg: false };
  }

  /** Accumulates `g` into the gradient of `v`. */
  #acc(v: V, g: string): void {
    if (!v.rg) return;
    const prev = this.#grads.get(v.n);
    this.#grads.set(v.n, prev === undefined ? g : this.g.op('Add', 'grad', [prev, g]));
  }

  gradOf(v: V): string | undefined {
    return this.#grads.get(v.n);
  }

  seed(v: V, g: string): void {
    this.#grads.set(v.n, g);
  }

  /** Runs the tape backwards. */
  backward(): void {
    for (let i = this.#tape.length - 1; i >= 0; i--) this.#tape[i]();
  }

  #op(type: string, inputs: V[], attrs: Record<string, number | readonly number[] | string>, s: readonly number[], back: ((gy: string, y: V) => void) | null): V {
    const y: V = { n: this.g.op(type, 'fwd', inputs.map((v) => v.n), attrs), s, rg: inputs.some((v) => v.rg) };
    if (y.rg && back !== null) {
      this.#tape.push(() => {
        const gy = this.#grads.get(y.n);
        if (gy !== undefined) back(gy, y);
      });
    }
    return y;
  }

  /** Sums `g` (shape `from`) down to `to` (same rank with 1s, or a lower rank) as a broadcast's backward. */
  #reduceTo(g: string, from: readonly number[], to: readonly number[]): string {
    if (from.length === to.length && from.every((d, i) => d === to[i])) return g;
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) {
      const td = i < lead ? 1 : to[i - lead];
      if (td === 1 && from[i] !== 1) axes.push(i);
      else if (i < lead) axes.push(i);
    }
    let r = axes.length > 0 ? this.g.op('ReduceSum', 'grad', [g, this.g.constInt64(axes)], { keepdims: 1 }) : g;
    if (lead > 0 || to.length === 0) r = this.g.op('Reshape', 'grad', [r, this.g.constInt64(to.length === 0 ? [] : [...to], [to.length])]);
    return r;
  }

  #bshape(a: readonly number[], b: readonly number[]): number[] {
    const r = Math.max(a.length, b.length);
    return Array.from({ length: r }, (_, i) => {
      const da = a[i - (r - a.length)] ?? 1;
      const db = b[i - (r - b.length)] ?? 1;
      if (da !== db && da !== 1 && db !== 1) throw new Error(`exportOnnxTrainingGraph: cannot broadcast [${a}] with [${b}]`);
      return Math.max(da, db);
    });
  }

  add(a: V, b: V): V {
    const s = this.#bshape(a.s, b.s);
    return this.#op('Add', [a, b], {}, s, (gy) => {
      if (a.rg) this.#acc(a, this.#reduceTo(gy, s, a.s));
      if (b.rg) this.#acc(b, this.#reduceTo(gy, s, b.s));
    });
  }

  sub(a: V, b: V): V {
    const s = this.#bshape(a.s, b.s);
    return this.#op('Sub', [a, b], {}, s, (gy) => {
      if (a.rg) this.#acc(a, this.#reduceTo(gy, s, a.s));
      if (b.rg) this.#acc(b, this.#reduceTo(this.g.op('Neg', 'grad', [gy]), s, b.s));
    });
  }

  mul(a: V, b: V): V {
    const s = this.#bshape(a.s, b.s);
    return this.#op('Mul', [a, b], {}, s, (gy) => {
      if (a.rg) this.#acc(a, this.#reduceTo(this.g.op('Mul', 'grad', [gy, b.n]), s, a.s));
      if (b.rg) this.#acc(b, this.#reduceTo(this.g.op('Mul', 'grad', [gy, a.n]), s, b.s));
    });
  }

  /** Convolution with a named weight (a PyTorch `[out, in, k, k]` kernel). */
  conv(x: V, wName: string, bName: string | null, k: number, stride = 1, pad = Math.floor(k / 2)): V {
    const bias = bName === null ? null : this.p(bName);
    const [, C, H, W] = x.s;
    const O = (this.#specs.get(wName) as ParamSpec).torchShape[0];
    if (this.#winograd && winogradApplies(k, stride, pad, C, O) && H % 4 === 0 && W % 4 === 0) {
      return this.#winogradConv(x, this.raw(wName), bias);
    }
    return this.convWith(x, this.p(wName), bias, k, stride, pad);
  }

  /** Convolution with a PyTorch-layout weight value (a parameter or a slice of one). */
  convWith(x: V, w: V, bias: V | null, k: number, stride = 1, pad = Math.floor(k / 2)): V {
    const [B, , H, W] = x.s;
    const O = w.s[0];
    const Ho = Math.floor((H + 2 * pad - k) / stride) + 1;
    const Wo = Math.floor((W + 2 * pad - k) / stride) + 1;
    const inputs = bias === null ? [x, w] : [x, w, bias];
    const attrs = { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [1, 1], group: 1 };
    return this.#op('Conv', inputs, attrs, [B, O, Ho, Wo], (gy) => {
      if (x.rg) this.#acc(x, this.#convInputGrad(gy, w, x.s, k, stride, pad));
      if (w.rg) this.#acc(w, this.#convWeightGrad(gy, x, O, k, stride, pad, Ho, Wo));
      if (bias !== null) this.#acc(bias, this.g.op('ReduceSum', 'grad', [gy, this.g.constInt64([0, 2, 3])], { keepdims: 0 }));
    });
  }

  /**
   * A 3x3 convolution as Winograd F(4x4, 3x3) products (`./winograd.ts`), whole tiles, with the
   * tfjs-layout kernel `w [3, 3, C, K]` (no transposes: its taps are already the leading axis).
   * Backward: d x is the Winograd convolution of `gy` with the flipped kernel, whose transform
   * `[36, C, K]` is already laid out for it; d W comes from the forward's transformed input,
   * `dU = V dM^T` with `dM = A gy_tile A^T`, then `dW = G^T dU G`: a quarter of the
   * multiplications of the per-tap products.
   */
  #winogradConv(x: V, w: V, bias: V | null): V {
    const g = this.g;
    const [B, C, H, W] = x.s;
    const K = w.s[3];
    const input = winogradInput(g, 'fwd', x.n, C);
    const U = winogradKernelTaps(g, 'fwd', w.n, C, K, false); // [36, C, K]
    const M = g.op('MatMul', 'fwd', [g.op('Transpose', 'fwd', [U], { perm: [0, 2, 1] }), input.V]); // ORT fuses the transpose into the product
    const y: V = { n: winogradOutput(g, 'fwd', M, K, input, true, bias === null ? null : bias.n), s: [B, K, H, W], rg: x.rg || w.rg || (bias?.rg ?? false) };
    if (!y.rg) return y;
    this.#tape.push(() => {
      const gy = this.#grads.get(y.n);
      if (gy === undefined) return;
      // d x as a second Winograd convolution rather than the adjoint of this one (U^T dM, then
      // overlap-adding the 6x6 patches): ORT's ConvTranspose for that overlap-add is slow at high
      // resolution, and keeping every U for the backward pass costs ~2 GB more at nf = 64.
      if (x.rg) {
        const gyIn = winogradInput(g, 'grad', gy, K);
        const dM = g.op('MatMul', 'grad', [winogradKernelTaps(g, 'grad', w.n, C, K, true), gyIn.V]); // [36, C, T]
        this.#acc(x, winogradOutput(g, 'grad', dM, C, gyIn, true, null));
      }
      if (w.rg) {
        const dM = winogradOutputAdjoint(g, 'grad', gy, B, K, H, W);
        const dU = g.op('MatMul', 'grad', [input.V, g.op('Transpose', 'grad', [dM], { perm: [0, 2, 1] })]); // [36, C, K]
        this.#acc(w, winogradKernelTapsAdjoint(g, 'grad', dU, C, K));
      }
      if (bias !== null) this.#acc(bias, g.op('ReduceSum', 'grad', [gy, g.constInt64([0, 2, 3])], { keepdims: 0 }));
    });
    return y;
  }

  /** The kernel of a stride-1 convolution's input gradient: `[out, in, k, k]` flipped spatially, as `[in, out, k, k]`. */
  #flippedTransposed(w: string, k: number): string {
    const g = this.g;
    const flipped = k > 1 ? g.op('Slice', 'grad', [w, g.constInt64([-1, -1]), g.constInt64([-(2 ** 62), -(2 ** 62)]), g.constInt64([2, 3]), g.constInt64([-1, -1])]) : w;
    return g.op('Transpose', 'grad', [flipped], { perm: [1, 0, 2, 3] });
  }

  /**
   * d x of a convolution. Stride 1: a convolution of `gy` with the flipped, in/out-swapped kernel
   * (ONNX Runtime's Conv is much faster than its ConvTranspose); otherwise ConvTranspose.
   */
  #convInputGrad(gy: string, w: V, xs: readonly number[], k: number, stride: number, pad: number): string {
    const g = this.g;
    const [, , H, W] = xs;
    if (stride === 1 && 2 * pad === k - 1) {
      return g.op('Conv', 'grad', [gy, this.#flippedTransposed(w.n, k)], { kernel_shape: [k, k], strides: [1, 1], pads: [pad, pad, pad, pad], dilations: [1, 1], group: 1 });
    }
    const Ho = Math.floor((H + 2 * pad - k) / stride) + 1;
    const Wo = Math.floor((W + 2 * pad - k) / stride) + 1;
    const outH = (Ho - 1) * stride - 2 * pad + k;
    const outW = (Wo - 1) * stride - 2 * pad + k;
    const attrs = { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [1, 1], group: 1, output_padding: [H - outH, W - outW] };
    return g.op('ConvTranspose', 'grad', [gy, w.n], attrs);
  }

  /**
   * d W of a convolution, one kernel tap at a time: `dW[o, c, i, j] = sum_b gy[b, o, :] .
   * view_ij[b, c, :]`, where `view_ij` is the (strided) shifted view of the zero-padded input (a
   * batched matrix product per tap; no k*k-times-larger im2col buffer).
   */
  #convWeightGrad(gy: string, x: V, O: number, k: number, stride: number, pad: number, Ho: number, Wo: number): string {
    const g = this.g;
    const [B, C] = x.s;
    const N = Ho * Wo;
    const gyR = g.op('Reshape', 'grad', [gy, g.constInt64([B, O, N])]);
    // sum over b of [O, N] x [N, C] for one tap (i, j): the tap's [O, C] slice of dW
    const tap = (view: string): string => {
      const xT = g.op('Transpose', 'grad', [g.op('Reshape', 'grad', [view, g.constInt64([B, C, N])])], { perm: [0, 2, 1] });
      return g.op('ReduceSum', 'grad', [g.op('MatMul', 'grad', [gyR, xT]), g.constInt64([0])], { keepdims: 0 });
    };
    if (k === 1 && stride === 1 && pad === 0) return g.op('Reshape', 'grad', [tap(x.n), g.constInt64([O, C, 1, 1])]);
    const xp = pad > 0 ? g.op('Pad', 'grad', [x.n, g.constInt64([0, 0, pad, pad, 0, 0, pad, pad])]) : x.n;
    const taps: string[] = [];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const view = g.op('Slice', 'grad', [xp, g.constInt64([i, j]), g.constInt64([i + stride * (Ho - 1) + 1, j + stride * (Wo - 1) + 1]), g.constInt64([2, 3]), g.constInt64([stride, stride])]);
        taps.push(g.op('Unsqueeze', 'grad', [tap(view), g.constInt64([2])]));
      }
    }
    // [O, C, k*k] in tap order (i, j) -> [O, C, k, k]
    return g.op('Reshape', 'grad', [g.op('Concat', 'grad', taps, { axis: 2 }), g.constInt64([O, C, k, k])]);
  }

  /** `Linear`: `x [B, in] -> [B, out]` with the tfjs `[in, out]` weight. */
  linear(x: V, prefix: string): V {
    const w = this.raw(`${prefix}.weight`);
    const b = this.raw(`${prefix}.bias`);
    return this.#op('Gemm', [x, w, b], {}, [x.s[0], w.s[1]], (gy) => {
      const g = this.g;
      if (x.rg) this.#acc(x, g.op('Gemm', 'grad', [gy, w.n], { transB: 1 }));
      this.#acc(w, g.op('Gemm', 'grad', [x.n, gy], { transA: 1 }));
      this.#acc(b, g.op('ReduceSum', 'grad', [gy, g.constInt64([0])], { keepdims: 0 }));
    });
  }

  silu(x: V): V {
    const s = this.g.op('Sigmoid', 'fwd', [x.n]);
    return this.#op('Mul', [x, { n: s, s: x.s, rg: false }], {}, x.s, (gy) => {
      // d/dx x s(x) = s (1 + x (1 - s))
      const g = this.g;
      const oneMinus = g.op('Sub', 'grad', [g.constFloat([1], []), s]);
      const f = g.op('Mul', 'grad', [g.op('Add', 'grad', [g.op('Mul', 'grad', [x.n, oneMinus]), g.constFloat([1], [])]), s]);
      this.#acc(x, g.op('Mul', 'grad', [gy, f]));
    });
  }

  /** Exact GELU `x/2 (1 + erf(x/sqrt 2))`. */
  gelu(x: V): V {
    const g = this.g;
    const cdf = g.op('Mul', 'fwd', [g.op('Add', 'fwd', [g.op('Erf', 'fwd', [g.op('Mul', 'fwd', [x.n, g.constFloat([Math.SQRT1_2], [])])]), g.constFloat([1], [])]), g.constFloat([0.5], [])]);
    return this.#op('Mul', [x, { n: cdf, s: x.s, rg: false }], {}, x.s, (gy) => {
      // d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi)
      const x2 = g.op('Mul', 'grad', [x.n, x.n]);
      const pdf = g.op('Mul', 'grad', [g.op('Exp', 'grad', [g.op('Mul', 'grad', [x2, g.constFloat([-0.5], [])])]), g.constFloat([1 / Math.sqrt(2 * Math.PI)], [])]);
      const f = g.op('Add', 'grad', [cdf, g.op('Mul', 'grad', [x.n, pdf])]);
      this.#acc(x, g.op('Mul', 'grad', [gy, f]));
    });
  }

  /** The original's channel LayerNorm over axis 1 with gain `[1, C, 1, 1]`. */
  layerNorm(x: V, gainName: string): V {
    const g = this.g;
    const gain = this.p(gainName);
    const mean = g.op('ReduceMean', 'fwd', [x.n], { axes: [1], keepdims: 1 });
    const d = g.op('Sub', 'fwd', [x.n, mean]);
    const variance = g.op('ReduceMean', 'fwd', [g.op('Mul', 'fwd', [d, d])], { axes: [1], keepdims: 1 });
    const std = g.op('Sqrt', 'fwd', [g.op('Add', 'fwd', [variance, g.constFloat([1e-5], [])])]);
    const xhat = g.op('Div', 'fwd', [d, std]);
    return this.#op('Mul', [{ n: xhat, s: x.s, rg: false }, gain], {}, x.s, (gy) => {
      this.#acc(gain, g.op('ReduceSum', 'grad', [g.op('Mul', 'grad', [gy, xhat]), g.constInt64([0, 2, 3])], { keepdims: 1 }));
      if (!x.rg) return;
      // dx = (dxhat - mean_c(dxhat) - xhat mean_c(dxhat xhat)) / std
      const dxhat = g.op('Mul', 'grad', [gy, gain.n]);
      const m1 = g.op('ReduceMean', 'grad', [dxhat], { axes: [1], keepdims: 1 });
      const m2 = g.op('ReduceMean', 'grad', [g.op('Mul', 'grad', [dxhat, xhat])], { axes: [1], keepdims: 1 });
      const inner = g.op('Sub', 'grad', [g.op('Sub', 'grad', [dxhat, m1]), g.op('Mul', 'grad', [xhat, m2])]);
      this.#acc(x, g.op('Div', 'grad', [inner, std]));
    });
  }

  /** `x[start:end]` along `axis` (backward: zero-padded back to the full size). */
  slice(x: V, axis: number, start: number, end: number): V {
    const s = [...x.s];
    s[axis] = end - start;
    const idx = (v: number): V => ({ n: this.g.constInt64([v]), s: [1], rg: false });
    return this.#op('Slice', [x, idx(start), idx(end), idx(axis)], {}, s, (gy) => {
      const pads = new Array<number>(2 * x.s.length).fill(0);
      pads[axis] = start;
      pads[x.s.length + axis] = x.s[axis] - end;
      this.#acc(x, this.g.op('Pad', 'grad', [gy, this.g.constInt64(pads)]));
    });
  }

  reshape(x: V, s: readonly number[]): V {
    if (numel(s) !== numel(x.s)) throw new Error(`exportOnnxTrainingGraph: reshape [${x.s}] -> [${s}]`);
    return this.#op('Reshape', [x, { n: this.g.constInt64([...s]), s: [s.length], rg: false }], {}, s, (gy) => {
      this.#acc(x, this.g.op('Reshape', 'grad', [gy, this.g.constInt64([...x.s])]));
    });
  }

  transpose(x: V, perm: readonly number[]): V {
    const inv = perm.map((_, i) => perm.indexOf(i));
    return this.#op('Transpose', [x], { perm }, perm.map((p) => x.s[p]), (gy) => {
      this.#acc(x, this.g.op('Transpose', 'grad', [gy], { perm: inv }));
    });
  }

  concat(xs: V[], axis: number): V {
    const s = [...xs[0].s];
    s[axis] = xs.reduce((a, v) => a + v.s[axis], 0);
    return this.#op('Concat', xs, { axis }, s, (gy) => {
      const parts = this.g.ops('Split', 'grad', [gy, this.g.constInt64(xs.map((v) => v.s[axis]))], { axis }, xs.length);
      xs.forEach((v, i) => this.#acc(v, parts[i]));
    });
  }

  split(x: V, sizes: readonly number[], axis: number): V[] {
    const names = this.g.ops('Split', 'fwd', [x.n, this.g.constInt64([...sizes])], { axis }, sizes.length);
    const outs = names.map((n, i) => {
      const s = [...x.s];
      s[axis] = sizes[i];
      return { n, s, rg: x.rg } as V;
    });
    if (x.rg) {
      this.#tape.push(() => {
        const gs = outs.map((o, i) => this.#grads.get(o.n) ?? this.#zeros(outs[i].s));
        if (outs.every((o) => this.#grads.get(o.n) === undefined)) return;
        this.#acc(x, this.g.op('Concat', 'grad', gs, { axis }));
      });
    }
    return outs;
  }

  #zeros(s: readonly number[]): string {
    return this.g.op('ConstantOfShape', 'grad', [this.g.constInt64([...s])]);
  }

  softmax(x: V, axis: number): V {
    const g = this.g;
    const n = axis === x.s.length - 1 ? g.op('Softmax', 'fwd', [x.n], { axis }) : softmaxMiddle(g, 'fwd', x.n, axis);
    const y: V = { n, s: x.s, rg: x.rg };
    if (x.rg) {
      this.#tape.push(() => {
        const gy = this.#grads.get(y.n);
        if (gy === undefined) return;
        // dx = y (gy - sum(gy y))
        const dot = g.op('ReduceSum', 'grad', [g.op('Mul', 'grad', [gy, y.n]), g.constInt64([axis])], { keepdims: 1 });
        this.#acc(x, g.op('Mul', 'grad', [y.n, g.op('Sub', 'grad', [gy, dot])]));
      });
    }
    return y;
  }

  /** Batched matrix product over the last two axes (same leading dims). */
  matmul(a: V, b: V): V {
    const r = a.s.length;
    const s = [...a.s.slice(0, r - 1), b.s[r - 1]];
    const swap = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
    return this.#op('MatMul', [a, b], {}, s, (gy) => {
      const g = this.g;
      if (a.rg) this.#acc(a, g.op('MatMul', 'grad', [gy, g.op('Transpose', 'grad', [b.n], { perm: swap })]));
      if (b.rg) this.#acc(b, g.op('MatMul', 'grad', [g.op('Transpose', 'grad', [a.n], { perm: swap }), gy]));
    });
  }

  /** `nn.Upsample(scale_factor=2, mode='nearest')`. */
  upsample2(x: V): V {
    const [B, C, H, W] = x.s;
    const attrs = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
    const scales: V = { n: this.g.constFloat([1, 1, 2, 2]), s: [4], rg: false };
    return this.#op('Resize', [x, { n: '', s: [], rg: false }, scales], attrs, [B, C, 2 * H, 2 * W], (gy) => {
      const g = this.g;
      const r = g.op('Reshape', 'grad', [gy, g.constInt64([B, C, H, 2, W, 2])]);
      this.#acc(x, g.op('ReduceSum', 'grad', [r, g.constInt64([3, 5])], { keepdims: 0 }));
    });
  }

  resBlock(p: string, x: V, tembAct: V, cout: number, hasResConv: boolean): V {
    const ss = this.reshape(this.linear(tembAct, `${p}.mlp.1`), [tembAct.s[0], 2 * cout, 1, 1]);
    const [scale, shift] = this.split(ss, [cout, cout], 1);
    let h = this.conv(x, `${p}.block1.proj.weight`, null, 3);
    h = this.add(this.mul(h, this.add(scale, this.c(1))), shift);
    h = this.silu(h);
    h = this.silu(this.conv(h, `${p}.block2.proj.weight`, null, 3));
    const res = hasResConv ? this.conv(x, `${p}.res_conv.weight`, null, 1) : x;
    return this.add(h, res);
  }

  linearAttention(p: string, x: V): V {
    const [B, , H, W] = x.s;
    const heads = ATTN_HEADS;
    const d = ATTN_DIM_HEAD;
    const N = H * W;
    // q, k and v from three slices of the to_qkv weight (output channels are (part, head, c)),
    // rather than one convolution and a split of its large output.
    const wqkv = this.p(`${p}.to_qkv.weight`);
    const [q, k, v] = [0, 1, 2].map((part) => this.reshape(this.convWith(x, this.slice(wqkv, 0, part * heads * d, (part + 1) * heads * d), null, 1), [B, heads, d, N]));
    const qs = this.softmax(q, 2);
    const ks = this.softmax(k, 3);
    const ctxT = this.mul(this.matmul(v, this.transpose(ks, [0, 1, 3, 2])), this.c(1 / Math.sqrt(d) / N));
    const out = this.matmul(ctxT, qs);
    const merged = this.reshape(out, [B, heads * d, H, W]);
    const y = this.conv(merged, `${p}.to_out.0.weight`, `${p}.to_out.0.bias`, 1);
    return this.layerNorm(y, `${p}.to_out.1.g`);
  }

  attention(p: string, x: V): V {
    return this.add(x, this.linearAttention(`${p}.fn.fn`, this.layerNorm(x, `${p}.fn.norm.g`)));
  }
}

/** What a training graph is built for: its static shape and the loss norm. */
export interface TrainingGraphOptions {
  /** Batch size `B`. */
  readonly batch: number;
  /** Crop height `H` (a multiple of `2^depth`). */
  readonly height: number;
  /** Crop width `W` (a multiple of `2^depth`). */
  readonly width: number;
  /** The loss norm (default `'l1'`). */
  readonly norm?: 'l1' | 'l2';
  /**
   * 3x3 convolutions with at least `WINOGRAD_MIN_CHANNELS` channels (on whole 4x4 tiles):
   * `'direct'` (default) ONNX `Conv` and per-tap weight gradients, or `'winograd'` (forward, input
   * and weight gradients as Winograd F(4x4, 3x3) products; same gradients up to ~1e-5 relative
   * rounding, ORT's run about 1.4x faster at nf = 64).
   */
  readonly conv3x3?: Conv3x3;
}

/**
 * Builds an ONNX graph (opset 17) that runs the conditional U-Net forward, a matching loss and its
 * gradient with respect to every weight. Inputs: the weights (PyTorch names, tfjs layout and shapes
 * as `ConditionalUNet` stores them — see `tfjsShape` — so a trainer feeds its variables as they are),
 * `xt`, `cond` `[B, C, H, W]`, `time` `[B]`, and the loss's `loss_scale` `a` and `loss_offset` `b`
 * `[B, outC, H, W]`; the loss is `mean(norm(a * output + b))` over all elements, which covers every
 * training objective (see `objectiveDiff` in `train/objective.ts`). Outputs: `loss`, `output` and
 * `grad.<name>` per weight in the weight's shape (see {@link ONNX_TRAIN_IO}).
 *
 * The forward ops are those of `exportOnnx` (same maths, same results up to float rounding), but
 * with a static shape and no padding: `H` and `W` must be multiples of `2^depth`.
 * @throws RangeError for a bad config or shape.
 */
export function exportOnnxTrainingGraph(config: UNetConfig, shape: TrainingGraphOptions): Uint8Array {
  const cfg = checkUNetConfig(config, 'exportOnnxTrainingGraph');
  const { inChannels, outChannels, nf, depth } = cfg;
  const { batch: B, height: H, width: W } = shape;
  const m = 2 ** depth;
  if (shape.norm !== undefined && shape.norm !== 'l1' && shape.norm !== 'l2') throw new RangeError(`exportOnnxTrainingGraph: norm must be 'l1' or 'l2', got ${String(shape.norm)}`);
  for (const [k, v] of Object.entries({ batch: B, height: H, width: W })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`exportOnnxTrainingGraph: ${k} must be a positive integer, got ${String(v)}`);
  }
  if (H % m !== 0 || W % m !== 0) throw new RangeError(`exportOnnxTrainingGraph: height and width must be multiples of 2^depth = ${m}, got ${H}x${W}`);
  const net = new TrainGraph(cfg, checkConv3x3(shape.conv3x3, 'exportOnnxTrainingGraph') === 'winograd');
  const g = net.g;
  const io = ONNX_TRAIN_IO;
  const xt = net.input(io.xt, [B, inChannels, H, W]);
  const cond = net.input(io.cond, [B, inChannels, H, W]);
  const time = net.input(io.time, [B]);
  const outShape = [B, outChannels, H, W];
  const scale = net.input(io.lossScale, outShape);
  const offset = net.input(io.lossOffset, outShape);

  let x = net.concat([net.sub(xt, cond), cond], 1);
  x = net.conv(x, 'init_conv.weight', null, 7);
  const half = nf / 2;
  const arg = g.op('Mul', 'time', [g.op('Unsqueeze', 'time', [time.n, g.constInt64([1])]), g.constFloat(timeFrequencies(nf), [1, half])]);
  const emb = { n: g.op('Concat', 'time', [g.op('Sin', 'time', [arg]), g.op('Cos', 'time', [arg])], { axis: 1 }), s: [B, nf], rg: false };
  const tembAct = net.silu(net.linear(net.gelu(net.linear(emb, 'time_mlp.1')), 'time_mlp.3'));

  x = unetTrunk<V>(
    {
      resBlock: (p, v, cout, hasRes) => net.resBlock(p, v, tembAct, cout, hasRes),
      attention: (p, v) => net.attention(p, v),
      conv: (_scope, v, w, b, k, stride, pad) => net.conv(v, w, b, k, stride, pad),
      concat: (_scope, a, b) => net.concat([a, b], 1),
      upsample: (_scope, v) => net.upsample2(v),
    },
    nf,
    depth,
    x,
  );
  x = net.conv(x, 'final_conv.weight', 'final_conv.bias', 3);
  g.op('Identity', 'output', [x.n], {}, io.output);

  // loss = mean(norm(diff)), diff = a out + b; d loss / d out = a sign(diff) / n or 2 a diff / n.
  const n = numel(outShape);
  const diff = g.op('Add', 'loss', [g.op('Mul', 'loss', [scale.n, x.n]), offset.n]);
  const l2 = (shape.norm ?? 'l1') === 'l2';
  const e = l2 ? g.op('Mul', 'loss', [diff, diff]) : g.op('Abs', 'loss', [diff]);
  g.op('ReduceMean', 'loss', [e], { axes: [0, 1, 2, 3], keepdims: 0 }, io.loss);
  const dOut = g.op('Mul', 'loss', [scale.n, l2 ? g.op('Mul', 'loss', [diff, g.constFloat([2 / n], [])]) : g.op('Mul', 'loss', [g.op('Sign', 'loss', [diff]), g.constFloat([1 / n], [])])]);
  net.seed(x, dOut);
  net.backward();
  const outputs = [valueInfoProto(io.loss, 'float32', []), valueInfoProto(io.output, 'float32', outShape)];
  for (const [name, v] of net.params) {
    const gname = net.gradOf(v) ?? g.op('ConstantOfShape', 'grad', [g.constInt64([...v.s])]);
    g.op('Identity', 'grad', [gname], {}, io.gradPrefix + name);
    outputs.push(valueInfoProto(io.gradPrefix + name, 'float32', [...v.s]));
  }
  const inputs = [...net.params.values()].map((v) => valueInfoProto(v.n, 'float32', [...v.s]));
  inputs.push(valueInfoProto(io.xt, 'float32', [...xt.s]), valueInfoProto(io.cond, 'float32', [...cond.s]), valueInfoProto(io.time, 'float32', [B]), valueInfoProto(io.lossScale, 'float32', outShape), valueInfoProto(io.lossOffset, 'float32', outShape));
  return modelProto(
    { opset: ONNX_EXPORT_OPSET, irVersion: ONNX_EXPORT_IR_VERSION, producerName: 'irsde', producerVersion: '0.1.0', docString: 'IR-SDE ConditionalUNet forward + backward', metadata: { irsde_unet_config: JSON.stringify(cfg) } },
    { name: 'irsde_conditional_unet_train', nodes: g.nodes, initializers: g.initializers, inputs, outputs },
  );
}
