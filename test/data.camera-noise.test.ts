import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/backend/rng.js';
import {
  cameraNoise,
  cameraNoiseWith,
  createDegradation,
  ImageDataset,
  linearToSrgb,
  memorySource,
  parseDegradation,
  POISSON_EXACT_MAX_MEAN,
  srgbToLinear,
} from '../src/data/index.js';
import { createImage, type FloatImage } from '../src/image/index.js';
import { DenoisingSDE } from '../src/sde/denoising-sde.js';
import { MeanRevertingSDE } from '../src/sde/mean-reverting-sde.js';
import { Trainer } from '../src/train/trainer.js';
import { dataNoiseOf } from '../src/train/training-noise.js';
import { createNetwork } from '../src/nn/tfjs/network.js';
import { selectBackend } from '../src/engine/backend.js';
import { readSafetensors } from '../src/nn/io/safetensors.js';
import { trainConfigOfFlags } from '../src/cli/commands/train.js';
import { runTraining } from '../src/train-run/index.js';
import { contrastOf, type TrainRunConfig } from '../src/train-run/config.js';
import { useCpu } from './helpers/backends.js';
import { normErr } from './helpers/goldens.js';
import { withExtraCond } from '../src/nn/tfjs/network.js';
import { loadModelFile, saveModelFile } from '../src/io/model-files.js';
import { loadRestorerFile } from '../src/io/restorer-files.js';
import { Restorer } from '../src/pipeline/restorer.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TMP = mkdtempSync(join(tmpdir(), 'irsde-camera-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
beforeAll(() => useCpu());

function flat(value: number, side = 128, channels: 1 | 3 = 1): FloatImage {
  return createImage(side, side, channels, new Float32Array(side * side * channels).fill(value));
}

function stats(xs: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  const mean = s / xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i] - mean) ** 2;
  return { mean, variance: v / (xs.length - 1) };
}

describe('cameraNoise (issue 32 recipe)', () => {
  it('sRGB EOTF and its inverse: standard values, round trip', () => {
    expect(srgbToLinear(0)).toBe(0);
    expect(srgbToLinear(1)).toBeCloseTo(1, 12);
    expect(srgbToLinear(0.5)).toBeCloseTo(0.214041, 5);
    expect(srgbToLinear(0.04)).toBeCloseTo(0.04 / 12.92, 12);
    for (const v of [0, 0.01, 0.04045, 0.2, 0.5, 0.9, 1]) expect(linearToSrgb(srgbToLinear(v))).toBeCloseTo(v, 6); // the standard's two knees (0.04045, 0.0031308) differ by 3e-8
  });

  it('flat patches without JPEG: mean x and variance x / P + r^2 in linear light (exact and normal-approximated photon counts)', () => {
    const cases = [
      { x: 0.25, P: 30, r: 0.01 }, // lambda 7.5: exact Poisson draws
      { x: 0.5, P: 30, r: 0.005 }, // lambda 15
      { x: 0.25, P: 400, r: 0.02 }, // lambda 100 > POISSON_EXACT_MAX_MEAN: normal approximation
    ];
    expect(POISSON_EXACT_MAX_MEAN).toBeLessThan(100);
    for (const [i, { x, P, r }] of cases.entries()) {
      const img = flat(linearToSrgb(x), 128);
      const out = cameraNoiseWith(img, { photonsAtWhite: P, readSigma: r, jpegQuality: false }, new Rng(100 + i));
      const linear = Array.from(out.data, (v) => srgbToLinear(v));
      const { mean, variance } = stats(linear);
      const expected = x / P + r * r;
      const n = linear.length;
      // 5 standard errors of the mean; the variance within 6% (its relative std error is sqrt(2 / n) = 1.1%),
      // the 8-bit step adding < 0.3% of it here.
      expect(Math.abs(mean - x), `mean, case ${i}`).toBeLessThan(5 * Math.sqrt(expected / n) + 5e-4);
      expect(Math.abs(variance / expected - 1), `variance, case ${i}`).toBeLessThan(0.06);
    }
  });

  it('exact Poisson counts at small means: lambda 1 gives P(0) = P(1) = 1/e', () => {
    // Linear 0.5 with 2 photons at white and no read noise: y = k / 2, so 0 (k = 0), 0.5 (k = 1), clipped 1 (k >= 2).
    const out = cameraNoiseWith(flat(linearToSrgb(0.5), 128), { photonsAtWhite: 2, readSigma: 0, jpegQuality: false }, new Rng(5));
    const n = out.data.length;
    let zeros = 0;
    let ones = 0;
    for (const v of out.data) {
      if (v === 0) zeros++;
      else if (v === 1) ones++;
    }
    const se = Math.sqrt((Math.exp(-1) * (1 - Math.exp(-1))) / n);
    expect(Math.abs(zeros / n - Math.exp(-1))).toBeLessThan(5 * se);
    expect(Math.abs((n - zeros - ones) / n - Math.exp(-1))).toBeLessThan(5 * se);
  });

  it('stores 8-bit values, JPEG-compressed by default; keeps size and channels; grey images get grey noise', () => {
    const rng = new Rng(1);
    const rgb = createImage(32, 48, 3, Float32Array.from({ length: 32 * 48 * 3 }, (_, i) => (i % 97) / 96));
    const out = cameraNoise(rgb, {}, rng);
    expect([out.height, out.width, out.channels]).toEqual([32, 48, 3]);
    for (const v of out.data) expect(Math.abs(v * 255 - Math.round(v * 255))).toBeLessThan(1e-4);
    const grey = cameraNoise(flat(0.5, 32), { jpegQuality: 90 }, new Rng(2));
    expect(grey.channels).toBe(1);
    expect(stats(grey.data).variance).toBeGreaterThan(1e-4);
    // JPEG changes the noise (its quantisation of the DCT coefficients) but keeps its size's order.
    const draw = { photonsAtWhite: 20, readSigma: 0.01 };
    const raw = cameraNoiseWith(flat(0.5, 64), { ...draw, jpegQuality: false }, new Rng(3)).data;
    const jpeg = cameraNoiseWith(flat(0.5, 64), { ...draw, jpegQuality: 75 }, new Rng(3)).data;
    expect(Array.from(jpeg)).not.toEqual(Array.from(raw));
    expect(stats(jpeg).variance / stats(raw).variance).toBeGreaterThan(0.5);
    expect(stats(jpeg).variance / stats(raw).variance).toBeLessThan(2);
  });

  it('is deterministic under a seed (as a degradation spec, ranges drawn per image)', () => {
    const deg = createDegradation({ kind: 'camera-noise', photonsAtWhite: [10, 100], readSigma: [0.005, 0.02], jpegQuality: [75, 95] });
    const img = createImage(24, 24, 3, Float32Array.from({ length: 24 * 24 * 3 }, (_, i) => ((i * 7) % 50) / 49));
    const a = deg(img, new Rng(42));
    const b = deg(img, new Rng(42));
    const c = deg(img, new Rng(43));
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
    // The input is not modified.
    expect(img.data[1]).toBeCloseTo(7 / 49, 6);
  });

  it('validates its ranges with one-line errors, at createDegradation time', () => {
    const bad = [
      [{ photonsAtWhite: [100, 10] }, /photonsAtWhite/],
      [{ photonsAtWhite: 0 }, /photonsAtWhite/],
      [{ readSigma: -0.01 }, /readSigma/],
      [{ readSigma: [0.01, Number.NaN] }, /readSigma/],
      [{ jpegQuality: 0 }, /jpegQuality/],
      [{ jpegQuality: [75, 101] }, /jpegQuality/],
    ] as const;
    for (const [opts, re] of bad) {
      let err: unknown;
      try {
        createDegradation({ kind: 'camera-noise', ...(opts as object) });
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(opts)).toBeInstanceOf(RangeError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    }
    expect(() => createDegradation({ kind: 'camera-noise', jpegQuality: false })).not.toThrow();
  });

  it('shorthand camera[:QUALITY] and a one-of mix with blind Gaussian noise', () => {
    expect(parseDegradation('camera')).toEqual({ kind: 'camera-noise' });
    expect(parseDegradation('camera:90')).toEqual({ kind: 'camera-noise', jpegQuality: 90 });
    expect(parseDegradation('camera:0')).toEqual({ kind: 'camera-noise', jpegQuality: false });
    expect(() => parseDegradation('camera:101')).toThrow(/QUALITY/);
    const mix = createDegradation({ kind: 'one-of', options: [{ kind: 'noise', sigma: [0, 50], clip: true }, { kind: 'camera-noise' }] });
    const out = mix(flat(0.5, 16, 3), new Rng(0));
    expect(out.channels).toBe(3);
  });
});

describe('ImageDataset defocus (smooth clean targets)', () => {
  const side = 48;
  const noise = createImage(side, side, 1, Float32Array.from(new Rng(9).uniform([side * side])));
  const source = memorySource({ a: noise });

  it('with probability 1 every training crop is blurred, and the blurred crop is the clean target', async () => {
    const data = ImageDataset.synthetic({ gt: source, degradation: { kind: 'noise', sigma: 0 }, cropSize: 32, batchSize: 2, channels: 1, defocus: { probability: 1, sigma: [2, 3] } });
    const batch = await data.next(new Rng(1));
    const gt = batch.gt.dataSync();
    const lq = batch.lq.dataSync();
    tf.dispose([batch.gt, batch.lq]);
    expect(Array.from(lq)).toEqual(Array.from(gt));
    // Uniform noise has variance 1/12; a Gaussian blur of sigma >= 2 leaves a few percent of it.
    expect(stats(gt).variance).toBeLessThan(0.1 / 12);
  });

  it('probability 0 leaves the batches as they were; paired sets and bad options are refused', async () => {
    const plain = ImageDataset.synthetic({ gt: source, degradation: { kind: 'noise', sigma: 10 }, cropSize: 32, channels: 1 });
    const zero = ImageDataset.synthetic({ gt: source, degradation: { kind: 'noise', sigma: 10 }, cropSize: 32, channels: 1, defocus: { probability: 0 } });
    const [a, b] = [await plain.next(new Rng(4)), await zero.next(new Rng(4))];
    expect(Array.from(a.lq.dataSync())).toEqual(Array.from(b.lq.dataSync()));
    tf.dispose([a.lq, a.gt, b.lq, b.gt]);
    expect(() => ImageDataset.paired({ gt: source, lq: source, defocus: { probability: 0.5 } })).toThrow(/synthetic/);
    expect(() => ImageDataset.synthetic({ gt: source, degradation: { kind: 'noise', sigma: 5 }, defocus: { probability: 1.5 } })).toThrow(/probability/);
    expect(() => ImageDataset.synthetic({ gt: source, degradation: { kind: 'noise', sigma: 5 }, defocus: { probability: 0.5, sigma: [4, 2] } })).toThrow(/defocus\.sigma/);
  });
});

describe('Trainer dataNoise: a DenoisingSDE learns the noise of its data', () => {
  it('the state is lq, the timestep the level\'s, and the noise (lq - gt) / sigmaBar_t', () => {
    const sde = new DenoisingSDE({ T: 100, maxSigma: 50 / 255, schedule: 'cosine' });
    const z = new Rng(3).normal([2 * 32 * 32]);
    const gtData = new Float32Array(2 * 32 * 32).fill(0.5);
    const lqData = Float32Array.from(gtData, (v, i) => v + (i < 1024 ? 10 : 30) / 255 * z[i]);
    const gt = tf.tensor(gtData, [2, 32, 32, 1]);
    const lq = tf.tensor(lqData, [2, 32, 32, 1]);
    for (const level of ['rms', 'estimated'] as const) {
      const { t, noise } = dataNoiseOf(sde, { gt, lq }, level);
      const n = noise.dataSync();
      noise.dispose();
      expect(Math.abs(t[0] - sde.optimalTimestep(10 / 255))).toBeLessThanOrEqual(2);
      expect(Math.abs(t[1] - sde.optimalTimestep(30 / 255))).toBeLessThanOrEqual(2);
      for (const i of [0, 5, 1500]) expect(n[i] * sde.sigmaBar(t[i < 1024 ? 0 : 1])).toBeCloseTo(lqData[i] - gtData[i], 5);
    }
    tf.dispose([gt, lq]);
    const net = createNetwork({ inChannels: 1, outChannels: 1, nf: 4, depth: 1, prediction: 'noise', conditional: false });
    const data = { next: () => ({ gt: tf.zeros([1, 8, 8, 1]), lq: tf.zeros([1, 8, 8, 1]) }) };
    expect(() => new Trainer({ sde: new MeanRevertingSDE({ T: 10, maxSigma: 0.1 }), model: net, data, config: { dataNoise: 'rms' } })).toThrow(/DenoisingSDE only/);
    expect(() => new Trainer({ sde, model: net, data, config: { dataNoise: 'true' as never } })).toThrow(/estimated' or 'rms/);
    net.dispose();
  });
});

describe('ImageDataset contrast (faint clean targets)', () => {
  const side = 48;
  const noise = createImage(side, side, 1, Float32Array.from(new Rng(9).uniform([side * side])));
  const source = memorySource({ a: noise });

  it('with probability 1 every crop becomes offset + scale * x: its range shrinks to the factor and stays in [0, 1]', async () => {
    const plain = ImageDataset.synthetic({ gt: source, degradation: { kind: 'noise', sigma: 0 }, cropSize: 32, batchSize: 3, channels: 1 });
    const faint = ImageDataset.synthetic({ gt: source, degradation: { kind: 'noise', sigma: 0 }, cropSize: 32, batchSize: 3, channels: 1, contrast: { probability: 1, scale: 0.25 } });
    const [a, b] = [await plain.next(new Rng(2)), await faint.next(new Rng(2))];
    const [ga, gb, lb] = [a.gt.dataSync(), b.gt.dataSync(), b.lq.dataSync()];
    tf.dispose([a.lq, a.gt, b.lq, b.gt]);
    expect(Array.from(lb)).toEqual(Array.from(gb));
    const n = 32 * 32;
    for (let item = 0; item < 3; item++) {
      // Same crop (the contrast draw comes after the crop's), so gb = offset + 0.25 * ga per item.
      const offset = gb[item * n] - 0.25 * ga[item * n];
      expect(offset).toBeGreaterThanOrEqual(-1e-6);
      expect(offset).toBeLessThanOrEqual(0.75 + 1e-6);
      for (let i = item * n; i < (item + 1) * n; i += 97) expect(gb[i]).toBeCloseTo(offset + 0.25 * ga[i], 5);
    }
  });

  it('bad options are refused, and the run option parses P:MIN:MAX', async () => {
    expect(() => ImageDataset.paired({ gt: source, lq: source, contrast: { probability: 0.5 } })).toThrow(/synthetic/);
    expect(() => ImageDataset.synthetic({ gt: source, degradation: { kind: 'noise', sigma: 5 }, contrast: { probability: 0.5, scale: [0.5, 1.5] } })).toThrow(/contrast\.scale/);
    expect(contrastOf({ contrast: '0.3:0.2:1' } as TrainRunConfig)).toEqual({ probability: 0.3, scale: [0.2, 1] });
    expect(() => contrastOf({ contrast: '0.3' } as TrainRunConfig)).toThrow(/--contrast must be P:VALUE or P:MIN:MAX/);
  });
});

describe('training runs: warm start, defocus, data noise', () => {
  it('--init-weights starts a new run from a model file\'s weights; camera noise, defocus and dataNoise run', async () => {
    await selectBackend('cpu');
    const gt = join(TMP, 'gt');
    mkdirSync(gt);
    for (const name of ['camera', 'coffee', 'astronaut']) copyFileSync(join(ROOT, 'test/fixtures/metrics', `${name}_gt.png`), join(gt, `${name}.png`));
    const common = { gt, sde: 'denoising', nf: 4, depth: 2, T: 10, batch: 1, patch: 32, valCount: 1, valEvery: 0, gradients: 'tfjs', engine: 'cpu', quiet: true };
    const first = (await trainConfigOfFlags({ ...common, out: join(TMP, 'a'), steps: 2, noiseLevels: '0:50:clip' })).cfg;
    await runTraining(first);
    const mix = JSON.stringify({ kind: 'one-of', options: [{ kind: 'noise', sigma: [0, 50], clip: true }, { kind: 'camera-noise' }] });
    const second = (await trainConfigOfFlags({ ...common, out: join(TMP, 'b'), steps: 0, noiseLevels: '0:50', degradation: mix, defocus: '0.5:1:3', dataNoise: 'estimated', initWeights: join(TMP, 'a', 'model.safetensors') })).cfg;
    await runTraining(second);
    const a = readSafetensors(readFileSync(join(TMP, 'a', 'model.safetensors')));
    const b = readSafetensors(readFileSync(join(TMP, 'b', 'model.safetensors')));
    const names = Object.keys(a);
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(Array.from(b[n].data), n).toEqual(Array.from(a[n].data));
    // Two steps on the camera-noise mix with defocused crops run (the states come from the data).
    const third = (await trainConfigOfFlags({ ...common, out: join(TMP, 'c'), steps: 2, noiseLevels: '0:50', degradation: mix, defocus: '0.5:1:3', dataNoise: 'rms' })).cfg;
    const run = await runTraining(third);
    expect(run.step).toBe(2);
    // A mismatched network is refused in one line.
    const wrong = (await trainConfigOfFlags({ ...common, nf: 8, out: join(TMP, 'd'), steps: 0, initWeights: join(TMP, 'a', 'model.safetensors') })).cfg;
    await expect(runTraining(wrong)).rejects.toThrow(/--init-weights/);
  });
});

describe('training runs: the inpainting mask as an input channel (maskChannel)', () => {
  it('warm-starts from an unmasked model (zero mask weights, same outputs), trains a few steps with the masks reaching the network, saves the task inpaint, and restores with a mask', async () => {
    await selectBackend('cpu');
    const gt = join(TMP, 'gt-mask');
    mkdirSync(gt);
    for (const name of ['camera', 'coffee', 'astronaut']) copyFileSync(join(ROOT, 'test/fixtures/metrics', `${name}_gt.png`), join(gt, `${name}.png`));
    const sizes = { arch: 'nafnet', width: 8, encBlocks: [1], middleBlocks: 1, decBlocks: [1], prediction: 'residual' } as const;
    const sdeConfig = { T: 10, maxSigma: 10 / 255 };
    // The unmasked source: random weights everywhere (NAFBlocks start with zero beta/gamma).
    const source = createNetwork({ ...sizes, imgChannels: 3 }, { seed: 5 });
    const rng = new Rng(7);
    source.loadStateDict(Object.fromEntries(Object.entries(source.stateDict()).map(([n, v]) => [n, { shape: v.shape, data: Float32Array.from(rng.normal([v.data.length]), (x) => 0.2 * x) }])));
    const sourcePath = join(TMP, 'unmasked.safetensors');
    await saveModelFile(sourcePath, source, sdeConfig);
    const degradation = JSON.stringify({ kind: 'inpaint', shape: 'boxes', fraction: [0.1, 0.4], fill: 'smooth' });
    const common = { gt, ...sizes, maskChannel: true, degradation, T: 10, maxSigma: 10, schedule: 'cosine', batch: 2, patch: 32, valCount: 1, valEvery: 2, valSteps: 1, valCrop: 32, gradients: 'tfjs', engine: 'cpu', quiet: true };
    // Warm start, no step: the model is the source with a zero-initialised mask channel.
    const starts: string[] = [];
    const warm = (await trainConfigOfFlags({ ...common, out: join(TMP, 'm0'), steps: 0, initWeights: sourcePath })).cfg;
    await runTraining(warm, { onStart: (s) => void (s.warmStart && starts.push(s.warmStart)) });
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatch(/intro\.weight gets 1 zero-initialised input channel for the mask, every other weight copied/);
    const loaded = await loadModelFile(join(TMP, 'm0', 'model.safetensors'));
    expect(loaded.network.config).toMatchObject({ extraCondChannels: 1 });
    expect(loaded.info.task).toEqual({ name: 'inpaint', inpaint: { fill: 'smooth' } });
    const xt = tf.randomNormal([1, 16, 16, 3], 0, 1, 'float32', 1);
    const mu = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 2);
    const mask = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([1, 16, 16, 1], 0, 1, 'float32', 3), 0.5), 'float32'));
    const cond = withExtraCond(mu, mask);
    const want = source.predict(xt, mu, 4);
    const got = loaded.network.predict(xt, cond, 4);
    expect(normErr(got.dataSync(), want.dataSync())).toBeLessThan(1e-6);
    tf.dispose([xt, mu, mask, cond, want, got]);
    loaded.network.dispose();
    source.dispose();

    // A few steps with validation (the val masks reach the restorer): finite losses and scores.
    const losses: number[] = [];
    const scores: Record<string, number>[] = [];
    const run = (await trainConfigOfFlags({ ...common, out: join(TMP, 'm1'), steps: 4, initWeights: sourcePath, maskLossWeight: 5 })).cfg;
    await runTraining(run, { onStep: (r) => void losses.push(r.loss), onValidate: (v) => void scores.push({ ...v.metrics }) });
    expect(losses).toHaveLength(4);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(scores).toHaveLength(2);
    expect(Number.isFinite(scores[1].psnr)).toBe(true);

    // The model file round trip: restore with a mask keeps every known pixel; the mask changes the result.
    const restorer = await loadRestorerFile(join(TMP, 'm1', 'model.safetensors'), { engine: 'ort' });
    try {
      const image = createImage(32, 32, 3, Float32Array.from(new Rng(9).uniform([32 * 32 * 3])));
      const maskImage = (rows: number) => createImage(32, 32, 1, Float32Array.from({ length: 32 * 32 }, (_, i) => ((i >> 5) >= 8 && (i >> 5) < 8 + rows ? 1 : 0)));
      const a = await restorer.restore(image, { mask: maskImage(8) });
      for (let p = 0; p < 32 * 32; p++) if (p >> 5 < 8 || p >> 5 >= 16) for (let c = 0; c < 3; c++) expect(a.image.data[p * 3 + c]).toBe(image.data[p * 3 + c]);
      // Tiled (the mask cropped per tile with the state), and several samples (the mask repeated per sample).
      const tiled = await restorer.restore(image, { mask: maskImage(8), tile: 16, overlap: 4 });
      for (let p = 0; p < 32 * 32; p++) if (p >> 5 < 8 || p >> 5 >= 16) expect(tiled.image.data[p * 3]).toBe(image.data[p * 3]);
      expect(tiled.image.data.every(Number.isFinite)).toBe(true);
      const two = await restorer.restore(image, { mask: maskImage(8), samples: 2, sampler: 'sde', steps: 2 });
      expect(two.samples).toHaveLength(2);
      const b = await restorer.restore(image, { mask: maskImage(12) });
      expect(normErr(b.image.data, a.image.data)).toBeGreaterThan(0);
      await expect(restorer.restore(image)).rejects.toThrow(/this inpainting model needs a mask/);
    } finally {
      await restorer.dispose();
    }
    // A masked network without the inpaint task cannot be restored (nothing would feed the mask).
    const bare = await loadModelFile(join(TMP, 'm1', 'model.safetensors'));
    await expect(Restorer.create(bare.network, bare.sdeConfig)).rejects.toThrow(/takes the inpainting mask as an input channel \(extraCondChannels: 1\), so the model needs the task inpaint/);
    bare.network.dispose();
    // The option needs an inpaint degradation.
    const noMask = (await trainConfigOfFlags({ ...common, degradation: 'noise:25', out: join(TMP, 'm2'), steps: 0 })).cfg;
    await expect(runTraining(noMask)).rejects.toThrow(/--mask-channel needs a --degradation that makes inpainting masks/);
    // So does the missing pixels' loss weight, which must be > 0.
    const unweightable = (await trainConfigOfFlags({ ...common, maskChannel: false, degradation: 'noise:25', maskLossWeight: 3, out: join(TMP, 'm3'), steps: 0 })).cfg;
    await expect(runTraining(unweightable)).rejects.toThrow(/--mask-loss-weight needs synthetic data whose --degradation makes inpainting masks/);
    const zero = (await trainConfigOfFlags({ ...common, maskLossWeight: 0, out: join(TMP, 'm4'), steps: 0 })).cfg;
    await expect(runTraining(zero)).rejects.toThrow(/--mask-loss-weight must be a number > 0, got 0/);
  });
});
