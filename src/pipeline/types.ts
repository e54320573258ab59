/**
 * What the restoration pipeline takes and gives: the network engine contract (and the tfjs one),
 * the options of `Restorer.restore` and its results; the pipeline itself, `Restorer`, sits beside
 * this module and re-exports all of it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EnsembleSize, SamplerName } from '../sampling/names.js';
import type { Sampler } from '../sampling/loop.js';
import type { TfjsNetwork } from '../nn/tfjs/network.js';
import type { FloatImage } from '../image/image.js';

/** A running network: NHWC tfjs tensors in and out (arguments borrowed, result owned by the caller). */
export interface NetworkEngine {
  /** What runs the network, for messages (e.g. `'tfjs-wasm'`, `'onnxruntime-node (2 threads)'`). */
  readonly name: string;
  /** The network's raw output for `x_t`, the condition (`null` for unconditional networks) and `t`. */
  predict(xt: tf.Tensor, cond: tf.Tensor | null, t: number): tf.Tensor | Promise<tf.Tensor>;
  /** Frees what the engine holds (not the network). */
  dispose(): Promise<void>;
}

/** Makes a {@link NetworkEngine} for a network (borrowed: the restorer owns and disposes it). */
export type EngineFactory = (network: TfjsNetwork) => Promise<NetworkEngine>;

/** Runs the network on the active tfjs backend (wasm, webgl, webgpu, cpu). */
export const tfjsEngine: EngineFactory = async (network) => ({
  name: `tfjs-${tf.getBackend()}`,
  predict: (xt, cond, t) => network.predict(xt, cond, t),
  dispose: async () => undefined,
});

/** Options of {@link Restorer.restore}. */
export interface RestoreImageOptions {
  /** Sampler (default: the model's recommended one, else `'posterior'`; `'ode'` for a DenoisingSDE without a recommendation). */
  readonly sampler?: SamplerName | Sampler;
  /**
   * Sampling steps (default: the model's recommended count with its sampler, else
   * {@link DEFAULT_RESTORE_STEPS}; the adaptive ODE sampler chooses its own).
   */
  readonly steps?: number;
  /** Posterior / DDIM noise in `[0, 1]` (default: the recommendation's, else the sampler's). */
  readonly eta?: number;
  /** Seed of the sampler's noise (default 0): the same seed gives the same image. */
  readonly seed?: number;
  /** Tile side for the network (default `defaultTile(network config)`: 512, less for networks with full attention): bounds memory on large images. */
  readonly tile?: number;
  /** Tile overlap in pixels (default 32, a quarter of the tile for tiles under 128 px). */
  readonly overlap?: number;
  /**
   * DenoisingSDE models only: the Gaussian noise sigma of the image in data units (`from255(25)`
   * for sigma 25 on the 0-255 scale). Default: estimated from the image (`estimateNoiseSigma` with `clipped: true`: photos hold clipped noise).
   * Sampling starts at `sde.optimalTimestep(sigma)`.
   */
  readonly noiseLevel?: number;
  /** Adaptive ODE tolerances (`sampler: 'ode-adaptive'`). */
  readonly rtol?: number;
  /** Adaptive ODE absolute tolerance. */
  readonly atol?: number;
  /** Called after each sampling step with `(done, total)`. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Called as each tile of the image is done, with a preview of its region (see
   * {@link RestoredTile}): the clean-image estimate the network's latest pass gives there, so a
   * page can draw a large photo's result tile by tile. Once per tile per network pass (a
   * sampling step takes one pass, `heun` two); not called when no network runs (a DenoisingSDE
   * at noise level 0). It does not change the result: the restored image is the same, bit for
   * bit, with or without it. Exceptions thrown by it reject the restore.
   */
  readonly onTile?: (tile: RestoredTile) => void;
  /**
   * Inpainting models (`task.inpaint`): which pixels are missing, an image of the input's size
   * (any channels; a pixel is missing where its first channel is above 0.5, i.e. white). Required
   * by such models, refused by others.
   */
  readonly mask?: FloatImage;
  /**
   * Draws this many restorations (integer >= 2) in one batch, each with its own sampler noise
   * (from `seed`): several completions of an inpainting mask, or of any degraded image. The
   * result's `image` is then their per-pixel mean, `samples` the restorations themselves (the
   * first is exactly what a restore without `samples` returns for the same seed) and
   * `uncertainty` their per-pixel standard deviation. A MeanRevertingSDE's restorations differ by
   * their prior's noise (`x_T = lq + lambda z`) and by the sampler's (the reverse SDE, or
   * `posterior` / `ddim` with `eta > 0`); a DenoisingSDE starts from the image itself, so only a
   * stochastic sampler spreads them. Costs N times the time and memory of one restore.
   */
  readonly samples?: number;
  /**
   * Geometric self-ensemble (default: the model's recommendation, else 1, off): the network runs
   * on this many flipped / transposed copies of each tile and its predictions are mapped back and
   * averaged (2: the left-right flip; 4: both flips; 8: every rotation and reflection), for
   * `ensemble` times the network time; memory stays that of one copy. Where the copies' errors
   * differ the mean is a little closer to the truth; whether it pays depends on the model.
   */
  readonly ensemble?: EnsembleSize;
  /** Cancels between steps (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

/**
 * A region of the image as a tile of {@link Restorer.restore} finished it (`onTile`): the
 * clean-image estimate `x0FromNoise(x_t, eps)` there from the network's latest pass, clipped to
 * [0, 1], in the result's channels and (inpainting) with the known pixels kept. Coordinates are
 * in the result (the upscaled image for super-resolution). The regions of one pass cover the
 * result exactly once (each is the part of its tile no later tile overlaps, so every tile
 * touching it has been blended in: what is shown is final for that pass). It is a preview: for
 * a one-step sampler with no noise (the shipped denoiser's `posterior`, 1 step, `eta` 0) the last
 * pass's regions are the result up to float rounding; with more steps each pass refines the
 * previous one, and the restore's resolved image is the final word.
 */
export interface RestoredTile {
  /** Tile number in its pass, `0..count-1` (rows top to bottom, left to right). */
  readonly index: number;
  /** Tiles per pass over the image. */
  readonly count: number;
  /** Network passes over the image so far, counting this one (1-based). */
  readonly pass: number;
  /** The time index the network was evaluated at (real for `'ode-adaptive'`). */
  readonly t: number;
  /** Left column of the region in the result, pixels. */
  readonly x: number;
  /** Top row of the region in the result, pixels. */
  readonly y: number;
  /** The region's pixels: `width x height`, the result's channels, values in [0, 1] (owned by the callee). */
  readonly image: FloatImage;
}

/** The noise level a DenoisingSDE restoration used. */
export interface NoiseLevelUsed {
  /** Noise sigma, data units. */
  readonly sigma: number;
  /** Whether it was estimated from the image (else given). */
  readonly estimated: boolean;
  /** The timestep sampling started at, `sde.optimalTimestep(sigma)`. */
  readonly start: number;
}

/** What {@link Restorer.restore} returns. */
export interface RestoredImage {
  /** The restored image, clipped to [0, 1], with the input's channel count (with `samples`: the samples' per-pixel mean). */
  readonly image: FloatImage;
  /** With `samples: N`: the N restorations (clipped, known pixels kept), the input's channel count. */
  readonly samples?: readonly FloatImage[];
  /** With `samples: N`: the per-pixel standard deviation of the N restorations (data units, denominator `N - 1`; 0 where they agree, e.g. at known pixels). */
  readonly uncertainty?: FloatImage;
  /** The sampler used (its name, or `'custom'`). */
  readonly sampler: string;
  /** The sampling steps requested (`undefined`: the sampler's full schedule). */
  readonly steps: number | undefined;
  /** The self-ensemble size used (1: none; see {@link RestoreImageOptions.ensemble}). */
  readonly ensemble: EnsembleSize;
  /** DenoisingSDE models: the noise level used, whether it was estimated, and the starting time. */
  readonly noise?: NoiseLevelUsed;
  /** Network evaluations of the adaptive ODE sampler (when used). */
  readonly nfe?: number;
  /** Wall time in milliseconds. */
  readonly ms: number;
}

/**
 * Sampling steps of a restore whose model file recommends none for the sampler used (and that
 * gives no `steps`): a few steps of the sampler rather than all T (all 100 posterior steps of a
 * small U-Net took 13 s on a 96x96 image). Pass `steps` for more.
 */
export const DEFAULT_RESTORE_STEPS = 10;

/** The smallest input side a super-resolution model takes (pixels). */
export const MIN_SR_INPUT = 8;
