/**
 * The ONNX nodes of `Ops.localMeanHW` (NCHW), shared by the inference graph (any runtime size) and
 * the training graph (static sizes; its backward pass is the same window sum with the reach
 * mirrored). A window's sum along an axis is a difference of two cumulative sums, so the cost is a
 * few full-size passes whatever the window: one zero `Pad`, a `CumSum`, two `Slice`s and a `Sub`.
 * Both axes are summed along axis 2, the width after a `Transpose` of the last two axes: ONNX
 * Runtime's `CumSum` along the last axis is several times slower than a transpose and a `CumSum`
 * along axis 2.
 *
 * A reach (positions before or after the centre) is a number, or the name of an int64 `[1]` value
 * computed when the graph runs (the inference graph caps it at `n - 1` from the runtime size: a
 * clipped window reaching further holds the same positions, and the padded copies stay small).
 */
import type { GraphBuilder } from './graph-builder.js';

/** A reach: a static number, or the name of an int64 `[1]` value. */
export type Reach = number | string;

/** The reach of a window along one axis: positions `[i - before, i + after]`. */
export interface AxisReach {
  /** Positions before the centre. */
  readonly before: Reach;
  /** Positions after the centre. */
  readonly after: Reach;
}

/** `a + b` of two reaches (a number when both are). */
function plus(g: GraphBuilder, scope: string, a: Reach, b: Reach): Reach {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  return g.op('Add', scope, [int64(g, a), int64(g, b)]);
}

function int64(g: GraphBuilder, r: Reach): string {
  return typeof r === 'number' ? g.constInt64([r]) : r;
}

/**
 * Sums over `[i - before, i + after]` (clipped to the axis) for each position `i` along axis 2 of
 * the 4-D value `x`. With `S` the exclusive prefix sums (`S[0] = 0`), the `CumSum` of `x`
 * zero-padded by `before + 1` in front and `after` behind is `P[j] = S[clamp(j - before, 0, n)]`
 * (the zeros behind keep it at `S[n]`), length `n + window`; the sums are `P[i + window] - P[i]`.
 * @returns the name of the sums, shaped as `x`.
 */
export function windowSumNodes(g: GraphBuilder, scope: string, x: string, { before, after }: AxisReach): string {
  const front = plus(g, scope, before, 1);
  const window = plus(g, scope, front, after);
  const pads =
    typeof front === 'number' && typeof after === 'number'
      ? g.constInt64([0, 0, front, 0, 0, 0, after, 0])
      : g.op('Concat', scope, [g.constInt64([0, 0]), int64(g, front), g.constInt64([0, 0, 0]), int64(g, after), g.constInt64([0])], { axis: 0 });
  const prefix = g.op('CumSum', scope, [g.op('Pad', scope, [x, pads]), g.constInt64([2], [])]);
  const axes = g.constInt64([2]);
  const end = typeof window === 'number' ? g.constInt64([-window]) : g.op('Neg', scope, [window]);
  const hi = g.op('Slice', scope, [prefix, int64(g, window), g.constInt64([Number.MAX_SAFE_INTEGER]), axes]);
  const lo = g.op('Slice', scope, [prefix, g.constInt64([0]), end, axes]);
  return g.op('Sub', scope, [hi, lo]);
}

/**
 * Window sums over a rectangle of the NCHW value `x` (a rectangle's sum is separable): along the
 * height, then, transposed to `[B, C, W, H]`, along the width, times `scaleT` there when given
 * (a value broadcasting against `[B, C, W, H]`, e.g. `1 / positions` as `[1, 1, W, H]`), and
 * transposed back.
 * @returns the name of the `[B, C, H, W]` result.
 */
export function boxSumNodes(g: GraphBuilder, scope: string, x: string, h: AxisReach, w: AxisReach, scaleT: string | null = null): string {
  const swap = { perm: [0, 1, 3, 2] };
  let y = windowSumNodes(g, scope, g.op('Transpose', scope, [windowSumNodes(g, scope, x, h)], swap), w);
  if (scaleT !== null) y = g.op('Mul', scope, [y, scaleT]);
  return g.op('Transpose', scope, [y], swap);
}
