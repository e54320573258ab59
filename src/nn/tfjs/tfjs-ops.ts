/**
 * The network primitives ({@link Ops}) on tfjs: images NHWC (the channel axis is the last), head
 * tensors `[B, heads, d, N]`, parameters in tfjs layouts (see `./layout.ts`). Every op is an
 * ordinary differentiable tfjs op, so gradients reach every variable through `predict`.
 * Intermediates are freed by the caller's `tf.tidy` (and per block, see {@link TfjsOps.block}).
 */
import * as tf from '@tensorflow/tfjs-core';
// Registers tfjs-layers' gradients and the cpu backend in Node (tfjs-core alone has no gradients).
import '../../backend/tfjs.js';
import { checkPart, type Conv2d, type LayerNorm, type Linear, type Param } from '../arch/module.js';
import { localWindowReach, localWindowScale, type Ops } from '../arch/ops.js';

/** Looks up a parameter (tfjs layout) by its PyTorch name. */
export type ParamLookup = (name: string) => tf.Tensor;

/**
 * The sinusoidal time embedding `[sin(t f_k), cos(t f_k)]`, `f_k = exp(-k ln(10000) / (half - 1))`,
 * evaluated with float32 rounding at each step as PyTorch does, so large `t` gives the same phases.
 * @returns `[B * dim]` row-major values (host memory).
 */
export function sinusoidalEmbedding(t: readonly number[], dim: number): Float32Array {
  const freqs = timeFrequencies(dim);
  const half = dim / 2;
  const out = new Float32Array(t.length * dim);
  t.forEach((tb, b) => {
    const tf32 = Math.fround(tb);
    for (let k = 0; k < half; k++) {
      const arg = Math.fround(tf32 * freqs[k]);
      out[b * dim + k] = Math.sin(arg);
      out[b * dim + half + k] = Math.cos(arg);
    }
  });
  return out;
}

/** Frequencies of the sinusoidal time embedding, `exp(-k ln(1e4) / (half - 1))`, rounded as float32 maths does. */
export function timeFrequencies(dim: number): number[] {
  const half = dim / 2;
  const step = Math.fround(-Math.log(10000) / (half - 1));
  return Array.from({ length: half }, (_, k) => Math.fround(Math.exp(Math.fround(k * step))));
}

/**
 * Sums over the clipped window of each position along the last axis (length `n`): `S[min(n, i +
 * after + 1)] - S[max(0, i - before)]` of the exclusive prefix sums `S` (a zero, then `cumsum`),
 * read with two gathers. The last axis only: tfjs's cumsum gradient is wrong on other axes
 * (it transposes a gradient that is not transposed).
 */
function boxSumLast(x: tf.Tensor, window: number): tf.Tensor {
  const axis = x.rank - 1;
  const n = x.shape[axis] as number;
  const { before, after } = localWindowReach(window);
  const prefix = tf.concat([tf.zeros([...x.shape.slice(0, axis), 1]), tf.cumsum(x, axis)], axis);
  const hi = tf.tensor1d(Array.from({ length: n }, (_, i) => Math.min(n, i + after + 1)), 'int32');
  const lo = tf.tensor1d(Array.from({ length: n }, (_, i) => Math.max(0, i - before)), 'int32');
  return tf.sub(tf.gather(prefix, hi, axis), tf.gather(prefix, lo, axis));
}

/** {@link Ops} on tfjs tensors (see the file comment). Built per forward pass. */
export class TfjsOps implements Ops<tf.Tensor> {
  /** x transposed to `[B, C, N]`, shared by the q/k/v projections of one input. */
  readonly #channelsFirst = new WeakMap<tf.Tensor, tf.Tensor>();

  /**
   * @param param - the parameter lookup; @param times - one diffusion time per batch element.
   * @param hook - called for each named stage (see `TfjsNetwork.trace`).
   */
  constructor(
    private readonly param: ParamLookup,
    private readonly times: readonly number[],
    private readonly hook?: (name: string, value: tf.Tensor) => void,
  ) {}

  timeEmbedding(dim: number): tf.Tensor {
    return tf.tensor2d(sinusoidalEmbedding(this.times, dim), [this.times.length, dim]);
  }

  conv(x: tf.Tensor, l: Conv2d): tf.Tensor {
    return this.#convWith(x, l, this.param(l.weight.name), l.bias === null ? null : this.param(l.bias.name), l.cout);
  }

  convPart(x: tf.Tensor, l: Conv2d, part: number, parts: number): tf.Tensor {
    checkPart(l, part, parts, 'convPart');
    const n = l.cout / parts;
    const w = this.param(l.weight.name);
    // The output channels are the last axis of the tfjs kernel ([k, k, cin, cout] or [cin, cout]); a depthwise kernel [k, k, C, 1] holds them on axis 2.
    const axis = l.depthwise ? 2 : w.rank - 1;
    const begin = w.shape.map((_, i) => (i === axis ? part * n : 0));
    const size = w.shape.map((d, i) => (i === axis ? n : d));
    const b = l.bias === null ? null : tf.slice(this.param(l.bias.name), [part * n], [n]);
    return this.#convWith(x, l, tf.slice(w, begin, size), b, n);
  }

  #convWith(x: tf.Tensor, l: Conv2d, w: tf.Tensor, bias: tf.Tensor | null, cout: number): tf.Tensor {
    let y: tf.Tensor;
    if (l.depthwise) {
      y = tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, l.stride, this.#pad(l));
    } else if (l.k === 1 && l.stride === 1 && l.pad === 0) {
      // One matrix product over all pixels (cheaper than conv2d everywhere; the reshapes are views).
      const [B, H, W, C] = x.shape;
      y = tf.reshape(tf.matMul(tf.reshape(x, [B * H * W, C]) as tf.Tensor2D, w as tf.Tensor2D), [B, H, W, cout]);
    } else {
      y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, l.stride, this.#pad(l));
    }
    return bias === null ? y : tf.add(y, bias);
  }

  #pad(l: Conv2d): 'same' | 'valid' | number {
    if (l.pad === 0) return 'valid';
    return l.stride === 1 && l.k % 2 === 1 && l.pad === (l.k - 1) / 2 ? 'same' : l.pad;
  }

  linear(x: tf.Tensor, l: Linear): tf.Tensor {
    return tf.add(tf.matMul(x as tf.Tensor2D, this.param(l.weight.name) as tf.Tensor2D), this.param(l.bias.name));
  }

  layerNorm(x: tf.Tensor, l: LayerNorm): tf.Tensor {
    // NHWC: the channels are the last axis, so no transpose is needed.
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), this.param(l.g.name));
  }

  modulatedLayerNorm(x: tf.Tensor, l: LayerNorm, scale: tf.Tensor, shift: tf.Tensor): tf.Tensor {
    return tf.add(tf.mul(this.layerNorm(x, l), tf.add(scale, 1)), shift);
  }

  convGain(x: tf.Tensor, l: Conv2d, g: Param): tf.Tensor {
    return tf.mul(this.conv(x, l), this.gain(g));
  }
  gain(p: Param): tf.Tensor {
    return this.param(p.name); // [C] broadcasts over NHWC's last axis
  }

  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.add(a, b);
  }
  sub(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.sub(a, b);
  }
  mul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.mul(a, b);
  }
  addScalar(x: tf.Tensor, c: number): tf.Tensor {
    return tf.add(x, c);
  }
  mulScalar(x: tf.Tensor, c: number): tf.Tensor {
    return tf.mul(x, c);
  }
  silu(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, tf.sigmoid(x));
  }
  gelu(x: tf.Tensor): tf.Tensor {
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
  }
  concat(xs: readonly tf.Tensor[]): tf.Tensor {
    return tf.concat(xs as tf.Tensor[], -1);
  }
  chunk(x: tf.Tensor, parts: number): tf.Tensor[] {
    return tf.split(x, parts, -1);
  }
  vectorToImage(v: tf.Tensor): tf.Tensor {
    return tf.reshape(v, [v.shape[0], 1, 1, v.shape[1] as number]);
  }
  meanHW(x: tf.Tensor): tf.Tensor {
    return tf.mean(x, [1, 2], true);
  }
  localMeanHW(x: tf.Tensor, window: number): tf.Tensor {
    const [, H, W] = x.shape as number[];
    if (window >= H && window >= W) return this.meanHW(x);
    // Window sums along W in [B, C, H, W], then along H in [B, C, W, H] (a rectangle's sum is
    // separable), back to NHWC, then one product with 1 / (positions inside), an [1, H, W, 1] table.
    const alongW = boxSumLast(tf.transpose(x, [0, 3, 1, 2]), window);
    const sums = tf.transpose(boxSumLast(tf.transpose(alongW, [0, 1, 3, 2]), window), [0, 3, 2, 1]);
    return tf.mul(sums, tf.tensor4d(localWindowScale(H, W, window), [1, H, W, 1]));
  }
  upsample2(x: tf.Tensor): tf.Tensor {
    // Source index floor(dst / 2), as nn.Upsample(scale_factor=2, mode='nearest').
    const [, h, w] = x.shape;
    return tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [2 * h, 2 * w]);
  }
  pixelShuffle2(x: tf.Tensor): tf.Tensor {
    // PyTorch's channel c*4 + 2i + j goes to pixel (2h + i, 2w + j): [BH, W, C, i, j] -> [BH, i, W, j, C].
    const [B, H, W, C4] = x.shape;
    const C = C4 / 4;
    const t = tf.transpose(tf.reshape(x, [B * H, W, C, 2, 2]), [0, 3, 1, 4, 2]);
    return tf.reshape(t, [B, 2 * H, 2 * W, C]);
  }
  padToMultiple(x: tf.Tensor, m: number, mode: 'reflect' | 'zero'): tf.Tensor {
    const [, H, W] = x.shape;
    const ph = (m - (H % m)) % m;
    const pw = (m - (W % m)) % m;
    if (ph === 0 && pw === 0) return x;
    const pads: [number, number][] = [
      [0, 0],
      [0, ph],
      [0, pw],
      [0, 0],
    ];
    return mode === 'reflect' ? tf.mirrorPad(x, pads, 'reflect') : tf.pad(x, pads);
  }
  cropLike(x: tf.Tensor, like: tf.Tensor): tf.Tensor {
    const [B, H, W] = like.shape;
    return x.shape[1] === H && x.shape[2] === W ? x : tf.slice(x, [0, 0, 0, 0], [B, H, W, x.shape[3] as number]);
  }

  projectToHeads(x: tf.Tensor, l: Conv2d, part: number, parts: number, heads: number): tf.Tensor {
    // Channel-major output, W_p^T x^T per image ([rows, N]): only the narrow input is transposed.
    const [B, H, W, C] = x.shape;
    const N = H * W;
    const rows = l.cout / parts;
    let xT = this.#channelsFirst.get(x);
    if (xT === undefined) {
      xT = tf.transpose(tf.reshape(x, [B, N, C]), [0, 2, 1]);
      this.#channelsFirst.set(x, xT);
    }
    const wT = tf.transpose(tf.slice(this.param(l.weight.name), [0, part * rows], [C, rows])) as tf.Tensor2D;
    const perItem: tf.Tensor[] = [];
    for (let b = 0; b < B; b++) {
      const xb = tf.reshape(B === 1 ? xT : tf.slice(xT, [b, 0, 0], [1, C, N]), [C, N]) as tf.Tensor2D;
      perItem.push(tf.reshape(tf.matMul(wT, xb), [1, rows, N]));
    }
    // concat, not stack: its gradient is a split (fast slices on wasm), stack's is a slow Unpack.
    const y = B === 1 ? perItem[0] : tf.concat(perItem, 0);
    return tf.reshape(y, [B, heads, rows / heads, N]);
  }

  projectFromHeads(o: tf.Tensor, l: Conv2d, like: tf.Tensor): tf.Tensor {
    // Channel-major per image, W^T o ([C, N], an untransposed product), then one transpose of the
    // narrow result to NHWC (transposing o itself would move hd = 128 channels).
    const [B, h, d, N] = o.shape as number[];
    const [, H, W] = like.shape as number[];
    const wT = tf.transpose(this.param(l.weight.name)) as tf.Tensor2D; // [C, h d]
    const merged = tf.reshape(o, [B, h * d, N]);
    const perItem: tf.Tensor[] = [];
    for (let b = 0; b < B; b++) {
      const ob = tf.reshape(B === 1 ? merged : tf.slice(merged, [b, 0, 0], [1, h * d, N]), [h * d, N]) as tf.Tensor2D;
      perItem.push(tf.reshape(tf.matMul(wT, ob), [1, l.cout, N]));
    }
    let y = tf.transpose(B === 1 ? perItem[0] : tf.concat(perItem, 0), [0, 2, 1]);
    if (l.bias !== null) y = tf.add(y, this.param(l.bias.name));
    return tf.reshape(y, [B, H, W, l.cout]);
  }

  softmax(x: tf.Tensor, axis: 2 | 3): tf.Tensor {
    // Over d: transposed to the last axis and back (tfjs reduces a non-last axis by transposing it
    // anyway, twice for max and sum; this is ~1.5x faster on wasm, and both ops have fast gradients).
    return axis === 3 ? tf.softmax(x) : tf.transpose(tf.softmax(tf.transpose(x, [0, 1, 3, 2])), [0, 1, 3, 2]);
  }

  matmul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
    const [B, h, ar, ac] = a.shape as number[];
    const [, , br, bc] = b.shape as number[];
    const y = tf.matMul(tf.reshape(a, [B * h, ar, ac]) as tf.Tensor3D, tf.reshape(b, [B * h, br, bc]) as tf.Tensor3D, transposeA, transposeB);
    return tf.reshape(y, [B, h, y.shape[1] as number, y.shape[2] as number]);
  }

  scaleByPositions(x: tf.Tensor, c: number, like: tf.Tensor): tf.Tensor {
    return tf.mul(x, c / ((like.shape[1] as number) * (like.shape[2] as number)));
  }

  block(f: () => tf.Tensor): tf.Tensor {
    // Frees the block's intermediates on return: inference then holds one block's activations at a
    // time (wasm's heap is 4 GiB). Under a gradient tape tfjs keeps what the backward pass needs.
    return tf.tidy(f);
  }

  stage(name: string, x: tf.Tensor): tf.Tensor {
    this.hook?.(name, x);
    return x;
  }
}
