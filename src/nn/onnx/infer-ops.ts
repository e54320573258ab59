/**
 * The network primitives ({@link Ops}) as ONNX inference ops with dynamic batch, height and width,
 * for `exportOnnx`. Weights are initializers in PyTorch's layout (ONNX is NCHW with `[out, in,
 * kh, kw]` kernels and Gemm takes `[out, in]` with `transB`), so every parameter goes in unchanged.
 */
import type { StateDict } from '../io/types.js';
import { checkPart, type Conv2d, type LayerNorm, type Linear, type Param } from '../arch/module.js';
import { localWindowReach, type Ops } from '../arch/ops.js';
import { timeFrequencies } from '../tfjs/tfjs-ops.js';
import { softmaxMiddle } from './autodiff/elementwise.js';
import { GraphBuilder } from './graph-builder.js';
import { boxSumNodes } from './local-mean.js';
import { winogradApplies, winogradConv3x3 } from './winograd.js';

/** A value of the inference graph, with a number its height and width are known multiples of. */
export interface IV {
  /** Value name. */
  readonly n: string;
  /** Height and width are multiples of this (1 when unknown). */
  readonly m: number;
}

/** {@link Ops} emitting an ONNX inference graph (see the file comment). */
export class InferOps implements Ops<IV> {
  readonly g = new GraphBuilder();
  readonly #added = new Set<string>();

  /**
   * @param weights - the PyTorch state dict (checked beforehand); @param time - the `[B]` time input name;
   * @param winograd - Winograd 3x3 convolutions where they apply.
   */
  constructor(
    private readonly weights: StateDict,
    private readonly time: string,
    private readonly winograd: boolean,
  ) {}

  /** The initializer of a parameter (added on first use, under its PyTorch name). */
  #p(name: string): string {
    if (this.#added.has(name)) return name;
    this.#added.add(name);
    const t = this.weights[name];
    return this.g.weight(name, t.shape, t.data);
  }

  #v(n: string, m = 1): IV {
    return { n, m };
  }

  timeEmbedding(dim: number): IV {
    const g = this.g;
    const arg = g.op('Mul', 'time_emb', [g.op('Unsqueeze', 'time_emb', [this.time, g.constInt64([1])]), g.constFloat(timeFrequencies(dim), [1, dim / 2])]);
    return this.#v(g.op('Concat', 'time_emb', [g.op('Sin', 'time_emb', [arg]), g.op('Cos', 'time_emb', [arg])], { axis: 1 }));
  }
  conv(x: IV, l: Conv2d): IV {
    const scope = l.weight.name.replace(/\.weight$/, '');
    const m = l.stride === 1 ? x.m : Math.max(1, x.m / l.stride);
    if (this.winograd && !l.depthwise && winogradApplies(l.k, l.stride, l.pad, l.cin, l.cout)) {
      const spec = { x: x.n, weight: this.#p(l.weight.name), bias: l.bias === null ? null : this.#p(l.bias.name), inChannels: l.cin, outChannels: l.cout, wholeTiles: x.m % 4 === 0 };
      return this.#v(winogradConv3x3(this.g, scope, spec), m);
    }
    return this.#convNode(x, l, scope, this.#p(l.weight.name), l.bias === null ? null : this.#p(l.bias.name), l.cin);
  }
  /** An ONNX `Conv` of layer `l`'s geometry with the given kernel and bias (`channels`: the depthwise group count). */
  #convNode(x: IV, l: Conv2d, scope: string, weight: string, bias: string | null, channels: number): IV {
    const attrs = { kernel_shape: [l.k, l.k], strides: [l.stride, l.stride], pads: [l.pad, l.pad, l.pad, l.pad], dilations: [1, 1], group: l.depthwise ? channels : 1 };
    const inputs = bias === null ? [x.n, weight] : [x.n, weight, bias];
    return this.#v(this.g.op('Conv', scope, inputs, attrs), l.stride === 1 ? x.m : Math.max(1, x.m / l.stride));
  }
  /** Rows `[part * n, (part + 1) * n)` of a PyTorch-layout parameter (leading axis `parts * n`), as an initializer of its own. */
  #rows(name: string, part: number, parts: number): string {
    const t = this.weights[name];
    const n = t.shape[0] / parts;
    const per = t.data.length / t.shape[0];
    return this.g.weight(`${name}[${part}/${parts}]`, [n, ...t.shape.slice(1)], t.data.subarray(part * n * per, (part + 1) * n * per));
  }
  convPart(x: IV, l: Conv2d, part: number, parts: number): IV {
    checkPart(l, part, parts, 'exportOnnx');
    if (!l.depthwise && this.winograd && winogradApplies(l.k, l.stride, l.pad, l.cin, l.cout)) return this.chunk(this.conv(x, l), parts)[part];
    // Rows of the PyTorch-layout kernel [cout, cin / groups, k, k] and of the bias.
    const scope = `${l.weight.name.replace(/\.weight$/, '')}[${part}/${parts}]`;
    return this.#convNode(x, l, scope, this.#rows(l.weight.name, part, parts), l.bias === null ? null : this.#rows(l.bias.name, part, parts), l.cout / parts);
  }
  linear(x: IV, l: Linear): IV {
    return this.#v(this.g.op('Gemm', l.weight.name, [x.n, this.#p(l.weight.name), this.#p(l.bias.name)], { transB: 1 }));
  }
  /**
   * `(x - mean_c x) / std` over the `c` channels (biased variance, eps 1e-5), nodes in scope `s`.
   * Five full-size passes: the mean, the centring, the sum of squares (ReduceSumSquare, no
   * squared copy), one product with the per-pixel `1 / std`; the rest is per-pixel.
   */
  #normalize(x: IV, s: string, c: number): string {
    const g = this.g;
    const mean = g.op('ReduceMean', s, [x.n], { axes: [1], keepdims: 1 });
    const d = g.op('Sub', s, [x.n, mean]);
    const sumSq = g.op('ReduceSumSquare', s, [d], { axes: [1], keepdims: 1 });
    const variance = g.op('Mul', s, [sumSq, g.constFloat([1 / c], [])]);
    const invStd = g.op('Reciprocal', s, [g.op('Sqrt', s, [g.op('Add', s, [variance, g.constFloat([1e-5], [])])])]);
    return g.op('Mul', s, [d, invStd]);
  }
  layerNorm(x: IV, l: LayerNorm): IV {
    const s = l.g.name;
    return this.#v(this.g.op('Mul', s, [this.#normalize(x, s, l.c), this.#p(l.g.name)]), x.m);
  }
  modulatedLayerNorm(x: IV, l: LayerNorm, scale: IV, shift: IV): IV {
    // xhat * (gain * (1 + scale)) + shift: the gain and the scale make one [B, C, 1, 1] factor.
    const g = this.g;
    const s = l.g.name;
    const k = g.op('Mul', s, [this.#p(l.g.name), g.op('Add', s, [scale.n, g.constFloat([1], [])])]);
    return this.#v(g.op('Add', s, [g.op('Mul', s, [this.#normalize(x, s, l.c), k]), shift.n]), x.m);
  }
  convGain(x: IV, l: Conv2d, g: Param): IV {
    return this.mul(this.conv(x, l), this.gain(g));
  }
  gain(p: Param): IV {
    return this.#v(this.#p(p.name));
  }
  #bin(type: string, a: IV, b: IV): IV {
    return this.#v(this.g.op(type, 'op', [a.n, b.n]), Math.max(a.m, b.m));
  }
  add(a: IV, b: IV): IV {
    return this.#bin('Add', a, b);
  }
  sub(a: IV, b: IV): IV {
    return this.#bin('Sub', a, b);
  }
  mul(a: IV, b: IV): IV {
    return this.#bin('Mul', a, b);
  }
  addScalar(x: IV, c: number): IV {
    return this.#v(this.g.op('Add', 'op', [x.n, this.g.constFloat([c], [])]), x.m);
  }
  mulScalar(x: IV, c: number): IV {
    return this.#v(this.g.op('Mul', 'op', [x.n, this.g.constFloat([c], [])]), x.m);
  }
  silu(x: IV): IV {
    return this.#v(this.g.op('Mul', 'silu', [x.n, this.g.op('Sigmoid', 'silu', [x.n])]), x.m);
  }
  gelu(x: IV): IV {
    const g = this.g;
    const e = g.op('Erf', 'gelu', [g.op('Mul', 'gelu', [x.n, g.constFloat([Math.SQRT1_2], [])])]);
    return this.#v(g.op('Mul', 'gelu', [g.op('Mul', 'gelu', [x.n, g.constFloat([0.5], [])]), g.op('Add', 'gelu', [e, g.constFloat([1], [])])]), x.m);
  }
  concat(xs: readonly IV[]): IV {
    return this.#v(this.g.op('Concat', 'concat', xs.map((x) => x.n), { axis: 1 }), Math.max(...xs.map((x) => x.m)));
  }
  chunk(x: IV, parts: number): IV[] {
    // Opset 17 Split without a `split` input: equal parts, one per output.
    return this.g.ops('Split', 'chunk', [x.n], { axis: 1 }, parts).map((n) => this.#v(n, x.m));
  }
  vectorToImage(v: IV): IV {
    return this.#v(this.g.op('Unsqueeze', 'op', [v.n, this.g.constInt64([2, 3])]));
  }
  meanHW(x: IV): IV {
    return this.#v(this.g.op('ReduceMean', 'pool', [x.n], { axes: [2, 3], keepdims: 1 }));
  }
  /**
   * The graph's height and width are dynamic, so the global-or-local choice is made when it runs,
   * on the window's reach: capped at `n - 1` per axis (the same clipped windows), and `n - 1` on
   * both axes when `window >= max(H, W)`, where every position's window holds the whole map, so
   * its mean is the global mean (from the same cumulative sums: `meanHW`'s value up to float
   * rounding, not bit for bit), broadcast to `[B, C, H, W]`. One branch and no full-size select;
   * a window at least the map costs about twice a smaller one, on maps no larger than the window.
   */
  localMeanHW(x: IV, window: number): IV {
    const g = this.g;
    const s = 'local_mean';
    const { before, after } = localWindowReach(window);
    const shape = g.op('Shape', s, [x.n]);
    const covers = g.op('GreaterOrEqual', s, [g.constInt64([window]), g.op('ReduceMax', s, [g.op('Slice', s, [shape, g.constInt64([2]), g.constInt64([4])])], { keepdims: 1 })]);
    const axis = (a: 2 | 3): { n: string; before: string; after: string } => {
      const n = g.op('Slice', s, [shape, g.constInt64([a]), g.constInt64([a + 1])]);
      const last = g.op('Sub', s, [n, g.constInt64([1])]);
      const reach = (r: number): string => g.op('Where', s, [covers, last, g.op('Min', s, [g.constInt64([r]), last])]);
      return { n, before: reach(before), after: reach(after) };
    };
    const [h, w] = [axis(2), axis(3)];
    // Positions inside each clipped window: min(n, i + after + 1) - max(0, i - before), as floats.
    const counts = (ax: { n: string; before: string; after: string }, target: number[]): string => {
      const f = (v: string): string => g.op('Cast', s, [v], { to: 1 });
      const n = f(ax.n);
      const i = g.op('Range', s, [g.constFloat([0], []), g.op('Squeeze', s, [n, g.constInt64([0])]), g.constFloat([1], [])]);
      const hi = g.op('Min', s, [g.op('Add', s, [i, g.op('Add', s, [f(ax.after), g.constFloat([1])])]), n]);
      const lo = g.op('Relu', s, [g.op('Sub', s, [i, f(ax.before)])]);
      return g.op('Reshape', s, [g.op('Sub', s, [hi, lo]), g.constInt64(target)]);
    };
    // 1 / positions, [1, 1, W, H] (the width pass's transposed layout).
    const invT = g.op('Reciprocal', s, [g.op('Mul', s, [counts(w, [1, 1, -1, 1]), counts(h, [1, 1, 1, -1])])]);
    return this.#v(boxSumNodes(g, s, x.n, h, w, invT), x.m);
  }
  upsample2(x: IV): IV {
    // Source index floor(dst / 2), as nn.Upsample(scale_factor=2, mode='nearest').
    const attrs = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
    return this.#v(this.g.op('Resize', 'upsample', [x.n, '', this.g.constFloat([1, 1, 2, 2])], attrs), 2 * x.m);
  }
  pixelShuffle2(x: IV): IV {
    return this.#v(this.g.op('DepthToSpace', 'pixel_shuffle', [x.n], { blocksize: 2, mode: 'CRD' }), 2 * x.m);
  }
  padToMultiple(x: IV, multiple: number, mode: 'reflect' | 'zero'): IV {
    const g = this.g;
    const m = g.constInt64([multiple]);
    const hw = this.#hw(x);
    const padHW = g.op('Mod', 'pad', [g.op('Sub', 'pad', [m, g.op('Mod', 'pad', [hw, m])]), m]);
    const pads = g.op('Concat', 'pad', [g.constInt64([0, 0, 0, 0, 0, 0]), padHW], { axis: 0 });
    return this.#v(mode === 'reflect' ? g.op('Pad', 'pad', [x.n, pads], { mode: 'reflect' }) : g.op('Pad', 'pad', [x.n, pads]), multiple);
  }
  #hw(x: IV): string {
    const g = this.g;
    return g.op('Slice', 'shape', [g.op('Shape', 'shape', [x.n]), g.constInt64([2]), g.constInt64([4])]);
  }
  cropLike(x: IV, like: IV): IV {
    const g = this.g;
    return this.#v(g.op('Slice', 'crop', [x.n, g.constInt64([0, 0]), this.#hw(like), g.constInt64([2, 3])]), like.m);
  }
  projectToHeads(x: IV, l: Conv2d, part: number, parts: number, heads: number): IV {
    // One convolution per part from a block of the kernel's rows (ONNX Runtime then never splits a large output).
    const g = this.g;
    const rows = l.cout / parts;
    const name = `${l.weight.name}[${part}/${parts}]`;
    const wPart = this.#rows(l.weight.name, part, parts);
    const y = g.op('Conv', name, [x.n, wPart], { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 });
    return this.#v(g.op('Reshape', name, [y, g.constInt64([0, heads, rows / heads, -1])]));
  }
  projectFromHeads(o: IV, l: Conv2d, like: IV): IV {
    const g = this.g;
    const shape = g.op('Shape', 'heads', [like.n]);
    const target = g.op('Concat', 'heads', [g.op('Slice', 'heads', [shape, g.constInt64([0]), g.constInt64([1])]), g.constInt64([l.cin]), this.#hw(like)], { axis: 0 });
    return this.conv(this.#v(g.op('Reshape', 'heads', [o.n, target]), like.m), l);
  }
  softmax(x: IV, axis: 2 | 3): IV {
    return this.#v(axis === 3 ? this.g.op('Softmax', 'softmax', [x.n], { axis: 3 }) : softmaxMiddle(this.g, 'softmax', x.n, axis));
  }
  matmul(a: IV, b: IV, transposeA = false, transposeB = false): IV {
    const g = this.g;
    const tr = (v: IV): string => g.op('Transpose', 'matmul', [v.n], { perm: [0, 1, 3, 2] });
    return this.#v(g.op('MatMul', 'matmul', [transposeA ? tr(a) : a.n, transposeB ? tr(b) : b.n]));
  }
  scaleByPositions(x: IV, c: number, like: IV): IV {
    const g = this.g;
    const n = g.op('Cast', 'positions', [g.op('ReduceProd', 'positions', [this.#hw(like)], { keepdims: 0 })], { to: 1 });
    return this.#v(g.op('Mul', 'positions', [x.n, g.op('Div', 'positions', [g.constFloat([c], []), n])]));
  }
  block(f: () => IV): IV {
    return f();
  }
  stage(_name: string, x: IV): IV {
    return x;
  }
}
