import * as tf from '@tensorflow/tfjs-core';
// Registers tfjs-layers' gradients and the cpu backend in Node (tfjs-core alone has no gradients).
import '../../backend/tfjs.js';
import { Rng } from '../../backend/rng.js';
import type { StateDict } from '../io/types.js';
import { checkUNetConfig, countParameters, paddedSize, predictionOf, unetParamSpecs, type ParamSpec, type UNetConfig, type UNetPrediction } from './config.js';
import type { MeanRevertingSDE } from '../../sde/mean-reverting-sde.js';
import { asNoiseModel, type NoiseModel } from '../../sampling/model.js';
import { tfjsShape, tfjsToTorch, torchToTfjs } from './layout.js';
import { attentionBlock, convSame, dense, gelu, resBlock, silu, sinusoidalEmbedding, type ParamLookup } from './ops.js';
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
export type UNetTime = number | ArrayLike<number>;

/**
 * The noise-model contract the samplers and losses use: `(x_t, mu, t) => eps_hat`, NHWC float32
 * tensors, result owned by the caller, arguments not disposed.
 */
export type UNetNoiseModel = (xt: tf.Tensor, mu: tf.Tensor, t: UNetTime) => tf.Tensor;

/** Options of the {@link ConditionalUNet} constructor. */
export interface ConditionalUNetOptions {
  /**
   * Seed of the initial weights (default 0). Initialisation follows PyTorch's defaults
   * (uniform in `+-1/sqrt(fan_in)` for weights and biases, LayerNorm gains 1), drawn with the
   * project's Philox generator, so it is reproducible but not bit-equal to PyTorch's.
   */
  readonly seed?: number;
  /** Whether the variables are trainable (default true). */
  readonly trainable?: boolean;
}

/** Called for each named stage of the forward pass (see {@link ConditionalUNet.trace}). */
type StageHook = (name: string, value: tf.Tensor) => void;

let instances = 0;

/**
 * The conditional U-Net noise network of IR-SDE (`ConditionalUNet` of the original code), with
 * the same parameters, names and numerics, working in tfjs's NHWC layout.
 *
 * Implementation: a functional forward pass of tfjs ops over one `tf.Variable` per PyTorch
 * parameter (rather than a Keras graph of tfjs-layers): the custom blocks the network needs
 * (channel LayerNorm without bias, LinearAttention, ResBlock with time scale-shift, sinusoidal
 * time embedding) are a few ops each, the parameters keep their PyTorch names one-to-one, and
 * gradients flow through `predict` to every variable with plain `tf.variableGrads` /
 * `optimizer.minimize`.
 *
 * Memory: the variables live until {@link ConditionalUNet.dispose}. `predict` allocates nothing
 * that outlives it except its result.
 */
export class ConditionalUNet {
  /** The validated network size. */
  readonly config: UNetConfig;
  /**
   * `this.predict` bound to this instance, for APIs taking a noise model
   * `(xt, mu, t) => tf.Tensor`. Only for `prediction: 'noise'` networks (a residual network's
   * output is not noise: calling this throws; use {@link ConditionalUNet.noiseModelFor}).
   */
  readonly noiseModel: UNetNoiseModel;

  readonly #specs: readonly ParamSpec[];
  readonly #vars: Map<string, tf.Variable>;
  #disposed = false;

  /**
   * @param config - `{ inChannels, outChannels, nf, depth }`; e.g. the paper's
   *   `{ inChannels: 3, outChannels: 3, nf: 64, depth: 4 }` (137,147,523 parameters).
   * @param options - seed and trainability of the freshly initialised weights.
   * @throws RangeError / TypeError for an invalid config.
   */
  constructor(config: UNetConfig, options: ConditionalUNetOptions = {}) {
    this.config = Object.freeze(checkUNetConfig(config));
    this.#specs = unetParamSpecs(this.config);
    const seed = options.seed ?? 0;
    const trainable = options.trainable ?? true;
    const rng = new Rng(seed);
    const id = instances++;
    this.#vars = new Map();
    for (const spec of this.#specs) {
      const numel = spec.torchShape.reduce((a, b) => a * b, 1);
      let torchData: Float32Array;
      if (spec.kind === 'gain') torchData = new Float32Array(numel).fill(1);
      else {
        const bound = 1 / Math.sqrt(spec.fanIn);
        const u = rng.uniform([1, numel]);
        torchData = Float32Array.from(u, (x) => (2 * x - 1) * bound);
      }
      const init = tf.tensor(torchToTfjs(spec, torchData), tfjsShape(spec), 'float32');
      this.#vars.set(spec.name, tf.variable(init, trainable, `irsde_unet${id}/${spec.name}`));
      init.dispose();
    }
    this.noiseModel = (xt, mu, t) => {
      if (this.prediction !== 'noise') {
        throw new TypeError(`ConditionalUNet.noiseModel: this network predicts '${this.prediction}', not noise; use unet.noiseModelFor(sde)`);
      }
      return this.predict(xt, mu, t);
    };
  }

  /** What the network's output means (`config.prediction`, default `'noise'`). */
  get prediction(): UNetPrediction {
    return predictionOf(this.config);
  }

  /**
   * The samplers' noise model for this network under `sde`, whatever it predicts (the output of
   * a `'residual'` network is converted with `sde.noiseFromX0`). The returned tensors are owned by
   * the caller; the network is borrowed (do not dispose it while sampling).
   */
  noiseModelFor(sde: MeanRevertingSDE<tf.Tensor>): NoiseModel<tf.Tensor> {
    return asNoiseModel(sde, this.prediction, (xt, mu, t) => this.predict(xt, mu, t));
  }

  /** The variables, keyed by PyTorch name, in `state_dict` order (tfjs layouts, see `layout.ts`). */
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

  /** Number of parameters (equals {@link countParameters} of the config). */
  countParameters(): number {
    return countParameters(this.config);
  }

  /**
   * Predicts the noise `eps_hat(x_t, mu, t)`.
   * @param xt - noisy state, NHWC `[B, H, W, inChannels]` float32; any `H, W` (reflect-padded
   *   bottom/right to a multiple of `2^depth` internally, output cropped back). Not disposed.
   * @param mu - the condition (degraded image), same shape as `xt`. Not disposed.
   * @param t - one time for the batch, or `B` times.
   * @returns `[B, H, W, outChannels]` float32, owned by the caller. Differentiable w.r.t. the
   *   variables and the inputs.
   */
  predict(xt: tf.Tensor, mu: tf.Tensor, t: UNetTime): tf.Tensor4D {
    const times = this.#checkInputs(xt, mu, t, 'predict');
    return tf.tidy(() => this.#forward(xt, mu, times));
  }

  /**
   * Runs the forward pass and returns a copy of each stage's output, named as the original's
   * modules (`init_conv`, `time_mlp`, `downs.{i}.{0..3}`, `mid_block1`, `mid_attn`, `mid_block2`,
   * `ups.{j}.{0..3}`, `final_res_block`, `final_conv`), NHWC on the padded size (`time_mlp`:
   * `[B, 4 nf]`). For checking a port stage by stage. The caller disposes every tensor in the map.
   */
  trace(xt: tf.Tensor, mu: tf.Tensor, t: UNetTime): Map<string, tf.Tensor> {
    const times = this.#checkInputs(xt, mu, t, 'trace');
    const stages = new Map<string, tf.Tensor>();
    tf.tidy(() => {
      this.#forward(xt, mu, times, (name, value) => stages.set(name, tf.keep(tf.clone(value))));
    });
    return stages;
  }

  /**
   * Loads a PyTorch `state_dict` (e.g. from `readSafetensors` / `readTorchStateDict`), converting
   * layouts (conv `[out,in,kh,kw]` -> `[kh,kw,in,out]`, linear `[out,in]` -> `[in,out]`, LayerNorm
   * `g [1,c,1,1]` -> `[c]`). Nothing is assigned unless the whole record passes the checks.
   * @param dict - name to `{ shape, data }` in PyTorch layout. Not modified or retained.
   * @returns the missing / unexpected keys (both empty after a strict load).
   * @throws StateDictMismatchError listing every missing, unexpected and mis-shaped key.
   */
  loadStateDict(dict: StateDict, options: LoadStateDictOptions = {}): LoadStateDictResult {
    this.#checkAlive('loadStateDict');
    if (dict === null || typeof dict !== 'object') throw new TypeError('ConditionalUNet.loadStateDict: expected a state dict { name: { shape, data } }');
    const strict = options.strict ?? true;
    const { missing, unexpected, mismatched } = matchStateDict(this.#specs, dict);
    if (mismatched.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
      throw new StateDictMismatchError(missing, strict ? unexpected : [], mismatched, this.config, mismatchHint(dict, this.config, missing, unexpected));
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

  /** Whether {@link ConditionalUNet.dispose} was called. */
  get isDisposed(): boolean {
    return this.#disposed;
  }

  #checkAlive(where: string): void {
    if (this.#disposed) throw new Error(`ConditionalUNet.${where}: the network was disposed`);
  }

  #checkInputs(xt: tf.Tensor, mu: tf.Tensor, t: UNetTime, where: string): number[] {
    this.#checkAlive(where);
    const w = `ConditionalUNet.${where}`;
    const c = this.config.inChannels;
    for (const [name, x] of [
      ['xt', xt],
      ['mu', mu],
    ] as const) {
      if (!(x instanceof tf.Tensor)) throw new TypeError(`${w}: ${name} must be a tf.Tensor [B, H, W, ${c}]`);
      if (x.rank !== 4 || x.shape[3] !== c) throw new RangeError(`${w}: ${name} must be NHWC [B, H, W, ${c}], got [${x.shape.join(', ')}]`);
      if (x.dtype !== 'float32') throw new TypeError(`${w}: ${name} must be float32, got ${x.dtype}`);
    }
    if (!xt.shape.every((d, i) => d === mu.shape[i])) {
      throw new RangeError(`${w}: xt [${xt.shape.join(', ')}] and mu [${mu.shape.join(', ')}] must have the same shape`);
    }
    const [B, H, W] = xt.shape;
    const pad = paddedSize(this.config, H, W);
    // Reflect padding mirrors without repeating the edge, so it needs more rows/columns than it adds.
    if (pad.H - H >= H || pad.W - W >= W) {
      throw new RangeError(`${w}: a ${H}x${W} input is too small to reflect-pad to a multiple of ${pad.multiple} (depth ${this.config.depth}); use at least ${pad.multiple / 2 + 1} pixels per side`);
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
  #forward(xt: tf.Tensor, mu: tf.Tensor, times: number[], hook?: StageHook): tf.Tensor4D {
    const { nf, depth } = this.config;
    const vars = this.#vars;
    const param: ParamLookup = (name) => vars.get(name) as tf.Variable;
    const stage = (name: string, x: tf.Tensor): tf.Tensor => {
      hook?.(name, x);
      return x;
    };
    const [B, H, W] = xt.shape;
    const pad = paddedSize(this.config, H, W);

    let x: tf.Tensor = tf.concat([tf.sub(xt, mu), mu], 3);
    if (pad.H !== H || pad.W !== W) {
      x = tf.mirrorPad(x, [[0, 0], [0, pad.H - H], [0, pad.W - W], [0, 0]], 'reflect');
    }
    x = stage('init_conv', convSame(x, param('init_conv.weight')));
    const xInit = x;

    const emb = tf.tensor2d(sinusoidalEmbedding(times, nf), [B, nf]);
    const temb = stage('time_mlp', dense(gelu(dense(emb, param('time_mlp.1.weight'), param('time_mlp.1.bias'))), param('time_mlp.3.weight'), param('time_mlp.3.bias')));
    const tembAct = silu(temb);

    const skips: tf.Tensor[] = [];
    for (let i = 0; i < depth; i++) {
      const p = `downs.${i}`;
      x = stage(`${p}.0`, resBlock(x, tembAct, param, `${p}.0`, false));
      skips.push(x);
      x = stage(`${p}.1`, resBlock(x, tembAct, param, `${p}.1`, false));
      x = stage(`${p}.2`, attentionBlock(x, param, `${p}.2`));
      skips.push(x);
      if (i < depth - 1) {
        // 4x4 stride-2 conv with zero padding 1 halves the (even) size exactly.
        x = tf.add(tf.conv2d(x as tf.Tensor4D, param(`${p}.3.weight`) as tf.Tensor4D, 2, 1), param(`${p}.3.bias`));
      } else x = convSame(x, param(`${p}.3.weight`));
      stage(`${p}.3`, x);
    }

    x = stage('mid_block1', resBlock(x, tembAct, param, 'mid_block1', false));
    x = stage('mid_attn', attentionBlock(x, param, 'mid_attn'));
    x = stage('mid_block2', resBlock(x, tembAct, param, 'mid_block2', false));

    for (let j = 0; j < depth; j++) {
      const p = `ups.${j}`;
      x = stage(`${p}.0`, resBlock(tf.concat([x, skips.pop() as tf.Tensor], 3), tembAct, param, `${p}.0`, true));
      x = stage(`${p}.1`, resBlock(tf.concat([x, skips.pop() as tf.Tensor], 3), tembAct, param, `${p}.1`, true));
      x = stage(`${p}.2`, attentionBlock(x, param, `${p}.2`));
      if (j < depth - 1) {
        const [, h, w] = x.shape;
        const up = tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [2 * h, 2 * w]);
        x = convSame(up, param(`${p}.3.1.weight`), param(`${p}.3.1.bias`));
      } else x = convSame(x, param(`${p}.3.weight`));
      stage(`${p}.3`, x);
    }

    x = stage('final_res_block', resBlock(tf.concat([x, xInit], 3), tembAct, param, 'final_res_block', true));
    x = stage('final_conv', convSame(x, param('final_conv.weight'), param('final_conv.bias')));
    if (pad.H !== H || pad.W !== W) x = tf.slice(x, [0, 0, 0, 0], [B, H, W, this.config.outChannels]);
    return x as tf.Tensor4D;
  }
}
