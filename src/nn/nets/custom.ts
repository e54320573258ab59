/**
 * Networks defined outside irsde: a user describes a module tree and its `forward` over the
 * primitive {@link Ops} (as irsde's own U-Net and NAFNet are described), registers it under a
 * name with {@link registerNetwork}, and refers to it with a {@link CustomNetworkConfig}. From
 * then on the config works wherever a built-in network's does: `createNetwork` / `CustomNetwork`
 * (tfjs), `exportOnnx`, `exportOnnxTrainingGraph` and `createOrtGradients`, `saveModel` /
 * `loadModel`, `Restorer`, `countParameters` and `forwardFlops`.
 */
import { RootModule } from '../arch/module.js';
import type { Ops } from '../arch/ops.js';
import { checkExtraCondChannels, checkPrediction, isPosInt, type NetworkPrediction } from './common.js';
import type { NetworkModules } from './modules.js';

/** A JSON value (what a {@link CustomNetworkConfig}'s `options` may hold: it is stored in model files). */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * The config of a network registered with {@link registerNetwork}. Plain JSON: it is stored in
 * model files (`saveModel`) and ONNX training graphs are cached by it.
 *
 * @example
 * ```ts
 * const config: CustomNetworkConfig = { arch: 'custom', name: 'tiny-convnet', channels: 3, options: { width: 16 }, prediction: 'residual' };
 * ```
 */
export interface CustomNetworkConfig {
  /** Always `'custom'`. */
  readonly arch: 'custom';
  /** The name the network's {@link NetworkDefinition} was registered under. */
  readonly name: string;
  /** Image channels of `x_t`, of the condition and of the output (1 grey, 3 RGB). */
  readonly channels: number;
  /**
   * `true` (default): `forward(ops, xt, cond)` receives the condition (a MeanRevertingSDE's `mu`);
   * `false`: `cond` is `null` (a DenoisingSDE's unconditional network).
   */
  readonly conditional?: boolean;
  /** What the output means (default `'noise'`; `'residual'`: `x0 - mu`). See `NetworkPrediction`. */
  readonly prediction?: NetworkPrediction;
  /**
   * Extra per-pixel condition channels (conditional networks only; default none): `forward`'s
   * `cond` is then `concat(mu, extra)`, `channels + extraCondChannels` channels (e.g. an
   * inpainting mask as the last channel), fed wherever the built-in networks' extra channels are.
   */
  readonly extraCondChannels?: number;
  /** The definition's own hyper-parameters (widths, depths, ...), passed to its `build`. */
  readonly options?: { readonly [key: string]: JsonValue };
}

/**
 * How to build a custom network: registered once per process (and per worker or page) with
 * {@link registerNetwork} before any config naming it is used (including before `loadModel` reads
 * a file that holds one).
 *
 * @example
 * ```ts
 * registerNetwork({ name: 'tiny-convnet', build: (config) => new TinyConvNet(config) });
 * ```
 */
export interface NetworkDefinition {
  /** The name configs refer to (`config.name`); letters, digits, `-`, `_`, `.` and `/`. */
  readonly name: string;
  /**
   * Builds the module tree of a checked config (no weights are allocated: parameters are only
   * declared). Called for every network instance, export, parameter count and model-file check,
   * so it must be cheap and deterministic: the same config must give the same parameter table.
   * Throw a `RangeError` for options the network cannot take.
   */
  build(config: CustomNetworkConfig): NetworkModules;
}

const registry = new Map<string, NetworkDefinition>();
const NAME = /^[A-Za-z0-9_./-]+$/;

/**
 * Registers a network definition under `definition.name`, so that {@link CustomNetworkConfig}s
 * naming it can be built. Registering the same definition object again is a no-op.
 * @throws TypeError for a definition without `name` / `build`; RangeError for a bad name, a
 *   built-in architecture's name, or a name already registered by another definition (call
 *   {@link unregisterNetwork} first to replace it).
 *
 * @example
 * ```ts
 * import { registerNetwork, createNetwork } from 'irsde/advanced';
 * registerNetwork({ name: 'tiny-convnet', build: (config) => new TinyConvNet(config) });
 * const net = createNetwork({ arch: 'custom', name: 'tiny-convnet', channels: 3 }, { seed: 0 });
 * ```
 */
export function registerNetwork(definition: NetworkDefinition): void {
  if (definition === null || typeof definition !== 'object' || typeof definition.build !== 'function' || typeof definition.name !== 'string') {
    throw new TypeError('registerNetwork: expected a definition { name, build(config) }');
  }
  const { name } = definition;
  if (!NAME.test(name)) throw new RangeError(`registerNetwork: a network name is letters, digits, '-', '_', '.' and '/', got ${JSON.stringify(name)}`);
  if (name === 'unet' || name === 'nafnet' || name === 'custom') throw new RangeError(`registerNetwork: '${name}' is an architecture of irsde; pick another name`);
  const prev = registry.get(name);
  if (prev === definition) return;
  if (prev !== undefined) throw new RangeError(`registerNetwork: a different network is already registered as '${name}' (unregisterNetwork('${name}') first to replace it)`);
  registry.set(name, definition);
}

/** Removes a registered network definition (configs naming it stop working). @returns whether it was registered. */
export function unregisterNetwork(name: string): boolean {
  return registry.delete(name);
}

/** The names of the registered custom networks, in registration order. */
export function registeredNetworks(): string[] {
  return [...registry.keys()];
}

/**
 * Thrown when a config or model file names a custom network that is not registered in this
 * process (a `RangeError`; callers that wrap it keep it as their `cause`).
 */
export class UnregisteredNetworkError extends RangeError {
  /** `'UnregisteredNetworkError'`. */
  override readonly name = 'UnregisteredNetworkError';
  /** @param message - the one-line message. @param networkName - the unregistered name. */
  constructor(
    message: string,
    readonly networkName: string,
  ) {
    super(message);
  }
}

/** The definition registered as `name`. @throws UnregisteredNetworkError naming `where` when none is. */
export function networkDefinition(name: string, where: string): NetworkDefinition {
  const def = registry.get(name);
  if (def === undefined) {
    const known = registry.size > 0 ? ` (registered: ${[...registry.keys()].join(', ')})` : ' (none is registered)';
    throw new UnregisteredNetworkError(`${where}: no custom network is registered as ${JSON.stringify(name)}${known}; call registerNetwork({ name: ${JSON.stringify(name)}, build }) first, in every process, worker or page that builds or loads it`, name);
  }
  return def;
}

function checkJson(v: unknown, path: string, where: string): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`${where}: ${path} must be a finite number, got ${String(v)}`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkJson(x, `${path}[${i}]`, where));
    return;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) checkJson(x, `${path}.${k}`, where);
    return;
  }
  throw new TypeError(`${where}: ${path} must be plain JSON data (numbers, strings, booleans, null, arrays, objects)`);
}

/**
 * Validates a custom network config (its fields; the name must be registered) and returns a
 * plain deep copy (`conditional: true`, `prediction: 'noise'` and empty `options` left out).
 * @throws TypeError / RangeError naming the bad field.
 */
export function checkCustomNetworkConfig(config: CustomNetworkConfig, where = 'CustomNetwork'): CustomNetworkConfig {
  if (config === null || typeof config !== 'object') throw new TypeError(`${where}: config must be an object { arch: 'custom', name, channels, conditional?, prediction?, options? }`);
  const known = new Set(['arch', 'name', 'channels', 'conditional', 'prediction', 'extraCondChannels', 'options']);
  const extra = Object.keys(config).filter((k) => !known.has(k));
  if (extra.length > 0) throw new RangeError(`${where}: unknown custom network field${extra.length > 1 ? 's' : ''} ${extra.join(', ')} (known: ${[...known].join(', ')}; put the network's own hyper-parameters in options)`);
  const { arch, name, channels, conditional, prediction, extraCondChannels, options } = config;
  if (arch !== 'custom') throw new RangeError(`${where}: arch must be 'custom', got ${JSON.stringify(arch)}`);
  if (typeof name !== 'string') throw new TypeError(`${where}: name must be the string a network was registered under, got ${JSON.stringify(name)}`);
  networkDefinition(name, where);
  if (!isPosInt(channels)) throw new RangeError(`${where}: channels must be an integer >= 1, got ${String(channels)}`);
  if (conditional !== undefined && typeof conditional !== 'boolean') throw new TypeError(`${where}: conditional must be true or false, got ${JSON.stringify(conditional)}`);
  checkPrediction(prediction, where);
  checkExtraCondChannels(extraCondChannels, conditional, where);
  if (options !== undefined) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`${where}: options must be an object of JSON values`);
    checkJson(options, 'options', where);
  }
  const copy = options === undefined ? undefined : (JSON.parse(JSON.stringify(options)) as Record<string, JsonValue>);
  return {
    arch: 'custom',
    name,
    channels,
    ...(conditional === false ? { conditional: false } : {}),
    ...(prediction === 'residual' ? { prediction } : {}),
    ...(extraCondChannels !== undefined ? { extraCondChannels } : {}),
    ...(copy !== undefined && Object.keys(copy).length > 0 ? { options: copy } : {}),
  };
}

/**
 * Builds the module tree of a checked custom config through its registered definition, and checks
 * what the definition returned.
 * @throws RangeError / TypeError for an unregistered name or a malformed module tree.
 */
export function buildCustomModules(config: CustomNetworkConfig, where = 'CustomNetwork'): NetworkModules {
  const modules = networkDefinition(config.name, where).build(config);
  if (modules === null || typeof modules !== 'object' || typeof modules.forward !== 'function' || typeof modules.paramSpecs !== 'function') {
    throw new TypeError(`${where}: the build of '${config.name}' must return a module tree with paramSpecs() and forward(ops, xt, cond) (extend NetworkModule)`);
  }
  if (!isPosInt(modules.multiple)) throw new RangeError(`${where}: '${config.name}'.multiple must be an integer >= 1, got ${String(modules.multiple)}`);
  const f = modules.fullAttentionScale;
  if (f !== null && !isPosInt(f)) throw new RangeError(`${where}: '${config.name}'.fullAttentionScale must be null or an integer >= 1, got ${String(f)}`);
  return modules;
}

/**
 * The base class of a network's module tree (the root), for networks written outside irsde.
 * Register children with `this.child(name, module)` (`Conv2d`, `Linear`, `LayerNorm` or your own
 * `Module` subclasses; the names become the PyTorch-style `state_dict` keys, e.g. `convs.0.weight`),
 * call `this.finish()` at the end of the constructor, and write {@link NetworkModule.forward} once
 * over the primitive {@link Ops}: tfjs, the ONNX inference graph, the ONNX training graph (with its
 * backward pass) and the FLOP count each run that same description.
 *
 * Values in `forward` have logical shapes whatever the engine's layout: images `[B, C, H, W]`
 * float32 (tfjs stores them NHWC, ONNX NCHW), vectors `[B, C]` (`ops.timeEmbedding(dim)`, an even
 * `dim >= 4`, is `[B, dim]`; `ops.vectorToImage(v)` broadcasts it against images). Values are
 * owned by the engine: never dispose them, and do not keep them after `forward` returns.
 *
 * @example
 * ```ts
 * import { NetworkModule, Conv2d, Linear, type Ops, type CustomNetworkConfig } from 'irsde/advanced';
 *
 * class TinyConvNet extends NetworkModule {
 *   readonly time: Linear;
 *   readonly head: Conv2d;
 *   readonly tail: Conv2d;
 *   constructor(readonly config: CustomNetworkConfig) {
 *     super();
 *     const c = config.channels;
 *     const width = Number(config.options?.width ?? 16);
 *     this.time = this.child('time', new Linear(width, width));
 *     this.head = this.child('head', new Conv2d(2 * c, width, 3));
 *     this.tail = this.child('tail', new Conv2d(width, c, 3));
 *     this.finish();
 *   }
 *   forward<V>(ops: Ops<V>, xt: V, cond: V | null): V {
 *     const t = ops.vectorToImage(ops.linear(ops.timeEmbedding(this.head.cout), this.time));
 *     const h = ops.silu(ops.add(ops.conv(ops.concat([xt, cond as V]), this.head), t));
 *     return ops.conv(h, this.tail);
 *   }
 * }
 * ```
 */
export abstract class NetworkModule extends RootModule implements NetworkModules {
  /**
   * The multiple the input's height and width must have (default 1). `forward` itself pads to it
   * (`ops.padToMultiple`) and crops back (`ops.cropLike`) when inputs of any size must work; ONNX
   * training graphs require crops that are multiples of it.
   */
  readonly multiple: number = 1;
  /**
   * The downsampling factor of a full (quadratic) attention over the positions, or `null` (default)
   * when the network has none; `Restorer` picks smaller default tiles for such networks.
   */
  readonly fullAttentionScale: number | null = null;

  /**
   * The forward pass.
   * @param ops - the engine's primitives.
   * @param xt - `x_t`, an image `[B, channels, H, W]`.
   * @param cond - the condition, same shape (for `conditional: false` configs: `null`).
   * @returns the output image `[B, channels, H, W]` (noise, or `x0 - mu` for `prediction: 'residual'`).
   */
  abstract forward<V>(ops: Ops<V>, xt: V, cond: V | null): V;
}
