/**
 * Winograd convolution F(4x4, 3x3) written as ONNX ops (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016). Each 4x4 output tile comes from a 6x6 input tile as
 * `Y = A^T [(G g G^T) . (B^T d B)] A`. Summed over input channels, the element-wise products become
 * 36 independent matrix products `[K, C] x [C, tiles]`, a quarter of the direct convolution's
 * multiplications. The transforms are memory-bound ops, so the saving shows on layers with many
 * channels (about 2x at 256 channels, 1.3x at 128 on 128x128, none at 64).
 *
 * Why it is here: ONNX Runtime's direct 3x3 convolution already runs near this CPU's peak
 * (~350 GFLOP/s on 2 AVX-512 cores), so fewer multiplications is the remaining way to make the
 * U-Net's forward pass faster than PyTorch's. The price: ~1e-5 relative rounding per layer in the
 * worst case (measured on whole networks: ~3e-7 of the output's range, see the tests), and the
 * transformed kernels take 36/9 = 4x the memory of the 3x3 kernels once ORT has folded them.
 */
import type { GraphBuilder } from './graph-builder.js';

/**
 * The transform matrices of F(4x4, 3x3) (interpolation points 0, 1, -1, 2, -2 and infinity), for
 * correlation as ONNX's Conv computes it: `BT` `[6, 6]`, `G` `[6, 3]`, `AT` `[4, 6]`.
 */
type Matrix = readonly (readonly number[])[];

export const WINOGRAD_F4: { readonly BT: Matrix; readonly G: Matrix; readonly AT: Matrix } = {
  BT: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  G: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
  ],
};

/** `out[(i a + j) * cols + (r cols' + s)] = L[i][r] L[j][s]`: the 2-D transform `L X L^T` as one matrix. */
function kron(L: Matrix): Float32Array {
  const rows = L.length;
  const cols = L[0].length;
  const out = new Float32Array(rows * rows * cols * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < rows; j++)
      for (let r = 0; r < cols; r++) for (let s = 0; s < cols; s++) out[(i * rows + j) * cols * cols + r * cols + s] = L[i][r] * L[j][s];
  return out;
}

/** What {@link winogradConv3x3} needs to know about one convolution. */
export interface WinogradConvSpec {
  /** Input value `[B, C, H, W]` (B, H, W may be dynamic). */
  readonly x: string;
  /** PyTorch-layout kernel initializer `[K, C, 3, 3]` (transformed in the graph, folded by ORT at load). */
  readonly weight: string;
  /** Bias initializer `[K]`, or null. */
  readonly bias: string | null;
  /** Input channels C. */
  readonly inChannels: number;
  /** Output channels K. */
  readonly outChannels: number;
  /**
   * True when H and W are known to be multiples of 4; otherwise the input is zero-padded to
   * whole tiles and the output cropped back (a copy of the output).
   */
  readonly wholeTiles: boolean;
}

/**
 * Emits a stride-1, pad-1 3x3 convolution (with optional bias) as Winograd F(4x4, 3x3) ops and
 * returns the output value `[B, K, H, W]`. Same result as `Conv` up to float rounding (see the
 * file comment for how much).
 */
export function winogradConv3x3(g: GraphBuilder, scope: string, spec: WinogradConvSpec): string {
  const { x, weight, bias, inChannels: C, outChannels: K } = spec;
  const { BT, G, AT } = WINOGRAD_F4;
  const m = 4;
  const a = m + 2;
  const a2 = a * a;
  const m2 = m * m;

  // Kernel transform U = G w G^T, laid out [36, K, C] for the batched product. All inputs are
  // initializers, so ONNX Runtime's constant folding runs it once when the session is created
  // (the model file keeps the 3x3 kernels).
  const gKron = g.constFloat(Array.from(kron(G)), [a2, 9]);
  const w9 = g.op('Reshape', scope, [weight, g.constInt64([K * C, 9])]);
  const u = g.op('MatMul', scope, [gKron, g.op('Transpose', scope, [w9], { perm: [1, 0] })]); // [a2, K*C]
  const U = g.op('Reshape', scope, [u, g.constInt64([a2, K, C])]);

  // Input transform B^T d B of every channel's 6x6 tiles at stride 4: a convolution with 36 fixed
  // 6x6 filters over the channels taken as a batch of one-channel images.
  const shape = g.op('Shape', scope, [x]);
  const b = g.op('Slice', scope, [shape, g.constInt64([0]), g.constInt64([1])]);
  const hw = g.op('Slice', scope, [shape, g.constInt64([2]), g.constInt64([4])]);
  const planes = g.op('Reshape', scope, [x, g.op('Concat', scope, [g.constInt64([-1, 1]), hw], { axis: 0 })]); // [B*C, 1, H, W]
  // Padding 1 before and 4 after gives ceil(H / 4) tiles for any H (part tiles read zeros).
  const filters = g.constFloat(Array.from(kron(BT)), [a2, 1, a, a]);
  const v = g.op('Conv', scope, [planes, filters], { kernel_shape: [a, a], strides: [m, m], pads: [1, 1, m, m], dilations: [1, 1], group: 1 }); // [B*C, a2, h, w]
  const tiles = g.op('Slice', scope, [g.op('Shape', scope, [v]), g.constInt64([2]), g.constInt64([4])]); // [h, w]
  const vb = g.op('Reshape', scope, [v, g.op('Concat', scope, [b, g.constInt64([C, a2, -1])], { axis: 0 })]); // [B, C, a2, T]
  const V = g.op('Reshape', scope, [g.op('Transpose', scope, [vb], { perm: [2, 1, 0, 3] }), g.constInt64([a2, C, -1])]); // [a2, C, B*T]

  // 36 independent products, then the output transform A^T M A as one [16, 36] product.
  const M = g.op('MatMul', scope, [U, V]); // [a2, K, B*T]
  const Y = g.op('MatMul', scope, [g.constFloat(Array.from(kron(AT)), [m2, a2]), g.op('Reshape', scope, [M, g.constInt64([a2, -1])])]); // [m2, K*B*T]
  const y5 = g.op('Reshape', scope, [Y, g.op('Concat', scope, [g.constInt64([m2, K]), b, tiles], { axis: 0 })]); // [m2, K, B, h, w]
  const y4 = g.op('Reshape', scope, [g.op('Transpose', scope, [y5], { perm: [2, 0, 1, 3, 4] }), g.op('Concat', scope, [b, g.constInt64([m2 * K]), tiles], { axis: 0 })]);
  // DCR puts channel (dy 4 + dx) K + k at pixel (4 y + dy, 4 x + dx): the tile's row-major order.
  let y = g.op('DepthToSpace', scope, [y4], { blocksize: m, mode: 'DCR' }); // [B, K, h m, w m]
  if (!spec.wholeTiles) y = g.op('Slice', scope, [y, g.constInt64([0, 0]), hw, g.constInt64([2, 3])]);
  if (bias !== null) y = g.op('Add', scope, [y, g.op('Reshape', scope, [bias, g.constInt64([K, 1, 1])])]);
  return y;
}
