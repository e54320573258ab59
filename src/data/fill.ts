/**
 * Smooth filling of missing pixels from the known ones (push-pull): an image pyramid in which each
 * coarser pixel is the mean of the known pixels under it (known if any is), down to a level with
 * nothing missing; then, from the coarsest level up, every missing pixel takes the bilinear
 * interpolation of the (now complete) level above. The fill is smooth, continuous with the known
 * pixels' colours, and costs O(pixels). An inpainting model trained on such fills only has to add
 * what a smooth interpolation lacks (edges, texture) instead of inventing colours from black.
 *
 * The harmonic fill goes further: at every level, after the pull, the missing pixels relax towards
 * the solution of Laplace's equation (each the mean of its four neighbours, the known pixels held
 * fixed) by successive over-relaxation; the coarse level's solution is the fine level's start (a
 * cascadic multigrid), so a fixed number of sweeps per level gets close to the harmonic
 * interpolation (the membrane through the known pixels: linear ramps continued exactly, no
 * block seams) at a few times the push-pull's cost.
 */
import type { FloatImage } from '../image/image.js';

/** The value of every pixel when no pixel is known (mid-grey). */
const NOTHING_KNOWN = 0.5;

/** Over-relaxation sweeps per pyramid level of the harmonic fill, and the over-relaxation factor. */
const HARMONIC_SWEEPS = 30;
const HARMONIC_OMEGA = 1.5;

/**
 * `img` with its `missing` pixels (non-zero, one entry per pixel) filled smoothly from the
 * others (push-pull; `harmonic`: relaxed towards the harmonic interpolation, see the file
 * comment); known pixels are copied unchanged. A new image; `img` and `missing` are not changed.
 * Deterministic (a fixed number of sweeps).
 * @throws RangeError when the mask's size is not the image's.
 */
export function smoothFill(img: FloatImage, missing: Uint8Array, options: { readonly harmonic?: boolean } = {}): FloatImage {
  const { height: H, width: W, channels: C } = img;
  if (missing.length !== H * W) throw new RangeError(`smoothFill: the mask has ${missing.length} pixels but the image is ${H}x${W}`);
  const data = Float32Array.from(img.data);
  const known = new Uint8Array(H * W);
  for (let p = 0; p < known.length; p++) known[p] = missing[p] === 0 ? 1 : 0;
  fillLevel(data, known, H, W, C, options.harmonic === true ? HARMONIC_SWEEPS : 0);
  return { data, height: H, width: W, channels: C };
}

/**
 * `sweeps` Gauss-Seidel sweeps of Laplace's equation over the unknown pixels, over-relaxed: each
 * moves towards the mean of its neighbours inside the image (known pixels stay as they are).
 */
function relax(data: Float32Array, known: Uint8Array, H: number, W: number, C: number, sweeps: number): void {
  for (let s = 0; s < sweeps; s++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const p = y * W + x;
        if (known[p]) continue;
        const n = (y > 0 ? 1 : 0) + (y < H - 1 ? 1 : 0) + (x > 0 ? 1 : 0) + (x < W - 1 ? 1 : 0);
        if (n === 0) continue;
        for (let c = 0; c < C; c++) {
          let sum = 0;
          if (y > 0) sum += data[(p - W) * C + c];
          if (y < H - 1) sum += data[(p + W) * C + c];
          if (x > 0) sum += data[(p - 1) * C + c];
          if (x < W - 1) sum += data[(p + 1) * C + c];
          const i = p * C + c;
          data[i] += HARMONIC_OMEGA * (sum / n - data[i]);
        }
      }
    }
  }
}

/** Fills the unknown pixels of one pyramid level in place (recursing to the coarser levels first), then relaxes them `sweeps` times. */
function fillLevel(data: Float32Array, known: Uint8Array, H: number, W: number, C: number, sweeps: number): void {
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
  fillLevel(coarse, coarseKnown, h, w, C, sweeps);
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
  relax(data, known, H, W, C, sweeps);
}
