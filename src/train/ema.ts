import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '../nn/io/types.js';
import { checkStorage, hostValues, readsFreshCopies, type StateStorage } from './host-state.js';

/** Serialisable EMA state (copies). */
export interface EMAState {
  /** Number of {@link EMA.update} calls so far. */
  readonly calls: number;
  /** The averaged weights by name. */
  readonly shadow: Record<string, NamedTensor>;
}

/** Options of {@link EMA}; defaults reproduce the reference (`ema_pytorch.EMA(beta=0.995, update_every=10)`). */
export interface EMAConfig {
  /** Maximum decay `beta` (default 0.995). */
  readonly beta?: number;
  /** Update the average every this many calls to {@link EMA.update} (default 10). */
  readonly updateEvery?: number;
  /** Before this many calls the average just copies the weights (default 100, ema_pytorch's). */
  readonly updateAfterStep?: number;
  /** Warm-up: decay = min(beta, 1 - (1 + k / invGamma)^-power) (defaults 1 and 2/3, ema_pytorch's). */
  readonly invGamma?: number;
  /** See `invGamma`. */
  readonly power?: number;
  /**
   * Where the average lives (default `'backend'`): tfjs tensors, or host `Float32Array`s (see
   * `AdamConfig.storage`; {@link EMA.weights} then makes tensors on demand).
   */
  readonly storage?: StateStorage;
}

/**
 * An exponential moving average of a model's weights, used for evaluation and export.
 * Follows the `ema_pytorch` schedule the reference uses: counts calls, acts every `updateEvery`
 * calls, copying the weights until `updateAfterStep`, then blending with a warm-up decay capped at
 * `beta` (see {@link EMA.update}).
 * Owns its shadow tensors ({@link EMA.dispose}).
 */
export class EMA {
  /** Maximum decay. */
  readonly beta: number;
  /** Blend every this many calls. */
  readonly updateEvery: number;
  /** Copy (not blend) until this many calls. */
  readonly updateAfterStep: number;
  /** Warm-up scale. */
  readonly invGamma: number;
  /** Warm-up exponent. */
  readonly power: number;
  /** Where the average lives. */
  readonly storage: StateStorage;
  #calls = 0;
  readonly #shadow = new Map<string, tf.Variable>();
  readonly #host = new Map<string, NamedTensor>();
  // Host storage: tensors made by `weights`, kept until the average changes.
  #materialised: Record<string, tf.Tensor> | null = null;

  constructor(config: EMAConfig = {}) {
    this.beta = config.beta ?? 0.995;
    this.updateEvery = config.updateEvery ?? 10;
    this.updateAfterStep = config.updateAfterStep ?? 100;
    this.invGamma = config.invGamma ?? 1;
    this.power = config.power ?? 2 / 3;
    this.storage = checkStorage('EMA', config.storage ?? 'backend');
    if (!(this.beta >= 0 && this.beta < 1)) throw new RangeError(`EMA: beta must be in [0, 1), got ${this.beta}`);
    if (!Number.isInteger(this.updateEvery) || this.updateEvery < 1) throw new RangeError(`EMA: updateEvery must be an integer >= 1, got ${this.updateEvery}`);
    if (!Number.isInteger(this.updateAfterStep) || this.updateAfterStep < 0) throw new RangeError(`EMA: updateAfterStep must be an integer >= 0, got ${this.updateAfterStep}`);
  }

  /** Number of {@link EMA.update} calls so far. */
  get calls(): number {
    return this.#calls;
  }

  /** The decay the average would use at call `k` (0 = copy). */
  decayAt(k: number): number {
    const epoch = Math.max(k - this.updateAfterStep - 1, 0);
    if (epoch <= 0) return 0;
    const value = 1 - (1 + epoch / this.invGamma) ** -this.power;
    return Math.min(Math.max(value, 0), this.beta);
  }

  /**
   * Registers a step: copies or blends `weights` into the average per `ema_pytorch`'s schedule.
   * Call `k` (1-based) acts only when `k - 1` is a multiple of `updateEvery` (calls 1, 11, 21, ...
   * by default); it copies while `k - 1 <= updateAfterStep` and at the first acting call after
   * that (`ema_pytorch` copies once more before its first blend), then blends with decay
   * {@link EMA.decayAt}`(k)`. An empty average (a new EMA) copies at any call.
   */
  update(weights: Record<string, tf.Tensor>): void {
    this.#calls += 1;
    const k = this.#calls;
    const s = k - 1; // ema_pytorch's step counter before its increment
    const empty = this.#shadow.size + this.#host.size === 0;
    if (!empty && s % this.updateEvery !== 0) return;
    const firstBlend = s > this.updateAfterStep && s - this.updateEvery <= this.updateAfterStep;
    const copy = empty || s <= this.updateAfterStep || firstBlend;
    const d = copy ? 0 : this.decayAt(k);
    if (this.storage === 'host') {
      this.#dropMaterialised();
      for (const [name, w] of Object.entries(weights)) {
        const s = this.#host.get(name);
        const x = hostValues(w);
        if (!s || s.data.length !== x.length || (d === 0 && readsFreshCopies())) {
          this.#host.set(name, { shape: w.shape.slice(), data: readsFreshCopies() ? x : Float32Array.from(x) });
          continue;
        }
        if (d === 0) {
          s.data.set(x);
          continue;
        }
        const a = s.data;
        for (let i = 0; i < a.length; i++) a[i] = a[i] * d + x[i] * (1 - d);
      }
      return;
    }
    for (const [name, w] of Object.entries(weights)) {
      const s = this.#shadow.get(name);
      if (!s) {
        this.#shadow.set(name, tf.variable(tf.clone(w), false));
        continue;
      }
      tf.tidy(() => s.assign(d === 0 ? w : tf.add(tf.mul(s, d), tf.mul(w, 1 - d))));
    }
  }

  /** The averaged weights (borrowed: owned by the EMA, valid until its next update or dispose). */
  get weights(): Record<string, tf.Tensor> {
    if (this.storage === 'backend') return Object.fromEntries(this.#shadow);
    this.#materialised ??= Object.fromEntries([...this.#host].map(([k, a]) => [k, tf.tensor(a.data, a.shape, 'float32')]));
    return this.#materialised;
  }

  #dropMaterialised(): void {
    if (this.#materialised) tf.dispose(Object.values(this.#materialised));
    this.#materialised = null;
  }

  /** A copy of the state, for checkpoints. */
  getState(): EMAState {
    if (this.storage === 'host') {
      return { calls: this.#calls, shadow: Object.fromEntries([...this.#host].map(([k, a]) => [k, { shape: a.shape.slice(), data: Float32Array.from(a.data) }])) };
    }
    return {
      calls: this.#calls,
      shadow: Object.fromEntries([...this.#shadow].map(([k, t]) => [k, { shape: t.shape.slice(), data: Float32Array.from(t.dataSync() as Float32Array) }])),
    };
  }

  /** Restores a state from {@link EMA.getState}. */
  setState(state: EMAState): void {
    this.dispose();
    this.#calls = state.calls;
    for (const [k, { shape, data }] of Object.entries(state.shadow)) {
      if (this.storage === 'host') this.#host.set(k, { shape: shape.slice(), data: Float32Array.from(data) });
      else this.#shadow.set(k, tf.variable(tf.tensor(data, shape), false));
    }
  }

  /** Frees the shadow tensors (and any made by {@link EMA.weights}). */
  dispose(): void {
    for (const t of this.#shadow.values()) t.dispose();
    this.#shadow.clear();
    this.#host.clear();
    this.#dropMaterialised();
  }
}
