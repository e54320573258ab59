/**
 * A Keras-style network (a `tf.LayersModel` of `@tensorflow/tfjs-layers`) as an irsde network:
 * sampling (`noiseModelFor`), training with the `Trainer` on tfjs gradients, weights under stable
 * names (resume, safetensors). Only the model's structural surface is used, so irsde imports
 * nothing from tfjs-layers here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../backend/rng.js';
import type { StateDict } from '../io/types.js';
import { checkPrediction, type NetworkPrediction } from '../nets/common.js';
import type { DiffusionSDE } from '../../sde/diffusion-sde.js';
import { asNoiseModel, type NoiseModel } from '../../sampling/model.js';
import { sinusoidalEmbedding } from './tfjs-ops.js';
import type { NetworkTime } from './network.js';

/**
 * The sinusoidal time embedding irsde's networks use (`[sin(t f_k), cos(t f_k)]`,
 * `f_k = exp(-k ln(1e4) / (dim/2 - 1))`, as the original IR-SDE code computes it), for networks
 * written in other styles (e.g. a tfjs-layers model's time input).
 * @param t - one time for the whole batch (then `batch` is needed) or one per item; any finite
 *   numbers (the SDE's timesteps `1..T`, or real times under the adaptive ODE sampler).
 * @param dim - embedding size, an even integer >= 4.
 * @param batch - the batch size when `t` is one number (default 1).
 * @returns float32 `[B, dim]`, owned by the caller.
 * @throws RangeError for a bad `dim`, a non-finite time or a length that is not `batch`.
 *
 * @example
 * ```ts
 * const emb = sinusoidalTimeEmbedding([1, 50, 100], 32); // [3, 32]
 * emb.dispose();
 * ```
 */
export function sinusoidalTimeEmbedding(t: NetworkTime, dim: number, batch?: number): tf.Tensor2D {
  if (!Number.isInteger(dim) || dim < 4 || dim % 2 !== 0) throw new RangeError(`sinusoidalTimeEmbedding: dim must be an even integer >= 4, got ${String(dim)}`);
  const times = timesOf(t, batch, 'sinusoidalTimeEmbedding');
  return tf.tensor2d(sinusoidalEmbedding(times, dim), [times.length, dim]);
}

function timesOf(t: NetworkTime, batch: number | undefined, where: string): number[] {
  let times: number[];
  if (typeof t === 'number') times = new Array<number>(batch ?? 1).fill(t);
  else if (t !== null && typeof t === 'object' && typeof t.length === 'number') {
    times = Array.from(t);
    if (batch !== undefined && times.length !== batch) throw new RangeError(`${where}: t has ${times.length} entries but the batch has ${batch}`);
  } else throw new TypeError(`${where}: t must be a number or an array with one number per batch element`);
  times.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${where}: t[${i}] must be a finite number, got ${String(v)}`);
  });
  return times;
}

/** The part of a tfjs-layers `LayerVariable` irsde uses. */
export interface LayerVariableLike {
  /** The name tfjs-layers gave it (`conv2d_Conv2D3/kernel`: the prefix depends on creation order). */
  readonly originalName: string;
  /** Its shape. */
  readonly shape: readonly (number | null)[];
  /** Whether training updates it. */
  readonly trainable: boolean;
  /** The `tf.Variable` holding its value (tfjs-layers returns the variable itself). */
  read(): tf.Tensor;
}

/**
 * The part of a `tf.LayersModel` (`@tensorflow/tfjs-layers`) irsde uses: a model built with
 * `tf.model({ inputs, outputs })` or `tf.sequential()` satisfies it.
 */
export interface LayersModelLike {
  /** The symbolic inputs: the image input first, then optionally the time-embedding input. */
  readonly inputs: readonly {
    /** The input's shape, `null` for free dimensions (the batch, and `H`, `W` of a fully convolutional model). */
    readonly shape: readonly (number | null)[];
  }[];
  /** The layers, in the model's order (their weights are named after their position here). */
  readonly layers: readonly {
    /** The layer's weights, in its own order (kernel, then bias, ...). */
    readonly weights: readonly LayerVariableLike[];
  }[];
  /** Runs the model on concrete tensors (differentiable; tfjs-layers' `apply`). */
  apply(inputs: tf.Tensor | tf.Tensor[], kwargs?: { training?: boolean }): unknown;
}

/** Options of {@link fromLayersModel}. */
export interface LayersNetworkOptions {
  /** What the model's output means (default `'noise'`; `'residual'`: `x0 - mu`). */
  readonly prediction?: NetworkPrediction;
  /**
   * `true` (default): the image input is `concat(x_t, cond)` on the channel axis (`2C` channels);
   * `false`: `x_t` alone (`C` channels), for a DenoisingSDE.
   */
  readonly conditional?: boolean;
  /**
   * When given, every kernel (rank >= 2) and every bias is re-drawn with irsde's seeded generator
   * as PyTorch initialises layers (uniform in `+-1/sqrt(fan_in)`, `fan_in` the product of the
   * kernel's dimensions but the last), so a run reproduces whatever tfjs-layers drew; other
   * weights (normalisation gains, ...) keep their initialiser's constants.
   */
  readonly seed?: number;
}

/**
 * A `tf.LayersModel` adapted to irsde (see {@link fromLayersModel}). Satisfies the `Trainer`'s
 * `TrainableNoiseModel`. The layers model is borrowed: dispose it yourself when done.
 */
export class LayersNetwork {
  /** What the output means. */
  readonly prediction: NetworkPrediction;
  /** Whether the model sees the condition (`concat(x_t, cond)`). */
  readonly conditional: boolean;
  /** Size of the time-embedding input, or `null` when the model has no time input. */
  readonly timeDim: number | null;
  /** The adapted model (borrowed). */
  readonly model: LayersModelLike;
  readonly #vars: Map<string, tf.Variable>;
  readonly #fanIn: Map<string, number>;

  /** @internal use {@link fromLayersModel}. */
  constructor(model: LayersModelLike, options: LayersNetworkOptions = {}) {
    if (model === null || typeof model !== 'object' || typeof model.apply !== 'function' || !Array.isArray(model.inputs as unknown) || !Array.isArray(model.layers as unknown)) {
      throw new TypeError('fromLayersModel: expected a tf.LayersModel of @tensorflow/tfjs-layers (tf.model({ inputs, outputs }) or tf.sequential())');
    }
    checkPrediction(options.prediction, 'fromLayersModel');
    if (options.conditional !== undefined && typeof options.conditional !== 'boolean') throw new TypeError('fromLayersModel: conditional must be true or false');
    this.model = model;
    this.prediction = options.prediction ?? 'noise';
    this.conditional = options.conditional ?? true;
    const inputs = model.inputs;
    if (inputs.length < 1 || inputs.length > 2) throw new RangeError(`fromLayersModel: the model must take an image input and optionally a time-embedding input [B, dim], got ${inputs.length} inputs`);
    if (inputs[0].shape.length !== 4) throw new RangeError(`fromLayersModel: the first input must be an NHWC image [null, H, W, C], got [${inputs[0].shape.join(', ')}]`);
    if (inputs.length === 2) {
      const s = inputs[1].shape;
      const d = s[1];
      if (s.length !== 2 || typeof d !== 'number' || d < 4 || d % 2 !== 0) throw new RangeError(`fromLayersModel: the second input must be the time embedding [null, dim] with an even dim >= 4, got [${s.join(', ')}]`);
      this.timeDim = d;
    } else this.timeDim = null;
    this.#vars = new Map();
    this.#fanIn = new Map();
    model.layers.forEach((layer, i) => {
      const kernel = layer.weights.find((w) => w.shape.length >= 2);
      const fanIn = kernel ? kernel.shape.slice(0, -1).reduce<number>((a, b) => a * (b ?? 1), 1) : 0;
      layer.weights.forEach((w, j) => {
        const short = w.originalName.split('/').pop() || `w${j}`;
        let name = `layers.${i}.${short}`;
        if (this.#vars.has(name)) name = `layers.${i}.${short}.${j}`;
        const v = w.read();
        if (!(v instanceof tf.Variable)) throw new TypeError(`fromLayersModel: weight ${w.originalName} is not backed by a tf.Variable (is @tensorflow/tfjs-layers using the same @tensorflow/tfjs-core as irsde?)`);
        if (!w.trainable) return;
        this.#vars.set(name, v);
        if (fanIn > 0 && (w.shape.length >= 2 || short === 'bias')) this.#fanIn.set(name, fanIn);
      });
    });
    if (options.seed !== undefined) this.reinitialize(options.seed);
  }

  /**
   * The trainable weights under stable names `layers.{index}.{weight}` (e.g. `layers.2.kernel`),
   * independent of tfjs-layers' process-wide auto-names, so checkpoints resume in a new process.
   * Borrowed: the layers model owns them.
   */
  get variables(): ReadonlyMap<string, tf.Variable> {
    return this.#vars;
  }

  /**
   * Re-draws the kernels and biases from `seed` (see {@link LayersNetworkOptions.seed}).
   * @param seed - the generator's seed.
   */
  reinitialize(seed: number): void {
    const rng = new Rng(seed);
    for (const [name, v] of this.#vars) {
      const fanIn = this.#fanIn.get(name);
      if (fanIn === undefined) continue;
      const bound = 1 / Math.sqrt(fanIn);
      const u = rng.uniform([1, v.size]);
      tf.tidy(() => v.assign(tf.tensor(Float32Array.from(u, (x) => (2 * x - 1) * bound), v.shape)));
    }
  }

  /**
   * Runs the model: `apply([concat(x_t, cond) or x_t, embedding(t)])`.
   * @param xt - `x_t`, NHWC `[B, H, W, C]` float32. Not disposed.
   * @param cond - the condition (same shape) for a conditional model; ignored (may be `null`) otherwise. Not disposed.
   * @param t - one time for the batch or one per item (the sampler passes a number, the trainer an array).
   * @returns the model's output `[B, H, W, C]`, owned by the caller; differentiable w.r.t. {@link LayersNetwork.variables}.
   */
  predict(xt: tf.Tensor, cond: tf.Tensor | null | undefined, t: NetworkTime): tf.Tensor {
    if (!(xt instanceof tf.Tensor) || xt.rank !== 4) throw new TypeError('LayersNetwork.predict: xt must be an NHWC tf.Tensor [B, H, W, C]');
    if (this.conditional && !(cond instanceof tf.Tensor)) throw new TypeError('LayersNetwork.predict: cond must be a tf.Tensor (the model is conditional; pass conditional: false for a DenoisingSDE)');
    const B = xt.shape[0];
    const times = timesOf(t, B, 'LayersNetwork.predict');
    return tf.tidy(() => {
      const image = this.conditional ? tf.concat([xt, cond as tf.Tensor], 3) : xt;
      const want = this.model.inputs[0].shape[3];
      if (typeof want === 'number' && image.shape[3] !== want) {
        throw new RangeError(`LayersNetwork.predict: the model's image input has ${want} channels but ${this.conditional ? 'concat(x_t, cond)' : 'x_t'} has ${image.shape[3]}`);
      }
      const inputs = this.timeDim === null ? [image] : [image, tf.tensor2d(sinusoidalEmbedding(times, this.timeDim), [B, this.timeDim])];
      const out = this.model.apply(inputs.length === 1 ? inputs[0] : inputs, { training: true });
      const y = Array.isArray(out) ? out[0] : out;
      if (!(y instanceof tf.Tensor) || y.rank !== 4 || y.shape[0] !== B || y.shape[1] !== xt.shape[1] || y.shape[2] !== xt.shape[2] || y.shape[3] !== xt.shape[3]) {
        throw new RangeError(`LayersNetwork.predict: the model must return one tensor shaped like x_t [${xt.shape.join(', ')}], got ${y instanceof tf.Tensor ? `[${y.shape.join(', ')}]` : typeof y}`);
      }
      return y;
    });
  }

  /**
   * The samplers' noise model under `sde` (a residual model's output converted with the SDE). The
   * network is borrowed; returned tensors are owned by the caller.
   */
  noiseModelFor(sde: DiffusionSDE<tf.Tensor>): NoiseModel<tf.Tensor, tf.Tensor | null> {
    return asNoiseModel<tf.Tensor, tf.Tensor | null>(sde, this.prediction, (xt, cond, t) => this.predict(xt, cond, t));
  }

  /** The weights as `{ shape, data }` under {@link LayersNetwork.variables}' names (host copies), for `writeSafetensors`. */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, v] of this.#vars) out[name] = { shape: v.shape.slice(), data: Float32Array.from(v.dataSync() as Float32Array), dtype: 'float32' };
    return out;
  }

  /**
   * Loads weights saved by {@link LayersNetwork.stateDict} (e.g. read back with `readSafetensors`).
   * Nothing is assigned unless every name is present with its shape and no other name is.
   * @throws RangeError listing the missing, unexpected and mis-shaped names.
   */
  loadStateDict(dict: StateDict): void {
    const problems: string[] = [];
    for (const [name, v] of this.#vars) {
      const w = dict[name];
      if (w === undefined) problems.push(`missing '${name}'`);
      else if (w.shape.join(',') !== v.shape.join(',')) problems.push(`'${name}' is [${w.shape.join(', ')}], the model needs [${v.shape.join(', ')}]`);
    }
    for (const name of Object.keys(dict)) if (!this.#vars.has(name)) problems.push(`unexpected '${name}'`);
    if (problems.length > 0) throw new RangeError(`LayersNetwork.loadStateDict: the weights do not fit the model: ${problems.join('; ')}`);
    for (const [name, v] of this.#vars) tf.tidy(() => v.assign(tf.tensor(dict[name].data, v.shape, 'float32')));
  }
}

/**
 * Adapts a `tf.LayersModel` (from `@tensorflow/tfjs-layers`, Keras style) into an irsde network:
 * `predict(xt, cond, t)` with `t` a number or one per item, `noiseModelFor(sde)` for every
 * sampler and `restore`, the `Trainer` with its default (tfjs) gradients, and weights under stable
 * names (`variables`, `stateDict`, `loadStateDict`) so that checkpoints resume in a new process.
 *
 * The model takes the image input NHWC `[null, H, W, 2C]` (`concat(x_t, cond)`; `[.., C]` with
 * `conditional: false`) and optionally a second input `[null, dim]`, which receives
 * {@link sinusoidalTimeEmbedding}`(t, dim)`; it returns `[null, H, W, C]`.
 *
 * Limit: a LayersModel is not a module/ops description, so it has no ONNX export, ONNX Runtime
 * gradients, `saveModel` model files, `Restorer` or CLI; write the network as a `NetworkModule`
 * (see `registerNetwork`) for those.
 *
 * @param model - the layers model (borrowed: not disposed).
 * @param options - prediction, conditional, seeded re-initialisation.
 * @throws TypeError / RangeError for a model whose inputs do not fit.
 *
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { fromLayersModel } from 'irsde/advanced';
 *
 * const image = tfl.input({ shape: [null, null, 6] });  // concat(x_t, mu), RGB
 * const time = tfl.input({ shape: [32] });              // sinusoidal embedding of t
 * const h = tfl.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(image) as tfl.SymbolicTensor;
 * const bias = tfl.layers.reshape({ targetShape: [1, 1, 16] }).apply(tfl.layers.dense({ units: 16 }).apply(time)) as tfl.SymbolicTensor;
 * const out = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(tfl.layers.add().apply([h, bias])) as tfl.SymbolicTensor;
 * const net = fromLayersModel(tfl.model({ inputs: [image, time], outputs: out }), { prediction: 'residual', seed: 0 });
 * // new Trainer({ sde, model: net, data }); await restore({ sde, model: net.noiseModelFor(sde), lq, sampler: 'posterior', steps: 5 })
 * ```
 */
export function fromLayersModel(model: LayersModelLike, options: LayersNetworkOptions = {}): LayersNetwork {
  return new LayersNetwork(model, options);
}
