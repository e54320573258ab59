import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '../nn/io/types.js';
import { gradientValues, type Gradient } from './gradients.js';
import { checkStorage, hostValues, readsFreshCopies, rememberHostValues, type StateStorage } from './host-state.js';

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
  /**
   * Where the moments live (default `'backend'`): `'backend'` keeps them as tensors of the active
   * tfjs backend and updates with tensor ops; `'host'` keeps them in JavaScript `Float32Array`s and
   * updates in plain JavaScript (reading each weight once and assigning it once). `'host'` is for
   * backends whose memory is host memory anyway (cpu, wasm): it keeps two weight-sized buffers per
   * variable out of tfjs-wasm's 4 GiB heap, which is what lets a 137M-weight U-Net train there.
   */
  readonly storage?: StateStorage;
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
  /** Where the moments live. */
  readonly storage: StateStorage;
  #step = 0;
  readonly #m = new Map<string, tf.Variable>();
  readonly #v = new Map<string, tf.Variable>();
  // Host storage: the moments as float32 arrays (same names, the variables' element order).
  readonly #mHost = new Map<string, NamedTensor>();
  readonly #vHost = new Map<string, NamedTensor>();

  constructor(config: AdamConfig = {}) {
    this.learningRate = config.lr ?? 1e-4;
    this.beta1 = config.beta1 ?? 0.9;
    this.beta2 = config.beta2 ?? 0.99;
    this.eps = config.eps ?? 1e-8;
    this.weightDecay = config.weightDecay ?? 0;
    this.storage = checkStorage('Adam', config.storage ?? 'backend');
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
   * @param grads - gradients by the same names (tensors of the same shapes, or host arrays of the
   *   same length); not disposed.
   * @param gradScale - factor applied to every gradient first (gradient clipping; default 1).
   * @param current - optional current values of the variables, by name (`GradientResult.weights`:
   *   arrays the caller owns and gives up); host storage updates them in place instead of reading
   *   the variables again. They must equal the variables' values.
   */
  step(vars: Record<string, tf.Variable>, grads: Record<string, Gradient>, gradScale = 1, current?: Record<string, Float32Array>): void {
    this.#step += 1;
    const t = this.#step;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    const stepSize = this.learningRate / bc1;
    for (const [name, g0] of Object.entries(grads)) {
      const p = vars[name];
      if (!p) throw new RangeError(`Adam.step: gradient for unknown variable '${name}'`);
      if (this.storage === 'host') {
        this.#hostStep(name, p, g0, gradScale, stepSize, Math.sqrt(bc2), current?.[name]);
        continue;
      }
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
        let g = g0 instanceof Float32Array ? tf.tensor(g0, p.shape, 'float32') : g0;
        if (gradScale !== 1) g = tf.mul(g, gradScale);
        if (this.weightDecay > 0) g = tf.add(g, tf.mul(p, this.weightDecay));
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

  /** The same update as the tensor path, element by element in float64, stored as float32. */
  #hostStep(name: string, p: tf.Variable, g0: Gradient, gradScale: number, stepSize: number, sqrtBc2: number, given?: Float32Array): void {
    if (given !== undefined && given.length !== p.size) throw new RangeError(`Adam.step: current values of '${name}' have ${given.length} values but the variable has ${p.size}`);
    const w = given ?? hostValues(p);
    const g = gradientValues(g0);
    if (g.length !== w.length) throw new RangeError(`Adam.step: gradient '${name}' has ${g.length} values but the variable has ${w.length}`);
    if (!this.#mHost.has(name) || !this.#vHost.has(name)) {
      this.#mHost.set(name, { shape: p.shape.slice(), data: new Float32Array(w.length) });
      this.#vHost.set(name, { shape: p.shape.slice(), data: new Float32Array(w.length) });
    }
    const m = (this.#mHost.get(name) as NamedTensor).data;
    const v = (this.#vHost.get(name) as NamedTensor).data;
    if (m.length !== w.length) throw new RangeError(`Adam.step: variable '${name}' has ${w.length} values but its moments have ${m.length}`);
    const { beta1, beta2, eps, weightDecay } = this;
    const out = given !== undefined || readsFreshCopies() ? w : new Float32Array(w.length);
    const c1 = 1 - beta1;
    const c2 = 1 - beta2;
    const invSqrtBc2 = 1 / sqrtBc2;
    const n = w.length;
    for (let i = 0; i < n; i++) {
      const wi = w[i];
      const gi = gradScale * g[i] + weightDecay * wi;
      const mi = beta1 * m[i] + c1 * gi;
      const vi = beta2 * v[i] + c2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      out[i] = wi - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
    }
    tf.tidy(() => p.assign(tf.tensor(out, p.shape, 'float32')));
    // On wasm the tensor is a copy of `out`, which stays ours: the next step's weights, no read needed.
    if (readsFreshCopies()) rememberHostValues(p, out);
  }

  /** A copy of the state, for checkpoints. */
  getState(): AdamState {
    if (this.storage === 'host') {
      const dump = (mp: Map<string, NamedTensor>) => Object.fromEntries([...mp].map(([k, a]) => [k, { shape: a.shape.slice(), data: Float32Array.from(a.data) }]));
      return { step: this.#step, m: dump(this.#mHost), v: dump(this.#vHost) };
    }
    const dump = (mp: Map<string, tf.Variable>) =>
      Object.fromEntries([...mp].map(([k, t]) => [k, { shape: t.shape.slice(), data: Float32Array.from(t.dataSync() as Float32Array) }]));
    return { step: this.#step, m: dump(this.#m), v: dump(this.#v) };
  }

  /** Restores a state from {@link Adam.getState} (replacing any current moments). */
  setState(state: AdamState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new RangeError(`Adam.setState: bad step ${state.step}`);
    this.dispose();
    this.#step = state.step;
    if (this.storage === 'host') {
      for (const [k, { shape, data }] of Object.entries(state.m)) this.#mHost.set(k, { shape: shape.slice(), data: Float32Array.from(data) });
      for (const [k, { shape, data }] of Object.entries(state.v)) this.#vHost.set(k, { shape: shape.slice(), data: Float32Array.from(data) });
      return;
    }
    for (const [k, { shape, data }] of Object.entries(state.m)) this.#m.set(k, tf.variable(tf.tensor(data, shape), false));
    for (const [k, { shape, data }] of Object.entries(state.v)) this.#v.set(k, tf.variable(tf.tensor(data, shape), false));
  }

  /** Frees the moment tensors (or drops the host arrays). */
  dispose(): void {
    for (const t of [...this.#m.values(), ...this.#v.values()]) t.dispose();
    this.#m.clear();
    this.#v.clear();
    this.#mHost.clear();
    this.#vHost.clear();
  }
}
