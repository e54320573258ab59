/**
 * The FLOP count of a forward pass, read off the network's own description by running it on
 * shapes: an {@link Ops} whose values are logical shapes and which adds up the multiply-accumulates
 * of the convolutions, linear layers and attention matrix products.
 */
import { checkPart, type Conv2d, type LayerNorm, type Linear, type Param } from './module.js';
import type { Ops } from './ops.js';

/** A logical shape, as {@link Ops} describes them: images `[B, C, H, W]`, vectors `[B, C]`, head tensors `[B, heads, d, N]`. */
type Shape = readonly number[];

function broadcast(a: Shape, b: Shape): Shape {
  if (a.length !== b.length) throw new Error(`forwardFlops: rank mismatch [${a}] vs [${b}]`);
  return a.map((d, i) => {
    if (d !== b[i] && d !== 1 && b[i] !== 1) throw new Error(`forwardFlops: cannot broadcast [${a}] with [${b}]`);
    return Math.max(d, b[i]);
  });
}

/** Shape-only {@link Ops} counting multiply-accumulates (element-wise work is not counted). */
export class FlopCounter implements Ops<Shape> {
  /** Multiply-accumulates so far. */
  macs = 0;
  /** @param batch - the batch size `B` of the traced pass. */
  constructor(private readonly batch: number) {}

  timeEmbedding(dim: number): Shape {
    return [this.batch, dim];
  }
  conv(x: Shape, l: Conv2d): Shape {
    const [B, C, H, W] = x;
    if (C !== l.cin) throw new Error(`forwardFlops: ${l.weight.name} takes ${l.cin} channels, got ${C}`);
    const Ho = Math.floor((H + 2 * l.pad - l.k) / l.stride) + 1;
    const Wo = Math.floor((W + 2 * l.pad - l.k) / l.stride) + 1;
    this.macs += B * Ho * Wo * l.cout * (l.depthwise ? 1 : l.cin) * l.k * l.k;
    return [B, l.cout, Ho, Wo];
  }
  linear(x: Shape, l: Linear): Shape {
    if (x[1] !== l.cin) throw new Error(`forwardFlops: ${l.weight.name} takes ${l.cin} features, got ${x[1]}`);
    this.macs += x[0] * l.cin * l.cout;
    return [x[0], l.cout];
  }
  layerNorm(x: Shape, _l: LayerNorm): Shape {
    return x;
  }
  gain(_p: Param): Shape {
    return [1, 1, 1, 1];
  }
  add(a: Shape, b: Shape): Shape {
    return broadcast(a, b);
  }
  sub(a: Shape, b: Shape): Shape {
    return broadcast(a, b);
  }
  mul(a: Shape, b: Shape): Shape {
    return broadcast(a, b);
  }
  addScalar(x: Shape): Shape {
    return x;
  }
  mulScalar(x: Shape): Shape {
    return x;
  }
  silu(x: Shape): Shape {
    return x;
  }
  gelu(x: Shape): Shape {
    return x;
  }
  concat(xs: readonly Shape[]): Shape {
    const s = [...xs[0]];
    s[1] = xs.reduce((n, x) => n + x[1], 0);
    return s;
  }
  convPart(x: Shape, l: Conv2d, part: number, parts: number): Shape {
    checkPart(l, part, parts, 'forwardFlops');
    const [B, C, H, W] = x;
    const cin = l.depthwise ? l.cin / parts : l.cin;
    if (C !== cin) throw new Error(`forwardFlops: part ${part}/${parts} of ${l.weight.name} takes ${cin} channels, got ${C}`);
    const Ho = Math.floor((H + 2 * l.pad - l.k) / l.stride) + 1;
    const Wo = Math.floor((W + 2 * l.pad - l.k) / l.stride) + 1;
    const cout = l.cout / parts;
    this.macs += B * Ho * Wo * cout * (l.depthwise ? 1 : l.cin) * l.k * l.k;
    return [B, cout, Ho, Wo];
  }
  convGain(x: Shape, l: Conv2d, _g: Param): Shape {
    return this.conv(x, l);
  }
  modulatedLayerNorm(x: Shape, _l: LayerNorm, _scale: Shape, _shift: Shape): Shape {
    return x;
  }
  chunk(x: Shape, parts: number): Shape[] {
    const s = [...x];
    s[1] = x[1] / parts;
    return Array.from({ length: parts }, () => s);
  }
  vectorToImage(v: Shape): Shape {
    return [v[0], v[1], 1, 1];
  }
  meanHW(x: Shape): Shape {
    return [x[0], x[1], 1, 1];
  }
  localMeanHW(x: Shape, window: number): Shape {
    // Element-wise work (cumulative sums), not counted; what follows runs on the full map unless the window covers it.
    return window >= x[2] && window >= x[3] ? this.meanHW(x) : x;
  }
  upsample2(x: Shape): Shape {
    return [x[0], x[1], 2 * x[2], 2 * x[3]];
  }
  pixelShuffle2(x: Shape): Shape {
    return [x[0], x[1] / 4, 2 * x[2], 2 * x[3]];
  }
  padToMultiple(x: Shape, m: number): Shape {
    return [x[0], x[1], Math.ceil(x[2] / m) * m, Math.ceil(x[3] / m) * m];
  }
  cropLike(x: Shape, like: Shape): Shape {
    return [x[0], x[1], like[2], like[3]];
  }
  projectToHeads(x: Shape, l: Conv2d, _part: number, parts: number, heads: number): Shape {
    const rows = l.cout / parts;
    this.macs += x[0] * x[2] * x[3] * l.cin * rows;
    return [x[0], heads, rows / heads, x[2] * x[3]];
  }
  projectFromHeads(o: Shape, l: Conv2d, like: Shape): Shape {
    this.macs += o[0] * o[3] * l.cin * l.cout;
    return [o[0], l.cout, like[2], like[3]];
  }
  softmax(x: Shape): Shape {
    return x;
  }
  matmul(a: Shape, b: Shape, ta = false, tb = false): Shape {
    const [m, k] = ta ? [a[3], a[2]] : [a[2], a[3]];
    const n = tb ? b[2] : b[3];
    this.macs += a[0] * a[1] * m * k * n;
    return [a[0], a[1], m, n];
  }
  scaleByPositions(x: Shape): Shape {
    return x;
  }
  block(f: () => Shape): Shape {
    return f();
  }
  stage(_name: string, x: Shape): Shape {
    return x;
  }
}
