// The one restoration pipeline, as a library user calls it (the README's three lines), and its rules.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { UNet, DenoisingSDE, MeanRevertingSDE, Restorer, Rng, from255, psnr, saveModel, loadRestorer, selectBackend, type FloatImage, type RestoredTile } from '../src/index.js';
import { gaussianNoise } from '../src/advanced.js';
import { loadRestorerFile, readImage, writeImage } from '../src/node.js';
import { DEFAULT_RESTORE_STEPS, defaultTile, fullAttentionScale, selfEnsemble, type EngineFactory, type EnsembleSize, type TileModel } from '../src/advanced.js';
import { SHARED } from './helpers/goldens.js';
import { DEFAULT_MODEL_FILE, shippedModelPath } from '../src/io/shipped-model.js';

const dir = mkdtempSync(join(tmpdir(), 'irsde-pipeline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MODEL = resolve('models', DEFAULT_MODEL_FILE);

describe('Restorer', () => {
  it("the README's three lines restore a photo file with the shipped model (better than the noisy input)", async () => {
    const clean = await readImage(resolve(SHARED, 'data/images/camera.png'), { channels: 3 });
    const crop: FloatImage = { ...clean, height: 64, width: 64, data: new Float32Array(64 * 64 * 3) };
    for (let y = 0; y < 64; y++) crop.data.set(clean.data.subarray((y * clean.width) * 3, (y * clean.width + 64) * 3), y * 64 * 3);
    await writeImage(join(dir, 'noisy.png'), gaussianNoise(crop, { sigma: 25, clip: true }, new Rng(3)));

    expect(shippedModelPath()).toBe(MODEL);
    const restorer = await loadRestorerFile(); // no path: the shipped model (MODEL in a checkout)
    await writeImage(join(dir, 'restored.png'), (await restorer.restore(await readImage(join(dir, 'noisy.png')))).image);
    await restorer.dispose();

    const noisy = await readImage(join(dir, 'noisy.png'));
    const restored = await readImage(join(dir, 'restored.png'));
    expect(psnr(restored, crop)).toBeGreaterThan(psnr(noisy, crop) + 4);
    expect(restorer.engine).toMatch(/onnxruntime-node|tfjs/);
  });

  it('keeps grey images grey, is deterministic under a seed, and refuses a noise level for an IR-SDE model', async () => {
    await selectBackend('wasm');
    const net = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 1, prediction: 'residual' });
    const restorer = await loadRestorer(saveModel(net, new MeanRevertingSDE({ T: 10, maxSigma: from255(10) })));
    net.dispose();
    const grey: FloatImage = { data: Float32Array.from(new Rng(1).uniform([16 * 16]), (v) => v), height: 16, width: 16, channels: 1 };
    const a = await restorer.restore(grey, { seed: 5, sampler: 'posterior', steps: 2, eta: 1 });
    const b = await restorer.restore(grey, { seed: 5, sampler: 'posterior', steps: 2, eta: 1 });
    expect(a.image.channels).toBe(1);
    expect(Array.from(a.image.data)).toEqual(Array.from(b.image.data));
    expect(a.image.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    await expect(restorer.restore(grey, { noiseLevel: 0.1 })).rejects.toThrow(/noiseLevel applies to DenoisingSDE models only/);
    await expect(restorer.restore(grey, { sampler: 'magic' as never })).rejects.toThrow(/unknown sampler 'magic'/);
    await restorer.dispose();
    await restorer.dispose();
    await expect(restorer.restore(grey)).rejects.toThrow(/disposed/);
  });

  it('a model that recommends no sampling restores with a few steps by default, not all T', async () => {
    await selectBackend('wasm');
    const net = new UNet({ inChannels: 1, outChannels: 1, nf: 4, depth: 1, prediction: 'residual' });
    const restorer = await loadRestorer(saveModel(net, new MeanRevertingSDE({ T: 40, maxSigma: from255(10) })));
    net.dispose();
    expect(restorer.sampling).toBeUndefined();
    const grey: FloatImage = { data: Float32Array.from(new Rng(2).uniform([16 * 16])), height: 16, width: 16, channels: 1 };
    const totals: number[] = [];
    const out = await restorer.restore(grey, { seed: 1, onProgress: (_, total) => totals.push(total) });
    expect(DEFAULT_RESTORE_STEPS).toBeLessThan(40);
    expect([out.sampler, out.steps, totals.at(-1)]).toEqual(['posterior', DEFAULT_RESTORE_STEPS, DEFAULT_RESTORE_STEPS]);
    const all: number[] = [];
    expect((await restorer.restore(grey, { seed: 1, steps: 40, onProgress: (_, total) => all.push(total) })).steps).toBe(40);
    expect(all.at(-1)).toBe(40);
    await restorer.dispose();
  });

  it('a super-resolution model (task.scale) upscales its input first; an inpainting model (task.inpaint) needs a mask and keeps every known pixel', async () => {
    await selectBackend('wasm');
    const net = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 1, prediction: 'residual' });
    const sde = new MeanRevertingSDE({ T: 10, maxSigma: from255(10) });
    const sampling = { sampler: 'posterior', steps: 1, eta: 0 } as const;
    const sr = await loadRestorer(saveModel(net, sde, { sampling, task: { name: 'sr4', scale: 4 } }));
    const inp = await loadRestorer(saveModel(net, sde, { sampling, task: { name: 'inpaint', inpaint: { fill: 0 } } }));
    const plain = await loadRestorer(saveModel(net, sde, { sampling }));
    expect(() => saveModel(net, sde, { task: { name: 'x', scale: 1 } })).toThrow(/task.scale must be an integer in 2..16/);
    net.dispose();
    const rgb = (h: number, w: number, seed: number): FloatImage => ({ data: Float32Array.from(new Rng(seed).uniform([h * w * 3])), height: h, width: w, channels: 3 });
    expect(sr.task).toEqual({ name: 'sr4', scale: 4 });
    const big = await sr.restore(rgb(12, 10, 1));
    expect([big.image.height, big.image.width, big.image.channels]).toEqual([48, 40, 3]);
    await expect(sr.restore(rgb(6, 20, 1))).rejects.toThrow(/input is 20x6; this x4 super-resolution model needs at least 8x8 pixels/);

    const photo = rgb(16, 12, 2);
    const mask: FloatImage = { data: Float32Array.from({ length: 16 * 12 }, (_, i) => (i % 12 >= 4 && i % 12 < 8 ? 1 : 0)), height: 16, width: 12, channels: 1 };
    await expect(inp.restore(photo)).rejects.toThrow(/needs a mask \(white = missing\) of the image's size, 12x16/);
    await expect(inp.restore(photo, { mask: { ...mask, width: 11, data: mask.data.subarray(0, 16 * 11) } })).rejects.toThrow(/the mask is 11x16 but the image is 12x16/);
    await expect(plain.restore(photo, { mask })).rejects.toThrow(/takes no mask/);
    const out = await inp.restore(photo, { mask });
    let changed = 0;
    for (let p = 0; p < 16 * 12; p++) {
      for (let c = 0; c < 3; c++) {
        const i = p * 3 + c;
        if (mask.data[p] === 0) expect(out.image.data[i]).toBe(photo.data[i]);
        else if (out.image.data[i] !== photo.data[i]) changed++;
      }
    }
    expect(changed).toBeGreaterThan(0);
    for (const r of [sr, inp, plain]) await r.dispose();

    // fill 'smooth': the network's condition has the missing pixels filled from the known ones
    // (on a constant photo: that constant), not set to a value.
    const conds: Array<[number, number]> = [];
    const spy: EngineFactory = async () => ({
      name: 'spy',
      predict: (xt, c) => {
        const v = c!.dataSync();
        conds.push([Math.min(...v), Math.max(...v)]);
        return tf.zerosLike(xt);
      },
      dispose: async () => undefined,
    });
    const net2 = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 1, prediction: 'residual' });
    const smooth = await Restorer.create(net2, sde.config, { engine: spy, sampling, task: { name: 'inpaint', inpaint: { fill: 'smooth' } } });
    const flat: FloatImage = { data: new Float32Array(16 * 12 * 3).fill(0.7), height: 16, width: 12, channels: 3 };
    await smooth.restore(flat, { mask });
    expect(conds.length).toBeGreaterThan(0);
    for (const [lo, hi] of conds) {
      expect(lo).toBeCloseTo(0.7, 5);
      expect(hi).toBeCloseTo(0.7, 5);
    }
    await smooth.dispose();
    net2.dispose();
  });

  it('samples: N restorations in one batch, the first equal to a plain restore; image = their mean, uncertainty = their std (0 at known pixels)', async () => {
    await selectBackend('wasm');
    const net = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 1, prediction: 'residual' });
    const sde = new MeanRevertingSDE({ T: 10, maxSigma: from255(10) });
    const inp = await loadRestorer(saveModel(net, sde, { task: { name: 'inpaint', inpaint: { fill: 0 } } }));
    net.dispose();
    const H = 12, W = 10, N = 3;
    const photo: FloatImage = { data: Float32Array.from(new Rng(5).uniform([H * W * 3])), height: H, width: W, channels: 3 };
    const mask: FloatImage = { data: Float32Array.from({ length: H * W }, (_, i) => (i % W < 5 ? 1 : 0)), height: H, width: W, channels: 1 };
    const opts = { mask, sampler: 'sde', steps: 4, seed: 7 } as const;
    const one = await inp.restore(photo, opts);
    const many = await inp.restore(photo, { ...opts, samples: N });
    expect(one.samples).toBeUndefined();
    expect(many.samples).toHaveLength(N);
    expect(Array.from(many.samples![0].data)).toEqual(Array.from(one.image.data));
    let spread = 0;
    for (let i = 0; i < H * W * 3; i++) {
      const xs = many.samples!.map((s) => s.data[i]);
      const m = xs.reduce((a, b) => a + b) / N;
      const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (N - 1));
      expect(many.image.data[i]).toBeCloseTo(m, 6);
      expect(many.uncertainty!.data[i]).toBeCloseTo(sd, 6);
      if (mask.data[Math.floor(i / 3)] === 0) expect(many.uncertainty!.data[i]).toBe(0);
      else spread = Math.max(spread, sd);
    }
    expect(spread).toBeGreaterThan(1e-3); // the SDE's noise differs per sample
    await expect(inp.restore(photo, { mask, samples: 1 })).rejects.toThrow(/samples must be an integer >= 2, got 1/);
    await inp.dispose();
  });

  it('ensemble: the mean of the network over flipped / transposed copies mapped back (exact for an equivariant network, the mirror average for a position-dependent one), from the options or the model file; bad sizes refused', async () => {
    await selectBackend('wasm');
    // A network that answers with each pixel's column index: not equivariant.
    const columns: TileModel<tf.Tensor> = (xt) => tf.tidy(() => tf.mul(tf.onesLike(xt), tf.reshape(tf.range(0, xt.shape[2] as number), [1, 1, -1, 1])));
    // A pixel-wise one (equivariant): its copies agree, so the ensemble is the network itself.
    const pixelwise: TileModel<tf.Tensor> = (xt, c, _t, extra) => tf.tidy(() => tf.sub(tf.add(tf.mul(xt, 2), c as tf.Tensor), extra as tf.Tensor));
    const H = 5, W = 8;
    const rnd = (seed: number, ch: number) => tf.tensor4d(Array.from(new Rng(seed).uniform([H * W * ch])), [1, H, W, ch]);
    const [xt, cond, extra] = [rnd(1, 3), rnd(2, 3), rnd(3, 1)];
    const before = tf.memory().numTensors;
    const mean = async (m: TileModel<tf.Tensor>, n: EnsembleSize) => {
      const y = await selfEnsemble(m, n)(xt, cond, 5, extra);
      const v = Array.from(y.dataSync());
      expect(y.shape).toEqual([1, H, W, 3]);
      y.dispose();
      return v;
    };
    const cols = columns(xt, cond, 5, extra) as tf.Tensor;
    expect(await mean(columns, 1)).toEqual(Array.from(cols.dataSync()));
    cols.dispose();
    for (const v of await mean(columns, 2)) expect(v).toBeCloseTo((W - 1) / 2, 6); // j and W-1-j
    for (const v of await mean(columns, 4)) expect(v).toBeCloseTo((W - 1) / 2, 6);
    for (const v of await mean(columns, 8)) expect(v).toBeCloseTo((W - 1 + H - 1) / 4, 6); // transposed copies answer rows
    const direct = pixelwise(xt, cond, 5, extra) as tf.Tensor;
    const want = Array.from(direct.dataSync());
    direct.dispose();
    for (const n of [2, 4, 8] as const) (await mean(pixelwise, n)).forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    expect(tf.memory().numTensors).toBe(before); // nothing leaked, the inputs kept
    expect(() => selfEnsemble(columns, 3 as never)).toThrow(/ensemble must be one of 1, 2, 4, 8, got 3/);
    tf.dispose([xt, cond, extra]);

    // Through the Restorer: the option, or the model file's recommendation; reported in the result.
    const net = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 1, prediction: 'residual' });
    const sde = new MeanRevertingSDE({ T: 10, maxSigma: from255(10) });
    const photo: FloatImage = { data: Float32Array.from(new Rng(4).uniform([12 * 10 * 3])), height: 12, width: 10, channels: 3 };
    const plain = await loadRestorer(saveModel(net, sde, { sampling: { sampler: 'posterior', steps: 1, eta: 0 } }));
    const rec = await loadRestorer(saveModel(net, sde, { sampling: { sampler: 'posterior', steps: 1, eta: 0, ensemble: 8 } }));
    expect(() => saveModel(net, sde, { sampling: { sampler: 'posterior', steps: 1, ensemble: 3 as never } })).toThrow(/saveModel: sampling: ensemble must be one of 1, 2, 4, 8, got 3/);
    net.dispose();
    expect(rec.sampling).toEqual({ sampler: 'posterior', steps: 1, eta: 0, ensemble: 8 });
    const one = await plain.restore(photo);
    const eight = await plain.restore(photo, { ensemble: 8 });
    const fromFile = await rec.restore(photo);
    expect([one.ensemble, eight.ensemble, fromFile.ensemble]).toEqual([1, 8, 8]);
    expect(Array.from(fromFile.image.data)).toEqual(Array.from(eight.image.data));
    expect(Array.from(eight.image.data)).not.toEqual(Array.from(one.image.data)); // a random U-Net is not equivariant
    expect((await rec.restore(photo, { ensemble: 1 })).image.data).toEqual(one.image.data);
    await expect(plain.restore(photo, { ensemble: 6 as never })).rejects.toThrow(/^Restorer.restore: ensemble must be one of 1, 2, 4, 8, got 6$/);
    await plain.dispose();
    await rec.dispose();
  });

  it('a DenoisingSDE model starts at the noise level (given, or estimated and clamped) and refuses levels above maxSigma', async () => {
    await selectBackend('wasm');
    const sde = new DenoisingSDE({ T: 20, maxSigma: from255(50) });
    const net = new UNet({ inChannels: 1, outChannels: 1, nf: 4, depth: 1, conditional: false, prediction: 'residual' });
    const restorer = await loadRestorer(saveModel(net, sde));
    net.dispose();
    const img: FloatImage = { data: new Float32Array(24 * 24).fill(0.5), height: 24, width: 24, channels: 1 };
    const noisy = gaussianNoise(img, { sigma: 20 }, new Rng(2));
    const given = await restorer.restore(noisy, { noiseLevel: from255(20), steps: 3 });
    expect(given.noise).toEqual({ sigma: from255(20), estimated: false, start: sde.optimalTimestep(from255(20)) });
    const blind = await restorer.restore(noisy, { steps: 3 });
    expect(blind.noise?.estimated).toBe(true);
    expect(blind.noise!.sigma * 255).toBeGreaterThan(12);
    expect(blind.noise!.sigma * 255).toBeLessThan(28);
    const clean = await restorer.restore(img);
    expect(clean.noise?.start).toBe(0);
    expect(Array.from(clean.image.data)).toEqual(Array.from(img.data));
    await expect(restorer.restore(noisy, { noiseLevel: from255(60) })).rejects.toThrow(/exceeds the model's maxSigma/);
    await expect(restorer.restore(noisy, { noiseLevel: -1 })).rejects.toThrow(/noiseLevel must be a finite sigma >= 0/);
    await restorer.dispose();
    expect(Restorer).toBeDefined();
  });

  it('onTile: each finished tile once per pass, covering the result; the result is bit-identical with it; a one-step restore\'s last pass is the result', async () => {
    await selectBackend('cpu');
    const check = (tiles: RestoredTile[], H: number, W: number, C: number, passes: number): void => {
      const count = tiles[0].count;
      expect(tiles).toHaveLength(passes * count);
      for (let pass = 1; pass <= passes; pass++) {
        const these = tiles.filter((t) => t.pass === pass);
        expect(these.map((t) => t.index)).toEqual(Array.from({ length: count }, (_, i) => i));
        const covered = new Uint8Array(H * W);
        for (const t of these) {
          expect(t.image.channels).toBe(C);
          expect(t.image.data.length).toBe(t.image.height * t.image.width * C);
          expect(t.image.data.every((v) => v >= 0 && v <= 1)).toBe(true);
          for (let y = 0; y < t.image.height; y++) for (let x = 0; x < t.image.width; x++) covered[(t.y + y) * W + t.x + x]++;
        }
        expect(covered.every((n) => n === 1)).toBe(true);
      }
    };
    // An IR-SDE model, 3 posterior steps, a grey photo through an RGB network: tiles come back grey.
    const net = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 1, prediction: 'residual' });
    const mr = await loadRestorer(saveModel(net, new MeanRevertingSDE({ T: 10, maxSigma: from255(10) }), { sampling: { sampler: 'posterior', steps: 3 } }));
    net.dispose();
    const grey: FloatImage = { data: Float32Array.from(new Rng(4).uniform([40 * 36])), height: 40, width: 36, channels: 1 };
    const tiles: RestoredTile[] = [];
    const before = tf.memory().numTensors;
    const withTiles = await mr.restore(grey, { seed: 5, tile: 16, onTile: (t) => tiles.push(t) });
    expect(tf.memory().numTensors).toBe(before);
    const without = await mr.restore(grey, { seed: 5, tile: 16 });
    expect(withTiles.image.data).toEqual(without.image.data);
    check(tiles, 40, 36, 1, 3);
    expect(tiles[0].count).toBe(9); // 40x36 in 16-pixel tiles overlapping by 4: 3 x 3
    await expect(mr.restore(grey, { tile: 16, onTile: () => { throw new Error('from onTile'); } })).rejects.toThrow(/^from onTile$/);
    await mr.dispose();

    // A DenoisingSDE model sampled as the shipped one (posterior, 1 step, eta 0): the one pass's tiles are the result.
    const dnNet = new UNet({ inChannels: 3, outChannels: 3, nf: 4, depth: 1, conditional: false, prediction: 'residual' });
    const dn = await loadRestorer(saveModel(dnNet, new DenoisingSDE({ T: 100, maxSigma: from255(50) }), { sampling: { sampler: 'posterior', steps: 1, eta: 0 } }));
    dnNet.dispose();
    const rgb: FloatImage = { data: Float32Array.from(new Rng(6).uniform([30 * 44 * 3])), height: 30, width: 44, channels: 3 };
    const last: RestoredTile[] = [];
    const out = await dn.restore(rgb, { noiseLevel: from255(25), tile: 16, onTile: (t) => last.push(t) });
    check(last, 30, 44, 3, 1);
    let maxDiff = 0;
    for (const t of last) {
      for (let y = 0; y < t.image.height; y++) for (let x = 0; x < t.image.width; x++) for (let c = 0; c < 3; c++) {
        maxDiff = Math.max(maxDiff, Math.abs(t.image.data[(y * t.image.width + x) * 3 + c] - out.image.data[((t.y + y) * 44 + t.x + x) * 3 + c]));
      }
    }
    expect(maxDiff).toBeLessThan(1e-5);
    await dn.dispose();
  });

  it('tiles a network with full attention at its default tile (256 for an unconditional depth-3 U-Net), others whole up to 512', async () => {
    await selectBackend('cpu');
    const img: FloatImage = { data: new Float32Array(300 * 300).fill(0.5), height: 300, width: 300, channels: 1 };
    const shapesSeen = async (conditional: boolean): Promise<string[]> => {
      const net = new UNet({ inChannels: 1, outChannels: 1, nf: 4, depth: 3, conditional, prediction: 'residual' });
      const shapes: string[] = [];
      const engine: EngineFactory = async () => ({
        name: 'spy',
        // Only the tiling is under test: the spy predicts zeros of each tile's shape.
        predict: (xt) => {
          shapes.push(xt.shape.join('x'));
          return tf.zerosLike(xt);
        },
        dispose: async () => undefined,
      });
      const sde = conditional ? new MeanRevertingSDE({ T: 10, maxSigma: from255(10) }).config : ({ kind: 'denoising', ...new DenoisingSDE({ T: 10, maxSigma: from255(50) }).config } as const);
      const restorer = await Restorer.create(net, sde, { engine });
      await restorer.restore(gaussianNoise(img, { sigma: 20 }, new Rng(1)), { sampler: 'posterior', steps: 1, ...(conditional ? {} : { noiseLevel: from255(20) }) });
      await restorer.dispose();
      net.dispose();
      return shapes;
    };
    expect(fullAttentionScale({ inChannels: 1, outChannels: 1, nf: 4, depth: 3, conditional: false })).toBe(4);
    expect(defaultTile({ inChannels: 1, outChannels: 1, nf: 4, depth: 3, conditional: false })).toBe(256);
    expect(defaultTile({ inChannels: 1, outChannels: 1, nf: 4, depth: 4, conditional: false })).toBe(512);
    expect(defaultTile({ inChannels: 1, outChannels: 1, nf: 4, depth: 3 })).toBe(512);
    expect(await shapesSeen(false)).toEqual(Array(4).fill('1x256x256x1'));
    expect(await shapesSeen(true)).toEqual(['1x300x300x1']);
  });
});
