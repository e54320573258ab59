/**
 * The networks irsde knows, by architecture: their configs, module trees, parameter tables, sizes
 * and FLOP counts, all derived from the one description of each network (its module tree and
 * `forward`). Adding a network means a description plus its blocks, and an entry here.
 */
import type { StateDict } from '../io/types.js';
import type { ParamSpec } from '../arch/module.js';
import type { Ops } from '../arch/ops.js';
import type { NetworkModules } from './modules.js';
import { FlopCounter } from '../arch/flops.js';
import { isPosInt } from './common.js';
import { NAFNetModules, checkLocalStatistics, checkNAFNetConfig, type NAFNetConfig } from './nafnet.js';
import { UNetModules, checkUNetConfig, type UNetConfig } from './unet.js';
import { buildCustomModules, checkCustomNetworkConfig, type CustomNetworkConfig } from './custom.js';

/**
 * A network's config: a U-Net's (`arch` absent or `'unet'`), a NAFNet's (`arch: 'nafnet'`), or a
 * network registered with `registerNetwork` (`arch: 'custom'`, see {@link CustomNetworkConfig}).
 */
export type NetworkConfig = UNetConfig | NAFNetConfig | CustomNetworkConfig;

/** The architectures (see {@link NetworkConfig}). */
export type Arch = 'unet' | 'nafnet' | 'custom';

/** The architectures irsde knows (`'custom'`: a network registered with `registerNetwork`). */
export const ARCHS: readonly Arch[] = ['unet', 'nafnet', 'custom'];

export type { NetworkModules } from './modules.js';

/** The architecture of a config (a config without `arch` is a U-Net). */
export function archOf(config: NetworkConfig): Arch {
  return config.arch === 'nafnet' || config.arch === 'custom' ? config.arch : 'unet';
}

/**
 * Validates a network config of either architecture and returns a plain copy.
 * @throws TypeError / RangeError naming the bad field.
 */
export function checkNetworkConfig(config: NetworkConfig, where = 'network'): NetworkConfig {
  if (config === null || typeof config !== 'object') throw new TypeError(`${where}: the network config must be an object`);
  const arch = (config as { arch?: unknown }).arch;
  if (arch !== undefined && !ARCHS.includes(arch as Arch)) throw new RangeError(`${where}: unknown arch ${JSON.stringify(arch)} (known: ${ARCHS.join(', ')})`);
  const a = archOf(config);
  if (a === 'custom') return checkCustomNetworkConfig(config as CustomNetworkConfig, where);
  return a === 'nafnet' ? checkNAFNetConfig(config as NAFNetConfig, where) : checkUNetConfig(config as UNetConfig, where);
}

/**
 * The config with NAFNet's test-time local statistics set (`localStatistics` an integer >= 1, see
 * {@link NAFNetConfig.localStatistics}) or removed (`null` or `0`: the global mean). Weights are
 * unaffected, so a trained model's config can be changed this way.
 * @returns a checked copy.
 * @throws RangeError (one line) for a bad value, or a window for a network that is not a NAFNet
 *   (removing it from one is a no-op).
 */
export function withLocalStatistics(config: NetworkConfig, localStatistics: number | null, where = 'localStatistics'): NetworkConfig {
  const cfg = checkNetworkConfig(config, where);
  const off = localStatistics === null || localStatistics === 0;
  if (cfg.arch !== 'nafnet') {
    if (off) return cfg;
    throw new RangeError(`${where}: local statistics apply to NAFNet networks only; this network is a ${archOf(cfg) === 'custom' ? 'custom' : 'U-Net'} one`);
  }
  if (off) {
    const { localStatistics: _dropped, ...rest } = cfg;
    return rest;
  }
  checkLocalStatistics(localStatistics, where);
  return { ...cfg, localStatistics };
}

/** Whether the network takes a condition (`forward(x_t, cond, t)`), i.e. `conditional` is not `false`. */
export function isConditional(config: NetworkConfig): boolean {
  return config.conditional !== false;
}

/** What {@link imageChannels} returns. */
export interface ImageChannels {
  /** Channels of `x_t` (and of the SDE's condition `mu`). */
  readonly input: number;
  /** Channels of the output. */
  readonly output: number;
  /**
   * Channels of the network's condition input: `input`, plus the config's `extraCondChannels`
   * (the condition is then `concat(mu, extra)`, e.g. an inpainting mask as its last channel).
   */
  readonly cond: number;
}

/** Image channels of the network's input `x_t`, of its condition and of its output. */
export function imageChannels(config: NetworkConfig): ImageChannels {
  const extra = extraCondChannels(config);
  if (config.arch === 'custom') return { input: config.channels, output: config.channels, cond: config.channels + extra };
  return config.arch === 'nafnet'
    ? { input: config.imgChannels, output: config.imgChannels, cond: config.imgChannels + extra }
    : { input: config.inChannels, output: config.outChannels, cond: config.inChannels + extra };
}

/**
 * The per-pixel condition channels the network takes after `mu` (`extraCondChannels`, 0 when
 * none): its condition input is `concat(mu, extra)`. An inpainting network with its mask as an
 * input channel has 1.
 */
export function extraCondChannels(config: NetworkConfig): number {
  return config.extraCondChannels ?? 0;
}

/** Builds the module tree of a (checked) config. */
export function buildModules(config: NetworkConfig): NetworkModules {
  if (config.arch === 'custom') return buildCustomModules(config);
  return config.arch === 'nafnet' ? new NAFNetModules(config) : new UNetModules(config);
}

/** Every parameter of the network, in the original's `state_dict` order (no weights are allocated). */
export function networkParamSpecs(config: NetworkConfig): ParamSpec[] {
  return buildModules(checkNetworkConfig(config)).paramSpecs();
}

/**
 * Number of trainable parameters of a network of this config (no weights are allocated).
 * The paper's `{ inChannels: 3, outChannels: 3, nf: 64, depth: 4 }` has 137,147,523.
 */
export function countParameters(config: NetworkConfig): number {
  return networkParamSpecs(config).reduce((n, s) => n + s.torchShape.reduce((a, b) => a * b, 1), 0);
}

/** What {@link paddedSize} returns. */
export interface PaddedSize {
  /** The padding multiple (`2^depth` for a U-Net, `2^levels` for a NAFNet, the module tree's `multiple` for a custom network). */
  readonly multiple: number;
  /** Height rounded up to the multiple. */
  readonly H: number;
  /** Width rounded up to the multiple. */
  readonly W: number;
}

/** The padding multiple and `H`, `W` rounded up to it (what the convolutions see). */
export function paddedSize(config: NetworkConfig, H: number, W: number): PaddedSize {
  const s = config.arch === 'custom' ? buildCustomModules(config).multiple : config.arch === 'nafnet' ? 2 ** config.encBlocks.length : 2 ** config.depth;
  return { multiple: s, H: Math.ceil(H / s) * s, W: Math.ceil(W / s) * s };
}

/**
 * Floating-point operations of one forward pass for one image of `H x W` (counted on the padded
 * size), as `2 x` the multiply-accumulates of the convolutions, linear layers and attention matrix
 * products, read off the network's description; element-wise work (norms, activations, softmax)
 * is left out. Divide by 1e9 for GFLOP.
 */
export function forwardFlops(config: NetworkConfig, H: number, W: number): number {
  const cfg = checkNetworkConfig(config, 'forwardFlops');
  if (!isPosInt(H) || !isPosInt(W)) throw new RangeError(`forwardFlops: H and W must be integers >= 1, got ${String(H)} x ${String(W)}`);
  const counter = new FlopCounter(1);
  const c = imageChannels(cfg);
  buildModules(cfg).forward<readonly number[]>(counter, [1, c.input, H, W], isConditional(cfg) ? [1, c.cond, H, W] : null);
  return 2 * counter.macs;
}

/** Most query-key pairs one full-attention score matrix may hold per head at the default tile (64x64 tokens). */
const MAX_ATTENTION_TOKENS = 64 * 64;

/**
 * The downsampling factor of the network's full (quadratic) attention, or `null` when it has none
 * (a conditional U-Net's attention is linear; a NAFNet's channel attention is linear). The
 * unconditional U-Net (the DenoisingSDE form) attends over all `(H / f) x (W / f)` positions of
 * its middle block, `f = 2^(depth - 1)`.
 */
export function fullAttentionScale(config: NetworkConfig): number | null {
  return buildModules(checkNetworkConfig(config, 'fullAttentionScale')).fullAttentionScale;
}

/**
 * The default tile side for restoring images with this network: 512, or for a network with full
 * attention the largest power of two up to 512 whose middle block holds at most 64x64 positions
 * (its score matrix grows with the square of the tile's area: an unconditional depth-3 U-Net on
 * a whole 512x512 image holds 4 x 16384^2 scores, 4 GB, and is ~7x slower than on 256 tiles).
 */
export function defaultTile(config: NetworkConfig): number {
  const f = fullAttentionScale(config);
  let tile = 512;
  if (f !== null) while (tile > 8 && (tile / f) ** 2 > MAX_ATTENTION_TOKENS) tile /= 2;
  return tile;
}

function has(dict: StateDict, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(dict, key);
}

/**
 * Guesses the config a PyTorch state_dict was saved from (either architecture, either form) from
 * the shapes of a few keys; `prediction` and a NAFNet's `localStatistics` (a test-time option)
 * cannot be seen in weights and are left out. A first convolution with more input channels than
 * twice the output's gives `extraCondChannels` (a conditional U-Net is then taken to have
 * `inChannels = outChannels`).
 * @returns the config, or `null` when the keys fit no known network.
 */
export function inferNetworkConfig(dict: StateDict): NetworkConfig | null {
  const shape = (k: string): number[] | null => (has(dict, k) && Array.isArray(dict[k]?.shape) ? dict[k].shape : null);
  const maxIndex = (re: RegExp): number => Object.keys(dict).reduce((n, k) => Math.max(n, Number(re.exec(k)?.[1] ?? -1)), -1);
  const init = shape('init_conv.weight');
  const fin = shape('final_conv.weight');
  if (init !== null && fin !== null && init.length === 4 && fin.length === 4) {
    const depth = maxIndex(/^downs\.(\d+)\./) + 1;
    if (depth === 0) return null;
    // The unconditional network has full Attention in the middle: its to_out is a plain conv.
    const conditional = !has(dict, 'mid_attn.fn.fn.to_out.weight');
    // Input channels beyond 2 x the output's are extra condition channels (e.g. an inpainting mask).
    const extra = conditional ? init[1] - 2 * fin[0] : 0;
    if (conditional && init[1] % 2 !== 0 && extra <= 0) return null;
    if (extra > 0) return { inChannels: fin[0], outChannels: fin[0], nf: init[0], depth, extraCondChannels: extra };
    return { inChannels: conditional ? init[1] / 2 : init[1], outChannels: fin[0], nf: init[0], depth, ...(conditional ? {} : { conditional: false }) };
  }
  const intro = shape('intro.weight');
  const ending = shape('ending.weight');
  if (intro !== null && ending !== null && intro.length === 4 && ending.length === 4) {
    const levels = maxIndex(/^downs\.(\d+)\./) + 1;
    const count = (prefix: string, i: number): number => maxIndex(new RegExp(`^${prefix}\\.${i}\\.(\\d+)\\.`)) + 1;
    const encBlocks = Array.from({ length: levels }, (_, i) => count('encoders', i));
    const decBlocks = Array.from({ length: levels }, (_, i) => count('decoders', i));
    const middleBlocks = maxIndex(/^middle_blks\.(\d+)\./) + 1;
    const imgChannels = ending[0];
    const conditional = intro[1] >= 2 * imgChannels;
    // Input channels beyond 2 x the image's are extra condition channels (e.g. an inpainting mask).
    const extra = intro[1] - 2 * imgChannels;
    return { arch: 'nafnet', imgChannels, width: intro[0], encBlocks, middleBlocks, decBlocks, ...(conditional ? {} : { conditional: false }), ...(extra > 0 ? { extraCondChannels: extra } : {}) };
  }
  return null;
}
