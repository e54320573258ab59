import * as tf from '@tensorflow/tfjs-core';
// Registers tfjs-layers' gradients and the cpu backend in Node (tfjs-core alone has no gradients).
import '../../backend/tfjs.js';
import { Rng } from '../../backend/rng.js';
import type { StateDict } from '../io/types.js';
import type { ParamSpec } from '../arch/module.js';
import { predictionOf, type NetworkPrediction } from '../nets/common.js';
import { buildModules, checkNetworkConfig, imageChannels, isConditional, paddedSize, type NetworkConfig, type NetworkModules } from '../nets/network.js';
import type { NAFNetConfig } from '../nets/nafnet.js';
import type { UNetConfig } from '../nets/unet.js';
import type { CustomNetworkConfig } from '../nets/custom.js';
import type { DiffusionSDE } from '../../sde/diffusion-sde.js';
import { asNoiseModel, type NoiseModel } from '../../sampling/model.js';
import { tfjsShape, tfjsToTorch, torchToTfjs } from './layout.js';
import { TfjsOps } from './tfjs-ops.js';
import {
  StateDictMismatchError,
  matchStateDict,
  mismatchHint,
  type LoadStateDictOptions,
  type LoadStateDictResult,
} from './state-dict.js';

/**
 * Diffusion time for the network: one number for the whole batch, or one per batch element
 * (the SDE's integer timesteps `1..T`; any finite value is accepted).
 */
export type NetworkTime = number | ArrayLike<number>;

/**
 * The noise-model contract the samplers and losses use: `(x_t, mu, t) => eps_hat`, NHWC float32
 * tensors, result owned by the caller, arguments not disposed.
 */
export type NetworkNoiseModel = (xt: tf.Tensor, mu: tf.Tensor, t: NetworkTime) => tf.Tensor;

/**
 * The condition of a network with extra condition channels (`extraCondChannels`): `concat(mu,
 * extra)` on the channel axis, `[B, H, W, C + k]`. The one place the condition and its extra
 * channels (e.g. an inpainting mask, 1 = missing) are joined on tfjs; the SDE's maths keeps `mu`.
 * @param mu - the SDE's condition `[B, H, W, C]`; not disposed.
 * @param extra - the extra channels `[B, H, W, k]`, or `null` / `undefined` for none; not disposed.
 * @returns a new tensor owned by the caller, or `mu` itself (borrowed) when `extra` is absent.
 * @throws RangeError when the two differ in batch, height or width.
 */
export function withExtraCond(mu: tf.Tensor, extra: tf.Tensor | null | undefined): tf.Tensor {
  if (extra === null || extra === undefined) return mu;
  if (mu.rank !== 4 || extra.rank !== 4 || !mu.shape.slice(0, 3).every((d, i) => d === extra.shape[i])) {
    throw new RangeError(`withExtraCond: mu [${mu.shape.join(', ')}] and the extra condition channels [${extra.shape.join(', ')}] must be NHWC with the same batch, height and width`);
  }
  return tf.concat([mu, extra], 3);
}

/** Options of the network constructors ({@link UNet}, {@link NAFNet}). */
export interface NetworkOptions {
  /**
   * Seed of the initial weights (default 0). Initialisation follows PyTorch's defaults
   * (uniform in `+-1/sqrt(fan_in)` for weights and biases, LayerNorm gains 1, NAFBlock's
   * beta/gamma 0), drawn with the project's Philox generator, so it is reproducible but not
   * bit-equal to PyTorch's.
   */
  readonly seed?: number;
  /** Whether the variables are trainable (default true). */
  readonly trainable?: boolean;
}

/** Called for each named stage of the forward pass (see {@link TfjsNetwork.trace}). */
type StageHook = (name: string, value: tf.Tensor) => void;

let instances = 0;

/**
 * A network of the original code on tfjs, with the same parameters, names and numerics, working in
 * tfjs's NHWC layout: the forward pass is the network's own description (`nn/nets/`) run on
 * the tfjs primitives (`TfjsOps`) over one `tf.Variable` per PyTorch parameter. Gradients flow through `predict`
 * to every variable with plain `tf.variableGrads` / `optimizer.minimize`.
 *
 * Memory: the variables live until `dispose()`. `predict` allocates nothing that
 * outlives it except its result.
 */
export class TfjsNetwork<C extends NetworkConfig = NetworkConfig> {
  /** The validated network config (frozen). */
  readonly config: C;
  /**
   * `this.predict` bound to this instance, for APIs taking a noise model
   * `(xt, mu, t) => tf.Tensor`. Only for `prediction: 'noise'` networks (a residual network's
   * output is not noise: calling this throws; use `noiseModelFor(sde)`).
   */
  readonly noiseModel: NetworkNoiseModel;

  readonly #name: string;
  readonly #modules: NetworkModules;
  readonly #specs: readonly ParamSpec[];
  readonly #vars: Map<string, tf.Variable>;
  #disposed = false;

  /**
   * @param config - the network's config (checked here).
   * @param options - seed and trainability of the freshly initialised weights.
   * @param name - the class name quoted in errors.
   * @throws RangeError / TypeError for an invalid config.
   */
  protected constructor(config: C, options: NetworkOptions, name: string) {
    this.#name = name;
    this.config = Object.freeze(checkNetworkConfig(config, name)) as C;
    this.#modules = buildModules(this.config);
    this.#specs = this.#modules.paramSpecs();
    const seed = options.seed ?? 0;
    const trainable = options.trainable ?? true;
    const rng = new Rng(seed);
    const id = instances++;
    this.#vars = new Map();
    for (const spec of this.#specs) {
      const numel = spec.torchShape.reduce((a, b) => a * b, 1);
      let torchData: Float32Array;
      if (spec.init !== undefined) torchData = new Float32Array(numel).fill(spec.init);
      else {
        const bound = 1 / Math.sqrt(spec.fanIn);
        const u = rng.uniform([1, numel]);
        torchData = Float32Array.from(u, (x) => (2 * x - 1) * bound);
      }
      const init = tf.tensor(torchToTfjs(spec, torchData), tfjsShape(spec), 'float32');
      this.#vars.set(spec.name, tf.variable(init, trainable, `irsde_net${id}/${spec.name}`));
      init.dispose();
    }
    this.noiseModel = (xt, mu, t) => {
      if (this.prediction !== 'noise') {
        throw new TypeError(`${this.#name}.noiseModel: this network predicts '${this.prediction}', not noise; use ${this.#name === 'UNet' ? 'unet' : 'net'}.noiseModelFor(sde)`);
      }
      return this.predict(xt, mu, t);
    };
  }

  /** What the network's output means (`config.prediction`, default `'noise'`). */
  get prediction(): NetworkPrediction {
    return predictionOf(this.config);
  }

  /** Whether the network takes a condition (`predict(xt, cond, t)` uses `cond`). */
  get conditional(): boolean {
    return isConditional(this.config);
  }

  /** The parameter table: PyTorch names, shapes and kinds in `state_dict` order. */
  get paramSpecs(): readonly ParamSpec[] {
    return this.#specs;
  }

  /**
   * The samplers' noise model for this network under `sde` (either family), whatever it predicts
   * (the output of a `'residual'` network is converted with `sde.noiseFromX0`; an unconditional
   * network ignores the condition, which a DenoisingSDE's samplers pass as `null`). The returned tensors are owned by
   * the caller; the network is borrowed (do not dispose it while sampling).
   * @param extraCond - for a network with `extraCondChannels`: the extra channels `[B, H, W, k]`
   *   of the whole image (e.g. the inpainting mask, 1 = missing), appended to every condition the
   *   samplers pass ({@link withExtraCond}); borrowed, keep it alive while sampling.
   */
  noiseModelFor(sde: DiffusionSDE<tf.Tensor>, extraCond?: tf.Tensor): NoiseModel<tf.Tensor, tf.Tensor | null> {
    return asNoiseModel<tf.Tensor, tf.Tensor | null>(sde, this.prediction, (xt, cond, t) =>
      extraCond !== undefined && cond !== null ? tf.tidy(() => this.predict(xt, withExtraCond(cond, extraCond), t)) : this.predict(xt, cond, t),
    );
  }

  /** The variables, keyed by PyTorch name, in `state_dict` order (tfjs layouts: convolution kernels `[kh, kw, in, out]`, 1x1 convolutions and linear weights `[in, out]`; `stateDict()` gives PyTorch's). */
  get variables(): ReadonlyMap<string, tf.Variable> {
    this.#checkAlive('variables');
    return this.#vars;
  }

  /** The trainable variables in `state_dict` order, e.g. the `varList` of `optimizer.minimize`. Owned by the network. */
  get trainableVariables(): tf.Variable[] {
    this.#checkAlive('trainableVariables');
    return [...this.#vars.values()].filter((v) => v.trainable);
  }

  /** All variables in `state_dict` order (as tfjs-layers' `getWeights`). Owned by the network: do not dispose. */
  getWeights(): tf.Variable[] {
    this.#checkAlive('getWeights');
    return [...this.#vars.values()];
  }

  /** Number of parameters (equals `countParameters(config)`). */
  countParameters(): number {
    return this.#specs.reduce((n, s) => n + s.torchShape.reduce((a, b) => a * b, 1), 0);
  }

  /**
   * Runs the network.
   * @param xt - the input (`x_t`), NHWC `[B, H, W, C]` float32; any `H, W` (padded bottom/right to
   *   the network's multiple internally, output cropped back). Not disposed.
   * @param cond - the condition (degraded image `mu`), same shape as `xt`, for conditional networks;
   *   ignored (may be `null`) by unconditional ones. With `extraCondChannels: k` in the config it is
   *   `concat(mu, extra)`, `[B, H, W, C + k]` (see {@link withExtraCond}). Not disposed.
   * @param t - one time for the batch, or `B` times.
   * @returns `[B, H, W, outC]` float32, owned by the caller. Differentiable w.r.t. the variables
   *   and the inputs.
   */
  predict(xt: tf.Tensor, cond: tf.Tensor | null | undefined, t: NetworkTime): tf.Tensor4D {
    const times = this.#checkInputs(xt, cond, t, 'predict');
    return tf.tidy(() => this.#forward(xt, cond, times)) as tf.Tensor4D;
  }

  /**
   * Runs the forward pass and returns a copy of each stage's output, named as the original's
   * modules (e.g. `init_conv`, `time_mlp`, `downs.{i}.{0..3}`, `mid_block1`, ... for the U-Net),
   * NHWC on the padded size (`time_mlp`: `[B, tdim]`). For checking a port stage by stage. The
   * caller disposes every tensor in the map.
   */
  trace(xt: tf.Tensor, cond: tf.Tensor | null | undefined, t: NetworkTime): Map<string, tf.Tensor> {
    const times = this.#checkInputs(xt, cond, t, 'trace');
    const stages = new Map<string, tf.Tensor>();
    tf.tidy(() => {
      this.#forward(xt, cond, times, (name, value) => stages.set(name, tf.keep(tf.clone(value))));
    });
    return stages;
  }

  /**
   * Loads a PyTorch `state_dict` (e.g. from `readSafetensors` / `readTorchStateDict`), converting
   * layouts (conv `[out,in,kh,kw]` -> `[kh,kw,in,out]`, linear `[out,in]` -> `[in,out]`, gains
   * `[1,c,1,1]` -> `[c]`). Nothing is assigned unless the whole record passes the checks.
   * @param dict - name to `{ shape, data }` in PyTorch layout. Not modified or retained.
   * @returns the missing / unexpected keys (both empty after a strict load).
   * @throws StateDictMismatchError listing every missing, unexpected and mis-shaped key.
   */
  loadStateDict(dict: StateDict, options: LoadStateDictOptions = {}): LoadStateDictResult {
    this.#checkAlive('loadStateDict');
    if (dict === null || typeof dict !== 'object') throw new TypeError(`${this.#name}.loadStateDict: expected a state dict { name: { shape, data } }`);
    const strict = options.strict ?? true;
    const { missing, unexpected, mismatched } = matchStateDict(this.#specs, dict);
    if (mismatched.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
      throw new StateDictMismatchError(missing, strict ? unexpected : [], mismatched, this.config, mismatchHint(dict, this.config, missing, unexpected), this.#name);
    }
    const absent = new Set(missing);
    for (const spec of this.#specs) {
      if (absent.has(spec.name)) continue;
      const value = tf.tensor(torchToTfjs(spec, dict[spec.name].data), tfjsShape(spec), 'float32');
      (this.#vars.get(spec.name) as tf.Variable).assign(value);
      value.dispose();
    }
    return { missing, unexpected };
  }

  /**
   * The parameters under their PyTorch names and layouts, in the original's `state_dict` order:
   * ready for `writeSafetensors` and PyTorch's `load_state_dict`. Host copies: nothing to dispose.
   */
  stateDict(): StateDict {
    this.#checkAlive('stateDict');
    const out: StateDict = {};
    for (const spec of this.#specs) {
      const v = this.#vars.get(spec.name) as tf.Variable;
      out[spec.name] = { shape: spec.torchShape.slice(), data: tfjsToTorch(spec, v.dataSync() as Float32Array), dtype: 'float32' };
    }
    return out;
  }

  /** Frees the variables; the network is unusable afterwards. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    for (const v of this.#vars.values()) v.dispose();
    this.#disposed = true;
  }

  /** Whether `dispose()` was called. */
  get isDisposed(): boolean {
    return this.#disposed;
  }

  #checkAlive(where: string): void {
    if (this.#disposed) throw new Error(`${this.#name}.${where}: the network was disposed`);
  }

  #checkInputs(xt: tf.Tensor, cond: tf.Tensor | null | undefined, t: NetworkTime, where: string): number[] {
    this.#checkAlive(where);
    const w = `${this.#name}.${where}`;
    const { input: c, cond: cc } = imageChannels(this.config);
    const extra = cc - c;
    // A network with extra condition channels names them (e.g. the inpainting mask) in its errors.
    const what = extra > 0 ? ` (mu with ${extra} extra condition channel${extra > 1 ? 's' : ''} appended, e.g. an inpainting mask)` : '';
    const inputs: [string, tf.Tensor | null | undefined, number][] = this.conditional ? [['xt', xt, c], ['cond', cond, cc]] : [['xt', xt, c]];
    for (const [name, x, n] of inputs) {
      if (!(x instanceof tf.Tensor)) {
        throw new TypeError(name === 'cond' ? `${w}: cond must be a tf.Tensor [B, H, W, ${n}]${what} (this network is conditional)` : `${w}: ${name} must be a tf.Tensor [B, H, W, ${n}]`);
      }
      if (x.rank !== 4 || x.shape[3] !== n) throw new RangeError(`${w}: ${name} must be NHWC [B, H, W, ${n}]${name === 'cond' ? what : ''}, got [${x.shape.join(', ')}]`);
      if (x.dtype !== 'float32') throw new TypeError(`${w}: ${name} must be float32, got ${x.dtype}`);
    }
    if (this.conditional && !xt.shape.slice(0, 3).every((d, i) => d === (cond as tf.Tensor).shape[i])) {
      throw new RangeError(`${w}: xt [${xt.shape.join(', ')}] and cond [${(cond as tf.Tensor).shape.join(', ')}] must have the same batch, height and width`);
    }
    const [B, H, W] = xt.shape;
    const pad = paddedSize(this.config, H, W);
    // Reflect padding mirrors without repeating the edge, so it needs more rows/columns than it adds.
    if ((this.config.arch === undefined || this.config.arch === 'unet') && (pad.H - H >= H || pad.W - W >= W)) {
      throw new RangeError(`${w}: a ${H}x${W} input is too small to reflect-pad to a multiple of ${pad.multiple}; use at least ${pad.multiple / 2 + 1} pixels per side`);
    }
    let times: number[];
    if (typeof t === 'number') times = new Array<number>(B).fill(t);
    else if (t !== null && typeof t === 'object' && typeof t.length === 'number') {
      if (t.length !== B) throw new RangeError(`${w}: t has ${t.length} entries but the batch has ${B}`);
      times = Array.from(t);
    } else throw new TypeError(`${w}: t must be a number or an array with one number per batch element`);
    times.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${w}: t[${i}] must be a finite number, got ${String(v)}`);
    });
    return times;
  }

  /** The forward pass (inside the caller's tidy). */
  #forward(xt: tf.Tensor, cond: tf.Tensor | null | undefined, times: number[], hook?: StageHook): tf.Tensor {
    const vars = this.#vars;
    const ops = new TfjsOps((name) => vars.get(name) as tf.Variable, times, hook);
    return this.#modules.forward(ops, xt, this.conditional ? (cond as tf.Tensor) : null);
  }
}

/**
 * The U-Net of IR-SDE, weight-compatible with the original code's `ConditionalUNet`:
 * `new UNet({ inChannels, outChannels, nf, depth })` is the conditional network of the
 * deraining config (`forward(x_t, cond, t)`, the paper's `{ 3, 3, 64, 4 }` has 137,147,523
 * parameters); with `conditional: false` it is the unconditional network of the denoising-sde
 * config (`forward(x_t, t)`, full attention in the middle block). See {@link TfjsNetwork}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { UNet } from 'irsde';
 * const unet = new UNet({ inChannels: 3, outChannels: 3, nf: 16, depth: 3 }, { seed: 0 });
 * const xt = tf.zeros([2, 32, 32, 3]), mu = tf.zeros([2, 32, 32, 3]);
 * const eps = unet.predict(xt, mu, [10, 90]); // [2, 32, 32, 3], owned by the caller
 * tf.dispose([xt, mu, eps]);
 * unet.dispose();
 * ```
 */
export class UNet extends TfjsNetwork<UNetConfig> {
  /**
   * @param config - `{ inChannels, outChannels, nf, depth, conditional?, prediction? }`.
   * @param options - seed and trainability of the freshly initialised weights.
   * @throws RangeError / TypeError for an invalid config.
   */
  constructor(config: UNetConfig, options: NetworkOptions = {}) {
    if (config !== null && typeof config === 'object' && (config as { arch?: unknown }).arch === 'nafnet') {
      throw new TypeError('UNet: this config is a NAFNet\'s (arch: nafnet); use new NAFNet(config)');
    }
    if (config !== null && typeof config === 'object' && (config as { arch?: unknown }).arch === 'custom') {
      throw new TypeError('UNet: this config is a custom network\'s (arch: custom); use new CustomNetwork(config) or createNetwork(config)');
    }
    super(config, options, 'UNet');
  }
}

/**
 * The NAFNet of Refusion, weight-compatible with the original code's `ConditionalNAFNet`:
 * `new NAFNet({ imgChannels, width, encBlocks, middleBlocks, decBlocks, conditional })`; conditional (default) as in the deraining config (`forward(x, cond, t)` on
 * `concat(x - cond, cond)`), or unconditional as in the denoising-sde config (`forward(x, t)`).
 * Inputs are zero-padded to a multiple of `2^encBlocks.length`. See {@link TfjsNetwork}.
 *
 * @example
 * ```ts
 * import { NAFNet } from 'irsde';
 * const naf = new NAFNet({ imgChannels: 3, width: 16, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1], prediction: 'residual' });
 * // naf.predict(xt, mu, t), naf.noiseModelFor(sde), new Trainer({ sde, model: naf, data }), saveModel(naf, sde)
 * naf.dispose();
 * ```
 */
export class NAFNet extends TfjsNetwork<NAFNetConfig> {
  /**
   * @param config - `{ imgChannels, width, encBlocks, middleBlocks, decBlocks, conditional?, prediction? }`.
   * @param options - seed and trainability of the freshly initialised weights.
   * @throws RangeError / TypeError for an invalid config.
   */
  constructor(config: Omit<NAFNetConfig, 'arch'> & { readonly arch?: 'nafnet' }, options: NetworkOptions = {}) {
    if (config === null || typeof config !== 'object') throw new TypeError('NAFNet: config must be an object { imgChannels, width, encBlocks, middleBlocks, decBlocks, conditional }');
    if ((config as { arch?: unknown }).arch !== undefined && (config as { arch?: unknown }).arch !== 'nafnet') {
      throw new TypeError(`NAFNet: this config is not a NAFNet's (arch: ${JSON.stringify((config as { arch?: unknown }).arch)})`);
    }
    super({ ...config, arch: 'nafnet' }, options, 'NAFNet');
  }
}

/**
 * A network defined outside irsde (see `registerNetwork` and `NetworkModule` of `irsde/advanced`)
 * on tfjs: the registered module tree's `forward` run on the tfjs primitives over one `tf.Variable`
 * per declared parameter, initialised as the built-in networks are (seeded). Everything a
 * {@link TfjsNetwork} does works: `predict` (NHWC in, NHWC out), `trace`, `stateDict` /
 * `loadStateDict`, the `Trainer` (tfjs gradients, and ONNX Runtime gradients through
 * `createOrtGradients`), `saveModel` / `loadModel` (register the definition before loading),
 * `exportOnnx` and `Restorer`.
 *
 * @example
 * ```ts
 * registerNetwork({ name: 'tiny-convnet', build: (config) => new TinyConvNet(config) }); // see NetworkModule
 * const net = new CustomNetwork({ arch: 'custom', name: 'tiny-convnet', channels: 3, prediction: 'residual' }, { seed: 0 });
 * const out = net.predict(xt, mu, [10, 20]); // [2, H, W, 3], owned by the caller
 * ```
 */
export class CustomNetwork extends TfjsNetwork<CustomNetworkConfig> {
  /**
   * @param config - `{ arch: 'custom', name, channels, conditional?, prediction?, options? }`; `name` must be registered.
   * @param options - seed and trainability of the freshly initialised weights.
   * @throws RangeError / TypeError for an invalid config or an unregistered name.
   */
  constructor(config: CustomNetworkConfig, options: NetworkOptions = {}) {
    if (config === null || typeof config !== 'object' || config.arch !== 'custom') {
      throw new TypeError(`CustomNetwork: config must be { arch: 'custom', name, channels, ... }, got arch ${JSON.stringify((config as { arch?: unknown } | null)?.arch)}`);
    }
    super(config, options, 'CustomNetwork');
  }
}

/**
 * Builds the tfjs network of a config of any architecture: a `UNet`, a
 * `NAFNet`, or a {@link CustomNetwork} for `arch: 'custom'`.
 *
 * @example
 * ```ts
 * const net = createNetwork({ inChannels: 3, outChannels: 3, nf: 16, depth: 3, prediction: 'residual' }, { seed: 0 });
 * net.dispose();
 * ```
 */
export function createNetwork(config: NetworkConfig, options: NetworkOptions = {}): UNet | NAFNet | CustomNetwork {
  if (config !== null && typeof config === 'object' && config.arch === 'custom') return new CustomNetwork(config, options);
  return config !== null && typeof config === 'object' && config.arch === 'nafnet' ? new NAFNet(config, options) : new UNet(config as UNetConfig, options);
}
