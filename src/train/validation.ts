import type * as tf from '@tensorflow/tfjs-core';
import { HostTensor } from '../backend/host.js';
import { tfjsBackend } from '../backend/tfjs.js';
import { MeanRevertingSDE, type SDEConfig } from '../sde/mean-reverting-sde.js';
import { restore } from '../sampling/restore.js';
import type { SamplerName } from '../sampling/samplers.js';
import { tiledNoiseModel } from '../sampling/tiled.js';
import type { NoiseModel } from '../sampling/model.js';
import type { ImageDataset } from './data/dataset.js';
import { psnr, ssim } from './metrics.js';

/** Options of {@link validateRestoration}. */
export interface ValidationOptions {
  /** The SDE the network was trained for. */
  readonly sde: SDEConfig;
  /** Sampler used to restore (default `'posterior'`). */
  readonly sampler?: SamplerName;
  /** Sampling steps (default 10). */
  readonly steps?: number;
  /** Side of the centre crop restored from each image (default: whole images). */
  readonly cropSize?: number;
  /** Seed of the degradations (synthetic sets) and of the sampler (item `i` uses `seed + i`). */
  readonly seed?: number;
  /** Tile side for large images (default 512). */
  readonly tile?: number;
}

/** Mean PSNR (dB) and SSIM of the restored validation images. */
export interface ValidationScores {
  /** Mean PSNR in dB. */
  readonly psnr: number;
  /** Mean SSIM. */
  readonly ssim: number;
}

/**
 * Periodic validation: restores every image of `data` (centre crops, deterministic degradations)
 * with `model` and scores the restorations against the clean images (outputs clamped to [0, 1]).
 * The sampler runs on the `float32` host backend; the model sees tiles on tfjs.
 * @param model - a noise model on tfjs tensors (e.g. a ConditionalUNet holding the EMA weights).
 */
export async function validateRestoration(model: NoiseModel<tf.Tensor>, data: ImageDataset, options: ValidationOptions): Promise<ValidationScores> {
  const sde = new MeanRevertingSDE<HostTensor>(options.sde, 'float32');
  const tiled = tiledNoiseModel(model, tfjsBackend, { tile: options.tile ?? 512 });
  const seed = options.seed ?? 0;
  let p = 0;
  let s = 0;
  for (let i = 0; i < data.size; i++) {
    const pair = await data.item(i, { seed, ...(options.cropSize !== undefined ? { cropSize: options.cropSize } : {}) });
    const lq = new HostTensor(pair.lq.data, [1, pair.lq.height, pair.lq.width, pair.lq.channels]);
    const out = await restore({ sde, model: tiled, lq, sampler: options.sampler ?? 'posterior', steps: options.steps ?? 10, seed: seed + i });
    const img = { ...pair.gt, data: out.data.map((v) => Math.min(1, Math.max(0, v))) };
    p += psnr(img, pair.gt);
    s += ssim(img, pair.gt);
  }
  return { psnr: p / data.size, ssim: s / data.size };
}
