import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '../nn/io/types.js';

/** Hyper-parameters of {@link Adam}; defaults are the IR-SDE reference's (lr 1e-4, betas 0.9/0.99). */
export interface AdamConfig {
  /** Learning rate (default 1e-4); change it per step with {@link Adam.learningRate}. */
  readonly lr?: number;
  /** First-moment decay (default 0.9). */
  readonly beta1?: number;
  /** Second-moment decay (default 0.99, as the reference sets it). */
  readonly beta2?: number;
  /** Denominator epsilon (default 1e-8, PyTorch's). */
  readonly eps?: number;
  /** L2 weight decay added to the gradient, PyTorch `Adam(weight_decay=...)` style (default 0). */
  readonly weightDecay?: number;
}

/** Serialisable Adam state: step count and moment tensors keyed by variable name (copies). */
export interface AdamState {
  /** Number of updates applied so far. */
  readonly step: number;
  /** First moments `m`, by variable name, as `{ shape, data }`. */
  readonly m: Record<string, NamedTensor>;
  /** Second moments `v`, by variable name. */
  readonly v: Record<string, NamedTensor>;
}

/**
 * Adam exactly as PyTorch's `torch.optim.Adam` computes it (bias-corrected moments,
 * `p -= lr * m_hat / (sqrt(v_hat) + eps)`), with state we own so that checkpoints resume exactly
 * (tfjs's optimisers keep their state under generated names).
 *
 * Memory: the optimiser owns its moment tensors; {@link Adam.dispose} frees them. `step` never
 * disposes the gradients it is given.
 */
export class Adam {
  /** Current learning rate (mutable: LR schedules set it before each step). */
  learningRate: number;
  /** First-moment decay. */
  readonly beta1: number;
  /** Second-moment decay. */
  readonly beta2: number;
  /** Denominator epsilon. */
  readonly eps: number;
  /** L2 weight decay added to the gradient. */
  readonly weightDecay: number;
  #step = 0;
  readonly #m = new Map<string, tf.Variable>();
  readonly #v = new Map<string, tf.Variable>();

  constructor(config: AdamConfig = {}) {
    this.learningRate = config.lr ?? 1e-4;
    this.beta1 = config.beta1 ?? 0.9;
    this.beta2 = config.beta2 ?? 0.99;
    this.eps = config.eps ?? 1e-8;
    this.weightDecay = config.weightDecay ?? 0;
    const check = (name: string, v: number, lo: number, hi: number) => {
      if (!(Number.isFinite(v) && v >= lo && v < hi)) throw new RangeError(`Adam: ${name} must be in [${lo}, ${hi}), got ${v}`);
    };
    check('lr', this.learningRate, 0, Infinity);
    check('beta1', this.beta1, 0, 1);
    check('beta2', this.beta2, 0, 1);
    check('eps', this.eps, 0, Infinity);
    check('weightDecay', this.weightDecay, 0, Infinity);
  }

  /** Number of updates applied so far. */
  get iterations(): number {
    return this.#step;
  }

  /**
   * Applies one update to each variable that has a gradient.
   * @param vars - the variables, by name.
   * @param grads - gradients by the same names (same shapes); not disposed.
   */
  step(vars: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>): void {
    this.#step += 1;
    const t = this.#step;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    const stepSize = this.learningRate / bc1;
    for (const [name, g0] of Object.entries(grads)) {
      const p = vars[name];
      if (!p) throw new RangeError(`Adam.step: gradient for unknown variable '${name}'`);
      let m = this.#m.get(name);
      let v = this.#v.get(name);
      if (!m || !v) {
        m = tf.variable(tf.zerosLike(p), false);
        v = tf.variable(tf.zerosLike(p), false);
        this.#m.set(name, m);
        this.#v.set(name, v);
      }
      const mv = m;
      const vv = v;
      tf.tidy(() => {
        const g = this.weightDecay > 0 ? tf.add(g0, tf.mul(p, this.weightDecay)) : g0;
        const mNew = tf.add(tf.mul(mv, this.beta1), tf.mul(g, 1 - this.beta1));
        const vNew = tf.add(tf.mul(vv, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        mv.assign(mNew);
        vv.assign(vNew);
        // PyTorch: denom = sqrt(v) / sqrt(bc2) + eps; p -= (lr / bc1) * m / denom.
        const denom = tf.add(tf.div(tf.sqrt(vNew), Math.sqrt(bc2)), this.eps);
        p.assign(tf.sub(p, tf.mul(tf.div(mNew, denom), stepSize)));
      });
    }
  }

  /** A copy of the state, for checkpoints. */
  getState(): AdamState {
    const dump = (mp: Map<string, tf.Variable>) =>
      Object.fromEntries([...mp].map(([k, t]) => [k, { shape: t.shape.slice(), data: Float32Array.from(t.dataSync() as Float32Array) }]));
    return { step: this.#step, m: dump(this.#m), v: dump(this.#v) };
  }

  /** Restores a state from {@link Adam.getState} (replacing any current moments). */
  setState(state: AdamState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new RangeError(`Adam.setState: bad step ${state.step}`);
    this.dispose();
    this.#step = state.step;
    for (const [k, { shape, data }] of Object.entries(state.m)) this.#m.set(k, tf.variable(tf.tensor(data, shape), false));
    for (const [k, { shape, data }] of Object.entries(state.v)) this.#v.set(k, tf.variable(tf.tensor(data, shape), false));
  }

  /** Frees the moment tensors. */
  dispose(): void {
    for (const t of [...this.#m.values(), ...this.#v.values()]) t.dispose();
    this.#m.clear();
    this.#v.clear();
  }
}
