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
 * worst case (measured on whole networks: ~5e-7 of the output's range, see the tests), and the
 * transformed kernels take 36/9 = 4x the memory of the 3x3 kernels once ORT has folded them.
 */
import type { GraphBuilder } from './graph-builder.js';

/** How 3x3 convolutions are computed: ONNX `Conv` (as PyTorch), or Winograd F(4x4, 3x3) products. */
export type Conv3x3 = 'direct' | 'winograd';

/** Checks a `conv3x3` option (`undefined` gives `fallback`). @throws RangeError naming `where` for any other value. */
export function checkConv3x3(value: unknown, where: string, fallback: Conv3x3 = 'direct'): Conv3x3 {
  const v = value ?? fallback;
  if (v !== 'direct' && v !== 'winograd') throw new RangeError(`${where}: conv3x3 must be 'direct' or 'winograd', got ${String(v)}`);
  return v;
}

/**
 * Fewest input and output channels a 3x3 convolution needs to be computed by Winograd under
 * `conv3x3: 'winograd'`: the transforms cost memory passes over the input and output, which a
 * 64-channel convolution does not earn back (measured: no gain at 64, 1.3x at 128, 2x at 256).
 */
export const WINOGRAD_MIN_CHANNELS = 128;

/** Whether a convolution is one that `conv3x3: 'winograd'` computes by Winograd (3x3, stride 1, pad 1, enough channels). */
export function winogradApplies(kernel: number, stride: number, pad: number, inChannels: number, outChannels: number): boolean {
  return kernel === 3 && stride === 1 && pad === 1 && Math.min(inChannels, outChannels) >= WINOGRAD_MIN_CHANNELS;
}

type Matrix = readonly (readonly number[])[];

/**
 * The transform matrices of F(4x4, 3x3) (interpolation points 0, 1, -1, 2, -2 and infinity), for
 * correlation as ONNX's Conv computes it: `BT` `[6, 6]`, `G` `[6, 3]`, `AT` `[4, 6]`.
 */
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

/** Row-major `[rows, cols]` -> `[cols, rows]`. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

/** `out[(i rows + j) cols^2 + (r cols + s)] = L[i][r] L[j][s]`: the 2-D transform `L X L^T` as one matrix. */
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
  /**
   * Kernel initializer `[K, C, 3, 3]` in PyTorch layout, transformed once, when ORT folds
   * constants at load (the model file keeps the 3x3 kernels).
   */
  readonly weight: string;
  /** Bias `[K]`, or null. */
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

const TILE = 4;
const TILE2 = TILE * TILE;
const PATCH = TILE + 2;
const PATCH2 = PATCH * PATCH;
/** The 2-D transforms as matrices over flattened tiles: `G . G^T` `[36, 9]`, `B^T . B` `[36, 36]`, `A^T . A` `[16, 36]`. */
const G2 = kron(WINOGRAD_F4.G);
const BT2 = kron(WINOGRAD_F4.BT);
const AT2 = kron(WINOGRAD_F4.AT);

/** The kernel transform `U = G w G^T` of `w [K, C, 3, 3]`, laid out `[36, K, C]` for the batched product. */
export function winogradKernel(g: GraphBuilder, scope: string, weight: string, K: number, C: number): string {
  const w9 = g.op('Reshape', scope, [weight, g.constInt64([K * C, 9])]);
  const u = g.op('MatMul', scope, [g.constFloat(Array.from(G2), [PATCH2, 9]), g.op('Transpose', scope, [w9], { perm: [1, 0] })]); // [36, K*C]
  return g.op('Reshape', scope, [u, g.constInt64([PATCH2, K, C])]);
}

/**
 * The kernel transform of a tfjs-layout kernel `w [3, 3, C, K]` (taps first, so no transpose):
 * `[36, C, K]`. With `flipped`, the transform of the spatially flipped kernel, which as
 * `[36, out = C, in = K]` is the kernel of the convolution's input gradient.
 */
export function winogradKernelTaps(g: GraphBuilder, scope: string, w: string, C: number, K: number, flipped: boolean): string {
  // Flipping the kernel reverses its 9 taps, i.e. the columns of G . G^T.
  const m = flipped ? Array.from({ length: PATCH2 * 9 }, (_, i) => G2[Math.floor(i / 9) * 9 + (8 - (i % 9))]) : Array.from(G2);
  const u = g.op('MatMul', scope, [g.constFloat(m, [PATCH2, 9]), g.op('Reshape', scope, [w, g.constInt64([9, C * K])])]);
  return g.op('Reshape', scope, [u, g.constInt64([PATCH2, C, K])]);
}

/** The gradient of {@link winogradKernelTaps} (not flipped): `dw [3, 3, C, K] = G^T dU G` from `dU [36, C, K]`. */
export function winogradKernelTapsAdjoint(g: GraphBuilder, scope: string, dU: string, C: number, K: number): string {
  const gT = Array.from(transpose(G2, PATCH2, 9));
  const dw9 = g.op('MatMul', scope, [g.constFloat(gT, [9, PATCH2]), g.op('Reshape', scope, [dU, g.constInt64([PATCH2, C * K])])]); // [9, C*K]
  return g.op('Reshape', scope, [dw9, g.constInt64([3, 3, C, K])]);
}

/** The transformed input of {@link winogradInput} with the runtime sizes its output side needs. */
export interface WinogradInput {
  /** `V [36, C, B*T]`: `B^T d B` of every 6x6 tile at stride 4 (T = tiles per image, row-major). */
  readonly V: string;
  /** `[B]` and `[H, W]` of the input, `[h, w]` tiles per image (int64 shape values). */
  readonly batch: string;
  readonly hw: string;
  readonly tiles: string;
}

/** The input transform of `x [B, C, H, W]`: {@link WinogradInput}. Any H and W (part tiles read zeros). */
export function winogradInput(g: GraphBuilder, scope: string, x: string, C: number): WinogradInput {
  const shape = g.op('Shape', scope, [x]);
  const batch = g.op('Slice', scope, [shape, g.constInt64([0]), g.constInt64([1])]);
  const hw = g.op('Slice', scope, [shape, g.constInt64([2]), g.constInt64([4])]);
  // A convolution with 36 fixed 6x6 filters over the channels taken as a batch of one-channel
  // images; padding 1 before and 4 after gives ceil(H / 4) tiles for any H.
  const planes = g.op('Reshape', scope, [x, g.op('Concat', scope, [g.constInt64([-1, 1]), hw], { axis: 0 })]); // [B*C, 1, H, W]
  const filters = g.constFloat(Array.from(BT2), [PATCH2, 1, PATCH, PATCH]);
  const v = g.op('Conv', scope, [planes, filters], { kernel_shape: [PATCH, PATCH], strides: [TILE, TILE], pads: [1, 1, TILE, TILE], dilations: [1, 1], group: 1 }); // [B*C, 36, h, w]
  const tiles = g.op('Slice', scope, [g.op('Shape', scope, [v]), g.constInt64([2]), g.constInt64([4])]);
  const vb = g.op('Reshape', scope, [v, g.op('Concat', scope, [batch, g.constInt64([C, PATCH2, -1])], { axis: 0 })]); // [B, C, 36, T]
  const V = g.op('Reshape', scope, [g.op('Transpose', scope, [vb], { perm: [2, 1, 0, 3] }), g.constInt64([PATCH2, C, -1])]);
  return { V, batch, hw, tiles };
}

/**
 * The output transform: `M [36, K, B*T]` (the products `U V`) to `y [B, K, H, W]`, plus the bias.
 * `wholeTiles` false crops the `4h x 4w` result back to `H x W`.
 */
export function winogradOutput(g: GraphBuilder, scope: string, M: string, K: number, input: WinogradInput, wholeTiles: boolean, bias: string | null): string {
  const { batch, hw, tiles } = input;
  const Y = g.op('MatMul', scope, [g.constFloat(Array.from(AT2), [TILE2, PATCH2]), g.op('Reshape', scope, [M, g.constInt64([PATCH2, -1])])]); // [16, K*B*T]
  const y5 = g.op('Reshape', scope, [Y, g.op('Concat', scope, [g.constInt64([TILE2, K]), batch, tiles], { axis: 0 })]); // [16, K, B, h, w]
  const y4 = g.op('Reshape', scope, [g.op('Transpose', scope, [y5], { perm: [2, 0, 1, 3, 4] }), g.op('Concat', scope, [batch, g.constInt64([TILE2 * K]), tiles], { axis: 0 })]);
  // DCR puts channel (dy 4 + dx) K + k at pixel (4 y + dy, 4 x + dx): the tile's row-major order.
  let y = g.op('DepthToSpace', scope, [y4], { blocksize: TILE, mode: 'DCR' }); // [B, K, 4h, 4w]
  if (!wholeTiles) y = g.op('Slice', scope, [y, g.constInt64([0, 0]), hw, g.constInt64([2, 3])]);
  if (bias !== null) y = g.op('Add', scope, [y, g.op('Reshape', scope, [bias, g.constInt64([K, 1, 1])])]);
  return y;
}

/**
 * The gradient of {@link winogradOutput} (without bias, whole tiles, static shape): `dM [36, K,
 * B*T]` from `dy [B, K, H, W]`, i.e. `A dy_tile A^T` of every 4x4 output tile.
 */
export function winogradOutputAdjoint(g: GraphBuilder, scope: string, dy: string, B: number, K: number, H: number, W: number): string {
  const T = (H / TILE) * (W / TILE);
  const d4 = g.op('SpaceToDepth', scope, [dy], { blocksize: TILE }); // [B, 16 K, h, w], channel (dy 4 + dx) K + k
  const d5 = g.op('Transpose', scope, [g.op('Reshape', scope, [d4, g.constInt64([B, TILE2, K, T])])], { perm: [1, 2, 0, 3] }); // [16, K, B, T]
  const aT = Array.from(transpose(AT2, TILE2, PATCH2));
  const dM = g.op('MatMul', scope, [g.constFloat(aT, [PATCH2, TILE2]), g.op('Reshape', scope, [d5, g.constInt64([TILE2, K * B * T])])]); // [36, K*B*T]
  return g.op('Reshape', scope, [dM, g.constInt64([PATCH2, K, B * T])]);
}

/**
 * Emits a stride-1, pad-1 3x3 convolution (with optional bias) as Winograd F(4x4, 3x3) ops and
 * returns the output value `[B, K, H, W]`. Same result as `Conv` up to float rounding (see the
 * file comment for how much).
 */
export function winogradConv3x3(g: GraphBuilder, scope: string, spec: WinogradConvSpec): string {
  const U = winogradKernel(g, scope, spec.weight, spec.outChannels, spec.inChannels);
  const input = winogradInput(g, scope, spec.x, spec.inChannels);
  const M = g.op('MatMul', scope, [U, input.V]); // 36 products [K, C] x [C, B*T]
  return winogradOutput(g, scope, M, spec.outChannels, input, spec.wholeTiles, spec.bias);
}
