import type { FloatImage } from '../src/index.js';

/**
 * Lays out RGB images in rows (left to right, top to bottom) on a white canvas, `gap` pixels
 * apart; rows may differ in width, each row is as tall as its first image. Returns a new image.
 */
export function composeRows(rows: readonly FloatImage[][], gap: number): FloatImage {
  const W = Math.max(...rows.map((r) => r.reduce((a, im) => a + im.width, 0) + gap * (r.length - 1)));
  const H = rows.reduce((a, r) => a + r[0].height, 0) + gap * (rows.length - 1);
  const canvas: FloatImage = { data: new Float32Array(W * H * 3).fill(1), height: H, width: W, channels: 3 };
  let top = 0;
  for (const r of rows) {
    let left = 0;
    for (const im of r) {
      for (let y = 0; y < im.height; y++) canvas.data.set(im.data.subarray(y * im.width * 3, (y + 1) * im.width * 3), ((top + y) * W + left) * 3);
      left += im.width + gap;
    }
    top += r[0].height + gap;
  }
  return canvas;
}

/** An image enlarged `factor` times by nearest neighbour (each pixel a `factor` x `factor` block): a small input shown at a larger output's size. */
export function upscaleNearest(img: FloatImage, factor: number): FloatImage {
  if (!Number.isInteger(factor) || factor < 1) throw new RangeError(`upscaleNearest: factor must be an integer >= 1, got ${factor}`);
  const { height: H, width: W, channels: C } = img;
  const out: FloatImage = { data: new Float32Array(H * W * C * factor * factor), height: H * factor, width: W * factor, channels: C };
  for (let y = 0; y < out.height; y++) {
    for (let x = 0; x < out.width; x++) {
      const src = (Math.floor(y / factor) * W + Math.floor(x / factor)) * C;
      out.data.set(img.data.subarray(src, src + C), (y * out.width + x) * C);
    }
  }
  return out;
}
