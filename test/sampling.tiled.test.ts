import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { HostTensor, MeanRevertingSDE, Rng, gaussianNoiseModel, hostBackend, restore, tfjsBackend, tiledNoiseModel, tileStarts, type NoiseModel } from '../src/advanced.js';
import { useCpu } from './helpers/backends.js';

beforeAll(useCpu);

const cfg = { T: 20, maxSigma: 0.1, schedule: 'cosine', eps: 0.01 } as const;

/**
 * A local, translation-equivariant "network" on tfjs: the exact pixel-wise Gaussian-data predictor
 * plus a 5x5 box blur of (x_t - mu) (reflect-padded, as the U-Net pads), like a small conv net.
 */
function convModel(sde: MeanRevertingSDE<any>, record?: { maxElems: number }): NoiseModel<tf.Tensor> {
  const pixel = gaussianNoiseModel(new MeanRevertingSDE(sde.config), { mean: 0.5, std: 0.2 });
  return (xt, mu, t) =>
    tf.tidy(() => {
      if (record) record.maxElems = Math.max(record.maxElems, xt.size);
      const C = xt.shape[3]!;
      const k = tf.fill([5, 5, C, 1], 1 / 25);
      const padded = tf.mirrorPad(tf.sub(xt, mu) as tf.Tensor4D, [[0, 0], [2, 2], [2, 2], [0, 0]], 'reflect');
      const d = tf.depthwiseConv2d(padded, k as tf.Tensor4D, 1, 'valid');
      return tf.add(pixel(xt, mu, t) as tf.Tensor, tf.mul(d, 0.1 / (sde.sigmaBar(t) as number)));
    });
}

function image(H: number, W: number, seed: number): HostTensor {
  const rng = new Rng(seed);
  const d = new Float32Array(H * W * 3);
  const n = rng.normal([1, H * W * 3]);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) {
    const i = (y * W + x) * 3 + c;
    d[i] = 0.5 + 0.3 * Math.sin(x / 9 + c) * Math.cos(y / 13) + 0.05 * n[i];
  }
  return new HostTensor(d, [1, H, W, 3]);
}

describe('tiled restoration', () => {
  it('tile starts cover the axis with the requested overlap', () => {
    expect(tileStarts(100, 128, 32)).toEqual([0]);
    for (const [size, tile, ov] of [[300, 64, 16], [257, 64, 8], [1000, 256, 64]]) {
      const s = tileStarts(size, tile, ov);
      expect(s[0]).toBe(0);
      expect(s[s.length - 1] + tile).toBe(size);
      for (let i = 1; i < s.length; i++) expect(s[i - 1] + tile - s[i]).toBeGreaterThanOrEqual(ov);
    }
  });

  it('a pixel-wise model gives the untiled result exactly (no seams), with any tile size', async () => {
    const sde = new MeanRevertingSDE<HostTensor>(cfg, 'float32');
    const lq = image(70, 90, 1);
    const model = gaussianNoiseModel(sde, { mean: 0.5, std: 0.2 });
    const untiled = await restore({ sde, model, lq, sampler: 'sde', seed: 3 });
    const hostModelOnTf: NoiseModel<tf.Tensor> = (xt, mu, t) => {
      const h = model(new HostTensor(xt.dataSync() as Float32Array, xt.shape), new HostTensor(mu.dataSync() as Float32Array, mu.shape), t) as HostTensor;
      return tf.tensor(h.data, h.shape.slice());
    };
    const tiled = await restore({ sde, model: tiledNoiseModel(hostModelOnTf, tfjsBackend, { tile: 32, overlap: 8 }), lq, sampler: 'sde', seed: 3 });
    let maxDiff = 0;
    for (let i = 0; i < tiled.size; i++) maxDiff = Math.max(maxDiff, Math.abs(tiled.data[i] - untiled.data[i]));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('one tile reproduces the untiled run bit for bit', async () => {
    const sde = new MeanRevertingSDE<HostTensor>(cfg, 'float32');
    const lq = image(40, 48, 2);
    const base = convModel(sde);
    const onHost: NoiseModel<HostTensor> = async (xt, mu, t) => {
      const a = tf.tensor(xt.data, xt.shape.slice());
      const b = tf.tensor(mu.data, mu.shape.slice());
      const e = await base(a, b, t);
      const out = new HostTensor(e.dataSync() as Float32Array, e.shape);
      tf.dispose([a, b, e]);
      return out;
    };
    const untiled = await restore({ sde, model: onHost, lq, sampler: 'posterior', steps: 5, seed: 4 });
    const tiled = await restore({ sde, model: tiledNoiseModel(base, tfjsBackend, { tile: 64 }), lq, sampler: 'posterior', steps: 5, seed: 4 });
    expect(Array.from(tiled.data)).toEqual(Array.from(untiled.data));
  });

  it('a large image: the model never sees more than one tile, output is seamless, nothing leaks', async () => {
    const sde = new MeanRevertingSDE<HostTensor>(cfg, 'float32');
    const H = 256;
    const W = 384;
    const lq = image(H, W, 5);
    const rec = { maxElems: 0 };
    const tensorsBefore = tf.memory().numTensors;
    const tiled = await restore({ sde, model: tiledNoiseModel(convModel(sde, rec), tfjsBackend, { tile: 96, overlap: 24 }), lq, sampler: 'posterior', steps: 4, seed: 6 });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(rec.maxElems).toBe(96 * 96 * 3);
    // Seams: compare against a single-tile run; the blended tiles differ from it only within the
    // model's 2-pixel receptive radius of tile borders, and smoothly.
    const full = await restore({ sde, model: tiledNoiseModel(convModel(sde), tfjsBackend, { tile: 1024 }), lq, sampler: 'posterior', steps: 4, seed: 6 });
    let maxDiff = 0;
    for (let i = 0; i < full.size; i++) maxDiff = Math.max(maxDiff, Math.abs(full.data[i] - tiled.data[i]));
    expect(maxDiff).toBeLessThan(0.05);
    // No seam: the mean jump between neighbouring columns at tile borders is like anywhere else.
    const starts = new Set(tileStarts(W, 96, 24).slice(1));
    let atBorder = 0;
    let nb = 0;
    let elsewhere = 0;
    let ne = 0;
    for (let y = 0; y < H; y++) for (let x = 1; x < W; x++) {
      const jump = Math.abs(tiled.data[(y * W + x) * 3] - tiled.data[(y * W + x - 1) * 3]);
      if (starts.has(x) || starts.has(x - 96 + 1)) { atBorder += jump; nb++; } else { elsewhere += jump; ne++; }
    }
    expect(atBorder / nb).toBeLessThan(1.2 * (elsewhere / ne));
  });

  it('onTile: once per tile per pass, in rows; the regions partition the image, hold exactly the returned noise there; the result is bit-identical', async () => {
    const sde = new MeanRevertingSDE<HostTensor>(cfg, 'float32');
    const H = 70;
    const W = 90;
    const lq = image(H, W, 7);
    type Seen = { index: number; count: number; y: number; x: number; height: number; width: number; t: number; eps: HostTensor; xt: HostTensor; mu: HostTensor | null };
    const seen: Seen[] = [];
    const calls: { t: number; eps: HostTensor }[] = [];
    const tiled = tiledNoiseModel(convModel(sde), tfjsBackend, { tile: 32, overlap: 8, onTile: (d) => void seen.push(d) });
    // Spy on what the tiled model returns, to compare with what onTile saw.
    const spy: NoiseModel<HostTensor> = async (xt, mu, t) => {
      const eps = await tiled(xt, mu, t);
      calls.push({ t, eps });
      return new HostTensor(Float32Array.from(eps.data), eps.shape);
    };
    const tensorsBefore = tf.memory().numTensors;
    const withTiles = await restore({ sde, model: spy, lq, sampler: 'posterior', steps: 3, seed: 2 });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const without = await restore({ sde, model: tiledNoiseModel(convModel(sde), tfjsBackend, { tile: 32, overlap: 8 }), lq, sampler: 'posterior', steps: 3, seed: 2 });
    expect(Array.from(withTiles.data)).toEqual(Array.from(without.data));
    const count = tileStarts(H, 32, 8).length * tileStarts(W, 32, 8).length;
    expect(calls).toHaveLength(3);
    expect(seen).toHaveLength(3 * count);
    for (let pass = 0; pass < 3; pass++) {
      const tiles = seen.slice(pass * count, (pass + 1) * count);
      expect(tiles.map((d) => d.index)).toEqual(Array.from({ length: count }, (_, i) => i));
      const covered = new Uint8Array(H * W);
      for (const d of tiles) {
        expect([d.count, d.t]).toEqual([count, calls[pass].t]);
        expect(d.eps.shape).toEqual([1, d.height, d.width, 3]);
        expect(d.mu!.shape).toEqual([1, d.height, d.width, 3]);
        for (let y = 0; y < d.height; y++) {
          for (let x = 0; x < d.width; x++) {
            covered[(d.y + y) * W + d.x + x]++;
            for (let c = 0; c < 3; c++) {
              const at = ((d.y + y) * W + d.x + x) * 3 + c;
              const i = (y * d.width + x) * 3 + c;
              expect(d.eps.data[i]).toBe(calls[pass].eps.data[at]);
              expect(d.mu!.data[i]).toBe(lq.data[at]);
            }
          }
        }
      }
      expect(covered.every((n) => n === 1)).toBe(true);
    }
  });

  it('onTile with one tile: the whole image, once per call', async () => {
    const sde = new MeanRevertingSDE<HostTensor>(cfg, 'float32');
    const lq = image(20, 24, 8);
    const seen: { index: number; count: number; height: number; width: number }[] = [];
    await restore({ sde, model: tiledNoiseModel(convModel(sde), tfjsBackend, { tile: 64, onTile: ({ index, count, height, width }) => void seen.push({ index, count, height, width }) }), lq, sampler: 'posterior', steps: 2, seed: 1 });
    expect(seen).toEqual([{ index: 0, count: 1, height: 20, width: 24 }, { index: 0, count: 1, height: 20, width: 24 }]);
  });

  it('refuses bad tile options and non-NHWC input', async () => {
    const m = convModel(new MeanRevertingSDE(cfg));
    expect(() => tiledNoiseModel(m, tfjsBackend, { tile: 4 })).toThrow(/tile must be an integer >= 8/);
    expect(() => tiledNoiseModel(m, tfjsBackend, { tile: 32, overlap: 32 })).toThrow(/overlap must be an integer in 0..31/);
    const tm = tiledNoiseModel(m, tfjsBackend, { tile: 32 });
    const x = hostBackend.fromArray(new Float32Array(12), [1, 12]);
    await expect(async () => tm(x, x, 1)).rejects.toThrow(/expects NHWC/);
  });
});
