/**
 * The U-Net's building blocks as plain differentiable tfjs functions over NHWC float32 tensors.
 * They allocate intermediates freely: callers run them inside `tf.tidy` (or a gradient scope).
 */
import * as tf from '@tensorflow/tfjs-core';
// Registers tfjs-layers' gradients and the cpu backend in Node (tfjs-core alone has no gradients).
import '../../backend/tfjs.js';
import { ATTN_DIM_HEAD, ATTN_HEADS } from './config.js';

/** Looks up a parameter (tfjs layout) by its PyTorch name. */
export type ParamLookup = (name: string) => tf.Tensor;

/** SiLU (swish): `x * sigmoid(x)`. */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** Exact (erf) GELU, as PyTorch's `nn.GELU()` default. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** `x [N, in] @ w [in, out] (+ b [out])`. */
export function dense(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const y = tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
  return b === undefined ? y : tf.add(y, b);
}

/**
 * A 1x1 convolution as one matrix product over all pixels (cheaper than `conv2d` on every
 * backend, and free of copies: the reshapes are views). `w` is `[in, out]`.
 */
export function conv1x1(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const [B, H, W, C] = x.shape;
  const y = dense(tf.reshape(x, [B * H * W, C]), w, b);
  return tf.reshape(y, [B, H, W, w.shape[1] as number]);
}

/** A `k x k` convolution, stride 1, zero padding `k // 2` (odd `k`); `w` is `[k, k, in, out]`. */
export function convSame(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
  return b === undefined ? y : tf.add(y, b);
}

/**
 * Channel LayerNorm without bias (the original's `LayerNorm`): normalise over channels with the
 * biased variance and eps 1e-5, times the gain `g [C]`. In NHWC the channels are the last axis,
 * so no transpose is needed.
 */
export function channelLayerNorm(x: tf.Tensor, g: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g);
}

/**
 * The sinusoidal time embedding `[sin(t f_k), cos(t f_k)]`, `f_k = exp(-k ln(10000) / (half - 1))`,
 * evaluated with float32 rounding at each step as PyTorch does, so large `t` gives the same phases.
 * @returns `[B * dim]` row-major values (host memory).
 */
export function sinusoidalEmbedding(t: readonly number[], dim: number): Float32Array {
  const half = dim / 2;
  const step = Math.fround(-Math.log(10000) / (half - 1));
  const freqs = Array.from({ length: half }, (_, k) => Math.fround(Math.exp(Math.fround(k * step))));
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

/**
 * ResBlock with time scale-shift: `h = SiLU(conv3(x) (1 + scale) + shift)`,
 * `out = SiLU(conv3(h)) + res(x)`, where `[scale, shift] = Linear(SiLU(temb))`.
 * @param x - `[B, H, W, cin]`.
 * @param tembAct - `SiLU(temb)`, `[B, 4 nf]` (shared by all blocks, so computed once).
 * @param p - the block's PyTorch prefix (e.g. `downs.0.1`).
 */
export function resBlock(x: tf.Tensor, tembAct: tf.Tensor, param: ParamLookup, p: string, hasResConv: boolean): tf.Tensor {
  // Each block frees its intermediates on return: inference then holds one block's activations
  // at a time instead of the whole network's (wasm's heap is 4 GiB). Under a gradient tape tfjs
  // keeps its own copies of what the backward pass needs, so training is unaffected.
  return tf.tidy(() => {
    const ss = dense(tembAct, param(`${p}.mlp.1.weight`), param(`${p}.mlp.1.bias`));
    const cout = (ss.shape[1] as number) / 2;
    const B = x.shape[0];
    const [scale, shift] = tf.split(tf.reshape(ss, [B, 1, 1, 2 * cout]), 2, 3);
    let h = convSame(x, param(`${p}.block1.proj.weight`));
    h = silu(tf.add(tf.mul(h, tf.add(scale, 1)), shift));
    h = silu(convSame(h, param(`${p}.block2.proj.weight`)));
    return tf.add(h, hasResConv ? conv1x1(x, param(`${p}.res_conv.weight`)) : x);
  });
}

/**
 * LinearAttention (4 heads of 32): q softmaxed over each head's 32 channels, k over the `H*W`
 * positions, `out = q (k^T v) * 32^-0.5 / (H W)`, then a 1x1 conv (`to_out.0`) and a channel
 * LayerNorm.
 *
 * Arranged for speed on CPU backends (wasm above all) without changing the maths, only the
 * rounding order:
 * - k is produced channel-major, `k^T = W_k^T x^T` (`[128, N]` per image), so its softmax over
 *   positions is a last-axis `tf.softmax` (fast, and its gradient needs no max mask) and each
 *   head's `k_h^T v_h` is an untransposed product; only the narrow input `x` is transposed.
 * - v is produced per head (`[N, 32]` each), so no activation-sized transpose or split is needed.
 * - The output projection is folded into the small context: `q_h (c_h W_h) ` with
 *   `W_h` the head's rows of `to_out.0.weight`, so `out` is one `[N, 128] x [128, C]` product and
 *   the heads never have to be merged back. The two scalar factors are applied to the context.
 * @param x - the normalised input `[B, H, W, C]`; `p` is the `...fn.fn` prefix.
 */
export function linearAttention(x: tf.Tensor, param: ParamLookup, p: string): tf.Tensor {
  const [B, H, W, C] = x.shape;
  const N = H * W;
  const heads = ATTN_HEADS;
  const d = ATTN_DIM_HEAD;
  const hidden = heads * d;
  const wQkv = param(`${p}.to_qkv.weight`); // [C, 3 * hidden], PyTorch channel order (part, head, c)
  const wOut = param(`${p}.to_out.0.weight`); // [hidden, C]
  const xFlat = tf.reshape(x, [B * N, C]);
  // q: softmax over each head's 32 channels (the last axis once viewed as [B*N*heads, d]).
  const q = tf.matMul(xFlat as tf.Tensor2D, tf.slice(wQkv, [0, 0], [C, hidden]) as tf.Tensor2D);
  const qs = tf.reshape(tf.softmax(tf.reshape(q, [B * N * heads, d])), [B, N, hidden]);
  // k^T per image, [hidden, N]: softmax over positions on the last axis.
  const wkT = tf.transpose(tf.slice(wQkv, [0, hidden], [C, hidden])) as tf.Tensor2D;
  const xT = tf.transpose(tf.reshape(x, [B, N, C]), [0, 2, 1]);
  const kTs: tf.Tensor[] = [];
  for (let b = 0; b < B; b++) {
    const xb = tf.reshape(B === 1 ? xT : tf.slice(xT, [b, 0, 0], [1, C, N]), [C, N]) as tf.Tensor2D;
    kTs.push(tf.reshape(tf.matMul(wkT, xb), [1, hidden, N]));
  }
  // concat, not stack: its gradient is a split (fast slices on wasm), stack's is a slow Unpack.
  const ks = tf.softmax(B === 1 ? kTs[0] : tf.concat(kTs, 0));
  const scale = 1 / (Math.sqrt(d) * N);
  const folded: tf.Tensor[] = [];
  for (let h = 0; h < heads; h++) {
    const vh = tf.reshape(tf.matMul(xFlat as tf.Tensor2D, tf.slice(wQkv, [0, 2 * hidden + h * d], [C, d]) as tf.Tensor2D), [B, N, d]);
    const kh = tf.slice(ks, [0, h * d, 0], [B, d, N]);
    const context = tf.mul(tf.matMul(kh as tf.Tensor3D, vh as tf.Tensor3D), scale); // [B, d, d]
    const wh = tf.slice(wOut, [h * d, 0], [d, C]) as tf.Tensor2D;
    folded.push(tf.reshape(tf.matMul(tf.reshape(context, [B * d, d]) as tf.Tensor2D, wh), [B, d, C]));
  }
  const m = tf.concat(folded, 1); // [B, hidden, C]: block-diagonal context times to_out.0.weight
  const y = tf.add(tf.matMul(qs as tf.Tensor3D, m as tf.Tensor3D), param(`${p}.to_out.0.bias`));
  return channelLayerNorm(tf.reshape(y, [B, H, W, C]), param(`${p}.to_out.1.g`));
}

/** `Residual(PreNorm(LinearAttention))`: `x + attn(LayerNorm(x))`; `p` is e.g. `downs.0.2`. */
export function attentionBlock(x: tf.Tensor, param: ParamLookup, p: string): tf.Tensor {
  // Frees its intermediates on return, as resBlock does.
  return tf.tidy(() => tf.add(x, linearAttention(channelLayerNorm(x, param(`${p}.fn.norm.g`)), param, `${p}.fn.fn`)));
}
