/**
 * A {@link GradientComputer} that runs the network's forward and backward pass (U-Net, NAFNet or a
 * registered custom network) in ONNX Runtime, on
 * a graph with the backward pass built in (`exportOnnxTrainingGraph`). ORT's CPU kernels use every
 * core and are several times faster than tfjs-wasm's single thread; the loss set-up, the optimiser
 * and the EMA stay in tfjs. The ORT module is injected (`onnxruntime-node` in Node), so this file
 * imports no runtime package.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkNetworkConfig, imageChannels, isConditional, networkParamSpecs, type NetworkConfig } from '../nn/nets/network.js';
import type { ParamSpec } from '../nn/arch/module.js';
import { checkIm2colBytes } from '../nn/onnx/autodiff/conv.js';
import { exportOnnxTrainingGraph, ONNX_TRAIN_IO } from '../nn/onnx/train-graph.js';
import type { OrtModuleLike, OrtSessionLike, OrtTensorLike } from '../nn/onnx/ort-types.js';
import { checkConv3x3, type Conv3x3 } from '../nn/onnx/winograd.js';
import type { GradientComputer, GradientResult, GradientTask } from './gradients.js';
import { readsFreshCopies, sharedHostValues } from './host-state.js';
import { extraCondOf, maskLossWeightOf } from './extra-cond.js';
import { withExtraCond } from '../nn/tfjs/network.js';
import { objectiveDiff, sampleTrainingState } from '../loss/objective.js';

/** Options of {@link createOrtGradients}. */
export interface OrtGradientsOptions {
  /** The ONNX Runtime module (`import * as ort from 'onnxruntime-node'`). */
  readonly ort: OrtModuleLike;
  /** Threads per operator (default 2: both cores of a small machine). */
  readonly threads?: number;
  /**
   * How the training graph computes 3x3 convolutions with 128+ channels (see
   * `TrainingGraphOptions.conv3x3`): `'winograd'` (default; faster, same gradients up to ~1e-5
   * relative rounding) or `'direct'`.
   */
  readonly conv3x3?: Conv3x3;
  /** Largest im2col buffer (bytes) one weight gradient may make (see `TrainingGraphOptions.im2colBytes`; default 256 MiB). */
  readonly im2colBytes?: number;
  /** Further ORT session options (e.g. `{ enableProfiling: true }`), applied over the defaults. */
  readonly sessionOptions?: Record<string, unknown>;
  /** Called with the wall time of each phase of a step (`'prepare'`, `'weights'`, `'run'`, `'outputs'`), ms. */
  readonly onTiming?: (phase: string, ms: number) => void;
}

/**
 * Gradients from ONNX Runtime (see {@link createOrtGradients}). Holds one ORT session per batch
 * shape and loss norm (native memory) until {@link OrtGradients.dispose}.
 */
export interface OrtGradients extends GradientComputer {
  /** Frees the sessions. */
  dispose(): Promise<void>;
}

/** Host NHWC tensor -> NCHW values (the ONNX layout). */
function nchw(x: tf.Tensor): Float32Array {
  const t = tf.transpose(x, [0, 3, 1, 2]);
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return data;
}

/**
 * Creates a {@link GradientComputer} for `Trainer` that computes each step's loss and gradients
 * in ONNX Runtime. The model must be a `UNet`, `NAFNet` or `CustomNetwork`
 * (it needs `model.config`; a custom network's `forward` is differentiated op by op like the built-ins); crops must be multiples of the network's padding multiple. Same loss and gradients as the in-process tfjs computation up to float
 * rounding. The first batch of each shape builds and compiles a graph (about a second).
 *
 * Per step: `x_t` and the loss's affine form `diff = a * output + b` (from `objectiveDiff`
 * at outputs 0 and 1) are computed with tfjs; the weights go to ORT as the model holds them (tfjs
 * layout) and the gradients come back in that layout, as host arrays (see `Gradient`).
 * @throws RangeError / TypeError (from `compute`) for a model without a U-Net config or a bad shape.
 *
 * @example
 * ```ts
 * import { Trainer } from 'irsde';
 * import { createOrtGradients } from 'irsde/advanced';
 * import { loadNodeOrt } from 'irsde/node';
 * const gradients = createOrtGradients({ ort: loadNodeOrt(), threads: 2 }); // onnxruntime-node
 * const trainer = new Trainer({ sde, model: net, data, gradients });          // crops: multiples of the network's multiple
 * await trainer.fit({ steps: 100 });
 * trainer.dispose();
 * await gradients.dispose();
 * ```
 */
export function createOrtGradients(options: OrtGradientsOptions): OrtGradients {
  if (options === null || typeof options !== 'object' || typeof options.ort?.InferenceSession?.create !== 'function') {
    throw new TypeError("createOrtGradients: options.ort must be the ONNX Runtime module (import * as ort from 'onnxruntime-node')");
  }
  const { ort } = options;
  const threads = options.threads ?? 2;
  const conv3x3 = checkConv3x3(options.conv3x3, 'createOrtGradients', 'winograd');
  const im2colBytes = checkIm2colBytes(options.im2colBytes, 'createOrtGradients');
  const sessions = new Map<string, Promise<OrtSessionLike>>();
  let released = false;

  const sessionFor = (config: NetworkConfig, B: number, H: number, W: number, norm: 'l1' | 'l2'): Promise<OrtSessionLike> => {
    const key = `${JSON.stringify(config)} ${B}x${H}x${W} ${norm}`;
    let s = sessions.get(key);
    if (s === undefined) {
      const graph = exportOnnxTrainingGraph(config, { batch: B, height: H, width: W, norm, conv3x3, im2colBytes });
      // No memory pattern: with it, ORT's second run allocates the whole planned block on top of
      // the first run's arena (nf = 64: RSS 8 -> 16 GB and a 2x slower second step); without it
      // the arena's chunks are reused from the first run on (peak RSS ~11 GB, same step time).
      s = ort.InferenceSession.create(graph, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', enableMemPattern: false, ...options.sessionOptions });
      sessions.set(key, s);
    }
    return s;
  };

  return {
    async compute(task: GradientTask): Promise<GradientResult> {
      if (released) throw new Error('createOrtGradients: compute after dispose()');
      const { sde, model, batch, t, noise, objective, norm, maskLossWeight } = task;
      const config = checkNetworkConfig((model as { config?: NetworkConfig }).config as NetworkConfig, 'createOrtGradients (the model must be a network irsde builds: UNet, NAFNet or CustomNetwork)');
      const [B, H, W, C] = batch.gt.shape;
      const outC = imageChannels(config).output;
      const session = await sessionFor(config, B, H, W, norm);
      const timing = options.onTiming;
      let mark = timing ? performance.now() : 0;
      const lap = (phase: string) => {
        if (!timing) return;
        const now = performance.now();
        timing(phase, now - mark);
        mark = now;
      };
      const prediction = model.prediction ?? 'noise';
      // The tidy returns tensors only: a tidy walks its result looking for tensors, element by
      // element through typed arrays (~250 ms for three 4x128x128x3 arrays).
      const parts = tf.tidy(() => {
        const xtT = sampleTrainingState(sde, batch, t, noise);
        const zero = tf.zeros([B, H, W, outC]);
        const b = objectiveDiff(sde, prediction, zero, xtT, batch, t, objective);
        const a = tf.sub(objectiveDiff(sde, prediction, tf.onesLike(zero), xtT, batch, t, objective), b);
        // A loss weight w scales the difference: w (a out + b) = (w a) out + w b.
        const w = maskLossWeightOf(batch, maskLossWeight, outC, 'createOrtGradients');
        return w === null ? [xtT, a, b] : [xtT, tf.mul(a, w), tf.mul(b, w)];
      });
      let xt: Float32Array, scale: Float32Array, offset: Float32Array;
      try {
        [xt, scale, offset] = parts.map(nchw);
      } finally {
        tf.dispose(parts);
      }
      // The network's condition: lq, with the batch's extra channels (e.g. the mask) appended when it takes them.
      const extra = extraCondOf(model, batch, 'createOrtGradients');
      const condC = imageChannels(config).cond;
      let cond: Float32Array | null = null;
      if (isConditional(config)) {
        const joined = withExtraCond(batch.lq, extra);
        try {
          cond = nchw(joined);
        } finally {
          if (joined !== batch.lq) joined.dispose();
        }
      }
      lap('prepare');
      const feeds: Record<string, OrtTensorLike> = {};
      const specs: ParamSpec[] = networkParamSpecs(config);
      // Where reads are fresh copies (tfjs-wasm), the weights fed to ORT go back to the trainer,
      // whose optimiser updates them in place (no second read of every variable).
      const weights: Record<string, Float32Array> | undefined = readsFreshCopies() ? {} : undefined;
      for (const spec of specs) {
        const v = model.variables.get(spec.name);
        if (v === undefined) throw new RangeError(`createOrtGradients: the model has no variable ${spec.name}`);
        // The graph takes the tfjs layout: the variable's values as they are.
        const values = sharedHostValues(v); // the optimiser's own array since its last update, else a read
        feeds[spec.name] = new ort.Tensor('float32', values, v.shape);
        if (weights !== undefined) weights[spec.name] = values;
      }
      const io = ONNX_TRAIN_IO;
      const dims = [B, C, H, W];
      feeds[io.xt] = new ort.Tensor('float32', xt, dims);
      if (cond !== null) feeds[io.cond] = new ort.Tensor('float32', cond, [B, condC, H, W]);
      feeds[io.time] = new ort.Tensor('float32', Float32Array.from(t), [B]);
      feeds[io.lossScale] = new ort.Tensor('float32', scale, [B, outC, H, W]);
      feeds[io.lossOffset] = new ort.Tensor('float32', offset, [B, outC, H, W]);
      lap('weights');
      const out = await session.run(feeds);
      lap('run');
      const grads: Record<string, Float32Array> = {};
      // ORT's outputs are fresh JavaScript arrays (in tfjs layout): handed over without a copy.
      for (const spec of specs) grads[spec.name] = out[io.gradPrefix + spec.name].data as Float32Array;
      const loss = (out[io.loss].data as Float32Array)[0];
      for (const v of [...Object.values(out), ...Object.values(feeds)]) v.dispose?.();
      lap('outputs');
      return weights === undefined ? { loss, grads } : { loss, grads, weights };
    },
    async dispose(): Promise<void> {
      released = true;
      const all = [...sessions.values()];
      sessions.clear();
      for (const s of all) await (await s).release();
    },
  };
}
