import type { Rng } from '../backend/rng.js';
import type { FloatImage } from '../image/image.js';
import { checkRange, Uniforms, type Range } from './random.js';
import { smoothFill } from './fill.js';

/** Shapes of random inpainting masks. */
export type MaskShape = 'strokes' | 'boxes' | 'pixels';

/** Options of {@link inpaintingMask}. */
export interface MaskOptions {
  /** Fraction of pixels to mask, in [0, 1] (default 0.25); `[min, max]` draws one per mask. */
  readonly fraction?: Range;
  /** 'strokes' (free-form brush strokes, default), 'boxes' (rectangles) or 'pixels' (scattered). */
  readonly shape?: MaskShape;
  /** Brush diameter range for strokes (default [5, 15] pixels). */
  readonly strokeWidth?: Range;
}

/**
 * A random inpainting mask, `height * width` bytes, 1 = missing. Exactly
 * `round(fraction * height * width)` pixels are masked, whatever the shape: shapes are added
 * until the count is reached and the last one is cut short pixel by pixel.
 */
export function inpaintingMask(height: number, width: number, options: MaskOptions, rng: Rng): Uint8Array {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new RangeError(`inpaintingMask: height and width must be positive integers, got ${height}x${width}`);
  }
  const fractionR = options.fraction ?? 0.25;
  const shape = options.shape ?? 'strokes';
  const strokeWidth = options.strokeWidth ?? [5, 15];
  checkRange(fractionR, 'inpaintingMask: fraction', 0, 1);
  checkRange(strokeWidth, 'inpaintingMask: strokeWidth', 1);
  if (shape !== 'strokes' && shape !== 'boxes' && shape !== 'pixels') {
    throw new RangeError(`inpaintingMask: shape must be 'strokes', 'boxes' or 'pixels', got ${String(shape)}`);
  }
  const u = new Uniforms(rng, 64);
  const n = height * width;
  const target = Math.round(u.pick(fractionR) * n);
  const mask = new Uint8Array(n);
  let count = 0;
  const set = (y: number, x: number): boolean => {
    if (y < 0 || y >= height || x < 0 || x >= width) return false;
    const p = y * width + x;
    if (mask[p] === 0) {
      mask[p] = 1;
      count++;
    }
    return count >= target;
  };
  if (target === 0) return mask;
  if (shape === 'pixels' || target === n) {
    // Partial Fisher-Yates: exactly `target` distinct pixels.
    const order = Int32Array.from({ length: n }, (_, i) => i);
    const r = rng.uniform([n]);
    for (let i = 0; i < target; i++) {
      const j = i + Math.floor(r[i] * (n - i));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
      mask[order[i]] = 1;
    }
    return mask;
  }
  // Shapes land at random places; a cap on their number keeps very high fractions from looping
  // long, and the rest is filled in scan order (it only triggers when the image is nearly full).
  for (let shapes = 0; shapes < 100000 && count < target; shapes++) {
    if (shape === 'boxes') {
      const bh = u.int(Math.max(1, Math.floor(height / 10)), Math.max(1, Math.floor(height / 2)));
      const bw = u.int(Math.max(1, Math.floor(width / 10)), Math.max(1, Math.floor(width / 2)));
      const top = u.int(0, height - bh);
      const left = u.int(0, width - bw);
      box: for (let y = top; y < top + bh; y++) for (let x = left; x < left + bw; x++) if (set(y, x)) break box;
    } else {
      // A brush stroke: a random walk of a few segments, stamping discs one pixel apart.
      const radius = u.pick(strokeWidth) / 2;
      const ir = Math.ceil(radius);
      let y = u.next() * height;
      let x = u.next() * width;
      const segments = u.int(1, 5);
      stroke: for (let s = 0; s < segments; s++) {
        const angle = u.next() * 2 * Math.PI;
        const len = u.next() * Math.max(height, width) * 0.4;
        for (let t = 0; t <= len; t++) {
          const cy = y + t * Math.sin(angle);
          const cx = x + t * Math.cos(angle);
          for (let dy = -ir; dy <= ir; dy++) {
            for (let dx = -ir; dx <= ir; dx++) {
              if (dy * dy + dx * dx > radius * radius) continue;
              if (set(Math.round(cy) + dy, Math.round(cx) + dx)) break stroke;
            }
          }
        }
        y = Math.min(height - 1, Math.max(0, y + len * Math.sin(angle)));
        x = Math.min(width - 1, Math.max(0, x + len * Math.cos(angle)));
      }
    }
  }
  for (let p = 0; p < n && count < target; p++) if (mask[p] === 0) set(Math.floor(p / width), p % width);
  return mask;
}

/**
 * What missing pixels become before an inpainting network sees them (in training and when
 * restoring): a value (0: black), `'smooth'` (filled from the known pixels by a push-pull pyramid)
 * or `'harmonic'` (the push-pull relaxed towards the harmonic interpolation: each missing pixel the
 * mean of its neighbours; smoother, no block seams, closer to the truth in large holes).
 */
export type InpaintFill = number | 'smooth' | 'harmonic';

/** True for a valid {@link InpaintFill}: a finite number, `'smooth'` or `'harmonic'`. */
export function isInpaintFill(fill: unknown): fill is InpaintFill {
  return fill === 'smooth' || fill === 'harmonic' || (typeof fill === 'number' && Number.isFinite(fill));
}

/**
 * Sets the masked pixels (mask 1) of every channel to `fill` (default 0), or fills them from the
 * unmasked ones (`'smooth'`, `'harmonic'`: see {@link InpaintFill}); returns a new image.
 */
export function applyMask(img: FloatImage, mask: Uint8Array, fill: InpaintFill = 0): FloatImage {
  if (mask.length !== img.height * img.width) {
    throw new RangeError(`applyMask: the mask has ${mask.length} pixels but the image is ${img.height}x${img.width}`);
  }
  if (fill === 'smooth' || fill === 'harmonic') return smoothFill(img, mask, { harmonic: fill === 'harmonic' });
  const out = Float32Array.from(img.data);
  const C = img.channels;
  for (let p = 0; p < mask.length; p++) if (mask[p] !== 0) for (let c = 0; c < C; c++) out[p * C + c] = fill;
  return { data: out, height: img.height, width: img.width, channels: img.channels };
}
