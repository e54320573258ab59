/** Differentiable ONNX layers: linear and channel LayerNorm (forward nodes + backward rule each). */
import type { Tape, TV } from './tape.js';

/** `x [B, in] @ w [in, out] + b [out]` (Gemm); backward: `gy w^T`, `x^T gy`, `sum_B gy`. */
export function linear(t: Tape, x: TV, w: TV, b: TV): TV {
  return t.op('Gemm', [x, w, b], {}, [x.s[0], w.s[1]], (gy) => {
    if (x.rg) t.acc(x, t.gop('Gemm', [gy, w.n], { transB: 1 }));
    t.acc(w, t.gop('Gemm', [x.n, gy], { transA: 1 }));
    t.acc(b, t.gop('ReduceSum', [gy, t.g.constInt64([0])], { keepdims: 0 }));
  });
}

/** `xhat = (x - mean_c x) / std` over axis 1 (biased variance, eps 1e-5), forward nodes only, and `std` `[B, 1, H, W]`. */
function normalizeChannels(t: Tape, x: TV): { xhat: string; std: string } {
  const g = t.g;
  const mean = g.op('ReduceMean', 'fwd', [x.n], { axes: [1], keepdims: 1 });
  const d = g.op('Sub', 'fwd', [x.n, mean]);
  const variance = g.op('ReduceMean', 'fwd', [g.op('Mul', 'fwd', [d, d])], { axes: [1], keepdims: 1 });
  const std = g.op('Sqrt', 'fwd', [g.op('Add', 'fwd', [variance, g.constFloat([1e-5], [])])]);
  return { xhat: g.op('Div', 'fwd', [d, std]), std };
}

/**
 * The original's channel LayerNorm over axis 1 (biased variance, eps 1e-5) times `gain [1, C, 1, 1]`;
 * backward: `d gain = sum gy xhat`, `dx = (dxhat - mean_c dxhat - xhat mean_c(dxhat xhat)) / std`.
 */
export function layerNorm(t: Tape, x: TV, gain: TV): TV {
  const g = t.g;
  const { xhat, std } = normalizeChannels(t, x);
  return t.op('Mul', [{ n: xhat, s: x.s, rg: false }, gain], {}, x.s, (gy) => {
    t.acc(gain, t.gop('ReduceSum', [t.gop('Mul', [gy, xhat]), g.constInt64([0, 2, 3])], { keepdims: 1 }));
    if (!x.rg) return;
    const dxhat = t.gop('Mul', [gy, gain.n]);
    const m1 = t.gop('ReduceMean', [dxhat], { axes: [1], keepdims: 1 });
    const m2 = t.gop('ReduceMean', [t.gop('Mul', [dxhat, xhat])], { axes: [1], keepdims: 1 });
    t.acc(x, t.gop('Div', [t.gop('Sub', [t.gop('Sub', [dxhat, m1]), t.gop('Mul', [xhat, m2])]), std]));
  });
}

/**
 * `layerNorm(x, gain) * (1 + scale) + shift` (`scale`, `shift` `[B, C, 1, 1]`) with the gain and
 * the scale folded into one factor `k = gain (1 + scale)`: forward `xhat k + shift`; backward
 * `d shift = sum_hw gy`, `d k = sum_hw gy xhat` (giving `d gain = sum_b d k (1 + scale)` and
 * `d scale = d k gain`), `dxhat = gy k` and the LayerNorm rule for `dx`. Two full-size products
 * fewer in the backward pass and one in the forward than the composition.
 */
export function modulatedLayerNorm(t: Tape, x: TV, gain: TV, scale: TV, shift: TV): TV {
  const g = t.g;
  const { xhat, std } = normalizeChannels(t, x);
  const onePlus = g.op('Add', 'fwd', [scale.n, g.constFloat([1], [])]);
  const k = g.op('Mul', 'fwd', [gain.n, onePlus]);
  const y: TV = { n: g.op('Add', 'fwd', [g.op('Mul', 'fwd', [xhat, k]), shift.n]), s: x.s, rg: x.rg || gain.rg || scale.rg || shift.rg };
  if (!y.rg) return y;
  t.record(y, (gy) => {
    const hw = g.constInt64([2, 3]);
    t.acc(shift, t.gop('ReduceSum', [gy, hw], { keepdims: 1 }));
    if (gain.rg || scale.rg) {
      const dk = t.gop('ReduceSum', [t.gop('Mul', [gy, xhat]), hw], { keepdims: 1 });
      t.acc(gain, t.gop('ReduceSum', [t.gop('Mul', [dk, onePlus]), g.constInt64([0])], { keepdims: 1 }));
      t.acc(scale, t.gop('Mul', [dk, gain.n]));
    }
    if (!x.rg) return;
    const dxhat = t.gop('Mul', [gy, k]);
    const m1 = t.gop('ReduceMean', [dxhat], { axes: [1], keepdims: 1 });
    const m2 = t.gop('ReduceMean', [t.gop('Mul', [dxhat, xhat])], { axes: [1], keepdims: 1 });
    t.acc(x, t.gop('Div', [t.gop('Sub', [t.gop('Sub', [dxhat, m1]), t.gop('Mul', [xhat, m2])]), std]));
  });
  return y;
}
