// smoothFill (push-pull, and harmonic): known pixels unchanged, fills inside the known values'
// range, exact on constant images, close to linear on a ramp (the harmonic fill nearly exact, and
// nearly satisfying Laplace's equation), and the inpaint degradation / restorer use it.
import { describe, expect, it } from 'vitest';
import { smoothFill } from '../src/data/fill.js';
import { createDegradation } from '../src/data/degradation.js';
import { Rng } from '../src/backend/rng.js';
import type { FloatImage } from '../src/image/image.js';

const image = (H: number, W: number, C: 1 | 3, f: (y: number, x: number, c: number) => number): FloatImage => {
  const data = new Float32Array(H * W * C);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) data[(y * W + x) * C + c] = f(y, x, c);
  return { data, height: H, width: W, channels: C };
};
const box = (H: number, W: number, y0: number, y1: number, x0: number, x1: number) => Uint8Array.from({ length: H * W }, (_, p) => (Math.floor(p / W) >= y0 && Math.floor(p / W) < y1 && p % W >= x0 && p % W < x1 ? 1 : 0));

describe('smoothFill', () => {
  it('keeps known pixels, fills a constant image with its constant and stays within the known range', () => {
    const H = 37, W = 29;
    const missing = box(H, W, 5, 30, 3, 20);
    const constant = smoothFill(image(H, W, 3, (_, __, c) => 0.2 + 0.3 * c), missing);
    for (let p = 0; p < H * W; p++) for (let c = 0; c < 3; c++) expect(constant.data[p * 3 + c]).toBeCloseTo(0.2 + 0.3 * c, 6);
    const noisy = image(H, W, 1, () => 0);
    const rng = new Rng(3);
    noisy.data.set(rng.uniform([H * W]));
    const out = smoothFill(noisy, missing);
    let lo = Infinity, hi = -Infinity;
    for (let p = 0; p < H * W; p++) if (!missing[p]) { lo = Math.min(lo, noisy.data[p]); hi = Math.max(hi, noisy.data[p]); }
    for (let p = 0; p < H * W; p++) {
      if (missing[p]) {
        expect(out.data[p]).toBeGreaterThanOrEqual(lo - 1e-6);
        expect(out.data[p]).toBeLessThanOrEqual(hi + 1e-6);
      } else expect(out.data[p]).toBe(noisy.data[p]);
    }
  });

  it('follows a horizontal ramp across a hole (error well under the ramp step over the hole), and a fully missing image is mid-grey', () => {
    const H = 32, W = 64;
    const ramp = image(H, W, 1, (_, x) => x / (W - 1));
    const missing = box(H, W, 8, 24, 20, 44);
    const out = smoothFill(ramp, missing);
    let worst = 0;
    for (let p = 0; p < H * W; p++) if (missing[p]) worst = Math.max(worst, Math.abs(out.data[p] - ramp.data[p]));
    expect(worst).toBeLessThan(0.1); // the hole spans 0.38 of the ramp
    const none = smoothFill(ramp, new Uint8Array(H * W).fill(1));
    expect(Array.from(new Set(none.data))).toEqual([0.5]);
    expect(() => smoothFill(ramp, new Uint8Array(5))).toThrow(/the mask has 5 pixels but the image is 32x64/);
  });

  it("the inpaint degradation with fill 'smooth' fills its mask from the other pixels; a bad fill is refused", () => {
    const clean = image(48, 48, 3, (y, x, c) => (y + x + c) / 100);
    const smooth = createDegradation({ kind: 'inpaint', shape: 'boxes', fraction: [0.2, 0.3], fill: 'smooth' })(clean, new Rng(1));
    const zero = createDegradation({ kind: 'inpaint', shape: 'boxes', fraction: [0.2, 0.3] })(clean, new Rng(1));
    let holes = 0;
    for (let i = 0; i < clean.data.length; i++) {
      if (zero.data[i] === 0 && clean.data[i] !== 0) {
        holes++;
        expect(Math.abs(smooth.data[i] - clean.data[i])).toBeLessThan(0.15);
      } else expect(smooth.data[i]).toBe(clean.data[i]);
    }
    expect(holes).toBeGreaterThan(0.2 * clean.data.length * 0.9);
    expect(() => createDegradation({ kind: 'inpaint', fill: 'blur' as never })).toThrow(/inpaint fill must be a number, 'smooth' or 'harmonic'/);
    const harmonic = createDegradation({ kind: 'inpaint', shape: 'boxes', fraction: [0.2, 0.3], fill: 'harmonic' })(clean, new Rng(1));
    for (let i = 0; i < clean.data.length; i++) {
      if (zero.data[i] === 0 && clean.data[i] !== 0) expect(Math.abs(harmonic.data[i] - clean.data[i])).toBeLessThan(0.02); // a ramp: continued
      else expect(harmonic.data[i]).toBe(clean.data[i]);
    }
  });

  it('harmonic: keeps known pixels and constants, stays within the known range, continues a ramp 10x closer than push-pull, and nearly solves Laplace\'s equation in the hole', () => {
    const H = 40, W = 56;
    const missing = box(H, W, 6, 34, 10, 40);
    const constant = smoothFill(image(H, W, 3, (_, __, c) => 0.1 + 0.4 * c), missing, { harmonic: true });
    for (let p = 0; p < H * W; p++) for (let c = 0; c < 3; c++) expect(constant.data[p * 3 + c]).toBeCloseTo(0.1 + 0.4 * c, 6);
    const ramp = image(H, W, 1, (y, x) => 0.2 + (0.6 * x) / (W - 1) - (0.1 * y) / (H - 1));
    const worst = (out: FloatImage) => {
      let w = 0;
      for (let p = 0; p < H * W; p++) if (missing[p]) w = Math.max(w, Math.abs(out.data[p] - ramp.data[p]));
      return w;
    };
    const pp = worst(smoothFill(ramp, missing));
    const hf = worst(smoothFill(ramp, missing, { harmonic: true }));
    expect(hf).toBeLessThan(0.005);
    expect(hf * 10).toBeLessThan(pp);
    // A random image: the fill is in the known range and each missing pixel is close to its neighbours' mean.
    const noisy = image(H, W, 1, () => 0);
    noisy.data.set(new Rng(9).uniform([H * W]));
    const out = smoothFill(noisy, missing, { harmonic: true });
    const push = smoothFill(noisy, missing);
    let lo = Infinity, hi = -Infinity;
    for (let p = 0; p < H * W; p++) if (!missing[p]) { lo = Math.min(lo, noisy.data[p]); hi = Math.max(hi, noisy.data[p]); }
    const residual = (im: FloatImage) => {
      let r = 0, n = 0;
      for (let y = 1; y < H - 1; y++) {
        for (let x = 1; x < W - 1; x++) {
          const p = y * W + x;
          if (!missing[p]) continue;
          r += Math.abs(im.data[p] - (im.data[p - 1] + im.data[p + 1] + im.data[p - W] + im.data[p + W]) / 4);
          n++;
        }
      }
      return r / n;
    };
    for (let p = 0; p < H * W; p++) {
      if (missing[p]) {
        expect(out.data[p]).toBeGreaterThanOrEqual(lo - 1e-6);
        expect(out.data[p]).toBeLessThanOrEqual(hi + 1e-6);
      } else expect(out.data[p]).toBe(noisy.data[p]);
    }
    expect(residual(out)).toBeLessThan(1e-3);
    expect(residual(out) * 10).toBeLessThan(residual(push));
    expect(Array.from(smoothFill(noisy, missing, { harmonic: true }).data)).toEqual(Array.from(out.data)); // deterministic
  });
});
