/** Differentiable element-wise ONNX ops (forward node + backward rule each). */
import { broadcastShape, type Tape, type TV } from './tape.js';

/** `a + b` (broadcasting). */
export function add(t: Tape, a: TV, b: TV): TV {
  const s = broadcastShape(a.s, b.s);
  return t.op('Add', [a, b], {}, s, (gy) => {
    t.acc(a, t.reduceTo(gy, s, a.s));
    t.acc(b, t.reduceTo(gy, s, b.s));
  });
}

/** `a - b` (broadcasting). */
export function sub(t: Tape, a: TV, b: TV): TV {
  const s = broadcastShape(a.s, b.s);
  return t.op('Sub', [a, b], {}, s, (gy) => {
    t.acc(a, t.reduceTo(gy, s, a.s));
    if (b.rg) t.acc(b, t.reduceTo(t.gop('Neg', [gy]), s, b.s));
  });
}

/** `a * b` (broadcasting). */
export function mul(t: Tape, a: TV, b: TV): TV {
  const s = broadcastShape(a.s, b.s);
  return t.op('Mul', [a, b], {}, s, (gy) => {
    if (a.rg) t.acc(a, t.reduceTo(t.gop('Mul', [gy, b.n]), s, a.s));
    if (b.rg) t.acc(b, t.reduceTo(t.gop('Mul', [gy, a.n]), s, b.s));
  });
}

/** SiLU `x sigmoid(x)`; backward `s (1 + x (1 - s))`. */
export function silu(t: Tape, x: TV): TV {
  const sig = t.g.op('Sigmoid', 'fwd', [x.n]);
  return t.op('Mul', [x, { n: sig, s: x.s, rg: false }], {}, x.s, (gy) => {
    const oneMinus = t.gop('Sub', [t.g.constFloat([1], []), sig]);
    const f = t.gop('Mul', [t.gop('Add', [t.gop('Mul', [x.n, oneMinus]), t.g.constFloat([1], [])]), sig]);
    t.acc(x, t.gop('Mul', [gy, f]));
  });
}

/** Exact GELU `x Phi(x)`; backward `Phi(x) + x phi(x)`. */
export function gelu(t: Tape, x: TV): TV {
  const g = t.g;
  const cdf = g.op('Mul', 'fwd', [g.op('Add', 'fwd', [g.op('Erf', 'fwd', [g.op('Mul', 'fwd', [x.n, g.constFloat([Math.SQRT1_2], [])])]), g.constFloat([1], [])]), g.constFloat([0.5], [])]);
  return t.op('Mul', [x, { n: cdf, s: x.s, rg: false }], {}, x.s, (gy) => {
    const x2 = t.gop('Mul', [x.n, x.n]);
    const pdf = t.gop('Mul', [t.gop('Exp', [t.gop('Mul', [x2, g.constFloat([-0.5], [])])]), g.constFloat([1 / Math.sqrt(2 * Math.PI)], [])]);
    t.acc(x, t.gop('Mul', [gy, t.gop('Add', [cdf, t.gop('Mul', [x.n, pdf])])]));
  });
}

/**
 * Softmax over `axis`; backward `y (gy - sum(gy y))`. A non-last axis is computed as
 * `exp(x - max) / sum` (ONNX Runtime's Softmax transposes a non-last axis to the end and back).
 */
export function softmax(t: Tape, x: TV, axis: number): TV {
  const n = axis === x.s.length - 1 ? t.g.op('Softmax', 'fwd', [x.n], { axis }) : softmaxMiddle(t.g, 'fwd', x.n, axis);
  const y: TV = { n, s: x.s, rg: x.rg };
  if (x.rg) {
    t.record(y, (gy) => {
      const dot = t.gop('ReduceSum', [t.gop('Mul', [gy, y.n]), t.g.constInt64([axis])], { keepdims: 1 });
      t.acc(x, t.gop('Mul', [y.n, t.gop('Sub', [gy, dot])]));
    });
  }
  return y;
}

/**
 * Softmax over a non-last axis as `exp(x - max) / sum`: the same maths as ONNX's Softmax, but
 * ONNX Runtime's Softmax transposes a non-last axis to the end and back, which made the
 * full-resolution attention's softmax over channels ~5x slower than this.
 */
export function softmaxMiddle(g: Tape['g'], scope: string, x: string, axis: number): string {
  const m = g.op('ReduceMax', scope, [x], { axes: [axis], keepdims: 1 });
  const e = g.op('Exp', scope, [g.op('Sub', scope, [x, m])]);
  return g.op('Div', scope, [e, g.op('ReduceSum', scope, [e, g.constInt64([axis])], { keepdims: 1 })]);
}
