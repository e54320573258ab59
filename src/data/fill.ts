/**
 * Smooth filling of missing pixels from the known ones (push-pull): an image pyramid in which each
 * coarser pixel is the mean of the known pixels under it (known if any is), down to a level with
 * nothing missing; then, from the coarsest level up, every missing pixel takes the bilinear
 * interpolation of the (now complete) level above. The fill is smooth, continuous with the known
 * pixels' colours, and costs O(pixels). An inpainting model trained on such fills only has to add
 * what a smooth interpolation lacks (edges, texture) instead of inventing colours from black.
 */
import type { FloatImage } from '../image/image.js';

/** The value of every pixel when no pixel is known (mid-grey). */
const NOTHING_KNOWN = 0.5;

/**
 * `img` with its `missing` pixels (non-zero, one entry per pixel) filled smoothly from the
 * others; known pixels are copied unchanged. A new image; `img` and `missing` are not changed.
 * @throws RangeError when the mask's size is not the image's.
 */
export function smoothFill(img: FloatImage, missing: Uint8Array): FloatImage {
  const { height: H, width: W, channels: C } = img;
  if (missing.length !== H * W) throw new RangeError(`smoothFill: the mask has ${missing.length} pixels but the image is ${H}x${W}`);
  const data = Float32Array.from(img.data);
  const known = new Uint8Array(H * W);
  for (let p = 0; p < known.length; p++) known[p] = missing[p] === 0 ? 1 : 0;
  fillLevel(data, known, H, W, C);
  return { data, height: H, width: W, channels: C };
}

/** Fills the unknown pixels of one pyramid level in place (recursing to the coarser levels first). */
function fillLevel(data: Float32Array, known: Uint8Array, H: number, W: number, C: number): void {
  if (known.every((k) => k === 1)) return;
  if (H === 1 && W === 1) {
    data.fill(NOTHING_KNOWN);
    return;
  }
  // Push: each coarse pixel is the mean of the known pixels of its (up to) 2x2 block.
  const h = Math.ceil(H / 2);
  const w = Math.ceil(W / 2);
  const coarse = new Float32Array(h * w * C);
  const coarseKnown = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let n = 0;
      const q = y * w + x;
      for (let dy = 0; dy < 2; dy++) {
        for (let dx = 0; dx < 2; dx++) {
          const fy = 2 * y + dy;
          const fx = 2 * x + dx;
          if (fy >= H || fx >= W || !known[fy * W + fx]) continue;
          n++;
          for (let c = 0; c < C; c++) coarse[q * C + c] += data[(fy * W + fx) * C + c];
        }
      }
      if (n > 0) {
        coarseKnown[q] = 1;
        for (let c = 0; c < C; c++) coarse[q * C + c] /= n;
      }
    }
  }
  fillLevel(coarse, coarseKnown, h, w, C);
  // Pull: a missing pixel takes the coarse level bilinearly interpolated at its centre.
  for (let y = 0; y < H; y++) {
    const cy = Math.min(Math.max((y + 0.5) / 2 - 0.5, 0), h - 1);
    const y0 = Math.floor(cy);
    const y1 = Math.min(y0 + 1, h - 1);
    const ty = cy - y0;
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      if (known[p]) continue;
      const cx = Math.min(Math.max((x + 0.5) / 2 - 0.5, 0), w - 1);
      const x0 = Math.floor(cx);
      const x1 = Math.min(x0 + 1, w - 1);
      const tx = cx - x0;
      for (let c = 0; c < C; c++) {
        const a = coarse[(y0 * w + x0) * C + c] * (1 - tx) + coarse[(y0 * w + x1) * C + c] * tx;
        const b = coarse[(y1 * w + x0) * C + c] * (1 - tx) + coarse[(y1 * w + x1) * C + c] * tx;
        data[p * C + c] = a * (1 - ty) + b * ty;
      }
    }
  }
}
