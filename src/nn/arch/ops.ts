/**
 * The primitives networks are written in. A network's `forward` (and each block's) is written once
 * against this interface; tfjs, the ONNX inference graph, the ONNX training graph (differentiated
 * op by op at graph-build time) and the FLOP count each implement it (the README's Architecture
 * section: "Networks are described once").
 *
 * Values have logical shapes, whatever their physical layout on a backend:
 * - images `[B, C, H, W]` (tfjs stores them NHWC, ONNX NCHW; "channel axis" means C);
 * - vectors `[B, C]` (time embeddings);
 * - head tensors `[B, heads, d, N]` with `N = H * W` (attention; the same layout everywhere).
 */
import type { Conv2d, LayerNorm, Linear, Param } from './module.js';

/** The primitive operations of a network's forward pass over values `V` (see the file comment). */
export interface Ops<V> {
  /** The sinusoidal time embedding `[sin(t f_k), cos(t f_k)]` of the forward pass's times, `[B, dim]`. */
  timeEmbedding(dim: number): V;
  /** A convolution layer (its weight, bias, stride, padding, groups) on an image. */
  conv(x: V, layer: Conv2d): V;
  /** A linear layer on a vector `[B, cin] -> [B, cout]`. */
  linear(x: V, layer: Linear): V;
  /** The original's channel LayerNorm (biased variance, eps 1e-5, gain, no bias) on an image. */
  layerNorm(x: V, layer: LayerNorm): V;
  /** A `[1, C, 1, 1]` parameter as a value that broadcasts against `[B, C, H, W]` images. */
  gain(p: Param): V;
  /** Element-wise sum (with broadcasting between images, `[B, C, 1, 1]` and `[1, C, 1, 1]` values). */
  add(a: V, b: V): V;
  /** Element-wise difference (broadcasting as {@link Ops.add}). */
  sub(a: V, b: V): V;
  /** Element-wise product (broadcasting as {@link Ops.add}). */
  mul(a: V, b: V): V;
  /** `x + c`. */
  addScalar(x: V, c: number): V;
  /** `x * c`. */
  mulScalar(x: V, c: number): V;
  /** SiLU `x sigmoid(x)`. */
  silu(x: V): V;
  /** Exact (erf) GELU. */
  gelu(x: V): V;
  /** Concatenation on the channel axis (images, or vectors). */
  concat(xs: readonly V[]): V;
  /**
   * `layerNorm(x, layer) * (1 + scale) + shift`, NAFNet's time modulation of a normalised image
   * (`scale`, `shift`: per-item per-channel images `[B, C, 1, 1]`). One operation so that engines
   * can fold the gain and the scale into one factor (one full-size product fewer, and fewer in the
   * backward pass); same values as the composition.
   */
  modulatedLayerNorm(x: V, layer: LayerNorm, scale: V, shift: V): V;
  /** `torch.chunk(x, parts, dim=1)`: equal parts on the channel axis (images, or vectors). */
  chunk(x: V, parts: number): V[];
  /**
   * `chunk(conv(x, layer), parts)[part]` computed as a convolution of its own: the output channels
   * `[part * cout / parts, (part + 1) * cout / parts)`. For a depthwise layer `x` holds that
   * same channel block of the layer's input (e.g. part `part` of the previous layer's output). Same
   * values as the chunk, without computing the whole output and splitting it (a full-size copy).
   */
  convPart(x: V, layer: Conv2d, part: number, parts: number): V;
  /**
   * `mul(conv(x, layer), gain(g))`: a convolution whose output channels are scaled by a `[1, cout, 1, 1]`
   * parameter (NAFNet's `beta` and `gamma` after its 1x1 `conv3` / `conv5`). One operation so that
   * engines can fold the gain into the layer's weight and bias (weight-sized products instead of a
   * full-size one, and none of the full-size products in the backward pass); same values as the
   * composition up to float rounding.
   */
  convGain(x: V, layer: Conv2d, g: Param): V;
  /** A vector `[B, C]` viewed as an image `[B, C, 1, 1]` (for broadcasting). */
  vectorToImage(v: V): V;
  /** `nn.AdaptiveAvgPool2d(1)`: the mean over `H, W`, `[B, C, 1, 1]`. */
  meanHW(x: V): V;
  /**
   * Local statistics (TLC, Chu et al. 2022): the mean over a `window x window` square around each
   * position. When `window` is at least both `H` and `W` this is the global mean, exactly
   * {@link Ops.meanHW} (`[B, C, 1, 1]`, broadcasting as it does); otherwise each position `(i, j)` gets the
   * mean over rows `[i - a, i - a + window)` and columns `[j - a, j - a + window)`, `a = floor((window - 1) / 2)`
   * (centred; an even window reaches one position further down and right), clipped to the image and divided by the number of
   * positions actually inside (no padding counts), `[B, C, H, W]`. Engines compute it from cumulative sums, in
   * `O(H W)` whatever the window.
   */
  localMeanHW(x: V, window: number): V;
  /** `nn.Upsample(scale_factor=2, mode='nearest')`. */
  upsample2(x: V): V;
  /** `nn.PixelShuffle(2)`: `[B, 4C, H, W] -> [B, C, 2H, 2W]`, channel `4c + 2i + j` to pixel `(2h + i, 2w + j)`. */
  pixelShuffle2(x: V): V;
  /**
   * Pads bottom/right to a multiple of `multiple` (`'reflect'` mirrors without repeating the edge,
   * as `F.pad(..., 'reflect')`; `'zero'` as `F.pad`'s default).
   */
  padToMultiple(x: V, multiple: number, mode: 'reflect' | 'zero'): V;
  /** Crops an image to the height and width of `like` (top-left corner), i.e. `x[..., :H, :W]`. */
  cropLike(x: V, like: V): V;
  /**
   * Part `part` of `parts` equal output-channel blocks of a 1x1 convolution (e.g. q, k or v of a
   * `to_qkv` layer), as head tensors `[B, heads, d, H*W]`; the layer must have no bias.
   */
  projectToHeads(x: V, layer: Conv2d, part: number, parts: number, heads: number): V;
  /** Head tensors `[B, heads, d, N]` merged to an image shaped like `like`, then a 1x1 convolution. */
  projectFromHeads(o: V, layer: Conv2d, like: V): V;
  /** Softmax of a head tensor over axis 2 (`d`) or 3 (`N`). */
  softmax(x: V, axis: 2 | 3): V;
  /** Batched matrix product of head tensors over their last two axes (optionally transposed). */
  matmul(a: V, b: V, transposeA?: boolean, transposeB?: boolean): V;
  /** `x * c / (H W)` with `H, W` those of the image `like`. */
  scaleByPositions(x: V, c: number, like: V): V;
  /**
   * Runs one block. Backends may free the block's intermediates when it returns (tfjs does, so
   * inference holds one block's activations at a time); the result must not depend on it.
   */
  block(f: () => V): V;
  /** Marks a named stage of the forward pass (tfjs's `trace` records it); returns `x`. */
  stage(name: string, x: V): V;
}

/** Where a {@link Ops.localMeanHW} window reaches from its centre position `i`: rows (or columns) `[i - before, i + after]`. */
export interface LocalWindowReach {
  /** Positions before the centre, `floor((window - 1) / 2)`. */
  readonly before: number;
  /** Positions after the centre, `window - 1 - before`. */
  readonly after: number;
}

/** The reach of a {@link Ops.localMeanHW} window of side `window` (an integer >= 1). */
export function localWindowReach(window: number): LocalWindowReach {
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`localMeanHW: window must be an integer >= 1, got ${String(window)}`);
  const before = Math.floor((window - 1) / 2);
  return { before, after: window - 1 - before };
}

/**
 * How many positions of an axis of length `n` the {@link Ops.localMeanHW} window of each position
 * holds once clipped: `min(n - 1, i + after) - max(0, i - before) + 1` for `i = 0..n-1`.
 */
export function localWindowCounts(n: number, window: number): number[] {
  const { before, after } = localWindowReach(window);
  return Array.from({ length: n }, (_, i) => Math.min(n - 1, i + after) - Math.max(0, i - before) + 1);
}

/**
 * `1 / (positions inside)` of every position's clipped {@link Ops.localMeanHW} window on a
 * `rows x cols` map, row-major: the factor that turns window sums into means.
 */
export function localWindowScale(rows: number, cols: number, window: number): number[] {
  const cr = localWindowCounts(rows, window);
  const cc = localWindowCounts(cols, window);
  return cr.flatMap((r) => cc.map((c) => 1 / (r * c)));
}
