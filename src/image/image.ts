import * as tf from '@tensorflow/tfjs-core';

/**
 * A host image: float32 pixels in [0, 1], row-major `[height, width, channels]` (HWC, the
 * layout of one item of an NHWC tensor). RGB images have 3 channels, grey images 1.
 * Plain data: nothing to dispose.
 */
export interface FloatImage {
  /** `height * width * channels` values, channel fastest. */
  readonly data: Float32Array;
  /** Rows. */
  readonly height: number;
  /** Columns. */
  readonly width: number;
  /** 1 (grey) or 3 (RGB). */
  readonly channels: 1 | 3;
}

/**
 * Anything the metrics accept: a {@link FloatImage}, or a float tf.Tensor `[H, W, C]` or
 * `[1, H, W, C]` with C = 1 or 3 (read with `dataSync`, never disposed).
 */
export type ImageLike = FloatImage | tf.Tensor;

/** Checks a channel count is 1 or 3. */
export function checkChannels(c: unknown, where: string): asserts c is 1 | 3 {
  if (c !== 1 && c !== 3) throw new RangeError(`${where}: channels must be 1 (grey) or 3 (RGB), got ${String(c)}`);
}

/**
 * Makes a {@link FloatImage}, checking that `data` has `height * width * channels` values.
 * `data` defaults to zeros; it is used as is (not copied).
 */
export function createImage(height: number, width: number, channels: 1 | 3, data?: Float32Array): FloatImage {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new RangeError(`createImage: height and width must be positive integers, got ${height}x${width}`);
  }
  checkChannels(channels, 'createImage');
  const n = height * width * channels;
  if (data !== undefined && data.length !== n) {
    throw new RangeError(`createImage: data has ${data.length} values but ${height}x${width}x${channels} needs ${n}`);
  }
  return { data: data ?? new Float32Array(n), height, width, channels };
}

/** Luma weights of ITU-R BT.601 (what libpng, libjpeg, OpenCV and Pillow use for RGB -> grey). */
const GREY_R = 0.299;
const GREY_G = 0.587;
const GREY_B = 0.114;

/**
 * Converts between grey and RGB: RGB -> grey by BT.601 luma (0.299 R + 0.587 G + 0.114 B),
 * grey -> RGB by copying the value into each channel. Returns `img` itself when it already has
 * `channels` (no copy).
 */
export function convertChannels(img: FloatImage, channels: 1 | 3): FloatImage {
  checkChannels(channels, 'convertChannels');
  if (img.channels === channels) return img;
  const n = img.height * img.width;
  const src = img.data;
  const out = new Float32Array(n * channels);
  if (channels === 1) {
    for (let i = 0; i < n; i++) out[i] = GREY_R * src[3 * i] + GREY_G * src[3 * i + 1] + GREY_B * src[3 * i + 2];
  } else {
    for (let i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = src[i];
  }
  return { data: out, height: img.height, width: img.width, channels };
}

/**
 * Reads an {@link ImageLike} as a {@link FloatImage}. A tensor must be `[H, W, C]` or
 * `[1, H, W, C]` with C in {1, 3}; its values are copied out (the tensor is not disposed).
 */
export function asFloatImage(x: ImageLike, where = 'asFloatImage'): FloatImage {
  if (x instanceof tf.Tensor) {
    const s = x.shape;
    const hwc = s.length === 4 && s[0] === 1 ? s.slice(1) : s.length === 3 ? s : null;
    if (hwc === null) throw new RangeError(`${where}: expected a tensor [H, W, C] or [1, H, W, C], got shape [${s}]`);
    checkChannels(hwc[2], where);
    return createImage(hwc[0], hwc[1], hwc[2] as 1 | 3, Float32Array.from(x.dataSync() as ArrayLike<number>));
  }
  if (x === null || typeof x !== 'object' || !(x.data instanceof Float32Array)) {
    throw new TypeError(`${where}: expected a FloatImage {data: Float32Array, height, width, channels} or a tf.Tensor`);
  }
  checkChannels(x.channels, where);
  if (x.data.length !== x.height * x.width * x.channels) {
    throw new RangeError(`${where}: image data has ${x.data.length} values, expected ${x.height}x${x.width}x${x.channels}`);
  }
  return x;
}

/** Uploads an image as a new float32 tensor `[1, H, W, C]` (the caller disposes it). */
export function imageToTensor(img: FloatImage): tf.Tensor4D {
  return tf.tensor4d(img.data, [1, img.height, img.width, img.channels], 'float32');
}

/**
 * Stacks same-sized images into a new float32 tensor `[B, H, W, C]` (the caller disposes it).
 */
export function imagesToTensor(images: readonly FloatImage[]): tf.Tensor4D {
  if (images.length === 0) throw new RangeError('imagesToTensor: need at least one image');
  const { height, width, channels } = images[0];
  const per = height * width * channels;
  const data = new Float32Array(per * images.length);
  images.forEach((img, i) => {
    if (img.height !== height || img.width !== width || img.channels !== channels) {
      throw new RangeError(
        `imagesToTensor: image ${i} is ${img.height}x${img.width}x${img.channels} but image 0 is ${height}x${width}x${channels}`,
      );
    }
    data.set(img.data, i * per);
  });
  return tf.tensor4d(data, [images.length, height, width, channels], 'float32');
}

/** Item `index` of a tensor `[B, H, W, C]` (or the only item of `[H, W, C]`) as a {@link FloatImage}; the tensor is not disposed. */
export function tensorToImage(x: tf.Tensor, index = 0): FloatImage {
  if (x.rank === 3) return asFloatImage(x, 'tensorToImage');
  if (x.rank !== 4) throw new RangeError(`tensorToImage: expected [B, H, W, C] or [H, W, C], got shape [${x.shape}]`);
  const [b, h, w, c] = x.shape as [number, number, number, number];
  if (!Number.isInteger(index) || index < 0 || index >= b) throw new RangeError(`tensorToImage: index ${index} is outside the batch of ${b}`);
  checkChannels(c, 'tensorToImage');
  const all = x.dataSync() as Float32Array;
  const per = h * w * c;
  return createImage(h, w, c as 1 | 3, Float32Array.from(all.subarray(index * per, (index + 1) * per)));
}

/** The `height x width` window of `img` whose top-left corner is (`top`, `left`), as a new image. */
export function cropImage(img: FloatImage, top: number, left: number, height: number, width: number): FloatImage {
  if (
    ![top, left, height, width].every(Number.isInteger) ||
    top < 0 || left < 0 || height < 1 || width < 1 ||
    top + height > img.height || left + width > img.width
  ) {
    throw new RangeError(`cropImage: window ${height}x${width} at (${top}, ${left}) does not fit in a ${img.height}x${img.width} image`);
  }
  const c = img.channels;
  const out = new Float32Array(height * width * c);
  for (let y = 0; y < height; y++) {
    const s = ((top + y) * img.width + left) * c;
    out.set(img.data.subarray(s, s + width * c), y * width * c);
  }
  return { data: out, height, width, channels: img.channels };
}

/**
 * The pixels a mask image marks, one entry per pixel: 1 where its first channel is above 0.5
 * (white), else 0. An inpainting mask's missing pixels, read the same way by the restorer and by
 * `psnr`'s `mask`.
 */
export function maskedPixels(mask: FloatImage): Uint8Array {
  const n = mask.height * mask.width;
  const out = new Uint8Array(n);
  for (let p = 0; p < n; p++) out[p] = mask.data[p * mask.channels] > 0.5 ? 1 : 0;
  return out;
}

/** Crops `border` pixels from every side (the reference's `crop_border` before scoring). */
export function cropBorder(img: FloatImage, border: number): FloatImage {
  if (!Number.isInteger(border) || border < 0) throw new RangeError(`cropBorder: border must be a non-negative integer, got ${border}`);
  if (border === 0) return img;
  if (2 * border >= img.height || 2 * border >= img.width) {
    throw new RangeError(`cropBorder: a border of ${border} leaves nothing of a ${img.height}x${img.width} image`);
  }
  return cropImage(img, border, border, img.height - 2 * border, img.width - 2 * border);
}

/** Crops the bottom/right edge so both sides are multiples of `scale` (the reference's `modcrop`). */
export function modcrop(img: FloatImage, scale: number): FloatImage {
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`modcrop: scale must be a positive integer, got ${scale}`);
  const h = img.height - (img.height % scale);
  const w = img.width - (img.width % scale);
  if (h === img.height && w === img.width) return img;
  return cropImage(img, 0, 0, h, w);
}
