/**
 * An ONNX graph that computes a network's output AND the gradient of a loss with respect to every
 * weight, so that ONNX Runtime (which has no training API in its npm packages) can run the backward
 * pass with its fast CPU kernels. The forward pass is the network's own description (`nn/nets/`)
 * on {@link TrainOps}; reverse-mode differentiation is done at graph-build time by the
 * network-agnostic `./autodiff/` (each op records how to emit its backward ops on a tape).
 *
 * Shapes are static (one graph per batch/crop size), which keeps every broadcast reduction known
 * when the graph is built. Weights are graph inputs (not initializers) so one session serves every
 * step of a training run; they come in tfjs's layout, which the trainer holds, because converting
 * 137M weights and their gradients to and from PyTorch's layout in JavaScript took ~3 s of every
 * nf = 64 step, while in the graph only the small kernels that ONNX's Conv needs pay a transpose.
 */
import { buildModules, checkNetworkConfig, imageChannels, isConditional, paddedSize, type NetworkConfig } from '../nets/network.js';
import { checkIm2colBytes } from './autodiff/conv.js';
import { Tape, numel } from './autodiff/tape.js';
import { TrainOps } from './train-ops.js';
import { modelProto, valueInfoProto } from './onnx-proto.js';
import { ONNX_EXPORT_IR_VERSION, ONNX_EXPORT_OPSET } from './export.js';
import { checkConv3x3, type Conv3x3 } from './winograd.js';

/** Input and output names of {@link exportOnnxTrainingGraph} besides the weights (PyTorch names). */
export const ONNX_TRAIN_IO = {
  /** `x_t`, float32 `[B, C, H, W]`. */
  xt: 'xt',
  /** The condition `mu`, float32 `[B, C, H, W]` (conditional networks only; `concat(mu, extra)` with `C + extraCondChannels` channels when the network has extra condition channels). */
  cond: 'cond',
  /** Diffusion time per batch element, float32 `[B]`. */
  time: 'time',
  /** The loss's per-element scale `a` in `diff = a * output + b`, float32 `[B, outC, H, W]`. */
  lossScale: 'loss_scale',
  /** The loss's per-element offset `b` in `diff = a * output + b`, float32 `[B, outC, H, W]`. */
  lossOffset: 'loss_offset',
  /** The loss `mean(|diff|)` (l1) or `mean(diff^2)` (l2), float32 scalar. */
  loss: 'loss',
  /** The network output, float32 `[B, outC, H, W]`. */
  output: 'output',
  /** Prefix of the gradient outputs: `grad.<PyTorch parameter name>`, in the parameter's tfjs layout (as the weight inputs). */
  gradPrefix: 'grad.',
} as const;

/** What a training graph is built for: its static shape and the loss norm. */
export interface TrainingGraphOptions {
  /** Batch size `B`. */
  readonly batch: number;
  /** Crop height `H` (a multiple of the network's padding multiple). */
  readonly height: number;
  /** Crop width `W` (a multiple of the network's padding multiple). */
  readonly width: number;
  /** The loss norm (default `'l1'`). */
  readonly norm?: 'l1' | 'l2';
  /**
   * 3x3 convolutions with at least `WINOGRAD_MIN_CHANNELS` channels (on whole 4x4 tiles):
   * `'direct'` (default) ONNX `Conv` and per-tap weight gradients, or `'winograd'` (forward, input
   * and weight gradients as Winograd F(4x4, 3x3) products; same gradients up to ~1e-5 relative
   * rounding, ORT's run about 1.4x faster at nf = 64).
   */
  readonly conv3x3?: Conv3x3;
  /**
   * Largest im2col buffer (bytes) one weight gradient may make (default 256 MiB): a kernel's
   * gradient comes from its input's k x k shifted copies times the output's gradient (the fastest
   * here) where the copies fit, else one tap at a time (a few MB at once, slower). Lower it for
   * large crops on little memory.
   */
  readonly im2colBytes?: number;
}

/**
 * Builds an ONNX graph (opset 17) that runs a network's forward pass (either architecture, either
 * form), a matching loss and its gradient with respect to every weight. Inputs: the weights
 * (PyTorch names, tfjs layout and shapes as the tfjs networks store them — see `tfjsShape` — so a
 * trainer feeds its variables as they are), `xt` (and `cond` for conditional networks)
 * `[B, C, H, W]`, `time` `[B]`, and the loss's `loss_scale` `a` and `loss_offset` `b`
 * `[B, outC, H, W]`; the loss is `mean(norm(a * output + b))` over all elements, which covers every
 * training objective (see `objectiveDiff`). Outputs: `loss`, `output` and `grad.<name>` per
 * weight in the weight's shape (see {@link ONNX_TRAIN_IO}).
 *
 * The forward ops are those of `exportOnnx` (same maths, same results up to float rounding), but
 * with a static shape and no padding: `H` and `W` must be multiples of the network's padding
 * multiple (`2^depth` for a U-Net, `2^levels` for a NAFNet).
 * @throws RangeError for a bad config or shape.
 */
export function exportOnnxTrainingGraph(config: NetworkConfig, shape: TrainingGraphOptions): Uint8Array {
  const cfg = checkNetworkConfig(config, 'exportOnnxTrainingGraph');
  const { input: inC, output: outC, cond: condC } = imageChannels(cfg);
  const { batch: B, height: H, width: W } = shape;
  if (shape.norm !== undefined && shape.norm !== 'l1' && shape.norm !== 'l2') throw new RangeError(`exportOnnxTrainingGraph: norm must be 'l1' or 'l2', got ${String(shape.norm)}`);
  for (const [k, v] of Object.entries({ batch: B, height: H, width: W })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`exportOnnxTrainingGraph: ${k} must be a positive integer, got ${String(v)}`);
  }
  const m = paddedSize(cfg, H, W).multiple;
  if (H % m !== 0 || W % m !== 0) {
    const what = cfg.arch === 'nafnet' ? `2^levels = ${m} (levels = encBlocks.length)` : cfg.arch === 'custom' ? `the network's multiple ${m}` : `2^depth = ${m}`;
    throw new RangeError(`exportOnnxTrainingGraph: height and width must be multiples of ${what}, got ${H}x${W}`);
  }
  const modules = buildModules(cfg);
  const t = new Tape();
  const g = t.g;
  const io = ONNX_TRAIN_IO;
  const conditional = isConditional(cfg);
  const xt = t.input(io.xt, [B, inC, H, W]);
  const cond = conditional ? t.input(io.cond, [B, condC, H, W]) : null;
  const time = t.input(io.time, [B]);
  const ops = new TrainOps(t, modules.paramSpecs(), time, checkConv3x3(shape.conv3x3, 'exportOnnxTrainingGraph') === 'winograd', checkIm2colBytes(shape.im2colBytes, 'exportOnnxTrainingGraph'));
  const outShape = [B, outC, H, W];
  const scale = t.input(io.lossScale, outShape);
  const offset = t.input(io.lossOffset, outShape);
  const x = modules.forward(ops, xt, cond);
  g.op('Identity', 'output', [x.n], {}, io.output);

  // loss = mean(norm(diff)), diff = a out + b; d loss / d out = a sign(diff) / n or 2 a diff / n.
  const n = numel(outShape);
  const diff = g.op('Add', 'loss', [g.op('Mul', 'loss', [scale.n, x.n]), offset.n]);
  const l2 = (shape.norm ?? 'l1') === 'l2';
  const e = l2 ? g.op('Mul', 'loss', [diff, diff]) : g.op('Abs', 'loss', [diff]);
  g.op('ReduceMean', 'loss', [e], { axes: [0, 1, 2, 3], keepdims: 0 }, io.loss);
  const dOut = g.op('Mul', 'loss', [scale.n, l2 ? g.op('Mul', 'loss', [diff, g.constFloat([2 / n], [])]) : g.op('Mul', 'loss', [g.op('Sign', 'loss', [diff]), g.constFloat([1 / n], [])])]);
  t.seed(x, dOut);
  t.backward();
  const outputs = [valueInfoProto(io.loss, 'float32', []), valueInfoProto(io.output, 'float32', outShape)];
  for (const [name, v] of ops.params) {
    const gname = t.gradOf(v) ?? t.zeros(v.s);
    g.op('Identity', 'grad', [gname], {}, io.gradPrefix + name);
    outputs.push(valueInfoProto(io.gradPrefix + name, 'float32', [...v.s]));
  }
  const inputs = [...ops.params.values()].map((v) => valueInfoProto(v.n, 'float32', [...v.s]));
  inputs.push(valueInfoProto(io.xt, 'float32', [...xt.s]));
  if (cond !== null) inputs.push(valueInfoProto(io.cond, 'float32', [...cond.s]));
  inputs.push(valueInfoProto(io.time, 'float32', [B]), valueInfoProto(io.lossScale, 'float32', outShape), valueInfoProto(io.lossOffset, 'float32', outShape));
  const arch = cfg.arch ?? 'unet';
  return modelProto(
    { opset: ONNX_EXPORT_OPSET, irVersion: ONNX_EXPORT_IR_VERSION, producerName: 'irsde', producerVersion: '0.1.0', docString: `IR-SDE ${arch} network forward + backward`, metadata: { irsde_network_config: JSON.stringify(cfg) } },
    { name: `irsde_${arch}_train`, nodes: g.nodes, initializers: g.initializers, inputs, outputs },
  );
}
