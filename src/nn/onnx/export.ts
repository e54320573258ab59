/**
 * ONNX export of any network irsde has, built from its description (`nn/nets/`) on
 * {@link InferOps} and a PyTorch-layout state dict: every parameter goes in unchanged (no
 * transposes, no arithmetic on the values).
 */
import type { StateDict } from '../io/types.js';
import { buildModules, checkNetworkConfig, imageChannels, isConditional, type NetworkConfig } from '../nets/network.js';
import type { ParamSpec } from '../arch/module.js';
import { InferOps } from './infer-ops.js';
import { modelProto, valueInfoProto } from './onnx-proto.js';
import { checkConv3x3, type Conv3x3 } from './winograd.js';

/** The opset of the exported graph (every op used has had its current form since opset 13). */
export const ONNX_EXPORT_OPSET = 17;
/** The IR version written with {@link ONNX_EXPORT_OPSET}. */
export const ONNX_EXPORT_IR_VERSION = 8;

/**
 * Names of the exported model's inputs and output (those of the original's `forward(xt, cond,
 * time)`; unconditional networks have no `cond` input).
 */
export const ONNX_IO = {
  /** The noisy state `x_t`, float32 `[B, C, H, W]`. */
  xt: 'xt',
  /** The condition `mu`, float32 `[B, C, H, W]` (conditional networks only; `C + extraCondChannels` channels, `concat(mu, extra)`, when the network has extra condition channels). */
  cond: 'cond',
  /** The diffusion time, float32 `[B]` (or `[1]`). */
  time: 'time',
  /** The network's output (the predicted noise, or residual), float32 `[B, outC, H, W]`. */
  output: 'noise',
} as const;

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /**
   * `true` (default): weights with keys the network does not have are an error (usually a sign of a
   * wrong config). `false`: such keys are ignored. Missing or mis-shaped keys are always errors.
   */
  readonly strict?: boolean;
  /** Graph name (default `irsde_<arch>`). */
  readonly graphName?: string;
  /** Description stored in the model (`doc_string`). */
  readonly docString?: string;
  /** Extra `metadata_props` entries (the config is always stored under `irsde_network_config`). */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * How the stride-1 3x3 convolutions with at least `WINOGRAD_MIN_CHANNELS` (128) input and output
   * channels are computed. `'direct'` (default): ONNX `Conv`, as PyTorch computes them.
   * `'winograd'`: Winograd F(4x4, 3x3) matrix products (input tiles and kernels transformed, 36 products per tile, transformed back): the nf = 64 forward
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

function checkWeights(config: NetworkConfig, specs: readonly ParamSpec[], weights: StateDict, strict: boolean): void {
  if (weights === null || typeof weights !== 'object') throw new TypeError('exportOnnx: weights must be a state dict { name: { shape, data: Float32Array } }');
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
 * Exports a network (a U-Net or a NAFNet, conditional or not, or a registered custom network) with the given weights as an ONNX
 * model (opset 17), built from the network's description and a PyTorch-layout state dict, without
 * Python or a tfjs model.
 *
 * The graph has the original's signature: inputs `xt` (and, for conditional networks, `cond`)
 * float32 NCHW `[B, C, H, W]`, `time` float32 `[B]` (one diffusion time per batch element; `[1]`
 * broadcasts), output `noise` float32 `[B, outC, H, W]` (see {@link ONNX_IO}). `B`, `H` and `W`
 * are dynamic: the graph pads bottom/right to the network's multiple from the runtime shape
 * (reflect for the U-Net, zeros for the NAFNet, as the original; a custom network's module tree
 * says which) and crops the result back.
 *
 * @param config - the network's config (e.g. `net.config`).
 * @param weights - PyTorch `state_dict` (e.g. from `readSafetensors`, `readTorchStateDict` or
 *   `net.stateDict()`), float32. Not modified; the values are copied into the result.
 * @returns the serialised `ModelProto` (feed it to `InferenceSession.create` or write it to a
 *   `.onnx` file). About 4 bytes per parameter.
 * @throws TypeError / RangeError for a bad config; {@link OnnxExportError} listing every missing,
 *   mis-shaped or (when strict) unexpected weight.
 *
 * @example
 * ```ts
 * import { exportOnnx } from 'irsde';
 * import { createNodeOrtNoiseModel } from 'irsde/node';
 * const onnx = exportOnnx(net.config, net.stateDict());          // bytes of a .onnx file
 * const ortModel = await createNodeOrtNoiseModel(onnx, { threads: 2 }); // ortModel.predict(xt, mu, t), as net.predict
 * ```
 */
export function exportOnnx(config: NetworkConfig, weights: StateDict, options: ExportOnnxOptions = {}): Uint8Array {
  const cfg = checkNetworkConfig(config, 'exportOnnx');
  const modules = buildModules(cfg);
  checkWeights(cfg, modules.paramSpecs(), weights, options.strict ?? true);
  const winograd = checkConv3x3(options.conv3x3, 'exportOnnx') === 'winograd';
  const io = ONNX_IO;
  const ops = new InferOps(weights, io.time, winograd);
  const g = ops.g;
  const conditional = isConditional(cfg);
  const xt = { n: g.reserve(io.xt), m: 1 };
  const cond = conditional ? { n: g.reserve(io.cond), m: 1 } : null;
  g.reserve(io.time);
  const out = modules.forward(ops, xt, cond);
  g.op('Identity', 'output', [out.n], {}, io.output);
  const { input: inC, output: outC, cond: condC } = imageChannels(cfg);
  const arch = cfg.arch ?? 'unet';
  const dims = (c: number): (number | string)[] => ['batch', c, 'height', 'width'];
  const inputs = [valueInfoProto(io.xt, 'float32', dims(inC)), ...(conditional ? [valueInfoProto(io.cond, 'float32', dims(condC))] : []), valueInfoProto(io.time, 'float32', ['time_batch'])];
  return modelProto(
    {
      opset: ONNX_EXPORT_OPSET,
      irVersion: ONNX_EXPORT_IR_VERSION,
      producerName: 'irsde',
      producerVersion: '0.1.0',
      docString: options.docString ?? `IR-SDE ${arch} network: output = model(${conditional ? 'xt, cond, time' : 'xt, time'})`,
      metadata: { ...options.metadata, irsde_network_config: JSON.stringify(cfg) },
    },
    {
      name: options.graphName ?? `irsde_${arch}`,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs,
      outputs: [valueInfoProto(io.output, 'float32', dims(outC))],
    },
  );
}
