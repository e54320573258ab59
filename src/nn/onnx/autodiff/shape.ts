/** Differentiable ONNX ops that move, select or reduce values (forward node + backward rule each). */
import { localWindowReach, localWindowScale } from '../../arch/ops.js';
import { boxSumNodes } from '../local-mean.js';
import { numel, type Tape, type TV } from './tape.js';

/** `x[start:end]` along `axis`; backward: zero-padded back to the full size. */
export function slice(t: Tape, x: TV, axis: number, start: number, end: number): TV {
  const s = [...x.s];
  s[axis] = end - start;
  return t.op('Slice', [x, t.ints([start]), t.ints([end]), t.ints([axis])], {}, s, (gy) => {
    const pads = new Array<number>(2 * x.s.length).fill(0);
    pads[axis] = start;
    pads[x.s.length + axis] = x.s[axis] - end;
    t.acc(x, t.gop('Pad', [gy, t.g.constInt64(pads)]));
  });
}

/** Reshape to a static shape; backward: reshape back. */
export function reshape(t: Tape, x: TV, s: readonly number[]): TV {
  if (numel(s) !== numel(x.s)) throw new Error(`autodiff: reshape [${x.s}] -> [${s}]`);
  if (s.length === x.s.length && s.every((d, i) => d === x.s[i])) return x;
  return t.op('Reshape', [x, t.ints(s)], {}, s, (gy) => t.acc(x, t.gop('Reshape', [gy, t.g.constInt64([...x.s])])));
}

/** Axis permutation; backward: the inverse permutation. */
export function transpose(t: Tape, x: TV, perm: readonly number[]): TV {
  const inv = perm.map((_, i) => perm.indexOf(i));
  return t.op('Transpose', [x], { perm }, perm.map((p) => x.s[p]), (gy) => t.acc(x, t.gop('Transpose', [gy], { perm: inv })));
}

/** Concatenation on `axis`; backward: a split. */
export function concat(t: Tape, xs: readonly TV[], axis: number): TV {
  const s = [...xs[0].s];
  s[axis] = xs.reduce((a, v) => a + v.s[axis], 0);
  return t.op('Concat', xs, { axis }, s, (gy) => {
    const parts = t.g.ops('Split', 'grad', [gy, t.g.constInt64(xs.map((v) => v.s[axis]))], { axis }, xs.length);
    xs.forEach((v, i) => t.acc(v, parts[i]));
  });
}

/** Split on `axis` into `sizes`; backward: the concatenation of the parts' gradients (zeros where none arrived). */
export function split(t: Tape, x: TV, sizes: readonly number[], axis: number): TV[] {
  const names = t.g.ops('Split', 'fwd', [x.n, t.g.constInt64([...sizes])], { axis }, sizes.length);
  const outs: TV[] = names.map((n, i) => {
    const s = [...x.s];
    s[axis] = sizes[i];
    return { n, s, rg: x.rg };
  });
  if (x.rg) {
    t.recordRaw(() => {
      if (outs.every((o) => t.gradOf(o) === undefined)) return;
      t.acc(x, t.gop('Concat', outs.map((o) => t.gradOf(o) ?? t.zeros(o.s)), { axis }));
    });
  }
  return outs;
}

/** Batched matrix product over the last two axes (same leading dims); backward: the two products with the other operand transposed. */
export function matmul(t: Tape, a: TV, b: TV): TV {
  const r = a.s.length;
  const s = [...a.s.slice(0, r - 1), b.s[r - 1]];
  const swap = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
  return t.op('MatMul', [a, b], {}, s, (gy) => {
    if (a.rg) t.acc(a, t.gop('MatMul', [gy, t.gop('Transpose', [b.n], { perm: swap })]));
    if (b.rg) t.acc(b, t.gop('MatMul', [t.gop('Transpose', [a.n], { perm: swap }), gy]));
  });
}

/** `nn.Upsample(scale_factor=2, mode='nearest')` on NCHW; backward: the sum over each 2x2 block. */
export function upsample2(t: Tape, x: TV): TV {
  const [B, C, H, W] = x.s;
  const attrs = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
  const scales: TV = { n: t.g.constFloat([1, 1, 2, 2]), s: [4], rg: false };
  return t.op('Resize', [x, { n: '', s: [], rg: false }, scales], attrs, [B, C, 2 * H, 2 * W], (gy) => {
    const r = t.gop('Reshape', [gy, t.g.constInt64([B, C, H, 2, W, 2])]);
    t.acc(x, t.gop('ReduceSum', [r, t.g.constInt64([3, 5])], { keepdims: 0 }));
  });
}

/** The mean over axes 2 and 3 (kept as size 1); backward: the gradient spread evenly. */
export function meanHW(t: Tape, x: TV): TV {
  const [B, C, H, W] = x.s;
  return t.op('ReduceMean', [x], { axes: [2, 3], keepdims: 1 }, [B, C, 1, 1], (gy) => {
    t.acc(x, t.gop('Expand', [t.gop('Mul', [gy, t.g.constFloat([1 / (H * W)], [])]), t.g.constInt64([...x.s])]));
  });
}

/**
 * `Ops.localMeanHW` on NCHW with a window smaller than the map (static shapes): window sums
 * (`../local-mean.ts`) times `1 / (positions inside)`, a constant table. Backward: the window
 * sum is linear with the mirrored window as its transpose, so `gx = boxSum'(gy / counts)` with
 * the reach before and after the centre swapped.
 */
export function localMeanHW(t: Tape, x: TV, window: number): TV {
  const [, , H, W] = x.s;
  const { before, after } = localWindowReach(window);
  const inv = t.g.constFloat(localWindowScale(H, W, window), [1, 1, H, W]);
  // Reaches capped at n - 1 (the same clipped windows, smaller pads).
  const h = { before: Math.min(before, H - 1), after: Math.min(after, H - 1) };
  const w = { before: Math.min(before, W - 1), after: Math.min(after, W - 1) };
  const y: TV = { n: boxSumNodes(t.g, 'fwd', x.n, h, w, t.g.constFloat(localWindowScale(W, H, window), [1, 1, W, H])), s: x.s, rg: x.rg };
  const mirror = (r: { before: number; after: number }) => ({ before: r.after, after: r.before });
  if (y.rg) t.record(y, (gy) => t.acc(x, boxSumNodes(t.g, 'grad', t.gop('Mul', [gy, inv]), mirror(h), mirror(w))));
  return y;
}

/**
 * PyTorch's `pixel_shuffle(x, 2)` on NCHW: `DepthToSpace` in `CRD` mode (channel `c * 4 + 2i + j`
 * to pixel `(2h + i, 2w + j)`). Backward: `SpaceToDepth` (which orders its channels `(2i + j) * C +
 * c`) and a transpose of whole `H x W` planes to the `c * 4 + 2i + j` order: block copies, where
 * the inverse 6-D transpose moves single values (ORT: ~1 vs ~7 ms at 4x128x64x64).
 */
export function pixelShuffle2(t: Tape, x: TV): TV {
  const [B, C4, H, W] = x.s;
  const C = C4 / 4;
  return t.op('DepthToSpace', [x], { blocksize: 2, mode: 'CRD' }, [B, C, 2 * H, 2 * W], (gy) => {
    const g = t.g;
    const s2d = t.gop('Reshape', [t.gop('SpaceToDepth', [gy], { blocksize: 2 }), g.constInt64([B, 4, C, H * W])]);
    t.acc(x, t.gop('Reshape', [t.gop('Transpose', [s2d], { perm: [0, 2, 1, 3] }), g.constInt64([B, C4, H, W])]));
  });
}
