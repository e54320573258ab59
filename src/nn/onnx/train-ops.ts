/**
 * The network primitives ({@link Ops}) as differentiable ONNX ops (`./autodiff/`), with static
 * shapes, for the training graph. Weights are graph inputs in tfjs's layout (what a trainer holds);
 * layers that need PyTorch's layout (ONNX `Conv`) read a transposed view whose gradient flows back
 * through the same transpose, while Winograd convolutions and linear layers use the tfjs layout.
 */
import { checkPart, type Conv2d, type LayerNorm, type Linear, type Param, type ParamSpec } from '../arch/module.js';
import type { Ops } from '../arch/ops.js';
import { tfjsShape } from '../tfjs/layout.js';
import { timeFrequencies } from '../tfjs/tfjs-ops.js';
import { conv, winogradConv, type ConvAttrs } from './autodiff/conv.js';
import { add, gelu, mul, silu, softmax, sub } from './autodiff/elementwise.js';
import { layerNorm, linear, modulatedLayerNorm } from './autodiff/nn.js';
import { concat, localMeanHW, matmul, meanHW, pixelShuffle2, reshape, slice, split, transpose, upsample2 } from './autodiff/shape.js';
import type { Tape, TV } from './autodiff/tape.js';
import { winogradApplies } from './winograd.js';

/** {@link Ops} emitting a differentiable ONNX graph (see the file comment). */
export class TrainOps implements Ops<TV> {
  /** The weight inputs, in tfjs layout, by PyTorch name. */
  readonly params = new Map<string, TV>();
  readonly #specs = new Map<string, ParamSpec>();
  readonly #torchViews = new Map<string, TV>();

  /**
   * @param t - the tape; @param specs - the network's parameters (become graph inputs);
   * @param time - the `[B]` time input; @param winograd - Winograd 3x3 convolutions where they apply;
   * @param im2colBytes - the largest im2col buffer one weight gradient may make.
   */
  constructor(
    readonly t: Tape,
    specs: readonly ParamSpec[],
    private readonly time: TV,
    private readonly winograd: boolean,
    private readonly im2colBytes: number,
  ) {
    for (const spec of specs) {
      this.params.set(spec.name, t.input(spec.name, tfjsShape(spec), true));
      this.#specs.set(spec.name, spec);
    }
  }

  /** A convolution module's attributes, with the graph's im2col limit. */
  #attrs(l: Conv2d): ConvAttrs {
    return { k: l.k, stride: l.stride, pad: l.pad, depthwise: l.depthwise, im2colBytes: this.im2colBytes };
  }

  #raw(name: string): TV {
    const v = this.params.get(name);
    if (v === undefined) throw new Error(`exportOnnxTrainingGraph: no parameter ${name}`);
    return v;
  }

  /** A weight in PyTorch's layout, as a differentiable view of the tfjs-layout input (made once). */
  #torch(name: string): TV {
    let v = this.#torchViews.get(name);
    if (v !== undefined) return v;
    const w = this.#raw(name);
    const spec = this.#specs.get(name) as ParamSpec;
    const s = spec.torchShape;
    const t = this.t;
    if (spec.kind === 'conv') v = s[2] === 1 && s[3] === 1 ? reshape(t, transpose(t, w, [1, 0]), s) : transpose(t, w, [3, 2, 0, 1]);
    else if (spec.kind === 'dwconv') v = transpose(t, w, [2, 3, 0, 1]);
    else if (spec.kind === 'linear') v = transpose(t, w, [1, 0]);
    else if (spec.kind === 'gain') v = reshape(t, w, s);
    else v = w;
    this.#torchViews.set(name, v);
    return v;
  }

  timeEmbedding(dim: number): TV {
    const g = this.t.g;
    const B = this.time.s[0];
    const arg = g.op('Mul', 'time', [g.op('Unsqueeze', 'time', [this.time.n, g.constInt64([1])]), g.constFloat(timeFrequencies(dim), [1, dim / 2])]);
    return { n: g.op('Concat', 'time', [g.op('Sin', 'time', [arg]), g.op('Cos', 'time', [arg])], { axis: 1 }), s: [B, dim], rg: false };
  }
  conv(x: TV, l: Conv2d): TV {
    const bias = l.bias === null ? null : this.#torch(l.bias.name);
    const [, C, H, W] = x.s;
    if (this.winograd && !l.depthwise && winogradApplies(l.k, l.stride, l.pad, C, l.cout) && H % 4 === 0 && W % 4 === 0) {
      return winogradConv(this.t, x, this.#raw(l.weight.name), bias);
    }
    return conv(this.t, x, this.#torch(l.weight.name), bias, this.#attrs(l));
  }
  convPart(x: TV, l: Conv2d, part: number, parts: number): TV {
    checkPart(l, part, parts, 'exportOnnxTrainingGraph');
    const [, C, H, W] = x.s;
    if (!l.depthwise && this.winograd && winogradApplies(l.k, l.stride, l.pad, C, l.cout) && H % 4 === 0 && W % 4 === 0) return this.chunk(this.conv(x, l), parts)[part];
    // Rows [part * n, (part + 1) * n) of the PyTorch-layout kernel and bias: their gradients flow back into those rows.
    const n = l.cout / parts;
    const w = slice(this.t, this.#torch(l.weight.name), 0, part * n, (part + 1) * n);
    const bias = l.bias === null ? null : slice(this.t, this.#torch(l.bias.name), 0, part * n, (part + 1) * n);
    return conv(this.t, x, w, bias, this.#attrs(l));
  }
  convGain(x: TV, l: Conv2d, p: Param): TV {
    const g = this.#torch(p.name);
    const [, C, H, W] = x.s;
    if (l.depthwise || g.s[1] !== l.cout || (this.winograd && winogradApplies(l.k, l.stride, l.pad, C, l.cout) && H % 4 === 0 && W % 4 === 0)) return this.mul(this.conv(x, l), g);
    // conv(x, w g, b g): the gain scales the kernel's output rows and the bias (weight-sized
    // products, whose backward passes are weight-sized too) instead of the full-size output.
    const w = mul(this.t, this.#torch(l.weight.name), reshape(this.t, g, [l.cout, 1, 1, 1]));
    const bias = l.bias === null ? null : mul(this.t, this.#torch(l.bias.name), reshape(this.t, g, [l.cout]));
    return conv(this.t, x, w, bias, this.#attrs(l));
  }
  linear(x: TV, l: Linear): TV {
    return linear(this.t, x, this.#raw(l.weight.name), this.#raw(l.bias.name));
  }
  layerNorm(x: TV, l: LayerNorm): TV {
    return layerNorm(this.t, x, this.#torch(l.g.name));
  }
  modulatedLayerNorm(x: TV, l: LayerNorm, scale: TV, shift: TV): TV {
    return modulatedLayerNorm(this.t, x, this.#torch(l.g.name), scale, shift);
  }
  gain(p: Param): TV {
    return this.#torch(p.name);
  }
  add(a: TV, b: TV): TV {
    return add(this.t, a, b);
  }
  sub(a: TV, b: TV): TV {
    return sub(this.t, a, b);
  }
  mul(a: TV, b: TV): TV {
    return mul(this.t, a, b);
  }
  addScalar(x: TV, c: number): TV {
    return add(this.t, x, this.t.scalar(c));
  }
  mulScalar(x: TV, c: number): TV {
    return mul(this.t, x, this.t.scalar(c));
  }
  silu(x: TV): TV {
    return silu(this.t, x);
  }
  gelu(x: TV): TV {
    return gelu(this.t, x);
  }
  concat(xs: readonly TV[]): TV {
    return concat(this.t, xs, 1);
  }
  chunk(x: TV, parts: number): TV[] {
    return split(this.t, x, new Array<number>(parts).fill(x.s[1] / parts), 1);
  }
  vectorToImage(v: TV): TV {
    return reshape(this.t, v, [v.s[0], v.s[1], 1, 1]);
  }
  meanHW(x: TV): TV {
    return meanHW(this.t, x);
  }
  localMeanHW(x: TV, window: number): TV {
    const [, , H, W] = x.s;
    if (window >= H && window >= W) return this.meanHW(x);
    return localMeanHW(this.t, x, window);
  }
  upsample2(x: TV): TV {
    return upsample2(this.t, x);
  }
  pixelShuffle2(x: TV): TV {
    return pixelShuffle2(this.t, x);
  }
  padToMultiple(x: TV, m: number): TV {
    if (x.s[2] % m !== 0 || x.s[3] % m !== 0) throw new RangeError(`exportOnnxTrainingGraph: height and width must be multiples of ${m}, got ${x.s[2]}x${x.s[3]}`);
    return x;
  }
  cropLike(x: TV, like: TV): TV {
    if (x.s[2] !== like.s[2] || x.s[3] !== like.s[3]) throw new Error(`exportOnnxTrainingGraph: crop [${x.s}] to [${like.s}]`);
    return x;
  }
  projectToHeads(x: TV, l: Conv2d, part: number, parts: number, heads: number): TV {
    // One convolution per part from a slice of the kernel's rows (ONNX Runtime never splits a large output).
    const [B, , H, W] = x.s;
    const rows = l.cout / parts;
    const w = slice(this.t, this.#torch(l.weight.name), 0, part * rows, (part + 1) * rows);
    const y = conv(this.t, x, w, null, { k: 1, stride: 1, pad: 0, depthwise: false, im2colBytes: this.im2colBytes });
    return reshape(this.t, y, [B, heads, rows / heads, H * W]);
  }
  projectFromHeads(o: TV, l: Conv2d, like: TV): TV {
    const [B, h, d] = o.s;
    return this.conv(reshape(this.t, o, [B, h * d, like.s[2], like.s[3]]), l);
  }
  softmax(x: TV, axis: 2 | 3): TV {
    return softmax(this.t, x, axis);
  }
  matmul(a: TV, b: TV, transposeA = false, transposeB = false): TV {
    const swap = [0, 1, 3, 2];
    return matmul(this.t, transposeA ? transpose(this.t, a, swap) : a, transposeB ? transpose(this.t, b, swap) : b);
  }
  scaleByPositions(x: TV, c: number, like: TV): TV {
    return this.mulScalar(x, c / (like.s[2] * like.s[3]));
  }
  block(f: () => TV): TV {
    return f();
  }
  stage(_name: string, x: TV): TV {
    return x;
  }
}
