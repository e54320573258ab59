import type * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../backend/rng.js';
import { checkChannels, convertChannels, imagesToTensor, type FloatImage } from '../image/image.js';
import { augmentPair, centerCrop, randomCropPair, type ImagePair } from './augment.js';
import { gaussianBlur } from './blur.js';
import { createDegradation, type Degradation, type DegradationSpec } from './degradation.js';
import { checkRange, type Range } from './random.js';
import type { ImageSource } from './source.js';

/** A batch of crops: float32 tensors `[B, h, w, C]` in [0, 1], owned by the caller. */
export interface ImageBatch {
  /** Degraded crops. */
  readonly lq: tf.Tensor4D;
  /** Clean crops. */
  readonly gt: tf.Tensor4D;
  /**
   * Per item: true when it is a grey image (a grey photo, or a crop turned grey by
   * `greyFraction`) copied into the three channels of an RGB set. See `Batch.grey`.
   */
  readonly grey: readonly boolean[];
  /**
   * The inpainting masks `[B, h, w, 1]` (1 = missing) when the degradation removes pixels (kind
   * `inpaint`, also inside `one-of` / `chain`; an item it left whole has an all-zero mask): the
   * extra condition channel of a network with `extraCondChannels: 1` (see `Batch.extraCond`).
   * Absent when no item of the batch has a mask.
   */
  readonly extraCond?: tf.Tensor4D;
}

/** A data set item: the pair, and the inpainting mask (1 = missing, one byte per pixel) when the degradation removed pixels. */
export interface DatasetItem extends ImagePair {
  /** The degradation's mask of missing pixels (see `DegradedImage`), absent when it removes none. */
  readonly mask?: Uint8Array;
}

/** Options shared by paired and synthetic data sets. */
export interface DatasetOptions {
  /** Channels of the batches: 3 (RGB, default) or 1 (grey); images are converted on load. */
  readonly channels?: 1 | 3;
  /** Side of the square training crops; omit to use whole images (then all must share one size, or use batchSize 1). */
  readonly cropSize?: number;
  /** Items per batch of {@link ImageDataset.next} (default 1). */
  readonly batchSize?: number;
  /** Random left-right flips in training batches (default true). */
  readonly flip?: boolean;
  /** Random quarter turns in training batches (default true). */
  readonly rotate?: boolean;
  /** Keep decoded images in memory after first use (default true). */
  readonly cache?: boolean;
  /**
   * RGB sets: the fraction of training crops of colour photos turned grey (BT.601 luma) before
   * the degradation, so they get grey noise as grey photos do and teach the model grey images
   * (default 0; validation items are never converted). Uses one extra draw per crop only when > 0.
   */
  readonly greyFraction?: number;
  /**
   * Synthetic sets: defocus this share of training crops before the degradation, the blurred crop
   * being the clean target (see {@link DefocusOptions}; default none; validation items are never
   * defocused). Uses draws only when the probability is > 0.
   */
  readonly defocus?: DefocusOptions;
  /**
   * Synthetic sets: lower the contrast of this share of training crops before the degradation
   * (see {@link ContrastOptions}; default none; validation items are never changed). Applied after
   * `defocus`. Uses draws only when the probability is > 0.
   */
  readonly contrast?: ContrastOptions;
}

/**
 * Smooth content for a synthetic training set: with `probability`, a training crop is replaced by
 * a Gaussian-blurred (defocused) version of itself, which becomes the clean target (and is then
 * degraded like any crop), so a denoiser also sees smooth, out-of-focus content and learns that
 * it stays smooth.
 */
export interface DefocusOptions {
  /** The fraction of training crops defocused, in [0, 1]. */
  readonly probability: number;
  /** Blur std in pixels, fixed or `[min, max]` drawn per crop (default [1, 4]). */
  readonly sigma?: Range;
}

/**
 * Low-contrast content for a synthetic training set: with `probability`, a training crop `x`
 * becomes `offset + scale * x` (`scale` drawn from the range, `offset` uniform in
 * `[0, 1 - scale]`, so values stay in [0, 1]), the new clean target, then degraded like any crop,
 * so a denoiser also sees faint structure (a cell in saline, the moon) under full-strength noise.
 */
export interface ContrastOptions {
  /** The fraction of training crops changed, in [0, 1]. */
  readonly probability: number;
  /** Contrast factor, fixed or `[min, max]` drawn per crop, in (0, 1] (default [0.2, 1]). */
  readonly scale?: Range;
}

/** A paired data set: degraded and clean images matched by name. */
export interface PairedDatasetOptions extends DatasetOptions {
  /** Degraded images. */
  readonly lq: ImageSource;
  /** Clean images; same names (and sizes) as `lq`. */
  readonly gt: ImageSource;
}

/** A synthetic data set: clean images only, degraded on the fly. */
export interface SyntheticDatasetOptions extends DatasetOptions {
  /** Clean images. */
  readonly gt: ImageSource;
  /** The degradation to learn to undo: a function or a JSON spec. */
  readonly degradation: Degradation | DegradationSpec;
}

/** Options of {@link ImageDataset.item}. */
export interface ItemOptions {
  /** Seed of the degradation's randomness (synthetic sets; default 0). Item `i` gets its own stream. */
  readonly seed?: number;
  /** Central square crop of this side; default the whole image. */
  readonly cropSize?: number;
}

function listDiff(a: readonly string[], b: ReadonlySet<string>): string[] {
  return a.filter((n) => !b.has(n));
}

function preview(names: string[]): string {
  const shown = names.slice(0, 5).map((n) => `'${n}'`).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

/**
 * Training / validation crops from a paired or synthetic image collection. Implements the
 * trainer's batch-source contract: {@link ImageDataset.next} draws all its randomness (which
 * image, where to crop, flips, rotations, the degradation) from the `rng` it is given, so a
 * seed fixes every batch and a resumed run sees the same batches. Item `b` of a batch uses child
 * `b` of `rng.split(B)`. Images are drawn uniformly with replacement.
 */
export class ImageDataset {
  /** Image names, in the source's order (GT's order for paired sets). */
  readonly names: readonly string[];
  /** Channels of every image and batch. */
  readonly channels: 1 | 3;
  /** Crop side of training batches, or undefined for whole images. */
  readonly cropSize: number | undefined;
  /** Items per training batch. */
  readonly batchSize: number;
  readonly #lq: ImageSource | null;
  readonly #gt: ImageSource;
  readonly #degradation: Degradation | null;
  readonly #flip: boolean;
  readonly #rotate: boolean;
  readonly #cache: Map<string, Promise<FloatImage>> | null;
  readonly #greyFraction: number;
  readonly #defocus: { probability: number; sigma: Range } | null;
  readonly #contrast: { probability: number; scale: Range } | null;

  private constructor(options: DatasetOptions, gt: ImageSource, lq: ImageSource | null, degradation: Degradation | null) {
    const channels = options.channels ?? 3;
    checkChannels(channels, 'ImageDataset');
    const batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`ImageDataset: batchSize must be a positive integer, got ${batchSize}`);
    if (options.cropSize !== undefined && (!Number.isInteger(options.cropSize) || options.cropSize < 1)) {
      throw new RangeError(`ImageDataset: cropSize must be a positive integer, got ${options.cropSize}`);
    }
    if (gt.names.length === 0) throw new RangeError('ImageDataset: the GT source holds no images');
    this.names = [...gt.names];
    this.channels = channels;
    this.cropSize = options.cropSize;
    this.batchSize = batchSize;
    this.#gt = gt;
    this.#lq = lq;
    this.#degradation = degradation;
    this.#flip = options.flip ?? true;
    this.#rotate = options.rotate ?? true;
    this.#cache = options.cache === false ? null : new Map();
    const grey = options.greyFraction ?? 0;
    if (!(grey >= 0 && grey <= 1)) throw new RangeError(`ImageDataset: greyFraction must be in [0, 1], got ${grey}`);
    this.#greyFraction = grey;
    // A share of training crops changed before the degradation: synthetic sets only, null when never.
    const share = (name: string, probability: number, rangeName: string, range: Range, lo: number, hi: number): { probability: number; range: Range } | null => {
      if (!(probability >= 0 && probability <= 1)) throw new RangeError(`ImageDataset: ${name}.probability must be in [0, 1], got ${String(probability)}`);
      checkRange(range, `ImageDataset: ${name}.${rangeName}`, lo, hi);
      if (lq !== null && probability > 0) throw new RangeError(`ImageDataset: ${name} applies to synthetic sets (a paired set has fixed degraded images)`);
      return probability > 0 ? { probability, range } : null;
    };
    const defocus = options.defocus === undefined ? null : share('defocus', options.defocus.probability, 'sigma (pixels)', options.defocus.sigma ?? [1, 4], 1e-3, 50);
    this.#defocus = defocus && { probability: defocus.probability, sigma: defocus.range };
    const contrast = options.contrast === undefined ? null : share('contrast', options.contrast.probability, 'scale', options.contrast.scale ?? [0.2, 1], 1e-3, 1);
    this.#contrast = contrast && { probability: contrast.probability, scale: contrast.range };
  }

  /**
   * A paired data set. LQ and GT are matched by name.
   * @throws Error listing the names found on one side only.
   */
  static paired(options: PairedDatasetOptions): ImageDataset {
    const { lq, gt } = options;
    if (lq === undefined || gt === undefined) throw new TypeError('ImageDataset.paired: needs both lq and gt sources');
    const onlyGt = listDiff(gt.names, new Set(lq.names));
    const onlyLq = listDiff(lq.names, new Set(gt.names));
    if (onlyGt.length > 0 || onlyLq.length > 0) {
      const parts: string[] = [];
      if (onlyGt.length > 0) parts.push(`GT images without an LQ partner: ${preview(onlyGt)}`);
      if (onlyLq.length > 0) parts.push(`LQ images without a GT partner: ${preview(onlyLq)}`);
      throw new Error(`ImageDataset.paired: LQ and GT names do not match (matched by file name without extension). ${parts.join('; ')}`);
    }
    return new ImageDataset(options, gt, lq, null);
  }

  /** A synthetic data set: each clean crop is degraded with the item's own random stream. */
  static synthetic(options: SyntheticDatasetOptions): ImageDataset {
    const d = options.degradation;
    if (d === undefined) throw new TypeError('ImageDataset.synthetic: needs a degradation (a function or a spec)');
    return new ImageDataset(options, options.gt, null, typeof d === 'function' ? d : createDegradation(d));
  }

  /** The number of images. */
  get size(): number {
    return this.names.length;
  }

  #load(source: ImageSource, side: string, name: string): Promise<FloatImage> {
    const key = `${side}\u0000${name}`;
    const hit = this.#cache?.get(key);
    if (hit !== undefined) return hit;
    const p = Promise.resolve()
      .then(() => source.load(name))
      // Grey sources stay grey until after the degradation (see #finish); colour ones become grey now.
      .then((img) => (img.channels > this.channels ? convertChannels(img, this.channels) : img));
    if (this.#cache !== null) {
      this.#cache.set(key, p);
      p.catch(() => this.#cache?.delete(key));
    }
    return p;
  }

  /** The full-size pair of image `index` (synthetic sets: lq is the clean image, degraded later). */
  async #pair(index: number): Promise<ImagePair> {
    const name = this.names[index];
    const gt = await this.#load(this.#gt, 'gt', name);
    if (this.#lq === null) return { lq: gt, gt };
    const lq = await this.#load(this.#lq, 'lq', name);
    if (lq.height !== gt.height || lq.width !== gt.width) {
      const where = (s: ImageSource) => s.describe?.(name) ?? `'${name}'`;
      throw new RangeError(
        `ImageDataset: LQ ${where(this.#lq)} is ${lq.height}x${lq.width} but GT ${where(this.#gt)} is ${gt.height}x${gt.width}; paired images must have the same size`,
      );
    }
    return { lq, gt };
  }

  /**
   * Degrades at the source's own channel count, then converts: a grey photo in an RGB set gets
   * grey noise (the same in all three channels), as a grey photo given to an RGB model would have.
   */
  #degrade(pair: ImagePair, rng: Rng): DatasetItem {
    if (this.#degradation === null) return { lq: convertChannels(pair.lq, this.channels), gt: convertChannels(pair.gt, this.channels) };
    const { mask, ...lq } = this.#degradation(pair.gt, rng);
    return { lq: convertChannels(lq, this.channels), gt: convertChannels(pair.gt, this.channels), ...(mask !== undefined ? { mask } : {}) };
  }

  /** One training item: random image, crop, flip / rotation, then the degradation; and whether it is grey in an RGB set. */
  async #trainItem(rng: Rng): Promise<DatasetItem & { grey: boolean }> {
    const index = rng.integers(1, 0, this.names.length - 1)[0];
    let pair = await this.#pair(index);
    const size = this.cropSize;
    if (size !== undefined) {
      if (pair.gt.height < size || pair.gt.width < size) {
        throw new RangeError(`ImageDataset: image '${this.names[index]}' is ${pair.gt.height}x${pair.gt.width}, smaller than the ${size}x${size} crop`);
      }
      pair = randomCropPair(pair, size, rng);
    }
    pair = augmentPair(pair, rng, { flip: this.#flip, rotate: this.#rotate });
    if (this.#defocus !== null && rng.uniform([1])[0] < this.#defocus.probability) {
      // Synthetic sets only (checked): the blurred crop is the new clean target, degraded below.
      const smooth = gaussianBlur(pair.gt, { sigma: this.#defocus.sigma }, rng);
      pair = { lq: smooth, gt: smooth };
    }
    if (this.#contrast !== null && rng.uniform([1])[0] < this.#contrast.probability) {
      const faint = lowerContrast(pair.gt, this.#contrast.scale, rng);
      pair = { lq: faint, gt: faint };
    }
    if (this.#greyFraction > 0 && rng.uniform([1])[0] < this.#greyFraction && pair.gt.channels === 3) {
      pair = { lq: convertChannels(pair.lq, 1), gt: convertChannels(pair.gt, 1) };
    }
    const grey = this.channels === 3 && pair.gt.channels === 1;
    return { ...this.#degrade(pair, rng), grey };
  }

  /**
   * A training batch of `batchSize` items as new tensors `[B, h, w, C]` (the caller disposes
   * them). All randomness comes from `rng` (advanced by one draw).
   * @throws Error for unreadable images, mismatched pair sizes, or images smaller than the crop.
   */
  async next(rng: Rng): Promise<ImageBatch> {
    const rngs = rng.split(this.batchSize);
    const items = await Promise.all(rngs.map((r) => this.#trainItem(r)));
    return this.#toBatch(items);
  }

  #toBatch(items: Array<DatasetItem & { grey: boolean }>): ImageBatch {
    const lq = imagesToTensor(items.map((p) => p.lq));
    let gt: tf.Tensor4D | undefined;
    try {
      gt = imagesToTensor(items.map((p) => p.gt));
      // Items without a mask (none of their pixels removed) get an all-zero one.
      const masks = items.some((p) => p.mask !== undefined)
        ? imagesToTensor(items.map((p) => ({ data: p.mask ? Float32Array.from(p.mask) : new Float32Array(p.lq.height * p.lq.width), height: p.lq.height, width: p.lq.width, channels: 1 as const })))
        : undefined;
      return { lq, gt, grey: items.map((p) => p.grey), ...(masks !== undefined ? { extraCond: masks } : {}) };
    } catch (e) {
      lq.dispose();
      gt?.dispose();
      throw e;
    }
  }

  /**
   * Image `index` for validation or evaluation, deterministic: optionally centre-cropped, no
   * flips, and (synthetic sets) degraded with a stream fixed by (`seed`, `index`); with the
   * degradation's inpainting `mask` when it removed pixels.
   */
  async item(index: number, options: ItemOptions = {}): Promise<DatasetItem> {
    const { lq, gt, mask } = await this.#item(index, options);
    return { lq, gt, ...(mask !== undefined ? { mask } : {}) };
  }

  async #item(index: number, options: ItemOptions): Promise<DatasetItem & { grey: boolean }> {
    if (!Number.isInteger(index) || index < 0 || index >= this.names.length) {
      throw new RangeError(`ImageDataset.item: index ${index} is outside 0..${this.names.length - 1}`);
    }
    let pair = await this.#pair(index);
    if (options.cropSize !== undefined) pair = { lq: centerCrop(pair.lq, options.cropSize), gt: centerCrop(pair.gt, options.cropSize) };
    const root = new Rng(options.seed ?? 0);
    const rng = Rng.fromState({ key: root.state.key, draws: index }).split(1)[0];
    return { ...this.#degrade(pair, rng), grey: this.channels === 3 && pair.gt.channels === 1 };
  }

  /** Items `indices` (see {@link ImageDataset.item}) stacked into new tensors (the caller disposes them). */
  async itemBatch(indices: readonly number[], options: ItemOptions = {}): Promise<ImageBatch> {
    return this.#toBatch(await Promise.all(indices.map((i) => this.#item(i, options))));
  }

  /**
   * `count` training batches from one generator seeded with `seed` (the same sequence as calling
   * {@link ImageDataset.next} with `new Rng(seed)` `count` times). Each batch's tensors are the
   * caller's to dispose.
   */
  async *batches(seed: number, count: number): AsyncGenerator<ImageBatch> {
    const rng = new Rng(seed);
    for (let i = 0; i < count; i++) yield await this.next(rng);
  }

  /**
   * Loads every image once and checks pair sizes and that crops fit; resolves when all is well.
   * @throws Error for the first problem found (naming the image).
   */
  async validate(): Promise<void> {
    for (let i = 0; i < this.names.length; i++) {
      const { gt } = await this.#pair(i);
      if (this.cropSize !== undefined && (gt.height < this.cropSize || gt.width < this.cropSize)) {
        throw new RangeError(`ImageDataset: image '${this.names[i]}' is ${gt.height}x${gt.width}, smaller than the ${this.cropSize}x${this.cropSize} crop`);
      }
    }
  }
}

/** `offset + scale * x` with `scale` drawn from `range` and `offset` uniform in `[0, 1 - scale]` (a new image). */
function lowerContrast(img: FloatImage, range: Range, rng: Rng): FloatImage {
  const [u, v] = rng.uniform([2]);
  const scale = typeof range === 'number' ? range : range[0] + (range[1] - range[0]) * u;
  const offset = (1 - scale) * v;
  const data = new Float32Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = offset + scale * img.data[i];
  return { ...img, data };
}
