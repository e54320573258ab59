/**
 * Configuration of the conditional U-Net and its parameter table (names, shapes, kinds), derived
 * from the config alone so that sizes can be reported without allocating any weights.
 */

/** Size of a {@link ConditionalUNet}: the original's `ConditionalUNet(in_nc, out_nc, nf, depth)`. */
export interface UNetConfig {
  /** Image channels `in_nc` of `x_t` and `mu` (the network sees `2 * inChannels`). */
  readonly inChannels: number;
  /** Channels `out_nc` of the predicted noise (normally equal to `inChannels`). */
  readonly outChannels: number;
  /** Base width `nf` (even, >= 4): level `i` has `nf * 2^i` channels; time embedding has `4 nf`. */
  readonly nf: number;
  /** Number of levels (>= 1); inputs are padded to a multiple of `2^depth`. */
  readonly depth: number;
  /**
   * What the network's output means (default `'noise'`, the reference's): see
   * {@link UNetPrediction}. Does not change the parameters.
   */
  readonly prediction?: UNetPrediction;
}

/**
 * What a network predicts.
 * - `'noise'`: the noise `eps` in `x_t = muBar_t + sigmaBar_t eps` (the original IR-SDE).
 * - `'residual'`: the clean image as a correction of the condition, `x0_hat = mu + output`.
 *   Samplers turn it into noise with `MeanRevertingSDE.noiseFromX0`. An error `e` in the output
 *   stays an error `e` in `x0`, whereas a noise network's error is amplified by
 *   `sigmaBar_t / exp(-thetaBar_t)` (up to `lambda / eps_T`) when a few-step sampler recovers
 *   `x0` from it, so residual networks suit few-step deterministic sampling.
 */
export type UNetPrediction = 'noise' | 'residual';

/** The predictions a network can make (see {@link UNetPrediction}). */
export const UNET_PREDICTIONS: readonly UNetPrediction[] = ['noise', 'residual'];

/** How a parameter is stored and initialised; decides the PyTorch <-> tfjs layout mapping. */
export type ParamKind = 'conv' | 'linear' | 'bias' | 'gain';

/** One parameter of the network, in PyTorch naming and layout. */
export interface ParamSpec {
  /** PyTorch `state_dict` key, e.g. `downs.0.0.block1.proj.weight`. */
  readonly name: string;
  /** Shape in PyTorch's layout (conv `[out, in, kh, kw]`, linear `[out, in]`, gain `[1, c, 1, 1]`). */
  readonly torchShape: readonly number[];
  /** Storage kind. */
  readonly kind: ParamKind;
  /** Fan-in of the layer the parameter belongs to (PyTorch's default init bound is `1/sqrt(fanIn)`). */
  readonly fanIn: number;
}

/** Heads and channels per head of every LinearAttention block (fixed by the original, independent of `nf`). */
export const ATTN_HEADS = 4;
/** Channels per attention head. */
export const ATTN_DIM_HEAD = 32;
const ATTN_HIDDEN = ATTN_HEADS * ATTN_DIM_HEAD;

function isPosInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1;
}

/**
 * Validates a config and returns a plain copy.
 * @throws TypeError / RangeError naming the bad field and what was expected.
 */
export function checkUNetConfig(config: UNetConfig, where = 'ConditionalUNet'): UNetConfig {
  if (config === null || typeof config !== 'object') {
    throw new TypeError(`${where}: config must be an object { inChannels, outChannels, nf, depth }`);
  }
  const { inChannels, outChannels, nf, depth, prediction } = config;
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
  if (prediction !== undefined && !UNET_PREDICTIONS.includes(prediction)) {
    throw new RangeError(`${where}: prediction must be one of ${UNET_PREDICTIONS.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(prediction)}`);
  }
  // 'noise' is stored as absent, so configs (and model files) of noise networks stay as before.
  return prediction === 'residual' ? { inChannels, outChannels, nf, depth, prediction } : { inChannels, outChannels, nf, depth };
}

/** The prediction of a config (`'noise'` when unset). */
export function predictionOf(config: { readonly prediction?: UNetPrediction }): UNetPrediction {
  return config.prediction ?? 'noise';
}

function conv(name: string, cout: number, cin: number, k: number): ParamSpec {
  return { name, torchShape: [cout, cin, k, k], kind: 'conv', fanIn: cin * k * k };
}
function bias(name: string, c: number, fanIn: number): ParamSpec {
  return { name, torchShape: [c], kind: 'bias', fanIn };
}
function linear(name: string, cout: number, cin: number): ParamSpec[] {
  return [{ name: `${name}.weight`, torchShape: [cout, cin], kind: 'linear', fanIn: cin }, bias(`${name}.bias`, cout, cin)];
}
function gain(name: string, c: number): ParamSpec {
  return { name, torchShape: [1, c, 1, 1], kind: 'gain', fanIn: c };
}

function resBlockSpecs(p: string, cin: number, cout: number, tdim: number): ParamSpec[] {
  const out = [...linear(`${p}.mlp.1`, 2 * cout, tdim), conv(`${p}.block1.proj.weight`, cout, cin, 3), conv(`${p}.block2.proj.weight`, cout, cout, 3)];
  if (cin !== cout) out.push(conv(`${p}.res_conv.weight`, cout, cin, 1));
  return out;
}

// PreNorm registers its `fn` before its `norm`, so state_dict order is fn.* then norm.g.
function attnSpecs(p: string, c: number): ParamSpec[] {
  return [
    conv(`${p}.fn.fn.to_qkv.weight`, 3 * ATTN_HIDDEN, c, 1),
    conv(`${p}.fn.fn.to_out.0.weight`, c, ATTN_HIDDEN, 1),
    bias(`${p}.fn.fn.to_out.0.bias`, c, ATTN_HIDDEN),
    gain(`${p}.fn.fn.to_out.1.g`, c),
    gain(`${p}.fn.norm.g`, c),
  ];
}

/**
 * Every parameter of the network, in the original's `state_dict` order (module registration
 * order: init_conv, time_mlp, downs, ups, mid, final).
 */
export function unetParamSpecs(config: UNetConfig): ParamSpec[] {
  const { inChannels, outChannels, nf, depth } = checkUNetConfig(config);
  const tdim = 4 * nf;
  const specs: ParamSpec[] = [conv('init_conv.weight', nf, 2 * inChannels, 7), ...linear('time_mlp.1', tdim, nf), ...linear('time_mlp.3', tdim, tdim)];
  for (let i = 0; i < depth; i++) {
    const cin = nf * 2 ** i;
    const cout = 2 * cin;
    const p = `downs.${i}`;
    specs.push(...resBlockSpecs(`${p}.0`, cin, cin, tdim), ...resBlockSpecs(`${p}.1`, cin, cin, tdim), ...attnSpecs(`${p}.2`, cin));
    if (i < depth - 1) specs.push(conv(`${p}.3.weight`, cout, cin, 4), bias(`${p}.3.bias`, cout, cin * 16));
    else specs.push(conv(`${p}.3.weight`, cout, cin, 3));
  }
  for (let j = 0; j < depth; j++) {
    const i = depth - 1 - j;
    const cin = nf * 2 ** i;
    const cout = 2 * cin;
    const p = `ups.${j}`;
    specs.push(...resBlockSpecs(`${p}.0`, cout + cin, cout, tdim), ...resBlockSpecs(`${p}.1`, cout + cin, cout, tdim), ...attnSpecs(`${p}.2`, cout));
    if (i > 0) specs.push(conv(`${p}.3.1.weight`, cin, cout, 3), bias(`${p}.3.1.bias`, cin, cout * 9));
    else specs.push(conv(`${p}.3.weight`, cin, cout, 3));
  }
  const mid = nf * 2 ** depth;
  specs.push(...resBlockSpecs('mid_block1', mid, mid, tdim), ...attnSpecs('mid_attn', mid), ...resBlockSpecs('mid_block2', mid, mid, tdim));
  specs.push(...resBlockSpecs('final_res_block', 2 * nf, nf, tdim), conv('final_conv.weight', outChannels, nf, 3), bias('final_conv.bias', outChannels, nf * 9));
  return specs;
}

/**
 * Number of trainable parameters of a network of this size (no weights are allocated).
 * The paper's `{ inChannels: 3, outChannels: 3, nf: 64, depth: 4 }` has 137,147,523.
 */
export function countParameters(config: UNetConfig): number {
  return unetParamSpecs(config).reduce((n, s) => n + s.torchShape.reduce((a, b) => a * b, 1), 0);
}

/** What {@link paddedSize} returns. */
export interface PaddedSize {
  /** The padding multiple `2^depth`. */
  readonly multiple: number;
  /** Height rounded up to the multiple. */
  readonly H: number;
  /** Width rounded up to the multiple. */
  readonly W: number;
}

/** The padding multiple `2^depth`, and `H`, `W` rounded up to it (what the convolutions see). */
export function paddedSize(config: UNetConfig, H: number, W: number): PaddedSize {
  const s = 2 ** config.depth;
  return { multiple: s, H: Math.ceil(H / s) * s, W: Math.ceil(W / s) * s };
}

/**
 * Floating-point operations of one forward pass for one image of `H x W` (counted on the padded
 * size), as `2 x` multiply-accumulates of the convolutions, linear layers and attention matrix
 * products; element-wise work (norms, activations, softmax) is left out. Divide by 1e9 for GFLOP.
 */
export function forwardFlops(config: UNetConfig, H: number, W: number): number {
  const { inChannels, outChannels, nf, depth } = checkUNetConfig(config, 'forwardFlops');
  if (!isPosInt(H) || !isPosInt(W)) throw new RangeError(`forwardFlops: H and W must be integers >= 1, got ${String(H)} x ${String(W)}`);
  const pad = paddedSize(config, H, W);
  const tdim = 4 * nf;
  let macs = nf * tdim + tdim * tdim;
  const convMacs = (n: number, cin: number, cout: number, k: number): number => n * cin * cout * k * k;
  const res = (n: number, cin: number, cout: number): number =>
    tdim * 2 * cout + convMacs(n, cin, cout, 3) + convMacs(n, cout, cout, 3) + (cin !== cout ? convMacs(n, cin, cout, 1) : 0);
  const attn = (n: number, c: number): number => n * c * 3 * ATTN_HIDDEN + 2 * n * ATTN_HEADS * ATTN_DIM_HEAD * ATTN_DIM_HEAD + n * ATTN_HIDDEN * c;
  let n = pad.H * pad.W;
  macs += convMacs(n, 2 * inChannels, nf, 7);
  for (let i = 0; i < depth; i++) {
    const c = nf * 2 ** i;
    macs += 2 * res(n, c, c) + attn(n, c);
    if (i < depth - 1) {
      macs += convMacs(n / 4, c, 2 * c, 4);
      n /= 4;
    } else macs += convMacs(n, c, 2 * c, 3);
  }
  const mid = nf * 2 ** depth;
  macs += 2 * res(n, mid, mid) + attn(n, mid);
  for (let i = depth - 1; i >= 0; i--) {
    const c = nf * 2 ** i;
    macs += 2 * res(n, 3 * c, 2 * c) + attn(n, 2 * c);
    if (i > 0) n *= 4;
    macs += convMacs(n, 2 * c, c, 3);
  }
  macs += res(n, 2 * nf, nf) + convMacs(n, nf, outChannels, 3);
  return 2 * macs;
}
