/**
 * A noise model `(x_t, mu, t) => eps_hat` running an ONNX graph in ONNX Runtime, for the samplers.
 * The ORT module is injected (onnxruntime-node in Node, onnxruntime-web in browsers), so the core
 * imports neither; `createNodeOrtNoiseModel` of `irsde/node` is the Node convenience wrapper.
 */
import * as tf from '@tensorflow/tfjs-core';
import { OrtModelError, resolveOrtIo, type OrtIoNames, type OrtIoSpec, type OrtTimeType } from './io-mapping.js';
import type { OrtModuleLike, OrtSessionLike, OrtSessionOptions, OrtTensorLike } from './ort-types.js';
import { nchwToNhwc, nhwcToNchw } from './nchw.js';

/** Options of {@link createOrtNoiseModel}. */
export interface OrtNoiseModelOptions {
  /** The ONNX Runtime module: `import * as ort from 'onnxruntime-node'` (or `'onnxruntime-web'`). */
  readonly ort: OrtModuleLike;
  /**
   * Threads per operator (`intraOpNumThreads`), default 2 (both cores of a small machine).
   * Ignored by onnxruntime-web, which takes `ort.env.wasm.numThreads` instead.
   */
  readonly threads?: number;
  /**
   * Whether idle intra-op threads spin-wait for work (ORT's default, true): fastest on otherwise
   * idle cores, but on cores shared with other busy processes `false` can be ~2x faster.
   */
  readonly spinning?: boolean;
  /**
   * Session options passed to `InferenceSession.create`; they override the defaults
   * `{ intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
   * graphOptimizationLevel: 'all' }`.
   */
  readonly sessionOptions?: OrtSessionOptions;
  /**
   * Input/output names for a model whose names are not recognised. By default inputs named
   * `xt`/`cond`/`time` (or common aliases such as `x`, `mu`, `t`) are used, then the ranks ORT
   * reports (two rank-4 inputs in order, one vector), then the original's order `(xt, cond, time)`;
   * the output is the first one.
   */
  readonly names?: Partial<OrtIoNames>;
  /** Element type of the time input (default: what the model declares, else float32). */
  readonly timeType?: OrtTimeType;
}

/** One diffusion time for the batch, or one per batch element. */
export type OrtTime = number | ArrayLike<number>;

/** An NCHW float32 array with its shape. */
export interface NchwArray {
  /** Row-major values. */
  readonly data: Float32Array;
  /** `[B, C, H, W]`. */
  readonly dims: [number, number, number, number];
}

function shapeStr(s: readonly (number | string)[]): string {
  return `[${s.join(', ')}]`;
}

/**
 * A noise network in an ONNX Runtime session (see {@link createOrtNoiseModel}).
 *
 * Memory: the session holds native memory until {@link OrtNoiseModel.dispose}. Each prediction
 * returns one new tfjs tensor owned by the caller and leaves no other tfjs tensor behind.
 */
export class OrtNoiseModel {
  /** The underlying ORT session (owned by this object). */
  readonly session: OrtSessionLike;
  /** Which model inputs/output play which role, and the time input's type. */
  readonly io: OrtIoSpec;
  /**
   * `this.predict` bound to this instance: the samplers' async noise-model contract
   * `(xt, mu, t) => Promise<tf.Tensor>` (NHWC; arguments not disposed; result owned by the caller).
   */
  readonly noiseModel: (xt: tf.Tensor, mu: tf.Tensor | null, t: OrtTime) => Promise<tf.Tensor>;

  readonly #ort: OrtModuleLike;
  #released = false;

  /** Use {@link createOrtNoiseModel}; this wraps an already created session. */
  constructor(ort: OrtModuleLike, session: OrtSessionLike, io: OrtIoSpec) {
    this.#ort = ort;
    this.session = session;
    this.io = io;
    this.noiseModel = (xt, mu, t) => this.predict(xt, mu, t);
  }

  /**
   * Predicts the noise for NHWC tfjs tensors (transposed to NCHW for ONNX and back).
   * @param xt - `[B, H, W, C]` float32, not disposed.
   * @param mu - the condition, same shape (or with extra channels appended, `[B, H, W, C + k]`, for
   *   a network with `extraCondChannels`), not disposed; ignored (may be `null`) when the model is
   *   unconditional (`io.cond === null`).
   * @param t - one time for the batch, or `B` times.
   * @returns `[B, H, W, outC]` float32, owned by the caller.
   * @throws OrtModelError for bad inputs, or when ONNX Runtime fails (its message included).
   */
  async predict(xt: tf.Tensor, mu: tf.Tensor | null | undefined, t: OrtTime): Promise<tf.Tensor4D> {
    const conditional = this.io.cond !== null;
    const checked: [string, tf.Tensor | null | undefined][] = conditional ? [['xt', xt], ['mu', mu]] : [['xt', xt]];
    for (const [name, x] of checked) {
      if (!(x instanceof tf.Tensor)) throw new TypeError(`OrtNoiseModel.predict: ${name} must be a tf.Tensor [B, H, W, C]`);
      if (x.rank !== 4) throw new RangeError(`OrtNoiseModel.predict: ${name} must be NHWC [B, H, W, C], got ${shapeStr(x.shape)}`);
      if (x.dtype !== 'float32') throw new TypeError(`OrtNoiseModel.predict: ${name} must be float32, got ${x.dtype}`);
    }
    // The condition may carry extra channels after mu (a network's extraCondChannels, e.g. a mask).
    if (conditional && !xt.shape.slice(0, 3).every((d, i) => d === (mu as tf.Tensor).shape[i])) {
      throw new RangeError(`OrtNoiseModel.predict: xt ${shapeStr(xt.shape)} and mu ${shapeStr((mu as tf.Tensor).shape)} must have the same batch, height and width`);
    }
    const [B, H, W, C] = xt.shape;
    // Host-side layout changes (one pass each): tfjs's generic transpose on the cpu backend was a
    // large share of a tiled restore's time outside ONNX Runtime.
    const toNchw = async (v: tf.Tensor): Promise<Float32Array> => nhwcToNchw((await v.data()) as Float32Array, [B, H, W, v.shape[3] as number]);
    const xd = await toNchw(xt);
    const md = conditional ? await toNchw(mu as tf.Tensor) : null;
    const out = await this.runNchw(xd, md, t, [B, C, H, W]);
    const [, outC] = out.dims;
    return tf.tensor4d(nchwToNhwc(out.data, out.dims), [B, H, W, outC], 'float32');
  }

  /**
   * Runs the model on host NCHW arrays (no tfjs involved).
   * @param xt - `[B, C, H, W]` values, row-major.
   * @param cond - the condition, same layout (`[B, C + k, H, W]` with `k` extra condition channels;
   *   ignored, may be `null`, for an unconditional model).
   * @param t - one time for the batch, or `B` times.
   * @param dims - `[B, C, H, W]`.
   * @returns the model's output `[B, outC, H, W]` (a new array).
   */
  async runNchw(xt: Float32Array, cond: Float32Array | null, t: OrtTime, dims: readonly [number, number, number, number]): Promise<NchwArray> {
    if (this.#released) throw new Error('OrtNoiseModel: used after dispose()');
    const where = 'OrtNoiseModel';
    const [B, C, H, W] = dims;
    const numel = B * C * H * W;
    const condName = this.io.cond;
    if (!(xt instanceof Float32Array) || (condName !== null && !(cond instanceof Float32Array))) throw new TypeError(`${where}.runNchw: xt${condName !== null ? ' and cond' : ''} must be Float32Arrays`);
    // The condition holds C channels, or more when extra condition channels are appended to mu.
    const perChannel = B * H * W;
    const condC = condName === null ? 0 : (cond as Float32Array).length / perChannel;
    if (xt.length !== numel || (condName !== null && !(Number.isInteger(condC) && condC >= C))) {
      throw new RangeError(`${where}.runNchw: dims ${shapeStr(dims)} need ${numel} values${condName !== null ? ` (cond: a multiple of ${perChannel}, at least ${numel})` : ''}, got xt ${xt.length}${condName !== null ? ` and cond ${(cond as Float32Array).length}` : ''}`);
    }
    const declared = this.io.xtShape;
    if (declared !== null) {
      const bad = declared.findIndex((d, i) => typeof d === 'number' && d !== dims[i]);
      if (bad >= 0) {
        throw new OrtModelError(`${where}: the model takes ${this.io.xt} with fixed shape ${shapeStr(declared)} (NCHW) but got ${shapeStr(dims)}; dimension ${'BCHW'[bad]} must be ${String(declared[bad])}`);
      }
    }
    const feeds: Record<string, OrtTensorLike> = {
      [this.io.xt]: new this.#ort.Tensor('float32', xt, dims),
      [this.io.time]: this.#timeTensor(t, B),
    };
    if (condName !== null) feeds[condName] = new this.#ort.Tensor('float32', cond as Float32Array, [B, condC, H, W]);
    let results: Record<string, OrtTensorLike>;
    try {
      results = await this.session.run(feeds);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      // Reflect padding (the U-Net's, to a multiple of 2^depth) needs more pixels per side than it adds.
      const hint = /pad/i.test(msg) && /reflect/i.test(msg) ? ' (the image is too small for the reflect padding to a multiple of 2^depth)' : '';
      throw new OrtModelError(`${where}: ONNX Runtime failed on xt ${shapeStr(dims)} (NCHW)${hint}: ${msg}`);
    }
    const y = results[this.io.output];
    if (y === undefined) throw new OrtModelError(`${where}: the model returned no output '${this.io.output}'`);
    if (!(y.data instanceof Float32Array)) throw new OrtModelError(`${where}: output '${this.io.output}' must be float32, got ${y.type}`);
    const yd = y.dims;
    if (yd.length !== 4 || yd[0] !== B || yd[2] !== H || yd[3] !== W) {
      throw new OrtModelError(`${where}: output '${this.io.output}' is ${shapeStr(yd)} but a noise prediction for ${shapeStr(dims)} must be [${B}, C, ${H}, ${W}]`);
    }
    return { data: y.data, dims: [yd[0], yd[1], yd[2], yd[3]] };
  }

  #timeTensor(t: OrtTime, B: number): OrtTensorLike {
    const where = 'OrtNoiseModel';
    let times: number[];
    if (typeof t === 'number') times = new Array<number>(B).fill(t);
    else if (t !== null && typeof t === 'object' && typeof t.length === 'number') {
      if (t.length !== B) throw new RangeError(`${where}: t has ${t.length} entries but the batch has ${B}`);
      times = Array.from(t);
    } else throw new TypeError(`${where}: t must be a number or one number per batch element`);
    times.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${where}: t[${i}] must be a finite number, got ${String(v)}`);
    });
    // A model traced with a fixed [1] time broadcasts it over the batch: fine when all times agree.
    const fixedOne = this.io.timeShape !== null && this.io.timeShape[0] === 1;
    if (fixedOne) {
      if (times.some((v) => v !== times[0])) throw new OrtModelError(`${where}: the model takes one time for the whole batch (${this.io.time} is [1]), but t differs across the batch`);
      times = times.slice(0, 1);
    }
    const type = this.io.timeType;
    if (type === 'int64' || type === 'int32') {
      const bad = times.find((v) => !Number.isInteger(v));
      if (bad !== undefined) throw new RangeError(`${where}: the model takes integer times (${type}), got ${bad}`);
      const data = type === 'int64' ? BigInt64Array.from(times, (v) => BigInt(v)) : Int32Array.from(times);
      return new this.#ort.Tensor(type, data, [times.length]);
    }
    const data = type === 'float64' ? Float64Array.from(times) : Float32Array.from(times);
    return new this.#ort.Tensor(type, data, [times.length]);
  }

  /** Frees the ORT session. Idempotent; the model is unusable afterwards. */
  async dispose(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.session.release();
  }
}

/**
 * Loads an ONNX noise network into ONNX Runtime: a model from {@link exportOnnx}, or an external
 * one with inputs `(xt, cond, time)` (e.g. `torch.onnx.export` of the original PyTorch model).
 *
 * @param model - the ONNX bytes, or a path (onnxruntime-node) / URL (onnxruntime-web) ORT loads itself.
 * @param options - the injected `ort` module, threads, session options, name overrides.
 * @returns the model; call `dispose()` when done.
 * @throws OrtModelError when ORT cannot load the model (corrupt or not ONNX) or its inputs do not
 *   fit `(xt [B,C,H,W] float32, cond [B,C,H,W] float32, time [B])`.
 */
export async function createOrtNoiseModel(model: Uint8Array | ArrayBuffer | string, options: OrtNoiseModelOptions): Promise<OrtNoiseModel> {
  const where = 'createOrtNoiseModel';
  const ort = options?.ort;
  if (ort === undefined || ort === null || typeof ort.InferenceSession?.create !== 'function' || typeof ort.Tensor !== 'function') {
    throw new TypeError(`${where}: options.ort must be the ONNX Runtime module (import * as ort from 'onnxruntime-node' or 'onnxruntime-web'); in Node, createNodeOrtNoiseModel of irsde/node passes it for you`);
  }
  const threads = options.threads ?? 2;
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`${where}: threads must be an integer >= 1, got ${String(threads)}`);
  const sessionOptions: OrtSessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    ...(options.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
    ...options.sessionOptions,
  };
  let what = 'the model';
  let session: OrtSessionLike;
  try {
    if (typeof model === 'string') {
      what = `'${model}'`;
      session = await ort.InferenceSession.create(model, sessionOptions);
    } else if (model instanceof Uint8Array || model instanceof ArrayBuffer) {
      const bytes = model instanceof Uint8Array ? model : new Uint8Array(model);
      what = `${bytes.length} bytes`;
      if (bytes.length === 0) throw new OrtModelError(`${where}: the model bytes are empty`);
      session = await ort.InferenceSession.create(bytes, sessionOptions);
    } else throw new TypeError(`${where}: model must be ONNX bytes (Uint8Array / ArrayBuffer) or a path/URL string`);
  } catch (e) {
    if (e instanceof TypeError || e instanceof OrtModelError) throw e;
    throw new OrtModelError(`${where}: ONNX Runtime could not load the model (${what}); is it a valid .onnx file? ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return new OrtNoiseModel(ort, session, resolveOrtIo(session, options.names, options.timeType));
  } catch (e) {
    await session.release();
    throw e;
  }
}
