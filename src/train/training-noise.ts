/**
 * The noise of a training state, beside the trainer: states taken from the data
 * (`TrainerConfig.dataNoise`), the noise of a clipped state, and grey noise for grey items.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DenoisingSDE } from '../sde/denoising-sde.js';
import { estimateNoiseSigma } from '../image/noise-level.js';
import type { Batch } from './types.js';

/**
 * The timesteps and noise of states taken from the data (`TrainerConfig.dataNoise`): per item,
 * `t = max(1, optimalTimestep(level))` and `noise = (lq - gt) / sigmaBar_t` (a new tensor).
 */
export function dataNoiseOf(sde: DenoisingSDE<tf.Tensor>, batch: Batch, level: 'estimated' | 'rms'): { t: number[]; noise: tf.Tensor } {
  const lq = batch.lq;
  if (lq === undefined || lq === null) throw new TypeError('Trainer: dataNoise needs the degraded images (lq) of the batch');
  const shape = batch.gt.shape;
  const B = shape[0];
  const per = batch.gt.size / B;
  const [H, W, C] = shape.slice(1) as [number, number, number];
  const x = lq.dataSync() as Float32Array;
  const y = batch.gt.dataSync() as Float32Array;
  const t: number[] = [];
  const noise = new Float32Array(x.length);
  for (let b = 0; b < B; b++) {
    const lo = b * per;
    let sigma: number;
    if (level === 'rms') {
      let ss = 0;
      for (let i = lo; i < lo + per; i++) ss += (x[i] - y[i]) ** 2;
      sigma = Math.sqrt(ss / per);
    } else {
      sigma = estimateNoiseSigma({ data: x.slice(lo, lo + per), height: H, width: W, channels: C as 1 | 3 }, { clipped: true });
    }
    const tb = Math.max(1, sde.optimalTimestep(Math.min(sigma, sde.maxSigma)));
    const s = Math.max(sde.sigmaBar(tb), 1e-12);
    for (let i = lo; i < lo + per; i++) noise[i] = (x[i] - y[i]) / s;
    t.push(tb);
  }
  return { t, noise: tf.tensor(noise, shape) };
}

/** The noise in `clip(x0 + sigmaBar_t z, 0, 1)`: `(clip(...) - x0) / sigmaBar_t` per item (a new tensor). */
export function clippedNoise(sde: DenoisingSDE<tf.Tensor>, x0: tf.Tensor, z: tf.Tensor, t: readonly number[]): tf.Tensor {
  const sigma = sde.sigmaBar(t);
  const B = t.length;
  return tf.tidy(() => {
    // sigmaBar_t > 0 for t >= 1; the floor only keeps a degenerate schedule finite (then noise = z).
    const s = tf.tensor(Float32Array.from(sigma, (v) => Math.max(v, 1e-12)), [B, ...x0.shape.slice(1).map(() => 1)]);
    return tf.div(tf.sub(tf.clipByValue(tf.add(x0, tf.mul(z, s)), 0, 1), x0), s);
  });
}

/**
 * Makes the noise of the `grey` items of a `[B, ..., C]` draw grey, in place: each pixel's first
 * channel is copied to the others (the draw count, and so the generator's stream, is unchanged).
 */
export function greyNoise(z: Float32Array, shape: readonly number[], grey: readonly boolean[]): void {
  const B = shape[0];
  const C = shape[shape.length - 1];
  if (grey.length !== B) throw new RangeError(`Trainer: batch.grey has ${grey.length} entries for a batch of ${B}`);
  if (C === 1) return;
  const per = z.length / B;
  for (let b = 0; b < B; b++) {
    if (!grey[b]) continue;
    for (let i = b * per; i < (b + 1) * per; i += C) for (let c = 1; c < C; c++) z[i + c] = z[i];
  }
}
