/**
 * Refusion's `ConditionalNAFNet` (the original code's NAFNet module,
 * https://github.com/Algolzw/image-restoration-sde), both forms, described once: conditional (`codes/config/deraining`: input `concat(x - cond, cond)`) and
 * unconditional (`codes/config/denoising-sde`: input `x`).
 */
import { Conv2d, Linear, NoParams, RootModule } from '../arch/module.js';
import type { Ops } from '../arch/ops.js';
import { NAFBlock, Sequential, conditionedInput, simpleGate } from './blocks.js';
import { checkExtraCondChannels, checkPrediction, isPosInt, type NetworkPrediction } from './common.js';

/**
 * Size of a NAFNet: the original's `ConditionalNAFNet(img_channel, width, middle_blk_num,
 * enc_blk_nums, dec_blk_nums)`.
 */
export interface NAFNetConfig {
  /** Always `'nafnet'` (the constructor of `NAFNet` adds it). */
  readonly arch: 'nafnet';
  /** Image channels `img_channel` (input and output). */
  readonly imgChannels: number;
  /** Channels of the first level `width` (even, >= 4); level `i` has `width * 2^i`. */
  readonly width: number;
  /** NAFBlocks per encoder level, `enc_blk_nums` (one entry per level); inputs are zero-padded to a multiple of `2^encBlocks.length`. */
  readonly encBlocks: readonly number[];
  /** NAFBlocks in the middle, `middle_blk_num`. */
  readonly middleBlocks: number;
  /** NAFBlocks per decoder level, `dec_blk_nums` (as many levels as `encBlocks`). */
  readonly decBlocks: readonly number[];
  /** `true` (default): `forward(x, cond, t)` on `concat(x - cond, cond)`; `false`: `forward(x, t)`. */
  readonly conditional?: boolean;
  /** What the output means (default `'noise'`); see {@link NetworkPrediction}. */
  readonly prediction?: NetworkPrediction;
  /**
   * Extra per-pixel condition channels (conditional networks only; default none): the condition
   * is then `concat(mu, extra)` (`imgChannels + extraCondChannels` channels) and the first
   * convolution sees `concat(x - mu, mu, extra)`, `2 imgChannels + extraCondChannels` channels.
   * An inpainting model takes its mask this way (1 channel, 1 = missing), so it can tell filled
   * pixels from genuinely smooth ones. Such a network has no counterpart in the original code
   * (its `intro` convolution has more input channels).
   */
  readonly extraCondChannels?: number;
  /**
   * Test-time local statistics (TLC, Chu et al. 2022, "Revisiting Global Statistics Aggregation
   * for Improving Image Restoration"): the side, in input pixels, of the window over which each
   * NAFBlock's channel attention averages. Absent (default): the global spatial mean of the
   * original. A network trained on small crops sees, at test time, means over far larger regions
   * than in training; a window about the training crop's size (e.g. 96 for 64 px crops restoring
   * 512 px tiles) gives it statistics like those it learnt on. Not a weight: it can be set on any
   * trained model file (`irsde export --local-stats N`) or for one restore (`--local-stats N`).
   *
   * On a feature map at `1 / 2^l` of the (padded) input the window side is
   * `max(1, round(localStatistics / 2^l))`; when that is at least the map's height and width the
   * mean is the global one, else each position gets the mean over the window centred on it,
   * clipped to the map (divided by the positions actually inside, so edges average fewer
   * positions, none of them padding). See {@link Ops.localMeanHW}.
   */
  readonly localStatistics?: number;
}

/** The window side, in feature-map positions, of `localStatistics` (input pixels) at level `level` (a map `1 / 2^level` of the input). */
export function localStatisticsWindow(localStatistics: number, level: number): number {
  return Math.max(1, Math.round(localStatistics / 2 ** level));
}

/**
 * Throws a one-line RangeError naming `where` unless `n` is absent or a valid
 * {@link NAFNetConfig.localStatistics} (an integer >= 1).
 */
export function checkLocalStatistics(n: unknown, where: string): void {
  if (n !== undefined && !isPosInt(n)) throw new RangeError(`${where}: localStatistics must be an integer >= 1 (the channel-attention window side in input pixels), got ${JSON.stringify(n)}`);
}

/**
 * Validates a NAFNet config and returns a plain copy with `arch: 'nafnet'` (`conditional: true`
 * and `prediction: 'noise'` left out; `localStatistics` kept when set).
 * @throws TypeError / RangeError naming the bad field.
 */
export function checkNAFNetConfig(config: Omit<NAFNetConfig, 'arch'> & { readonly arch?: 'nafnet' }, where = 'NAFNet'): NAFNetConfig {
  if (config === null || typeof config !== 'object') throw new TypeError(`${where}: config must be an object { imgChannels, width, encBlocks, middleBlocks, decBlocks, conditional }`);
  const known = new Set(['arch', 'imgChannels', 'width', 'encBlocks', 'middleBlocks', 'decBlocks', 'conditional', 'prediction', 'localStatistics', 'extraCondChannels']);
  const extra = Object.keys(config).filter((k) => !known.has(k));
  if (extra.length > 0) throw new RangeError(`${where}: unknown NAFNet option${extra.length > 1 ? 's' : ''} ${extra.join(', ')} (known: ${[...known].join(', ')})`);
  const { imgChannels, width, encBlocks, middleBlocks, decBlocks, conditional, prediction, localStatistics, extraCondChannels } = config;
  if (config.arch !== undefined && config.arch !== 'nafnet') throw new RangeError(`${where}: arch must be 'nafnet', got ${JSON.stringify(config.arch)}`);
  if (!isPosInt(imgChannels)) throw new RangeError(`${where}: imgChannels must be an integer >= 1, got ${String(imgChannels)}`);
  if (!isPosInt(width) || width < 4 || width % 2 !== 0) throw new RangeError(`${where}: width must be an even integer >= 4, got ${String(width)}`);
  if (!Number.isInteger(middleBlocks) || middleBlocks < 0) throw new RangeError(`${where}: middleBlocks must be an integer >= 0, got ${String(middleBlocks)}`);
  for (const [k, v] of [
    ['encBlocks', encBlocks],
    ['decBlocks', decBlocks],
  ] as const) {
    if (!Array.isArray(v) || v.some((n) => !Number.isInteger(n) || n < 0)) throw new RangeError(`${where}: ${k} must be an array of integers >= 0 (blocks per level), got ${JSON.stringify(v)}`);
  }
  if (encBlocks.length !== decBlocks.length) {
    throw new RangeError(`${where}: encBlocks and decBlocks must have one entry per level each, got ${encBlocks.length} and ${decBlocks.length} levels`);
  }
  if (encBlocks.length > 12) throw new RangeError(`${where}: at most 12 levels (2^levels is the padding multiple), got ${encBlocks.length}`);
  if (conditional !== undefined && typeof conditional !== 'boolean') throw new TypeError(`${where}: conditional must be true or false, got ${JSON.stringify(conditional)}`);
  checkPrediction(prediction, where);
  checkLocalStatistics(localStatistics, where);
  checkExtraCondChannels(extraCondChannels, conditional, where);
  return {
    arch: 'nafnet',
    imgChannels,
    width,
    encBlocks: [...encBlocks],
    middleBlocks,
    decBlocks: [...decBlocks],
    ...(conditional === false ? { conditional: false } : {}),
    ...(prediction === 'residual' ? { prediction } : {}),
    ...(localStatistics !== undefined ? { localStatistics } : {}),
    ...(extraCondChannels !== undefined ? { extraCondChannels } : {}),
  };
}

/** The NAFNet's module tree (registration order: time_mlp, intro, ending, encoders, decoders, middle_blks, ups, downs) and forward pass. */
export class NAFNetModules extends RootModule {
  readonly timeMlp: Sequential;
  readonly intro: Conv2d;
  readonly ending: Conv2d;
  readonly encoders: Sequential<Sequential<NAFBlock>>;
  readonly decoders: Sequential<Sequential<NAFBlock>>;
  readonly middle: Sequential<NAFBlock>;
  readonly ups: Sequential<Sequential>;
  readonly downs: Sequential<Conv2d>;
  /** The padding multiple `2^levels`. */
  readonly multiple: number;
  /** No full attention: a NAFNet's channel attention is linear in the image size. */
  readonly fullAttentionScale = null;

  /** @param config - a checked config. */
  constructor(readonly config: NAFNetConfig) {
    super();
    const { imgChannels, width, encBlocks, middleBlocks, decBlocks } = config;
    const conditional = config.conditional ?? true;
    const tdim = 4 * width;
    this.multiple = 2 ** encBlocks.length;
    this.timeMlp = this.child('time_mlp', new Sequential([new NoParams(), new Linear(width, 2 * tdim), new NoParams(), new Linear(tdim, tdim)]));
    this.intro = this.child('intro', new Conv2d(conditional ? 2 * imgChannels + (config.extraCondChannels ?? 0) : imgChannels, width, 3));
    this.ending = this.child('ending', new Conv2d(width, imgChannels, 3));
    // Level l (a map 1 / 2^l of the input): its blocks' channel-attention window, or null (global).
    const window = (l: number): number | null => (config.localStatistics === undefined ? null : localStatisticsWindow(config.localStatistics, l));
    const blocks = (c: number, n: number, l: number): Sequential<NAFBlock> => new Sequential(Array.from({ length: n }, () => new NAFBlock(c, tdim, window(l))));
    const encoders: Sequential<NAFBlock>[] = [];
    const downs: Conv2d[] = [];
    let chan = width;
    encBlocks.forEach((n, l) => {
      encoders.push(blocks(chan, n, l));
      downs.push(new Conv2d(chan, 2 * chan, 2, { stride: 2, pad: 0 }));
      chan *= 2;
    });
    const middle = blocks(chan, middleBlocks, encBlocks.length);
    const ups: Sequential[] = [];
    const decoders: Sequential<NAFBlock>[] = [];
    decBlocks.forEach((n, i) => {
      ups.push(new Sequential([new Conv2d(chan, 2 * chan, 1, { bias: false }), new NoParams()]));
      chan /= 2;
      decoders.push(blocks(chan, n, encBlocks.length - 1 - i));
    });
    this.encoders = this.child('encoders', new Sequential(encoders));
    this.decoders = this.child('decoders', new Sequential(decoders));
    this.middle = this.child('middle_blks', middle);
    this.ups = this.child('ups', new Sequential(ups));
    this.downs = this.child('downs', new Sequential(downs));
    this.finish();
  }

  /** The forward pass; `cond` (`mu`, with the extra condition channels appended when configured) is used by the conditional form only. */
  forward<V>(ops: Ops<V>, inp: V, cond: V | null): V {
    const conditional = this.config.conditional ?? true;
    let x = conditional ? conditionedInput(ops, inp, cond as V, this.config.imgChannels, this.config.extraCondChannels ?? 0) : inp;
    const [, l1, , l3] = this.timeMlp.items as [unknown, Linear, unknown, Linear];
    const t = ops.stage('time_mlp', ops.linear(simpleGate(ops, ops.linear(ops.timeEmbedding(this.config.width), l1)), l3));
    x = ops.padToMultiple(x, this.multiple, 'zero');
    x = ops.stage('intro', ops.conv(x, this.intro));
    const skips: V[] = [];
    this.encoders.items.forEach((enc, i) => {
      for (const b of enc.items) x = b.forward(ops, x, t);
      skips.push(x);
      x = ops.stage(`downs.${i}`, ops.conv(ops.stage(`encoders.${i}`, x), this.downs.items[i]));
    });
    for (const b of this.middle.items) x = b.forward(ops, x, t);
    x = ops.stage('middle_blks', x);
    this.decoders.items.forEach((dec, i) => {
      x = ops.add(ops.pixelShuffle2(ops.conv(x, this.ups.items[i].items[0] as Conv2d)), skips.pop() as V);
      for (const b of dec.items) x = b.forward(ops, x, t);
      x = ops.stage(`decoders.${i}`, x);
    });
    x = ops.stage('ending', ops.conv(x, this.ending));
    return ops.cropLike(x, inp);
  }
}
