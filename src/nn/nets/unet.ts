/**
 * The original's `ConditionalUNet` (the U-Net module of https://github.com/Algolzw/image-restoration-sde),
 * both forms, described once: the conditional network of `codes/config/deraining` (input
 * `concat(x_t - cond, cond)`, LinearAttention in the middle) and the unconditional one of
 * `codes/config/denoising-sde` (input `x_t`, full Attention in the middle), layer for layer as
 * there, with PyTorch's parameter names and order. The README section "The networks" lists both
 * forms and how closely they match the original's outputs.
 */
import { Conv2d, Linear, Module, NoParams, RootModule } from '../arch/module.js';
import type { Ops } from '../arch/ops.js';
import { Attention, LinearAttention, PreNormResidual, ResBlock, Sequential, conditionedInput } from './blocks.js';
import { checkExtraCondChannels, checkPrediction, isPosInt, type NetworkPrediction } from './common.js';

/** Size of a U-Net: the original's `ConditionalUNet(in_nc, out_nc, nf, depth)`. */
export interface UNetConfig {
  /** `'unet'` (may be omitted: a config without `arch` is a U-Net). */
  readonly arch?: 'unet';
  /** Image channels `in_nc` of `x_t` (and of the condition; the conditional network sees `2 * inChannels`). */
  readonly inChannels: number;
  /** Channels `out_nc` of the output (normally equal to `inChannels`). */
  readonly outChannels: number;
  /** Base width `nf` (even, >= 4): level `i` has `nf * 2^i` channels; the time embedding has `4 nf`. */
  readonly nf: number;
  /** Number of levels (>= 1); inputs are reflect-padded to a multiple of `2^depth`. */
  readonly depth: number;
  /**
   * `true` (default): the conditional network, `forward(x_t, cond, t)`. `false`: the unconditional
   * network of the original's denoising-sde config, `forward(x_t, t)` (full attention in the middle).
   */
  readonly conditional?: boolean;
  /** What the output means (default `'noise'`); see {@link NetworkPrediction}. */
  readonly prediction?: NetworkPrediction;
  /**
   * Extra per-pixel condition channels (conditional networks only; default none): the condition
   * is `concat(mu, extra)` and `init_conv` sees `concat(x_t - mu, mu, extra)`, `2 inChannels +
   * extraCondChannels` channels (e.g. 1 for an inpainting mask). No counterpart in the original code.
   */
  readonly extraCondChannels?: number;
}

/**
 * Validates a U-Net config and returns a plain copy (`arch`, `conditional: true` and
 * `prediction: 'noise'` are left out, so configs and model files of conditional noise networks
 * keep their original form).
 * @throws TypeError / RangeError naming the bad field.
 */
export function checkUNetConfig(config: UNetConfig, where = 'UNet'): UNetConfig {
  if (config === null || typeof config !== 'object') throw new TypeError(`${where}: config must be an object { inChannels, outChannels, nf, depth }`);
  const { inChannels, outChannels, nf, depth, prediction, conditional, extraCondChannels } = config;
  const known = new Set(['arch', 'inChannels', 'outChannels', 'nf', 'depth', 'conditional', 'prediction', 'extraCondChannels']);
  const extra = Object.keys(config).filter((k) => !known.has(k));
  if (extra.length > 0) throw new RangeError(`${where}: unknown U-Net option${extra.length > 1 ? 's' : ''} ${extra.join(', ')} (known: ${[...known].join(', ')})`);
  if (config.arch !== undefined && config.arch !== 'unet') throw new RangeError(`${where}: arch must be 'unet', got ${JSON.stringify(config.arch)}`);
  for (const [k, v] of [
    ['inChannels', inChannels],
    ['outChannels', outChannels],
    ['depth', depth],
  ] as const) {
    if (!isPosInt(v)) throw new RangeError(`${where}: ${k} must be an integer >= 1, got ${String(v)}`);
  }
  // The sinusoidal embedding divides by (nf/2 - 1), so nf = 2 would divide by zero.
  if (!isPosInt(nf) || nf < 4 || nf % 2 !== 0) throw new RangeError(`${where}: nf must be an even integer >= 4, got ${String(nf)}`);
  if (depth > 12) throw new RangeError(`${where}: depth must be <= 12 (2^depth is the padding multiple), got ${depth}`);
  if (conditional !== undefined && typeof conditional !== 'boolean') throw new TypeError(`${where}: conditional must be true or false, got ${JSON.stringify(conditional)}`);
  checkPrediction(prediction, where);
  checkExtraCondChannels(extraCondChannels, conditional, where);
  return {
    inChannels,
    outChannels,
    nf,
    depth,
    ...(conditional === false ? { conditional: false } : {}),
    ...(prediction === 'residual' ? { prediction } : {}),
    ...(extraCondChannels !== undefined ? { extraCondChannels } : {}),
  };
}

/** The U-Net's module tree (registration order: init_conv, time_mlp, downs, ups, mid, final) and forward pass. */
export class UNetModules extends RootModule {
  readonly initConv: Conv2d;
  readonly timeMlp: Sequential;
  readonly downs: Sequential<Sequential>;
  readonly ups: Sequential<Sequential>;
  readonly midBlock1: ResBlock;
  readonly midAttn: PreNormResidual;
  readonly midBlock2: ResBlock;
  readonly finalResBlock: ResBlock;
  readonly finalConv: Conv2d;
  /** The padding multiple `2^depth`. */
  readonly multiple: number;
  /** The middle block's downsampling factor when its attention is full (unconditional form), else `null`. */
  readonly fullAttentionScale: number | null;

  /** @param config - a checked config. */
  constructor(readonly config: UNetConfig) {
    super();
    const { inChannels, outChannels, nf, depth } = config;
    const conditional = config.conditional ?? true;
    const tdim = 4 * nf;
    this.multiple = 2 ** depth;
    this.initConv = this.child('init_conv', new Conv2d(conditional ? 2 * inChannels + (config.extraCondChannels ?? 0) : inChannels, nf, 7, { bias: false }));
    this.timeMlp = this.child('time_mlp', new Sequential([new NoParams(), new Linear(nf, tdim), new NoParams(), new Linear(tdim, tdim)]));
    const downs: Sequential[] = [];
    const ups: Sequential[] = [];
    for (let i = 0; i < depth; i++) {
      const cin = nf * 2 ** i;
      const cout = 2 * cin;
      downs.push(
        new Sequential<Module>([
          new ResBlock(cin, cin, tdim),
          new ResBlock(cin, cin, tdim),
          new PreNormResidual(cin, new LinearAttention(cin)),
          i < depth - 1 ? new Conv2d(cin, cout, 4, { stride: 2, pad: 1 }) : new Conv2d(cin, cout, 3, { bias: false }),
        ]),
      );
      ups.unshift(
        new Sequential<Module>([
          new ResBlock(cout + cin, cout, tdim),
          new ResBlock(cout + cin, cout, tdim),
          new PreNormResidual(cout, new LinearAttention(cout)),
          i > 0 ? new Sequential([new NoParams(), new Conv2d(cout, cin, 3)]) : new Conv2d(cout, cin, 3, { bias: false }),
        ]),
      );
    }
    this.downs = this.child('downs', new Sequential(downs));
    this.ups = this.child('ups', new Sequential(ups));
    const mid = nf * 2 ** depth;
    this.midBlock1 = this.child('mid_block1', new ResBlock(mid, mid, tdim));
    this.midAttn = this.child('mid_attn', new PreNormResidual(mid, conditional ? new LinearAttention(mid) : new Attention(mid)));
    // The middle block sits below the depth - 1 stride-2 convolutions of `downs`.
    this.fullAttentionScale = conditional ? null : 2 ** (depth - 1);
    this.midBlock2 = this.child('mid_block2', new ResBlock(mid, mid, tdim));
    this.finalResBlock = this.child('final_res_block', new ResBlock(2 * nf, nf, tdim));
    this.finalConv = this.child('final_conv', new Conv2d(nf, outChannels, 3));
    this.finish();
  }

  /**
   * The forward pass; `cond` is used by the conditional form only. Stages are named as the
   * original's modules (`init_conv`, `time_mlp`, `downs.{i}.{0..3}`, `mid_block1`, `mid_attn`,
   * `mid_block2`, `ups.{j}.{0..3}`, `final_res_block`, `final_conv`).
   */
  forward<V>(ops: Ops<V>, xt: V, cond: V | null): V {
    const conditional = this.config.conditional ?? true;
    let x = conditional ? conditionedInput(ops, xt, cond as V, this.config.inChannels, this.config.extraCondChannels ?? 0) : xt;
    x = ops.padToMultiple(x, this.multiple, 'reflect');
    x = ops.stage('init_conv', ops.conv(x, this.initConv));
    const xInit = x;
    const [, l1, , l3] = this.timeMlp.items as [unknown, Linear, unknown, Linear];
    const t = ops.stage('time_mlp', ops.linear(ops.gelu(ops.linear(ops.timeEmbedding(this.config.nf), l1)), l3));
    const skips: V[] = [];
    this.downs.items.forEach((level, i) => {
      const [b1, b2, attn, down] = level.items as [ResBlock, ResBlock, PreNormResidual, Conv2d];
      const p = `downs.${i}`;
      x = ops.stage(`${p}.0`, b1.forward(ops, x, t));
      skips.push(x);
      x = ops.stage(`${p}.1`, b2.forward(ops, x, t));
      x = ops.stage(`${p}.2`, attn.forward(ops, x));
      skips.push(x);
      x = ops.stage(`${p}.3`, ops.conv(x, down));
    });
    x = ops.stage('mid_block1', this.midBlock1.forward(ops, x, t));
    x = ops.stage('mid_attn', this.midAttn.forward(ops, x));
    x = ops.stage('mid_block2', this.midBlock2.forward(ops, x, t));
    this.ups.items.forEach((level, j) => {
      const [b1, b2, attn, up] = level.items as [ResBlock, ResBlock, PreNormResidual, Conv2d | Sequential];
      const p = `ups.${j}`;
      x = ops.stage(`${p}.0`, b1.forward(ops, ops.concat([x, skips.pop() as V]), t));
      x = ops.stage(`${p}.1`, b2.forward(ops, ops.concat([x, skips.pop() as V]), t));
      x = ops.stage(`${p}.2`, attn.forward(ops, x));
      x = ops.stage(`${p}.3`, up instanceof Conv2d ? ops.conv(x, up) : ops.conv(ops.upsample2(x), up.items[1] as Conv2d));
    });
    x = ops.stage('final_res_block', this.finalResBlock.forward(ops, ops.concat([x, xInit]), t));
    x = ops.stage('final_conv', ops.conv(x, this.finalConv));
    return ops.cropLike(x, xt);
  }
}
