import type { Rng } from '../backend/rng.js';
import { cropImage, type FloatImage } from '../image/image.js';
import { Uniforms } from './random.js';

/** A degraded / clean image pair of equal size. */
export interface ImagePair {
  /** The degraded (low-quality) image. */
  readonly lq: FloatImage;
  /** The clean (ground-truth) image. */
  readonly gt: FloatImage;
}

/**
 * One of the 8 symmetries of the square: `k % 4` quarter turns counter-clockwise, then, for
 * `k >= 4`, a left-right flip. `k = 0` returns the image itself; otherwise a new image (height
 * and width swap for odd turns).
 */
export function dihedral(img: FloatImage, k: number): FloatImage {
  if (!Number.isInteger(k) || k < 0 || k > 7) throw new RangeError(`dihedral: k must be an integer 0..7, got ${k}`);
  if (k === 0) return img;
  const turns = k % 4;
  const flip = k >= 4;
  const { height: H, width: W, channels: C } = img;
  const oh = turns % 2 === 0 ? H : W;
  const ow = turns % 2 === 0 ? W : H;
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < oh; i++) {
    for (let j0 = 0; j0 < ow; j0++) {
      const j = flip ? ow - 1 - j0 : j0;
      // Source pixel of output (i, j) after `turns` counter-clockwise quarter turns.
      let y: number;
      let x: number;
      if (turns === 0) [y, x] = [i, j];
      else if (turns === 1) [y, x] = [j, W - 1 - i];
      else if (turns === 2) [y, x] = [H - 1 - i, W - 1 - j];
      else [y, x] = [H - 1 - j, i];
      const s = (y * W + x) * C;
      const o = (i * ow + j0) * C;
      for (let c = 0; c < C; c++) out[o + c] = img.data[s + c];
    }
  }
  return { data: out, height: oh, width: ow, channels: C };
}

/** Options of {@link augmentPair}. */
export interface AugmentOptions {
  /** Random left-right flips (default true). */
  readonly flip?: boolean;
  /** Random quarter-turn rotations (default true; non-square pairs swap height and width). */
  readonly rotate?: boolean;
}

/**
 * Applies the same random flip / rotation to both images of a pair (one `rng` draw). With
 * both options on, each of the 8 symmetries of the square is equally likely — the set the
 * reference's `augment(hflip, rot)` (h-flip, v-flip, transpose) covers.
 */
export function augmentPair(pair: ImagePair, rng: Rng, options: AugmentOptions = {}): ImagePair {
  const flip = options.flip ?? true;
  const rotate = options.rotate ?? true;
  const u = new Uniforms(rng, 2);
  const turns = rotate ? u.int(0, 3) : 0;
  const flipped = flip && u.next() < 0.5;
  const k = turns + (flipped ? 4 : 0);
  return { lq: dihedral(pair.lq, k), gt: dihedral(pair.gt, k) };
}

/**
 * The same random `size x size` window of both images of a pair (one `rng` draw).
 * @throws RangeError when the images differ in size or are smaller than the crop.
 */
export function randomCropPair(pair: ImagePair, size: number, rng: Rng): ImagePair {
  const { lq, gt } = pair;
  if (lq.height !== gt.height || lq.width !== gt.width) {
    throw new RangeError(`randomCropPair: LQ is ${lq.height}x${lq.width} but GT is ${gt.height}x${gt.width}`);
  }
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`randomCropPair: size must be a positive integer, got ${size}`);
  if (size > gt.height || size > gt.width) throw new RangeError(`randomCropPair: a ${size}x${size} crop does not fit in a ${gt.height}x${gt.width} image`);
  const u = new Uniforms(rng, 2);
  const top = u.int(0, gt.height - size);
  const left = u.int(0, gt.width - size);
  return { lq: cropImage(lq, top, left, size, size), gt: cropImage(gt, top, left, size, size) };
}

/** The central `size x size` window of an image (the top-left of the two middles for odd leftovers). */
export function centerCrop(img: FloatImage, size: number): FloatImage {
  if (size > img.height || size > img.width) throw new RangeError(`centerCrop: a ${size}x${size} crop does not fit in a ${img.height}x${img.width} image`);
  return cropImage(img, Math.floor((img.height - size) / 2), Math.floor((img.width - size) / 2), size, size);
}
