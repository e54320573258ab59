/**
 * The one restoration pipeline: "model file + engine -> restored image" in one call. It applies the
 * model's SDE (either family) and recommended sampling, picks the DenoisingSDE's starting time
 * from the image's noise level (given, or estimated), handles grey and RGB images, tiles large
 * images and clips the result. The CLI, validation, the examples, the browser page and the
 * scripts all restore through it.
 *
 * Engines run the network: {@link tfjsEngine} (any tfjs backend) here; ONNX Runtime in Node
 * (`ortNodeEngine` from `irsde/node`) and in browsers (onnxruntime-web) plug in the same way.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor } from '../backend/host.js';
import { tfjsBackend } from '../backend/tfjs.js';
import { createSDE, type AnySDEConfig } from '../sde/factory.js';
import { type DiffusionSDE } from '../sde/diffusion-sde.js';
import { isDenoisingSDE } from '../sde/kinds.js';
import { asNoiseModel } from '../sampling/model.js';
import { restore, type RestoreOptions } from '../sampling/restore.js';
import { meanStdOverSamples, repeatBatch } from '../sampling/batch.js';
import { SAMPLER_NAMES, checkEnsembleSize, defaultSamplerFor, isSamplerName, type SamplerName } from '../sampling/names.js';
import { tiledNoiseModel, type TileDone, type TileModel } from '../sampling/tiled.js';
import { processOf } from '../sampling/process.js';
import { defaultTile, extraCondChannels, imageChannels, isConditional } from '../nn/nets/network.js';
import { withExtraCond, type TfjsNetwork } from '../nn/tfjs/network.js';
import { LayersNetwork } from '../nn/tfjs/layers-network.js';
import { checkModelTask, loadModel, type LoadedModel, type ModelTask, type RecommendedSampling } from '../nn/model/model-format.js';
import { convertChannels, maskedPixels, type FloatImage } from '../image/image.js';
import { estimateNoiseSigma } from '../image/noise-level.js';
import { imresize } from '../data/resize.js';
import { applyMask, type InpaintFill } from '../data/mask.js';
import { selfEnsemble } from './ensemble.js';
import { DEFAULT_RESTORE_STEPS, MIN_SR_INPUT, tfjsEngine, type EngineFactory, type NetworkEngine, type RestoreImageOptions, type RestoredImage, type RestoredTile } from './types.js';

// The options and results live in types.ts; importers of this file get them here too.
export { DEFAULT_RESTORE_STEPS, MIN_SR_INPUT, tfjsEngine, type EngineFactory, type NetworkEngine, type NoiseLevelUsed, type RestoreImageOptions, type RestoredImage, type RestoredTile } from './types.js';

/** The tile side of a LayersNetwork's restores (the NAFNet's default). */
const LAYERS_TILE = 512;

/** A LayersNetwork's image channels: its image input's channels (halved when it also takes the condition), else 3. */
function layersChannels(network: LayersNetwork): 1 | 3 {
  const c = network.model.inputs[0].shape[3];
  const n = typeof c === 'number' ? (network.conditional ? c / 2 : c) : 3;
  if (n !== 1 && n !== 3) throw new RangeError(`Restorer.create: a LayersNetwork must restore 1 or 3 channels, its image input has ${String(c)}${network.conditional ? ' (x_t and the condition)' : ''}`);
  return n;
}

/**
 * How the result is made from the sampler's output, for the whole image or for one tile's region
 * `[y0, y0 + h) x [x0, x0 + w)` of it (`data`: that region, `C` channels): values clipped to
 * [0, 1], and with a mask (inpainting) the `known` pixels kept where nothing is `missing`.
 * Returns a new array.
 */
function finishRegion(data: Float32Array, y0: number, x0: number, h: number, w: number, known: FloatImage, missing: Uint8Array | null): Float32Array {
  const C = known.channels;
  const out = data.map((v) => (v < 0 ? 0 : v > 1 ? 1 : v));
  if (missing === null) return out;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const at = (y0 + y) * known.width + x0 + x;
      if (!missing[at]) for (let c = 0; c < C; c++) out[(y * w + x) * C + c] = known.data[at * C + c];
    }
  }
  return out;
}

/** {@link finishRegion} of each of `count` whole restorations stacked in `data` (`size` values each), into one array. */
function finishBatch(data: Float32Array, count: number, size: number, input: FloatImage, known: FloatImage, missing: Uint8Array | null): Float32Array {
  const out = new Float32Array(count * size);
  for (let j = 0; j < count; j++) out.set(finishRegion(data.subarray(j * size, (j + 1) * size), 0, 0, input.height, input.width, known, missing), j * size);
  return out;
}

/**
 * Refuses a network with extra condition channels that the restorer cannot feed: it feeds the
 * inpainting mask (1 = missing) as the one extra channel, so such a network needs the task
 * `inpaint` and `extraCondChannels: 1`.
 */
function checkMaskChannel(network: TfjsNetwork | LayersNetwork, task: ModelTask | undefined): void {
  if (network instanceof LayersNetwork) return;
  const k = extraCondChannels(network.config);
  if (k === 0) return;
  if (k !== 1) throw new RangeError(`Restorer.create: the network takes ${k} extra condition channels; the restorer feeds one, the inpainting mask (extraCondChannels: 1)`);
  if (task?.inpaint === undefined) {
    throw new RangeError("Restorer.create: the network takes the inpainting mask as an input channel (extraCondChannels: 1), so the model needs the task inpaint (irsde export --task inpaint, or saveModel's task)");
  }
}

/**
 * A model ready to restore images: network + SDE + recommended sampling + engine.
 *
 * @example
 * ```ts
 * import { Restorer, loadRestorer } from 'irsde';
 * const restorer = await loadRestorer(bytes);           // a model file (saveModel / irsde train)
 * // or: await Restorer.create(net, sde.config, { sampling: { sampler: 'posterior', steps: 3 } })
 * const { image, sampler, steps } = await restorer.restore(noisy); // FloatImage in, FloatImage out
 * restorer.dispose();
 * ```
 */
export class Restorer<N extends TfjsNetwork | LayersNetwork = TfjsNetwork> {
  /** The SDE the model was trained with, on the host backend (the samplers' maths). */
  readonly sde: DiffusionSDE<HostTensor>;
  /** The model's recommended sampling (from its file), if any. */
  readonly sampling: RecommendedSampling | undefined;
  /** What the model restores (from its file): super-resolution scale, inpainting; undefined for plain restoration. */
  readonly task: ModelTask | undefined;
  /** The engine's name (what runs the network). */
  readonly engine: string;
  readonly #network: N;
  /** The image channels the network restores (1 or 3). */
  readonly #channels: 1 | 3;
  readonly #runner: NetworkEngine;
  /** The network's noise model per tile, with the tile's mask as its extra condition channel when the network takes one. */
  readonly #model: TileModel<tf.Tensor>;
  /** Whether the network takes the inpainting mask as an extra condition channel (`extraCondChannels: 1`). */
  readonly #maskChannel: boolean;
  readonly #ownsNetwork: boolean;
  /** The network's default tile side (`defaultTile`), worked out once. */
  readonly #tile: number;
  #disposed = false;

  private constructor(network: N, sdeConfig: AnySDEConfig, sampling: RecommendedSampling | undefined, task: ModelTask | undefined, runner: NetworkEngine, ownsNetwork: boolean) {
    this.#network = network;
    this.sde = createSDE<HostTensor>(sdeConfig, 'float32');
    this.sampling = sampling;
    this.task = task;
    this.#runner = runner;
    this.engine = runner.name;
    this.#ownsNetwork = ownsNetwork;
    // A LayersNetwork has no irsde config: its channels come from its image input, its tile is the
    // NAFNet's (512 px; `tile` in the restore options overrides it).
    const layers = network instanceof LayersNetwork;
    this.#tile = layers ? LAYERS_TILE : defaultTile(network.config);
    this.#channels = layers ? layersChannels(network) : (imageChannels(network.config).input as 1 | 3);
    const cond = layers ? network.conditional : isConditional(network.config);
    this.#maskChannel = !layers && extraCondChannels(network.config) > 0;
    const tfSde = createSDE<tf.Tensor>(sdeConfig);
    // A residual network's output becomes noise under the model's SDE (pixel-wise, so per tile);
    // a network with a mask channel gets the tile's mask appended to its condition.
    this.#model = (xt, c, t, extra) =>
      asNoiseModel<tf.Tensor, tf.Tensor | null>(tfSde, network.prediction, async (x, mu, tt) => {
        const netCond = cond && mu !== null ? withExtraCond(mu, extra) : null;
        try {
          return await runner.predict(x, netCond, tt);
        } finally {
          if (netCond !== null && netCond !== mu) netCond.dispose();
        }
      })(xt, c, t);
  }

  /**
   * A restorer for a network and its SDE.
   * @param network - the network (borrowed unless `ownsNetwork`: disposed with the restorer): an
   *   irsde network (any engine), or a `LayersNetwork` of `fromLayersModel` (tfjs engine only;
   *   always borrowed: dispose the layers model yourself).
   * @param sde - the SDE config it was trained with (`loadModel(...).sdeConfig`).
   * @param options - the engine (default {@link tfjsEngine}), recommended sampling and task (see
   *   {@link ModelTask}; `loadModel(...).info` holds both for a model file).
   */
  static async create<N extends TfjsNetwork | LayersNetwork = TfjsNetwork>(
    network: N,
    sde: AnySDEConfig,
    options: { readonly engine?: EngineFactory; readonly sampling?: RecommendedSampling; readonly task?: ModelTask; readonly ownsNetwork?: boolean } = {},
  ): Promise<Restorer<N>> {
    const task = options.task === undefined ? undefined : checkModelTask(options.task, 'Restorer.create');
    checkMaskChannel(network, task);
    if (network instanceof LayersNetwork) {
      // Other engines build their graph from an irsde network's description, which a LayersModel lacks.
      if (options.engine !== undefined && options.engine !== tfjsEngine) throw new TypeError('Restorer.create: a LayersNetwork (fromLayersModel) runs on the tfjs engine only; leave engine out');
      if (options.ownsNetwork) throw new TypeError('Restorer.create: a LayersNetwork is always borrowed (dispose its layers model yourself); leave ownsNetwork out');
    }
    const runner = await (options.engine ?? tfjsEngine)(network as TfjsNetwork);
    return new Restorer<N>(network, sde, options.sampling, task, runner, options.ownsNetwork ?? false);
  }

  /** The network (owned by the restorer when it was loaded from a file). */
  get network(): N {
    return this.#network;
  }

  /**
   * Restores one image.
   * @param image - the degraded image (grey or RGB; converted to the network's channels and back).
   * @returns the restored image and what was used; nothing to dispose.
   * @throws RangeError / TypeError for bad options (one line naming the problem).
   */
  async restore(image: FloatImage, options: RestoreImageOptions = {}): Promise<RestoredImage> {
    if (this.#disposed) throw new Error('Restorer.restore: the restorer was disposed');
    const started = performance.now();
    const sde = this.sde;
    // SDE-family branch kept: a DenoisingSDE's start time is read from the image's noise level (given or estimated).
    const denoising = isDenoisingSDE(sde);
    if (options.sampler !== undefined && typeof options.sampler === 'string' && !isSamplerName(options.sampler)) {
      throw new RangeError(`Restorer.restore: unknown sampler '${options.sampler}'; expected one of ${SAMPLER_NAMES.join(', ')}`);
    }
    if (options.noiseLevel !== undefined && !denoising) {
      throw new RangeError('Restorer.restore: noiseLevel applies to DenoisingSDE models only; this model is a mean-reverting (IR-SDE) one, whose degradation is its condition');
    }
    // The recommended sampling fills what the options leave open (same sampler only).
    const rec = this.sampling !== undefined && (options.sampler === undefined || options.sampler === this.sampling.sampler) ? this.sampling : undefined;
    const sampler = options.sampler ?? (rec?.sampler as SamplerName | undefined) ?? defaultSamplerFor(sde);
    let steps = options.steps ?? rec?.steps ?? (sampler === 'ode-adaptive' ? undefined : Math.min(DEFAULT_RESTORE_STEPS, sde.T));
    const eta = options.eta ?? rec?.eta;
    if (steps !== undefined && steps > sde.T) throw new RangeError(`Restorer.restore: steps ${steps} exceeds the model's T = ${sde.T}`);
    const ensemble = checkEnsembleSize(options.ensemble ?? rec?.ensemble ?? 1, 'Restorer.restore');
    const count = options.samples ?? 1;
    if (options.samples !== undefined && !(Number.isInteger(options.samples) && options.samples >= 2)) {
      throw new RangeError(`Restorer.restore: samples must be an integer >= 2, got ${String(options.samples)}`);
    }
    const C = this.#channels;
    const missing = this.#missingPixels(image, options.mask);
    const known = convertChannels(image, C);
    const input = this.#prepare(known, missing);
    let noise: RestoredImage['noise'];
    let start: number | undefined;
    if (denoising) {
      const given = options.noiseLevel;
      if (given !== undefined && !(typeof given === 'number' && Number.isFinite(given) && given >= 0)) {
        throw new RangeError(`Restorer.restore: noiseLevel must be a finite sigma >= 0 (data units), got ${String(given)}`);
      }
      if (given !== undefined && given > sde.maxSigma) {
        throw new RangeError(`Restorer.restore: noise level ${given} (${(given * 255).toFixed(1)} on the 0-255 scale) exceeds the model's maxSigma ${sde.maxSigma} (${(sde.maxSigma * 255).toFixed(1)})`);
      }
      // An estimate above the model's range is clamped to it (the model cannot do more).
      const sigma = given ?? Math.min(estimateNoiseSigma(input, { clipped: true }), sde.maxSigma);
      start = sde.optimalTimestep(sigma);
      noise = { sigma, estimated: given === undefined, start };
      if (steps !== undefined) steps = Math.min(steps, Math.max(1, start));
    }
    let nfe: number | undefined;
    let data: Float32Array;
    // `samples`: N copies of the input in one batch; the sampler gives each its own noise.
    const host = this.sde.backend;
    const batch = count === 1 ? input.data : host.toArray(repeatBatch(host, new HostTensor(input.data, [1, input.height, input.width, C]), count));
    if (start === 0) data = Float32Array.from(batch);
    else {
      const onTile = options.onTile ? this.#tilePreview(options.onTile, image.channels < C ? image.channels : C, known, missing) : undefined;
      // The mask as the network's extra condition channel (1 = missing), one copy per sample.
      const mask = this.#maskChannel ? new HostTensor(Float32Array.from(missing as Uint8Array), [1, input.height, input.width, 1]) : undefined;
      const extraCond = mask && count > 1 ? repeatBatch(host, mask, count) : mask;
      const model = tiledNoiseModel(selfEnsemble(this.#model, ensemble), tfjsBackend, { tile: options.tile ?? this.#tile, ...(options.overlap !== undefined ? { overlap: options.overlap } : {}), ...(onTile ? { onTile } : {}), ...(extraCond ? { extraCond } : {}) });
      const lq = new HostTensor(batch, [count, input.height, input.width, C]);
      const request: RestoreOptions<HostTensor, HostTensor | null> = {
        sde,
        model,
        lq,
        sampler,
        ...(steps !== undefined ? { steps } : {}),
        ...(eta !== undefined ? { eta } : {}),
        ...(start !== undefined ? { start } : {}),
        ...(options.rtol !== undefined ? { rtol: options.rtol } : {}),
        ...(options.atol !== undefined ? { atol: options.atol } : {}),
        onSolverStats: (s) => {
          nfe = s.nfe;
        },
        seed: options.seed ?? 0,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      };
      data = (await restore(request)).data;
    }
    const size = input.height * input.width * C;
    const asImage = (d: Float32Array): FloatImage => {
      const im: FloatImage = { data: d, height: input.height, width: input.width, channels: C };
      return image.channels < C ? convertChannels(im, image.channels) : im;
    };
    // finishRegion per restoration (the whole batch at once: clipping and known pixels are per element).
    const finished = count === 1 ? finishRegion(data, 0, 0, input.height, input.width, known, missing) : finishBatch(data, count, size, input, known, missing);
    const spread = count > 1 ? meanStdOverSamples(host, new HostTensor(finished, [count, input.height, input.width, C]), count) : undefined;
    return {
      image: asImage(spread ? spread.mean.data : finished),
      ...(spread ? { samples: Array.from({ length: count }, (_, j) => asImage(finished.slice(j * size, (j + 1) * size))), uncertainty: asImage(spread.std.data) } : {}),
      sampler: typeof sampler === 'string' ? sampler : 'custom',
      steps,
      ensemble,
      ...(noise ? { noise } : {}),
      ...(nfe !== undefined ? { nfe } : {}),
      ms: performance.now() - started,
    };
  }

  /** The tiled model's per-tile hook for `onTile`: the region's clean-image estimate, as the result will be made (clipped, known pixels kept, channels). */
  #tilePreview(onTile: (tile: RestoredTile) => void, channels: 1 | 3, known: FloatImage, missing: Uint8Array | null): (tile: TileDone) => void {
    const p = processOf(this.sde, 'Restorer.restore');
    let pass = 0;
    return (tile) => {
      if (tile.index === 0) pass++;
      const x0 = p.x0FromNoise(tile.xt, tile.mu, tile.eps, tile.t);
      const C = tile.eps.shape[3] as 1 | 3;
      // With `samples`, the tile holds N restorations: the preview shows the first.
      const data = finishRegion(x0.data.subarray(0, tile.height * tile.width * C), tile.y, tile.x, tile.height, tile.width, known, missing);
      this.sde.backend.dispose(x0);
      const region: FloatImage = { data, height: tile.height, width: tile.width, channels: C };
      onTile({ index: tile.index, count: tile.count, pass, t: tile.t, x: tile.x, y: tile.y, image: channels < C ? convertChannels(region, channels) : region });
    };
  }

  /** The mask's missing pixels (1 per pixel), checked against the model's task; null when it takes none. */
  #missingPixels(image: FloatImage, mask: FloatImage | undefined): Uint8Array | null {
    if (this.task?.inpaint === undefined) {
      if (mask !== undefined) throw new RangeError(`Restorer.restore: this model${this.task ? ` (${this.task.name})` : ''} takes no mask; masks are for inpainting models`);
      return null;
    }
    if (mask === undefined) throw new RangeError(`Restorer.restore: this inpainting model needs a mask (white = missing) of the image's size, ${image.width}x${image.height}`);
    if (mask.width !== image.width || mask.height !== image.height) {
      throw new RangeError(`Restorer.restore: the mask is ${mask.width}x${mask.height} but the image is ${image.width}x${image.height}; they must be the same size`);
    }
    return maskedPixels(mask);
  }

  /** What the network restores: the image upscaled (super-resolution) or with its missing pixels filled. */
  #prepare(input: FloatImage, missing: Uint8Array | null): FloatImage {
    const scale = this.task?.scale;
    if (scale !== undefined) {
      if (input.width < MIN_SR_INPUT || input.height < MIN_SR_INPUT) {
        throw new RangeError(`Restorer.restore: the input is ${input.width}x${input.height}; this x${scale} super-resolution model needs at least ${MIN_SR_INPUT}x${MIN_SR_INPUT} pixels`);
      }
      return imresize(input, { height: input.height * scale, width: input.width * scale });
    }
    if (missing === null) return input;
    // The training degradation's own fill (a value, or smooth / harmonic from the known pixels).
    return applyMask(input, missing, (this.task?.inpaint as { fill: InpaintFill }).fill);
  }

  /** Frees the engine (and the network when the restorer loaded it). Idempotent. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#runner.dispose();
    if (this.#ownsNetwork && !(this.#network instanceof LayersNetwork)) this.#network.dispose();
  }
}

/**
 * Loads a model file (written by `saveModel` / `irsde train`) into a {@link Restorer}: from its
 * bytes, or from a URL (fetched; browsers and Node 18+).
 * @param source - the file's bytes, or where it is served.
 * @param options - the engine (default {@link tfjsEngine} on the active tfjs backend; in Node,
 *   `loadRestorerFile` from `irsde/node` picks ONNX Runtime when installed), and for NAFNet
 *   models `localStatistics`, the channel attention's window in input pixels in place of the
 *   file's (`null` or `0`: the global mean; see `NAFNetConfig.localStatistics`).
 * @example
 * ```ts
 * import { loadRestorer } from 'irsde';
 * const restorer = await loadRestorer('/models/denoise-blind.safetensors'); // a URL (browsers), or the file's bytes
 * const { image } = await restorer.restore(photo, { steps: 3 });        // photo: a FloatImage, grey or RGB
 * restorer.dispose();
 * ```
 * @returns the restorer; call `dispose()` when done.
 */
export async function loadRestorer(
  source: Uint8Array | ArrayBuffer | string | URL,
  options: { readonly engine?: EngineFactory; readonly fetchInit?: RequestInit; readonly localStatistics?: number | null } = {},
): Promise<Restorer> {
  let bytes: Uint8Array;
  if (source instanceof Uint8Array) bytes = source;
  else if (source instanceof ArrayBuffer) bytes = new Uint8Array(source);
  else {
    const res = await fetch(source, options.fetchInit);
    if (!res.ok) throw new Error(`loadRestorer: ${String(source)} answered ${res.status} ${res.statusText}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  }
  // The network's variables are made on the active tfjs backend: make sure one is initialised (in a
  // page, the highest-priority registered backend; an engine may switch to another, tfjs moves the
  // weights on first use).
  await tf.ready();
  return restorerForModel(loadModel(bytes, {}, options.localStatistics !== undefined ? { localStatistics: options.localStatistics } : {}), options.engine);
}

/**
 * A {@link Restorer} that owns a loaded model's network and follows its file's recommended
 * sampling and task. The network is disposed when the restorer is, or here if the engine fails.
 * @param model - `loadModel(...)` / `loadModelFile(...)`'s result (its network is taken over).
 * @param engine - the engine (default {@link tfjsEngine}).
 */
export async function restorerForModel(model: LoadedModel, engine?: EngineFactory): Promise<Restorer> {
  const { network, sdeConfig, info } = model;
  try {
    return await Restorer.create(network, sdeConfig, { engine, sampling: info.sampling, task: info.task, ownsNetwork: true });
  } catch (e) {
    network.dispose();
    throw e;
  }
}
