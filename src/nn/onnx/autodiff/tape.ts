/**
 * Reverse-mode differentiation of ONNX graphs at build time, network-agnostic. A {@link Tape}
 * holds the graph being built; every differentiable op (in `./elementwise.ts`, `./shape.ts`,
 * `./conv.ts`, `./nn.ts`) emits its forward node and records, on the tape, how to emit its
 * backward nodes (as tfjs-core registers one gradient per kernel). {@link Tape.backward} then
 * emits the backward pass in reverse order. Shapes are static: they size every broadcast
 * reduction when the graph is built.
 */
import { GraphBuilder } from '../graph-builder.js';

/** A value of the graph: its name, static shape and whether it depends on a differentiated input. */
export interface TV {
  /** Value name in the graph. */
  readonly n: string;
  /** Static shape. */
  readonly s: readonly number[];
  /** Whether gradients flow to it. */
  readonly rg: boolean;
}

/** Number of elements of a shape. */
export const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** A graph under construction with a tape of backward steps. */
export class Tape {
  /** The graph's nodes and initializers. */
  readonly g = new GraphBuilder();
  readonly #tape: (() => void)[] = [];
  readonly #grads = new Map<string, string>();

  /** A graph input (`rg`: whether gradients are wanted for it). */
  input(name: string, s: readonly number[], rg = false): TV {
    return { n: this.g.reserve(name), s, rg };
  }

  /** A float32 scalar constant. */
  scalar(value: number): TV {
    return { n: this.g.constFloat([value], []), s: [], rg: false };
  }

  /** An int64 constant (for shape, axis and index inputs). */
  ints(values: readonly number[]): TV {
    return { n: this.g.constInt64([...values]), s: [values.length], rg: false };
  }

  /**
   * Emits a forward node `type(inputs)` with output shape `s`; when an input needs gradients,
   * `back(gy, y)` is recorded to emit the backward nodes given the output's gradient `gy`.
   */
  op(type: string, inputs: readonly TV[], attrs: Record<string, number | readonly number[] | string>, s: readonly number[], back: ((gy: string, y: TV) => void) | null): TV {
    const y: TV = { n: this.g.op(type, 'fwd', inputs.map((v) => v.n), attrs), s, rg: inputs.some((v) => v.rg) };
    if (y.rg && back !== null) this.record(y, back);
    return y;
  }

  /** Records a backward step for a value made outside {@link Tape.op} (multi-node forwards). */
  record(y: TV, back: (gy: string, y: TV) => void): void {
    this.#tape.push(() => {
      const gy = this.#grads.get(y.n);
      if (gy !== undefined) back(gy, y);
    });
  }

  /** Records a backward step that reads the gradients itself (ops with several outputs). */
  recordRaw(step: () => void): void {
    this.#tape.push(step);
  }

  /** Emits a backward-pass node. */
  gop(type: string, inputs: readonly string[], attrs: Record<string, number | readonly number[] | string> = {}): string {
    return this.g.op(type, 'grad', inputs, attrs);
  }

  /** Accumulates `g` into the gradient of `v` (ignored when `v` needs none). */
  acc(v: TV, g: string): void {
    if (!v.rg) return;
    const prev = this.#grads.get(v.n);
    this.#grads.set(v.n, prev === undefined ? g : this.g.op('Add', 'grad', [prev, g]));
  }

  /** The accumulated gradient of `v`, if any reached it. */
  gradOf(v: TV): string | undefined {
    return this.#grads.get(v.n);
  }

  /** Sets the gradient of the output the backward pass starts from. */
  seed(v: TV, g: string): void {
    this.#grads.set(v.n, g);
  }

  /** Emits the backward pass (the recorded steps in reverse order). */
  backward(): void {
    for (let i = this.#tape.length - 1; i >= 0; i--) this.#tape[i]();
  }

  /** A zero tensor of shape `s` (backward pass). */
  zeros(s: readonly number[]): string {
    return this.gop('ConstantOfShape', [this.g.constInt64([...s])]);
  }

  /** Sums `g` (shape `from`) down to `to` (same rank with 1s, or a lower rank): a broadcast's backward. */
  reduceTo(g: string, from: readonly number[], to: readonly number[]): string {
    if (from.length === to.length && from.every((d, i) => d === to[i])) return g;
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) {
      const td = i < lead ? 1 : to[i - lead];
      if (td === 1 && from[i] !== 1) axes.push(i);
      else if (i < lead) axes.push(i);
    }
    let r = axes.length > 0 ? this.gop('ReduceSum', [g, this.g.constInt64(axes)], { keepdims: 1 }) : g;
    if (lead > 0 || to.length === 0) r = this.gop('Reshape', [r, this.g.constInt64(to.length === 0 ? [] : [...to], [to.length])]);
    return r;
  }
}

/** The broadcast shape of `a` and `b` (numpy rules). */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const da = a[i - (r - a.length)] ?? 1;
    const db = b[i - (r - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`autodiff: cannot broadcast [${a}] with [${b}]`);
    return Math.max(da, db);
  });
}
