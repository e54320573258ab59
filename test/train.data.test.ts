import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/backend/rng.js';
import { folderSource, readImage, writeImage } from '../src/io/index.js';
import {
  applyMask,
  augmentPair,
  bicubicDownUp,
  createDegradation,
  degradeBatch,
  dihedral,
  gaussianBlur,
  gaussianNoise,
  ImageDataset,
  imresize,
  inpaintingMask,
  joinSources,
  memorySource,
  motionBlur,
  rainStreaks,
  randomCropPair,
} from '../src/data/index.js';
import { convertChannels, cropImage, imagesToTensor, createImage, type FloatImage } from '../src/image/index.js';
import { useCpu } from './helpers/backends.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const TMP = mkdtempSync(join(tmpdir(), 'irsde-data-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

let rgb: FloatImage; // 64x80 RGB photo crop
let grey: FloatImage; // 64x80 grey photo crop
beforeAll(async () => {
  await useCpu();
  rgb = await readImage(join(FIXTURES, 'metrics/astronaut_gt.png'));
  grey = await readImage(join(FIXTURES, 'metrics/camera_gt.png'));
});

const constant = (h: number, w: number, c: 1 | 3, v: number) => createImage(h, w, c, new Float32Array(h * w * c).fill(v));
function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}
function std(a: ArrayLike<number>): number {
  const m = mean(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - m) ** 2;
  return Math.sqrt(s / a.length);
}
const diff = (a: FloatImage, b: FloatImage) => a.data.map((v, i) => v - b.data[i]);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('degradations', () => {
  it('Gaussian noise: sigma on the 0-255 scale; std and mean within sampling bounds', () => {
    const x = constant(64, 64, 3, 0.5);
    const n = x.data.length;
    for (const sigma of [5, 25, 50]) {
      const d = diff(gaussianNoise(x, { sigma }, new Rng(sigma)), x);
      const s = sigma / 255;
      // The sample std has relative sd ~ 1/sqrt(2n); the mean has sd s/sqrt(n). 5 sd bounds.
      expect(Math.abs(std(d) / s - 1)).toBeLessThan(5 / Math.sqrt(2 * n));
      expect(Math.abs(mean(d))).toBeLessThan((5 * s) / Math.sqrt(n));
    }
    const ranged = std(diff(gaussianNoise(x, { sigma: [10, 20] }, new Rng(3)), x)) * 255;
    expect(ranged).toBeGreaterThan(9.5);
    expect(ranged).toBeLessThan(20.5);
    const clipped = gaussianNoise(rgb, { sigma: 50, clip: true }, new Rng(1));
    expect(clipped.data.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('is deterministic under a seed and differs across seeds', () => {
    const specs = [
      { kind: 'noise', sigma: 25 },
      { kind: 'rain' },
      { kind: 'gaussian-blur', sigma: [0.5, 3] },
      { kind: 'motion-blur' },
      { kind: 'inpaint', fraction: 0.3 },
      { kind: 'chain', steps: [{ kind: 'motion-blur' }, { kind: 'noise', sigma: [5, 15] }] },
      { kind: 'chain', steps: [{ kind: 'one-of', options: [{ kind: 'gaussian-blur', sigma: [0.8, 3] }, { kind: 'motion-blur' }] }, { kind: 'noise', sigma: 2, clip: true }, { kind: 'quantize' }] },
    ] as const;
    for (const spec of specs) {
      const deg = createDegradation(spec);
      const a = deg(rgb, new Rng(42));
      const b = deg(rgb, new Rng(42));
      const c = deg(rgb, new Rng(43));
      expect(Array.from(a.data), spec.kind).toEqual(Array.from(b.data));
      expect(maxAbsDiff(a.data, c.data), spec.kind).toBeGreaterThan(0);
      expect([a.height, a.width, a.channels]).toEqual([rgb.height, rgb.width, 3]);
    }
    // The input is never modified.
    const copy = Float32Array.from(grey.data);
    createDegradation({ kind: 'rain' })(grey, new Rng(1));
    expect(maxAbsDiff(copy, grey.data)).toBe(0);
  });

  it("'one-of' picks each option about equally often and runs exactly the picked one; 'quantize' stores 8-bit values", () => {
    const small = createImage(8, 8, 3, Float32Array.from({ length: 8 * 8 * 3 }, (_, i) => ((i * 37) % 101) / 100));
    const marks = [0.1, 0.5, 0.9];
    const deg = createDegradation({ kind: 'one-of', options: marks.map((m) => ({ kind: 'chain', steps: [{ kind: 'inpaint', fraction: 1, fill: m }] }) as const) });
    const counts = [0, 0, 0];
    for (let s = 0; s < 300; s++) {
      const out = deg(small, new Rng(s));
      const i = marks.findIndex((m) => Math.abs(out.data[0] - m) < 1e-6);
      expect(i).toBeGreaterThanOrEqual(0);
      counts[i]++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(70); // 100 expected of each
    const q = createDegradation({ kind: 'quantize' })(createImage(1, 4, 1, Float32Array.from([-0.2, 0.5, 0.1234, 1.7])), new Rng(0));
    expect(Array.from(q.data)).toEqual(Array.from(Float32Array.from([0, 128 / 255, 31 / 255, 1])));
    expect(() => createDegradation({ kind: 'one-of', options: [] })).toThrow(/non-empty options/);
    expect(() => createDegradation({ kind: 'quantize', levels: 0 })).toThrow(/levels/);
  });

  it('Gaussian and motion blur keep constants constant and the mean (up to borders), and smooth', () => {
    const k = constant(32, 40, 3, 0.3);
    expect(maxAbsDiff(gaussianBlur(k, { sigma: 2 }).data, k.data)).toBeLessThan(1e-6);
    expect(maxAbsDiff(motionBlur(k, {}, new Rng(2)).data, k.data)).toBeLessThan(1e-6);
    for (const out of [gaussianBlur(grey, { sigma: 1.5 }), motionBlur(grey, { length: 9, angle: 30 })]) {
      expect(Math.abs(mean(out.data) - mean(grey.data))).toBeLessThan(3e-3);
      expect(std(out.data)).toBeLessThan(std(grey.data));
    }
  });

  it('motion blur with a given kernel convolves (kernel flipped), reflect padding', () => {
    // A kernel with its single tap right of centre moves the image right by one pixel.
    const kernel = { size: 3, data: Float64Array.from([0, 0, 0, 0, 0, 1, 0, 0, 0]) };
    const out = motionBlur(grey, { kernel });
    const W = grey.width;
    for (const [y, x] of [[5, 7], [40, 70], [63, 1]]) expect(out.data[y * W + x]).toBe(grey.data[y * W + x - 1]);
    expect(out.data[3 * W]).toBe(grey.data[3 * W]); // x = -1 reflects to x = 0
    const identity = { size: 1, data: Float64Array.from([1]) };
    expect(maxAbsDiff(motionBlur(rgb, { kernel: identity }).data, rgb.data)).toBe(0);
  });

  it('bicubic x4 down/up: constant stays constant, sizes, and matches Pillow inside the borders', () => {
    const k = constant(32, 48, 3, 0.7);
    const du = bicubicDownUp(k);
    expect([du.height, du.width]).toEqual([32, 48]);
    expect(maxAbsDiff(du.data, k.data)).toBeLessThan(1e-6);
    expect(() => bicubicDownUp(constant(30, 48, 1, 0))).toThrow(/multiple of the scale 4/);

    const ref = JSON.parse(readFileSync(join(FIXTURES, 'skimage_metrics.json'), 'utf8')).resize as { down: number[]; up: number[] };
    const src = cropImage(grey, 0, 0, 64, 64);
    const down = imresize(src, { scale: 0.25 });
    expect([down.height, down.width]).toEqual([16, 16]);
    // Pillow truncates the kernel at the border where MATLAB mirrors: compare the interior only
    // (2 low-res pixels = the x4-widened kernel's reach; 8 high-res pixels going up).
    const interior = (img: FloatImage, want: number[], b: number) => {
      let m = 0;
      for (let y = b; y < img.height - b; y++) for (let x = b; x < img.width - b; x++) m = Math.max(m, Math.abs(img.data[y * img.width + x] - want[y * img.width + x]));
      return m;
    };
    expect(interior(down, ref.down, 2)).toBeLessThan(1e-5);
    const up = imresize(createImage(16, 16, 1, Float32Array.from(ref.down)), { height: 64, width: 64 });
    expect(interior(up, ref.up, 8)).toBeLessThan(1e-5);
  });

  it('rain streaks only brighten, stay in [0, 1], touch a density-dependent share of pixels', () => {
    const light = rainStreaks(grey, { density: 0.002 }, new Rng(5));
    const heavy = rainStreaks(grey, { density: 0.01 }, new Rng(5));
    const changed = (o: FloatImage) => o.data.filter((v, i) => v !== grey.data[i]).length / o.data.length;
    for (const o of [light, heavy]) {
      expect(o.data.every((v, i) => v >= grey.data[i] - 1e-7 && v <= 1)).toBe(true);
    }
    expect(changed(light)).toBeGreaterThan(0.01);
    expect(changed(heavy)).toBeGreaterThan(changed(light));
    const colour = rainStreaks(rgb, {}, new Rng(5));
    expect(colour.channels).toBe(3);
  });

  it('inpainting masks cover exactly the requested fraction, for every shape', () => {
    for (const shape of ['strokes', 'boxes', 'pixels'] as const) {
      for (const fraction of [0, 0.1, 0.35, 0.8]) {
        const m = inpaintingMask(48, 64, { fraction, shape }, new Rng(9));
        const covered = m.reduce((s, v) => s + v, 0);
        expect(covered, `${shape} ${fraction}`).toBe(Math.round(fraction * 48 * 64));
      }
    }
    const m = inpaintingMask(rgb.height, rgb.width, { fraction: 0.25 }, new Rng(1));
    const out = applyMask(rgb, m, 0);
    for (let p = 0; p < m.length; p++) {
      const want = m[p] ? [0, 0, 0] : [rgb.data[3 * p], rgb.data[3 * p + 1], rgb.data[3 * p + 2]];
      expect([out.data[3 * p], out.data[3 * p + 1], out.data[3 * p + 2]]).toEqual(want);
    }
  });

  it('degradeBatch: item b does not depend on the batch size; tensors are not leaked', () => {
    const deg = createDegradation({ kind: 'noise', sigma: 10 });
    const before = tf.memory().numTensors;
    const two = imagesToTensor([rgb, rgb]);
    const one = imagesToTensor([rgb]);
    const d2 = degradeBatch(two, deg, new Rng(4));
    const d1 = degradeBatch(one, deg, new Rng(4));
    expect(d2.shape).toEqual([2, 64, 80, 3]);
    const a = d2.dataSync();
    expect(maxAbsDiff(a.subarray(0, rgb.data.length), d1.dataSync())).toBe(0);
    expect(maxAbsDiff(a.subarray(0, rgb.data.length), a.subarray(rgb.data.length))).toBeGreaterThan(0);
    tf.dispose([two, one, d2, d1]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('specs are checked when built', () => {
    expect(() => createDegradation({ kind: 'blur' } as never)).toThrow(/unknown kind "blur"; expected one of noise, rain/);
    expect(() => createDegradation({ kind: 'noise', sigma: -1 })).toThrow(/sigma/);
    expect(() => createDegradation({ kind: 'inpaint', fraction: 1.5 })).toThrow(/fraction/);
    expect(() => createDegradation({ kind: 'gaussian-blur', sigma: [3, 1] })).toThrow(/min <= max/);
  });
});

describe('augmentations', () => {
  const tiny = createImage(2, 3, 1, Float32Array.from([1, 2, 3, 4, 5, 6]));

  it('dihedral: quarter turns counter-clockwise (numpy rot90), flips, 4 turns = identity', () => {
    expect(Array.from(dihedral(tiny, 1).data)).toEqual([3, 6, 2, 5, 1, 4]); // np.rot90
    expect([dihedral(tiny, 1).height, dihedral(tiny, 1).width]).toEqual([3, 2]);
    expect(Array.from(dihedral(tiny, 2).data)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(Array.from(dihedral(tiny, 3).data)).toEqual([4, 1, 5, 2, 6, 3]);
    expect(Array.from(dihedral(tiny, 4).data)).toEqual([3, 2, 1, 6, 5, 4]); // np.fliplr
    let x = rgb;
    for (let i = 0; i < 4; i++) x = dihedral(x, 1);
    expect(Array.from(x.data)).toEqual(Array.from(rgb.data));
    const seen = new Set<string>();
    for (let s = 0; s < 64; s++) seen.add(Array.from(augmentPair({ lq: tiny, gt: tiny }, new Rng(s)).gt.data).join());
    expect(seen.size).toBe(8);
  });

  it('crops and transforms LQ and GT together', () => {
    const lq = createImage(rgb.height, rgb.width, 3, rgb.data.map((v) => 1 - v));
    for (let s = 0; s < 5; s++) {
      const rng = new Rng(s);
      const c = randomCropPair({ lq, gt: rgb }, 24, rng);
      const a = augmentPair(c, rng);
      expect(a.gt.height).toBe(24);
      expect(maxAbsDiff(a.lq.data, a.gt.data.map((v) => 1 - v))).toBeLessThan(1e-6);
    }
    expect(() => randomCropPair({ lq: grey, gt: rgb }, 100, new Rng(0))).toThrow(/does not fit/);
    expect(() => randomCropPair({ lq: cropImage(rgb, 0, 0, 32, 32), gt: rgb }, 8, new Rng(0))).toThrow(/LQ is 32x32 but GT is 64x80/);
  });
});

describe('data sets', () => {
  it('joinSources: the names of each source in turn, each image from its own source; a repeated name is refused', async () => {
    const grey = convertChannels(rgb, 1);
    const joined = joinSources([memorySource({ a: rgb, b: rgb }), memorySource({ c: grey })]);
    expect(joined.names).toEqual(['a', 'b', 'c']);
    expect((await joined.load('c')).channels).toBe(1);
    expect((await joined.load('a')).channels).toBe(3);
    expect(() => joined.load('d')).toThrow(/no image named 'd'/);
    expect(() => joinSources([memorySource({ a: rgb }), memorySource({ a: grey })])).toThrow(/the name 'a' is in two sources/);
    expect(() => joinSources([])).toThrow(/no sources given/);
  });

  it('paired: name mismatches are reported on both sides', () => {
    const gt = memorySource({ a: rgb, b: rgb, c: rgb });
    const lq = memorySource({ a: rgb, b: rgb, d: rgb });
    expect(() => ImageDataset.paired({ lq, gt })).toThrow(/GT images without an LQ partner: 'c'; LQ images without a GT partner: 'd'/);
  });

  it('paired: size mismatches fail with the image named', async () => {
    const ds = ImageDataset.paired({ lq: memorySource({ a: cropImage(rgb, 0, 0, 32, 40) }), gt: memorySource({ a: rgb }), cropSize: 16 });
    await expect(ds.next(new Rng(0))).rejects.toThrow(/LQ 'a' is 32x40 but GT 'a' is 64x80/);
    await expect(ds.validate()).rejects.toThrow(/same size/);
    const small = ImageDataset.synthetic({ gt: memorySource({ s: cropImage(rgb, 0, 0, 20, 20) }), degradation: { kind: 'noise', sigma: 5 }, cropSize: 32 });
    await expect(small.validate()).rejects.toThrow(/'s' is 20x20, smaller than the 32x32 crop/);
  });

  it('paired batches: shapes, pairing kept through crops and flips, deterministic, no leaks', async () => {
    const gtImgs = { a: rgb, b: createImage(64, 80, 3, rgb.data.map((v) => v * 0.5)) };
    const lqImgs = { a: createImage(64, 80, 3, rgb.data.map((v) => 1 - v)), b: createImage(64, 80, 3, rgb.data.map((v) => 1 - v * 0.5)) };
    const ds = ImageDataset.paired({ lq: memorySource(lqImgs), gt: memorySource(gtImgs), cropSize: 32, batchSize: 3 });
    const before = tf.memory().numTensors;
    const b1 = await ds.next(new Rng(11));
    const b2 = await ds.next(new Rng(11));
    expect(b1.gt.shape).toEqual([3, 32, 32, 3]);
    expect(b1.lq.shape).toEqual([3, 32, 32, 3]);
    const g = b1.gt.dataSync();
    const l = b1.lq.dataSync();
    expect(maxAbsDiff(l, g.map((v) => 1 - v))).toBeLessThan(1e-6);
    expect(Array.from(b2.gt.dataSync())).toEqual(Array.from(g));
    const b3 = await ds.next(new Rng(12));
    expect(maxAbsDiff(b3.gt.dataSync(), g)).toBeGreaterThan(0);
    tf.dispose([b1.lq, b1.gt, b2.lq, b2.gt, b3.lq, b3.gt]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('synthetic from a folder of real photos: grey, noise of the given sigma, seeded generator', async () => {
    const dir = join(TMP, 'gt');
    await writeImage(join(dir, 'astronaut.png'), rgb);
    await writeImage(join(dir, 'camera.png'), grey);
    const ds = ImageDataset.synthetic({
      gt: await folderSource(dir),
      degradation: { kind: 'noise', sigma: 25 },
      channels: 1,
      cropSize: 48,
      batchSize: 4,
    });
    expect(ds.names).toEqual(['astronaut', 'camera']);
    await ds.validate();
    const runs: number[][] = [];
    for (let r = 0; r < 2; r++) {
      const seen: number[] = [];
      for await (const b of ds.batches(7, 2)) {
        expect(b.gt.shape).toEqual([4, 48, 48, 1]);
        const d = tf.tidy(() => tf.sub(b.lq, b.gt));
        const dd = d.dataSync();
        // 4 x 48 x 48 samples: the std of (lq - gt) is 25/255 within 5 sampling sd.
        expect(Math.abs((std(dd) * 255) / 25 - 1)).toBeLessThan(5 / Math.sqrt(2 * dd.length));
        seen.push(...Array.from(b.lq.dataSync().subarray(0, 8)));
        tf.dispose([d, b.lq, b.gt]);
      }
      runs.push(seen);
    }
    expect(runs[0]).toEqual(runs[1]);
    // Validation items: deterministic, centre-cropped, not augmented.
    const v1 = await ds.item(1, { seed: 3, cropSize: 32 });
    const v2 = await ds.item(1, { seed: 3, cropSize: 32 });
    expect(Array.from(v1.lq.data)).toEqual(Array.from(v2.lq.data));
    expect(Array.from(v1.gt.data)).toEqual(Array.from(cropImage(grey, 16, 24, 32, 32).data));
    const vb = await ds.itemBatch([0, 1], { cropSize: 32 });
    expect(vb.lq.shape).toEqual([2, 32, 32, 1]);
    tf.dispose([vb.lq, vb.gt]);
  });

  it('grey photos in an RGB set get grey noise (all channels equal); colour photos in a grey set are converted first', async () => {
    const grey = createImage(40, 40, 1, Float32Array.from({ length: 1600 }, (_, i) => 0.3 + 0.4 * Math.sin(i / 7)));
    const ds = ImageDataset.synthetic({ gt: memorySource({ g: grey }), degradation: { kind: 'noise', sigma: 25 }, channels: 3, cropSize: 32, batchSize: 2 });
    const b = await ds.next(new Rng(4));
    for (const [l, g] of tensorToImages(b.lq).map((img, k) => [img, tensorToImages(b.gt)[k]] as const)) {
      let spread = 0;
      for (let i = 0; i < l.data.length; i += 3) spread = Math.max(spread, Math.abs(l.data[i] - l.data[i + 1]), Math.abs(l.data[i] - l.data[i + 2]));
      expect(spread).toBe(0);
      expect(std(diff(l, g))).toBeGreaterThan(0.08);
    }
    const item = await ds.item(0, { seed: 1 });
    expect([item.lq.channels, item.gt.channels]).toEqual([3, 3]);
    // A colour photo in a grey set: noise of sigma 25 on the grey image (not averaged down).
    const greySet = ImageDataset.synthetic({ gt: memorySource({ c: rgb }), degradation: { kind: 'noise', sigma: 25 }, channels: 1 });
    const p = await greySet.item(0, { seed: 2 });
    expect(p.lq.channels).toBe(1);
    expect(std(diff(p.lq, p.gt))).toBeCloseTo(25 / 255, 2);
    tf.dispose([b.lq, b.gt]);
  });

  it('blind noise (sigma a range): one sigma per crop, uniform over [min, max], seeded; RGB noise on RGB, grey noise on grey', async () => {
    // Unclipped noise on a constant image: each crop's (lq - gt) std estimates its sigma (768
    // samples: relative sd 1/sqrt(1536) ~ 2.6%).
    const flat = constant(32, 32, 3, 0.5);
    const N = 256;
    const ds = ImageDataset.synthetic({ gt: memorySource({ flat }), degradation: { kind: 'noise', sigma: [0, 50] }, cropSize: 16, batchSize: N });
    const b = await ds.next(new Rng(21));
    const l = tensorToImages(b.lq);
    const g = tensorToImages(b.gt);
    const sigmas = l.map((img, k) => std(diff(img, g[k])) * 255).sort((x, y) => x - y);
    const tol = 5 / Math.sqrt(2 * 16 * 16 * 3);
    expect(sigmas[N - 1]).toBeLessThan(50 * (1 + tol));
    expect(sigmas[0]).toBeGreaterThanOrEqual(0);
    // Spread over the whole range: P(no draw below 5 in 256) = 0.9^256 ~ 2e-12.
    expect(sigmas[0]).toBeLessThan(5);
    expect(sigmas[N - 1]).toBeGreaterThan(45);
    // Mean 25 (sd of the mean 50 / sqrt(12 N) = 0.9; 5 sd) and a Kolmogorov-Smirnov distance to
    // U(0, 50) below its 0.1% critical value 1.95 / sqrt(N) plus the estimation error.
    expect(Math.abs(mean(sigmas) - 25)).toBeLessThan(4.5);
    const ks = Math.max(...sigmas.map((s, i) => Math.max(Math.abs((i + 1) / N - s / 50), Math.abs(i / N - s / 50))));
    expect(ks).toBeLessThan(1.95 / Math.sqrt(N) + tol);
    // RGB: independent noise per channel.
    expect(maxAbsDiff(l[N - 1].data.filter((_, i) => i % 3 === 0), l[N - 1].data.filter((_, i) => i % 3 === 1))).toBeGreaterThan(0.05);
    // Seeded: the same generator state gives the same crops, another seed other sigmas.
    const again = await ds.next(new Rng(21));
    expect(maxAbsDiff(again.lq.dataSync(), b.lq.dataSync())).toBe(0);
    const other = await ds.next(new Rng(22));
    const otherSigmas = tensorToImages(other.lq).map((img, k) => std(diff(img, g[k])) * 255);
    expect(otherSigmas.slice(0, 8)).not.toEqual(l.slice(0, 8).map((img, k) => std(diff(img, g[k])) * 255));
    // A grey photo in the RGB set: one grey noise field copied to the channels, sigma in range;
    // clipped noise stays in [0, 1].
    const greyFlat = constant(32, 32, 1, 0.5);
    const gs = ImageDataset.synthetic({ gt: memorySource({ greyFlat }), degradation: { kind: 'noise', sigma: [0, 50], clip: true }, cropSize: 16, batchSize: 16 });
    const gb = await gs.next(new Rng(5));
    for (const [k, img] of tensorToImages(gb.lq).entries()) {
      const r = img.data.filter((_, i) => i % 3 === 0);
      expect(maxAbsDiff(r, img.data.filter((_, i) => i % 3 === 2)), `crop ${k}`).toBe(0);
      expect(std(r) * 255).toBeLessThan(50 * (1 + 5 / Math.sqrt(2 * 256)));
      expect(img.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
    tf.dispose([b.lq, b.gt, again.lq, again.gt, other.lq, other.gt, gb.lq, gb.gt]);
  });

  it('greyFraction turns that share of colour training crops grey (grey noise), leaves batches unchanged at 0', async () => {
    const opts = { gt: memorySource({ a: rgb }), degradation: { kind: 'noise', sigma: 25 } as const, cropSize: 16, batchSize: 200 };
    const isGrey = (img: FloatImage) => {
      for (let i = 0; i < img.data.length; i += 3) if (img.data[i] !== img.data[i + 1] || img.data[i] !== img.data[i + 2]) return false;
      return true;
    };
    const half = ImageDataset.synthetic({ ...opts, greyFraction: 0.5 });
    const b = await half.next(new Rng(8));
    const lq = tensorToImages(b.lq);
    const gt = tensorToImages(b.gt);
    const grey = lq.map((img, k) => isGrey(img) && isGrey(gt[k]));
    // Binomial(200, 0.5): sd 7.1; 5 sd bounds. Colour crops keep colour noise.
    expect(Math.abs(grey.filter(Boolean).length - 100)).toBeLessThan(36);
    // The batch says which items are grey (what the trainer's DenoisingSDE noise follows).
    expect(b.grey).toEqual(grey);
    expect(lq.filter((img, k) => !grey[k]).every((img) => !isGrey(img))).toBe(true);
    // Grey crops: the luma of the clean crop, with sigma-25 noise.
    const k = grey.indexOf(true);
    expect(std(diff(lq[k], gt[k])) * 255).toBeGreaterThan(20);
    const all = await ImageDataset.synthetic({ ...opts, greyFraction: 1 }).next(new Rng(8));
    expect(tensorToImages(all.lq).every(isGrey)).toBe(true);
    expect(all.grey.every(Boolean)).toBe(true);
    // 0 draws nothing extra: the same batches as without the option.
    const a0 = await ImageDataset.synthetic({ ...opts, greyFraction: 0 }).next(new Rng(9));
    const a1 = await ImageDataset.synthetic(opts).next(new Rng(9));
    expect(maxAbsDiff(a0.lq.dataSync(), a1.lq.dataSync())).toBe(0);
    expect(a1.grey.some(Boolean)).toBe(false);
    // A grey photo in an RGB set is flagged grey, in training and validation batches alike.
    const greyPhoto = ImageDataset.synthetic({ ...opts, gt: memorySource({ g: convertChannels(rgb, 1) }), batchSize: 2 });
    const gb = await greyPhoto.next(new Rng(1));
    const vb = await greyPhoto.itemBatch([0], { cropSize: 16 });
    expect([...gb.grey, ...vb.grey]).toEqual([true, true, true]);
    expect(() => ImageDataset.synthetic({ ...opts, greyFraction: 1.5 })).toThrow(/greyFraction must be in \[0, 1\], got 1.5/);
    tf.dispose([b.lq, b.gt, all.lq, all.gt, a0.lq, a0.gt, a1.lq, a1.gt, gb.lq, gb.gt, vb.lq, vb.gt]);
  });

  it('synthetic bicubic SR data: x4 down/up of GT crops', async () => {
    const ds = ImageDataset.synthetic({ gt: memorySource({ a: rgb }), degradation: { kind: 'bicubic', scale: 4 }, cropSize: 32, batchSize: 2 });
    const b = await ds.next(new Rng(1));
    const g = tensorToImages(b.gt);
    const l = tensorToImages(b.lq);
    expect(maxAbsDiff(l[0].data, bicubicDownUp(g[0]).data)).toBeLessThan(1e-6);
    tf.dispose([b.lq, b.gt]);
  });
});

function tensorToImages(t: tf.Tensor): FloatImage[] {
  const [B, H, W, C] = t.shape as number[];
  const d = t.dataSync() as Float32Array;
  return Array.from({ length: B }, (_, i) => createImage(H, W, C as 1 | 3, d.slice(i * H * W * C, (i + 1) * H * W * C)));
}
