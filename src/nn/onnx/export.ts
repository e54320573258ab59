/**
 * ONNX export of the conditional U-Net, built directly from a PyTorch-layout state dict: ONNX is
 * NCHW with `[out, in, kh, kw]` kernels and Gemm takes `[out, in]` weights with `transB`, so every
 * parameter goes in unchanged (no transposes, no arithmetic on the values).
 */
import type { StateDict } from '../io/types.js';
import { ATTN_DIM_HEAD, ATTN_HEADS, checkUNetConfig, unetParamSpecs, type UNetConfig } from '../unet/config.js';
import { GraphBuilder } from './graph-builder.js';
import { timeFrequencies, unetTrunk } from './unet-walk.js';
import { modelProto, valueInfoProto } from './onnx-proto.js';
import { checkConv3x3, winogradApplies, winogradConv3x3, type Conv3x3 } from './winograd.js';

/** The opset of the exported graph (every op used has had its current form since opset 13). */
export const ONNX_EXPORT_OPSET = 17;
/** The IR version written with {@link ONNX_EXPORT_OPSET}. */
export const ONNX_EXPORT_IR_VERSION = 8;

/** Names of the exported model's inputs and output (those of the original's `forward(xt, cond, time)`). */
export const ONNX_UNET_IO = {
  /** The noisy state `x_t`, float32 `[B, C, H, W]`. */
  xt: 'xt',
  /** The condition `mu`, float32 `[B, C, H, W]`. */
  cond: 'cond',
  /** The diffusion time, float32 `[B]` (or `[1]`). */
  time: 'time',
  /** The predicted noise, float32 `[B, outC, H, W]`. */
  output: 'noise',
} as const;

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /**
   * `true` (default): weights with keys the network does not have are an error (usually a sign of a
   * wrong config). `false`: such keys are ignored. Missing or mis-shaped keys are always errors.
   */
  readonly strict?: boolean;
  /** Graph name (default `irsde_conditional_unet`). */
  readonly graphName?: string;
  /** Description stored in the model (`doc_string`). */
  readonly docString?: string;
  /** Extra `metadata_props` entries (the config is always stored under `irsde_unet_config`). */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * How the stride-1 3x3 convolutions with at least `WINOGRAD_MIN_CHANNELS` (128) input and output
   * channels are computed. `'direct'` (default): ONNX `Conv`, as PyTorch computes them.
   * `'winograd'`: Winograd F(4x4, 3x3) matrix products (`./winograd.ts`): the nf = 64 forward
   * pass ~1.3x faster in ONNX Runtime, outputs within ~1e-6 of `'direct'`, but those kernels
   * take 4x their memory once ORT has folded the transform (about +2 GB at nf = 64; the file
   * itself is unchanged). Networks with fewer channels are unaffected.
   */
  readonly conv3x3?: Conv3x3;
}

/** Thrown by {@link exportOnnx} when the config or the weights do not fit; lists every problem. */
export class OnnxExportError extends Error {
  /** @param problems - one line per problem. */
  constructor(readonly problems: string[]) {
    super(`exportOnnx: the weights do not fit the network:\n  ${problems.join('\n  ')}`);
    this.name = 'OnnxExportError';
  }
}

function checkWeights(config: UNetConfig, weights: StateDict, strict: boolean): void {
  if (weights === null || typeof weights !== 'object') throw new TypeError('exportOnnx: weights must be a state dict { name: { shape, data: Float32Array } }');
  const specs = unetParamSpecs(config);
  const problems: string[] = [];
  const known = new Set<string>();
  for (const spec of specs) {
    known.add(spec.name);
    const t = Object.prototype.hasOwnProperty.call(weights, spec.name) ? weights[spec.name] : undefined;
    const want = `[${spec.torchShape.join(', ')}]`;
    if (t === undefined) {
      problems.push(`missing ${spec.name} ${want}`);
      continue;
    }
    const shape = Array.isArray(t.shape) ? t.shape : [];
    if (shape.length !== spec.torchShape.length || shape.some((d, i) => d !== spec.torchShape[i])) {
      problems.push(`${spec.name} is [${shape.join(', ')}] but the network needs ${want}`);
      continue;
    }
    const numel = spec.torchShape.reduce((a, b) => a * b, 1);
    if (!(t.data instanceof Float32Array)) problems.push(`${spec.name}.data must be a Float32Array`);
    else if (t.data.length !== numel) problems.push(`${spec.name} has ${t.data.length} values but its shape ${want} needs ${numel}`);
  }
  if (strict) {
    const extra = Object.keys(weights).filter((k) => !known.has(k));
    if (extra.length > 0) problems.push(`unexpected keys (${extra.length}; pass { strict: false } to ignore): ${extra.join(', ')}`);
  }
  if (problems.length > 0) {
    problems.push(`network: ${JSON.stringify(config)}`);
    throw new OnnxExportError(problems);
  }
}

/**
 * Softmax over a non-last axis as `exp(x - max) / sum`: the same maths as ONNX's Softmax, but
 * ONNX Runtime's Softmax transposes a non-last axis to the end and back, which made the
 * full-resolution attention's softmax over channels ~5x slower than this.
 */
export function softmaxMiddle(g: GraphBuilder, scope: string, x: string, axis: number): string {
  const m = g.op('ReduceMax', scope, [x], { axes: [axis], keepdims: 1 });
  const e = g.op('Exp', scope, [g.op('Sub', scope, [x, m])]);
  return g.op('Div', scope, [e, g.op('ReduceSum', scope, [e, g.constInt64([axis])], { keepdims: 1 })]);
}

/** Emits the U-Net's ops into a graph builder; each method mirrors one module of the original. */
class UNetGraph {
  readonly g = new GraphBuilder();
  readonly #weights: StateDict;
  readonly #added = new Set<string>();
  readonly #winograd: boolean;
  /** A number that the current level's height and width are known multiples of. */
  spatialMultiple = 1;

  constructor(weights: StateDict, winograd: boolean) {
    this.#weights = weights;
    this.#winograd = winograd;
  }

  /** The initializer of a parameter (added on first use, under its PyTorch name). */
  p(name: string): string {
    if (this.#added.has(name)) return name;
    this.#added.add(name);
    const t = this.#weights[name];
    return this.g.weight(name, t.shape, t.data);
  }

  conv(scope: string, x: string, weight: string, bias: string | null, kernel: number, stride = 1, pad = Math.floor(kernel / 2)): string {
    const [K, C] = this.#weights[weight].shape;
    if (this.#winograd && winogradApplies(kernel, stride, pad, C, K)) {
      const spec = { x, weight: this.p(weight), bias: bias === null ? null : this.p(bias), inChannels: C, outChannels: K, wholeTiles: this.spatialMultiple % 4 === 0 };
      return winogradConv3x3(this.g, scope, spec);
    }
    const inputs = bias === null ? [x, this.p(weight)] : [x, this.p(weight), this.p(bias)];
    return this.g.op('Conv', scope, inputs, { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [1, 1], group: 1 });
  }

  silu(scope: string, x: string): string {
    return this.g.op('Mul', scope, [x, this.g.op('Sigmoid', scope, [x])]);
  }

  /** Exact GELU `x/2 (1 + erf(x/sqrt 2))`, as PyTorch's `nn.GELU()`. */
  gelu(scope: string, x: string): string {
    const g = this.g;
    const e = g.op('Erf', scope, [g.op('Mul', scope, [x, g.constFloat([Math.SQRT1_2], [])])]);
    return g.op('Mul', scope, [g.op('Mul', scope, [x, g.constFloat([0.5], [])]), g.op('Add', scope, [e, g.constFloat([1], [])])]);
  }

  /** `Linear`: `x [B, in] -> [B, out]` with the PyTorch `[out, in]` weight. */
  linear(scope: string, x: string, prefix: string): string {
    return this.g.op('Gemm', scope, [x, this.p(`${prefix}.weight`), this.p(`${prefix}.bias`)], { transB: 1 });
  }

  /** The original's channel LayerNorm: `(x - mean) / sqrt(var + 1e-5) * g`, biased variance over axis 1. */
  layerNorm(scope: string, x: string, gain: string): string {
    const g = this.g;
    const mean = g.op('ReduceMean', scope, [x], { axes: [1], keepdims: 1 });
    const d = g.op('Sub', scope, [x, mean]);
    const variance = g.op('ReduceMean', scope, [g.op('Mul', scope, [d, d])], { axes: [1], keepdims: 1 });
    const std = g.op('Sqrt', scope, [g.op('Add', scope, [variance, g.constFloat([1e-5], [])])]);
    return g.op('Mul', scope, [g.op('Div', scope, [d, std]), this.p(gain)]);
  }

  /** ResBlock with time scale-shift; `tembAct = SiLU(temb)` `[B, 4nf]` is shared by all blocks. */
  resBlock(p: string, x: string, tembAct: string, cout: number, hasResConv: boolean): string {
    const g = this.g;
    const ss = g.op('Unsqueeze', p, [this.linear(`${p}.mlp`, tembAct, `${p}.mlp.1`), g.constInt64([2, 3])]);
    const [scale, shift] = g.ops('Split', p, [ss, g.constInt64([cout, cout])], { axis: 1 }, 2);
    let h = this.conv(`${p}.block1`, x, `${p}.block1.proj.weight`, null, 3);
    h = g.op('Add', p, [g.op('Mul', p, [h, g.op('Add', p, [scale, g.constFloat([1], [])])]), shift]);
    h = this.silu(`${p}.block1`, h);
    h = this.silu(`${p}.block2`, this.conv(`${p}.block2`, h, `${p}.block2.proj.weight`, null, 3));
    const res = hasResConv ? this.conv(`${p}.res_conv`, x, `${p}.res_conv.weight`, null, 1) : x;
    return g.op('Add', p, [h, res]);
  }

  /**
   * LinearAttention on the normalised input (`p` = the `...fn.fn` prefix). The original's factors
   * `q *= 32^-0.5` and `v /= h w` are applied to the small `[32, 32]` context instead.
   */
  linearAttention(p: string, x: string): string {
    const g = this.g;
    const heads = ATTN_HEADS;
    const d = ATTN_DIM_HEAD;
    // The to_qkv output channels are (part, head, c): q, k and v come from three row blocks of
    // its weight, as three convolutions (ONNX Runtime then never splits the large qkv tensor).
    const w = this.#weights[`${p}.to_qkv.weight`];
    const [q, k, v] = ['q', 'k', 'v'].map((part, i) => {
      const rows = heads * d;
      const wName = this.g.weight(`${p}.to_qkv.weight[${part}]`, [rows, ...w.shape.slice(1)], w.data.subarray(i * rows * (w.data.length / w.shape[0]), (i + 1) * rows * (w.data.length / w.shape[0])));
      const y = g.op('Conv', `${p}.to_qkv`, [x, wName], { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 });
      return g.op('Reshape', p, [y, g.constInt64([0, heads, d, -1])]);
    });
    const qs = softmaxMiddle(g, p, q, 2);
    const ks = g.op('Softmax', p, [k], { axis: 3 });
    // N = h*w from the runtime shape; factor = 32^-0.5 / N.
    const shape = g.op('Shape', p, [x]);
    const hw = g.op('Slice', p, [shape, g.constInt64([2]), g.constInt64([4])]);
    const n = g.op('Cast', p, [g.op('ReduceProd', p, [hw], { keepdims: 0 })], { to: 1 });
    const factor = g.op('Div', p, [g.constFloat([1 / Math.sqrt(d)], []), n]);
    // context^T[e, d] = sum_n v[e, n] k[d, n]; out[e, n] = sum_d context^T[e, d] q[d, n].
    const ctxT = g.op('Mul', p, [g.op('MatMul', p, [v, g.op('Transpose', p, [ks], { perm: [0, 1, 3, 2] })]), factor]);
    const out = g.op('MatMul', p, [ctxT, qs]);
    const target = g.op('Concat', p, [g.op('Slice', p, [shape, g.constInt64([0]), g.constInt64([1])]), g.constInt64([heads * d]), hw], { axis: 0 });
    const merged = g.op('Reshape', p, [out, target]);
    const y = this.conv(`${p}.to_out.0`, merged, `${p}.to_out.0.weight`, `${p}.to_out.0.bias`, 1);
    return this.layerNorm(`${p}.to_out.1`, y, `${p}.to_out.1.g`);
  }

  /** `Residual(PreNorm(LinearAttention))`, `p` e.g. `downs.0.2`. */
  attention(p: string, x: string): string {
    const normed = this.layerNorm(`${p}.fn.norm`, x, `${p}.fn.norm.g`);
    return this.g.op('Add', p, [x, this.linearAttention(`${p}.fn.fn`, normed)]);
  }
}

/**
 * Exports a conditional U-Net with the given weights as an ONNX model (opset 17), built from the
 * PyTorch-layout state dict without Python or a tfjs model.
 *
 * The graph has the original's signature: inputs `xt` and `cond` float32 NCHW `[B, inChannels,
 * H, W]`, `time` float32 `[B]` (one diffusion time per batch element; `[1]` broadcasts), output
 * `noise` float32 `[B, outChannels, H, W]`. `B`, `H` and `W` are dynamic: the graph reflect-pads
 * bottom/right to a multiple of `2^depth` from the runtime shape and crops the result back, as the
 * original does (so, as there, each side must exceed the padding it needs).
 *
 * @param config - the network size `{ inChannels, outChannels, nf, depth }`.
 * @param weights - PyTorch `state_dict` (e.g. from `readSafetensors`, `readTorchStateDict` or
 *   `ConditionalUNet.stateDict()`), float32. Not modified; the values are copied into the result.
 * @returns the serialised `ModelProto` (feed it to `InferenceSession.create` or write it to a
 *   `.onnx` file). About 4 bytes per parameter.
 * @throws TypeError / RangeError for a bad config; {@link OnnxExportError} listing every missing,
 *   mis-shaped or (when strict) unexpected weight.
 */
export function exportOnnx(config: UNetConfig, weights: StateDict, options: ExportOnnxOptions = {}): Uint8Array {
  const cfg = checkUNetConfig(config, 'exportOnnx');
  checkWeights(cfg, weights, options.strict ?? true);
  const { inChannels, outChannels, nf, depth } = cfg;
  const net = new UNetGraph(weights, checkConv3x3(options.conv3x3, 'exportOnnx') === 'winograd');
  const g = net.g;
  const io = ONNX_UNET_IO;
  const xt = g.reserve(io.xt);
  const cond = g.reserve(io.cond);
  const time = g.reserve(io.time);

  // 1. x = concat([xt - cond, cond]); reflect-pad bottom/right to a multiple of 2^depth.
  let x = g.op('Concat', 'input', [g.op('Sub', 'input', [xt, cond]), cond], { axis: 1 });
  const inShape = g.op('Shape', 'input', [x]);
  const hw = g.op('Slice', 'input', [inShape, g.constInt64([2]), g.constInt64([4])]);
  const m = g.constInt64([2 ** depth]);
  const padHW = g.op('Mod', 'input', [g.op('Sub', 'input', [m, g.op('Mod', 'input', [hw, m])]), m]);
  const pads = g.op('Concat', 'input', [g.constInt64([0, 0, 0, 0, 0, 0]), padHW], { axis: 0 });
  x = g.op('Pad', 'input', [x, pads], { mode: 'reflect' });

  x = net.conv('init_conv', x, 'init_conv.weight', null, 7);

  // 2. Time embedding: [sin(t f), cos(t f)].
  const half = nf / 2;
  const arg = g.op('Mul', 'time_mlp.0', [g.op('Unsqueeze', 'time_mlp.0', [time, g.constInt64([1])]), g.constFloat(timeFrequencies(nf), [1, half])]);
  const emb = g.op('Concat', 'time_mlp.0', [g.op('Sin', 'time_mlp.0', [arg]), g.op('Cos', 'time_mlp.0', [arg])], { axis: 1 });
  const temb = net.linear('time_mlp.3', net.gelu('time_mlp.2', net.linear('time_mlp.1', emb, 'time_mlp.1')), 'time_mlp.3');
  const tembAct = net.silu('temb_act', temb);

  // 3. Down path, middle, up path and the final block; then the final conv and the crop back.
  x = unetTrunk<string>(
    {
      resBlock: (p, v, cout, hasRes) => net.resBlock(p, v, tembAct, cout, hasRes),
      attention: (p, v) => net.attention(p, v),
      conv: (scope, v, w, b, k, stride, pad) => net.conv(scope, v, w, b, k, stride, pad),
      concat: (scope, a, b) => g.op('Concat', scope, [a, b], { axis: 1 }),
      // nn.Upsample(scale_factor=2, mode='nearest'): source index floor(dst / 2).
      level: (level) => {
        net.spatialMultiple = 2 ** (depth - level);
      },
      upsample: (scope, v) => g.op('Resize', scope, [v, '', g.constFloat([1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }),
    },
    nf,
    depth,
    x,
  );
  x = net.conv('final_conv', x, 'final_conv.weight', 'final_conv.bias', 3);
  g.op('Slice', 'output', [x, g.constInt64([0, 0]), hw, g.constInt64([2, 3])], {}, io.output);

  const dims = (c: number): (number | string)[] => ['batch', c, 'height', 'width'];
  return modelProto(
    {
      opset: ONNX_EXPORT_OPSET,
      irVersion: ONNX_EXPORT_IR_VERSION,
      producerName: 'irsde',
      producerVersion: '0.1.0',
      docString: options.docString ?? 'IR-SDE ConditionalUNet noise network: noise = model(xt, cond, time)',
      metadata: { ...options.metadata, irsde_unet_config: JSON.stringify(cfg) },
    },
    {
      name: options.graphName ?? 'irsde_conditional_unet',
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [valueInfoProto(io.xt, 'float32', dims(inChannels)), valueInfoProto(io.cond, 'float32', dims(inChannels)), valueInfoProto(io.time, 'float32', ['time_batch'])],
      outputs: [valueInfoProto(io.output, 'float32', dims(outChannels))],
    },
  );
}
