/**
 * The building blocks of the original code's networks (its U-Net's and NAFNet's modules, in
 * https://github.com/Algolzw/image-restoration-sde), each written once: parameters in the constructor (PyTorch names, registration order), the
 * computation in `forward` over the primitive {@link Ops}.
 */
import { Conv2d, LayerNorm, Linear, Module, NoParams, type Param } from '../arch/module.js';
import type { Ops } from '../arch/ops.js';

/** Heads of every attention block (fixed by the original, independent of the width). */
export const ATTN_HEADS = 4;
/** Channels per attention head. */
export const ATTN_DIM_HEAD = 32;

/** A `Sequential` of modules whose indices are PyTorch's (`NoParams` fills parameter-free slots). */
export class Sequential<M extends Module = Module> extends Module {
  /** The modules, by index. */
  readonly items: M[];
  /** @param items - the modules in order. */
  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.child(i, m));
  }
}

/**
 * The input of a conditional network's first convolution: `concat(x_t - mu, mu)` as in the
 * original, or `concat(x_t - mu, mu, extra)` when the condition `cond` holds `extra` channels
 * after the `channels` of `mu` (`extraCondChannels`, e.g. an inpainting mask): `cond` is then
 * `concat(mu, extra)`, and `mu` is read back from its first `channels` channels.
 */
export function conditionedInput<V>(ops: Ops<V>, xt: V, cond: V, channels: number, extra: number): V {
  let mu = cond;
  if (extra > 0) {
    // One-channel parts (the Ops have equal chunks only); the first `channels` are mu.
    const parts = ops.chunk(cond, channels + extra).slice(0, channels);
    mu = channels === 1 ? parts[0] : ops.concat(parts);
  }
  return ops.concat([ops.sub(xt, mu), cond]);
}

/** `SimpleGate`: `x1 * x2` of the two channel halves. */
export function simpleGate<V>(ops: Ops<V>, x: V): V {
  const [a, b] = ops.chunk(x, 2);
  return ops.mul(a, b);
}

/** `Block`: `act(proj(x) * (scale + 1) + shift)` (a 3x3 convolution without bias). */
class Block extends Module {
  readonly proj: Conv2d;
  constructor(cin: number, cout: number) {
    super();
    this.proj = this.child('proj', new Conv2d(cin, cout, 3, { bias: false }));
  }
  forward<V>(ops: Ops<V>, x: V, scaleShift?: readonly [V, V]): V {
    let h = ops.conv(x, this.proj);
    if (scaleShift !== undefined) h = ops.add(ops.mul(h, ops.addScalar(scaleShift[0], 1)), scaleShift[1]);
    return ops.silu(h);
  }
}

/** `ResBlock` with time scale-shift: `mlp = Sequential(SiLU, Linear(tdim, 2 cout))`, two `Block`s, a 1x1 `res_conv` when `cin != cout`. */
export class ResBlock extends Module {
  readonly mlp: Sequential;
  readonly block1: Block;
  readonly block2: Block;
  readonly resConv: Conv2d | null;
  /** @param cin - input channels; @param cout - output channels; @param tdim - time embedding width. */
  constructor(cin: number, cout: number, tdim: number) {
    super();
    this.mlp = this.child('mlp', new Sequential([new NoParams(), new Linear(tdim, 2 * cout)]));
    this.block1 = this.child('block1', new Block(cin, cout));
    this.block2 = this.child('block2', new Block(cout, cout));
    this.resConv = cin !== cout ? this.child('res_conv', new Conv2d(cin, cout, 1, { bias: false })) : null;
  }
  /** @param temb - the time embedding `[B, tdim]`. */
  forward<V>(ops: Ops<V>, x: V, temb: V): V {
    return ops.block(() => {
      const ss = ops.vectorToImage(ops.linear(ops.silu(temb), this.mlp.items[1] as Linear));
      const [scale, shift] = ops.chunk(ss, 2);
      const h = this.block2.forward(ops, this.block1.forward(ops, x, [scale, shift]));
      return ops.add(h, this.resConv === null ? x : ops.conv(x, this.resConv));
    });
  }
}

/**
 * `LinearAttention(dim)` (4 heads of 32): `q` softmaxed over each head's channels, `k` over the
 * positions, `out = (v k^T / (H W)) q / sqrt(32)` per head, then `to_out = Sequential(Conv 1x1,
 * LayerNorm)`. The factors are applied to the small `[32, 32]` context.
 */
export class LinearAttention extends Module {
  readonly toQkv: Conv2d;
  readonly toOut: Sequential;
  constructor(dim: number) {
    super();
    const hidden = ATTN_HEADS * ATTN_DIM_HEAD;
    this.toQkv = this.child('to_qkv', new Conv2d(dim, 3 * hidden, 1, { bias: false }));
    this.toOut = this.child('to_out', new Sequential<Module>([new Conv2d(hidden, dim, 1), new LayerNorm(dim)]));
  }
  forward<V>(ops: Ops<V>, x: V): V {
    const [q, k, v] = [0, 1, 2].map((part) => ops.projectToHeads(x, this.toQkv, part, 3, ATTN_HEADS));
    const qs = ops.softmax(q, 2);
    const ks = ops.softmax(k, 3);
    // context^T[e, d] = sum_n v[e, n] k[d, n]; out[e, n] = sum_d context^T[e, d] q[d, n]
    const ctxT = ops.scaleByPositions(ops.matmul(v, ks, false, true), 1 / Math.sqrt(ATTN_DIM_HEAD), x);
    const y = ops.projectFromHeads(ops.matmul(ctxT, qs), this.toOut.items[0] as Conv2d, x);
    return ops.layerNorm(y, this.toOut.items[1] as LayerNorm);
  }
}

/**
 * `Attention(dim)` (4 heads of 32, full softmax attention over the `H W` positions), as in the
 * middle block of the unconditional U-Net: `out = v softmax(q^T k / sqrt(32))^T`, then `to_out`.
 */
export class Attention extends Module {
  readonly toQkv: Conv2d;
  readonly toOut: Conv2d;
  constructor(dim: number) {
    super();
    const hidden = ATTN_HEADS * ATTN_DIM_HEAD;
    this.toQkv = this.child('to_qkv', new Conv2d(dim, 3 * hidden, 1, { bias: false }));
    this.toOut = this.child('to_out', new Conv2d(hidden, dim, 1));
  }
  forward<V>(ops: Ops<V>, x: V): V {
    const [q, k, v] = [0, 1, 2].map((part) => ops.projectToHeads(x, this.toQkv, part, 3, ATTN_HEADS));
    // sim[i, j] = sum_d q[d, i] k[d, j] / sqrt(32), softmax over j; out^T[d, i] = sum_j v[d, j] attn[i, j]
    const attn = ops.softmax(ops.matmul(ops.mulScalar(q, 1 / Math.sqrt(ATTN_DIM_HEAD)), k, true, false), 3);
    return ops.projectFromHeads(ops.matmul(v, attn, false, true), this.toOut, x);
  }
}

/** `Residual(PreNorm(dim, fn))`: `x + fn(LayerNorm(x))`; `fn` is registered before `norm`, as in PyTorch. */
export class PreNormResidual extends Module {
  readonly inner: PreNorm;
  constructor(dim: number, fn: LinearAttention | Attention) {
    super();
    this.inner = this.child('fn', new PreNorm(dim, fn));
  }
  forward<V>(ops: Ops<V>, x: V): V {
    return ops.block(() => ops.add(x, this.inner.fn.forward(ops, ops.layerNorm(x, this.inner.norm))));
  }
}

class PreNorm extends Module {
  readonly fn: LinearAttention | Attention;
  readonly norm: LayerNorm;
  constructor(dim: number, fn: LinearAttention | Attention) {
    super();
    this.fn = this.child('fn', fn);
    this.norm = this.child('norm', new LayerNorm(dim));
  }
}

/**
 * `NAFBlock(c, time_emb_dim)` of Refusion's `ConditionalNAFNet`: LayerNorm, time scale-shift, 1x1
 * conv to `2c`, depthwise 3x3, SimpleGate, simplified channel attention, 1x1 conv, `y = x + beta
 * out`; then LayerNorm, scale-shift, 1x1 to `2c`, SimpleGate, 1x1, `y + gamma out`. The channel
 * attention's mean is global, or local with a `localWindow` (test-time local statistics). `beta` and
 * `gamma` (`[1, c, 1, 1]`, zero-initialised) are the block's own parameters, so they come first in
 * its `state_dict`.
 */
export class NAFBlock extends Module {
  readonly beta: Param;
  readonly gamma: Param;
  readonly mlp: Sequential;
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly conv3: Conv2d;
  readonly sca: Sequential;
  readonly conv4: Conv2d;
  readonly conv5: Conv2d;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  /**
   * The side, in this block's feature-map positions, of the window its channel attention averages
   * over ({@link Ops.localMeanHW}); `null`: the global mean of the original (`nn.AdaptiveAvgPool2d(1)`).
   */
  readonly localWindow: number | null;
  /**
   * @param c - channels; @param tdim - time embedding width (`4 width`).
   * @param localWindow - see {@link NAFBlock.localWindow} (default `null`).
   */
  constructor(c: number, tdim: number, localWindow: number | null = null) {
    super();
    this.localWindow = localWindow;
    this.mlp = this.child('mlp', new Sequential([new NoParams(), new Linear(tdim / 2, 4 * c)]));
    this.conv1 = this.child('conv1', new Conv2d(c, 2 * c, 1));
    this.conv2 = this.child('conv2', new Conv2d(2 * c, 2 * c, 3, { depthwise: true }));
    this.conv3 = this.child('conv3', new Conv2d(c, c, 1));
    this.sca = this.child('sca', new Sequential([new NoParams(), new Conv2d(c, c, 1)]));
    this.conv4 = this.child('conv4', new Conv2d(c, 2 * c, 1));
    this.conv5 = this.child('conv5', new Conv2d(c, c, 1));
    this.norm1 = this.child('norm1', new LayerNorm(c));
    this.norm2 = this.child('norm2', new LayerNorm(c));
    this.beta = this.param('beta', { torchShape: [1, c, 1, 1], kind: 'gain', fanIn: c, init: 0 });
    this.gamma = this.param('gamma', { torchShape: [1, c, 1, 1], kind: 'gain', fanIn: c, init: 0 });
  }
  /** @param t - the time embedding `[B, tdim]`. */
  forward<V>(ops: Ops<V>, inp: V, t: V): V {
    return ops.block(() => {
      const emb = ops.vectorToImage(ops.linear(simpleGate(ops, t), this.mlp.items[1] as Linear));
      const [shiftAtt, scaleAtt, shiftFfn, scaleFfn] = ops.chunk(emb, 4);
      let x = ops.modulatedLayerNorm(inp, this.norm1, scaleAtt, shiftAtt);
      // SimpleGate of conv2(conv1(x)): each half computed on its own (conv2 is depthwise, so each
      // half of its output needs only the same half of conv1's), with no split of a full output.
      const half = (p: number): V => ops.convPart(ops.convPart(x, this.conv1, p, 2), this.conv2, p, 2);
      x = ops.mul(half(0), half(1));
      const pooled = this.localWindow === null ? ops.meanHW(x) : ops.localMeanHW(x, this.localWindow);
      x = ops.mul(x, ops.conv(pooled, this.sca.items[1] as Conv2d));
      const y = ops.add(inp, ops.convGain(x, this.conv3, this.beta));
      x = ops.modulatedLayerNorm(y, this.norm2, scaleFfn, shiftFfn);
      x = ops.mul(ops.convPart(x, this.conv4, 0, 2), ops.convPart(x, this.conv4, 1, 2));
      return ops.add(y, ops.convGain(x, this.conv5, this.gamma));
    });
  }
}
