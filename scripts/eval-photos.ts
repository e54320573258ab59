/**
 * What the evaluation scripts (eval-denoise.ts, eval-degradation.ts) share: which photos, how they
 * are cropped, and the per-photo seed of their synthetic degradation.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cropImage, type FloatImage } from '../src/advanced.js';

/** The held-out photos written by scripts/fetch-photos.sh (training/photos.json's test split). */
export const TEST_PHOTOS = 'data/photos/test';

/** The photo files: a folder (every PNG / JPEG in it, by name) or a comma-separated list of files and folders. */
export function photoFiles(spec: string): string[] {
  if (existsSync(spec) && statSync(spec).isDirectory()) {
    const files = readdirSync(spec).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort().map((f) => join(spec, f));
    if (files.length === 0) throw new Error(`--photos: no .png/.jpg images in '${spec}'`);
    return files;
  }
  if (spec === TEST_PHOTOS) throw new Error(`no held-out photos in ${TEST_PHOTOS}: run 'bash scripts/fetch-photos.sh' first, or pass --photos`);
  const parts = spec.split(',');
  return parts.length > 1 ? parts.flatMap((p) => photoFiles(p)) : parts;
}

/** FNV-1a of a string: the seed of a photo's degradation (so it does not depend on the other photos). */
export function seedOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The centre `size` x `size` crop of an image (smaller sides kept whole; 0: the whole image). */
export function centreCrop(img: FloatImage, size: number): FloatImage {
  if (size <= 0) return img;
  const h = Math.min(size, img.height);
  const w = Math.min(size, img.width);
  return cropImage(img, (img.height - h) >> 1, (img.width - w) >> 1, h, w);
}

