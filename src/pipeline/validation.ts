import type { SamplerName } from '../sampling/samplers.js';
import type { Restorer } from './restorer.js';
import type { ImageDataset } from '../data/dataset.js';
import { psnr, ssim } from '../image/metrics.js';

/** Options of {@link validateRestoration}. */
export interface ValidationOptions {
  /** Sampler used to restore (default: the restorer's, see `Restorer.restore`). */
  readonly sampler?: SamplerName;
  /** Sampling steps (default 10). */
  readonly steps?: number;
  /** Side of the centre crop restored from each image (default: whole images). */
  readonly cropSize?: number;
  /** Seed of the degradations (synthetic sets) and of the sampler (item `i` uses `seed + i`). */
  readonly seed?: number;
  /** Tile side for large images (default: the restorer's, see `Restorer.restore`). */
  readonly tile?: number;
  /** DenoisingSDE models: the noise level of the degraded images (data units; default estimated per image). */
  readonly noiseLevel?: number;
}

/**
 * Mean PSNR (dB) and SSIM of the restored validation images, the same of their degraded inputs
 * (on the same crops: the gain is `psnr - inputPsnr`), and the sampling used.
 */
export interface ValidationScores {
  /** Mean PSNR of the restorations in dB. */
  readonly psnr: number;
  /** Mean SSIM of the restorations. */
  readonly ssim: number;
  /** Mean PSNR of the degraded inputs against the clean images, in dB. */
  readonly inputPsnr: number;
  /** Mean SSIM of the degraded inputs against the clean images. */
  readonly inputSsim: number;
  /** The sampler the restorer used (its name, or `'custom'`). */
  readonly sampler: string;
  /** The sampling steps the restorer used (`undefined`: the sampler's full schedule). */
  readonly steps: number | undefined;
}

/**
 * Periodic validation: restores every image of `data` (centre crops, deterministic degradations)
 * through the restoration pipeline and scores the restorations (clipped to [0, 1]) and the
 * degraded inputs against the clean images. An inpainting restorer (task `inpaint`) gets each
 * item's mask from the data set's degradation.
 * @param restorer - the model to validate (e.g. a `Restorer.create` of the network holding the EMA weights).
 */
export async function validateRestoration(restorer: Restorer, data: ImageDataset, options: ValidationOptions = {}): Promise<ValidationScores> {
  const seed = options.seed ?? 0;
  let p = 0;
  let s = 0;
  let pIn = 0;
  let sIn = 0;
  let used: { sampler: string; steps: number | undefined } = { sampler: options.sampler ?? 'default', steps: options.steps ?? 10 };
  for (let i = 0; i < data.size; i++) {
    const pair = await data.item(i, { seed, ...(options.cropSize !== undefined ? { cropSize: options.cropSize } : {}) });
    const restored = await restorer.restore(pair.lq, {
      ...(options.sampler !== undefined ? { sampler: options.sampler } : {}),
      steps: options.steps ?? 10,
      seed: seed + i,
      ...(options.tile !== undefined ? { tile: options.tile } : {}),
      ...(options.noiseLevel !== undefined ? { noiseLevel: options.noiseLevel } : {}),
      // An inpainting model restores with the degradation's own mask (the known pixels come back as they are).
      ...(restorer.task?.inpaint !== undefined && pair.mask !== undefined ? { mask: { data: Float32Array.from(pair.mask), height: pair.lq.height, width: pair.lq.width, channels: 1 as const } } : {}),
    });
    used = { sampler: restored.sampler, steps: restored.steps };
    p += psnr(restored.image, pair.gt);
    s += ssim(restored.image, pair.gt);
    pIn += psnr(pair.lq, pair.gt);
    sIn += ssim(pair.lq, pair.gt);
  }
  const n = data.size;
  return { psnr: p / n, ssim: s / n, inputPsnr: pIn / n, inputSsim: sIn / n, ...used };
}
