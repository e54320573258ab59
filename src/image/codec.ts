// Bytes <-> FloatImage for PNG and JPEG, through fast-png and jpeg-js (pure JS, no Node APIs):
// safe for browsers, so it belongs to the core.
import { convertIndexedToRgb, decode as pngDecode, encode as pngEncode, type DecodedPng } from 'fast-png';
import * as jpeg from 'jpeg-js';
import { checkChannels, convertChannels, createImage, type FloatImage } from './image.js';

/** The image formats the codec reads and writes. */
export type ImageFormat = 'png' | 'jpeg';

/** Options of {@link decodeImage}. */
export interface DecodeOptions {
  /**
   * Channels wanted: 1 (grey, BT.601 luma of RGB) or 3 (RGB, grey copied). Default: the file's
   * own (grey PNG/JPEG -> 1, colour -> 3). Alpha is always dropped (not composited).
   */
  readonly channels?: 1 | 3;
}

/** Options of {@link encodePng}. */
export interface PngOptions {
  /** 8 (default) or 16 bits per sample. Values are clamped to [0, 1] and rounded. */
  readonly bitDepth?: 8 | 16;
}

/** Options of {@link encodeJpeg}. */
export interface JpegOptions {
  /** JPEG quality 1..100 (default 95). */
  readonly quality?: number;
}

/** An error for bytes that are not a readable image. */
export class ImageDecodeError extends Error {
  /** Always `'ImageDecodeError'`. */
  override readonly name = 'ImageDecodeError';
}

/** Identifies PNG / JPEG bytes by their signature; `null` for anything else. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/** A name for common formats we do not read, to make the error say what the file is. */
function otherFormat(b: Uint8Array): string | null {
  const ascii = (s: number, n: number) => String.fromCharCode(...b.subarray(s, s + n));
  if (b.length >= 6 && ascii(0, 3) === 'GIF') return 'GIF';
  if (b.length >= 2 && ascii(0, 2) === 'BM') return 'BMP';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') return 'WebP';
  if (b.length >= 4 && (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*')) return 'TIFF';
  if (b.length >= 12 && ascii(4, 4) === 'ftyp') return 'HEIF/AVIF';
  return null;
}

function toUint8(bytes: Uint8Array | ArrayBuffer): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  throw new TypeError('decodeImage: expected a Uint8Array or ArrayBuffer of file bytes');
}

/** Unpacks 1/2/4-bit samples (rows padded to whole bytes) into one byte per sample. */
function unpackBits(data: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = data[y * rowBytes + (bit >> 3)];
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

function fromPng(png: DecodedPng): FloatImage {
  const { width, height } = png;
  let samples: ArrayLike<number> = png.data;
  let channels = png.channels;
  let max = 2 ** png.depth - 1;
  if (png.palette !== undefined) {
    samples = convertIndexedToRgb(png);
    channels = samples.length / (width * height);
    max = 255;
  } else if (png.depth < 8) {
    samples = unpackBits(png.data as Uint8Array, width, height, png.depth);
  }
  // 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA: alpha is dropped.
  const colour = channels >= 3 ? 3 : 1;
  const n = width * height;
  const out = new Float32Array(n * colour);
  const inv = 1 / max;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < colour; c++) out[i * colour + c] = samples[i * channels + c] * inv;
  }
  return createImage(height, width, colour, out);
}

/** The number of colour components in a JPEG's frame header (1 grey, 3 colour, 4 CMYK), or 0. */
function jpegComponents(b: Uint8Array): number {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return 0;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    const len = (b[i + 2] << 8) | b[i + 3];
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return b[i + 9];
    i += 2 + len;
  }
  return 0;
}

/**
 * Decodes PNG or JPEG file bytes into a {@link FloatImage} in [0, 1]. PNG: 1/2/4/8/16-bit grey,
 * grey + alpha, RGB, RGBA and palette images (16-bit samples keep their precision: value / 65535).
 * JPEG: baseline and progressive, grey and colour. Alpha is dropped.
 * @throws ImageDecodeError for unsupported formats or corrupt data (the message says which).
 */
export function decodeImage(bytes: Uint8Array | ArrayBuffer, options: DecodeOptions = {}): FloatImage {
  const b = toUint8(bytes);
  if (options.channels !== undefined) checkChannels(options.channels, 'decodeImage');
  const format = sniffImageFormat(b);
  if (format === null) {
    const other = otherFormat(b);
    throw new ImageDecodeError(
      b.length === 0
        ? 'decodeImage: the data is empty (0 bytes); expected a PNG or JPEG image'
        : `decodeImage: unsupported image format${other ? ` (${other})` : ' (not a PNG or JPEG signature)'}; supported: PNG, JPEG`,
    );
  }
  let img: FloatImage;
  try {
    if (format === 'png') {
      img = fromPng(pngDecode(b));
    } else {
      const comps = jpegComponents(b);
      const raw = jpeg.decode(b, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 2048 });
      const n = raw.width * raw.height;
      const out = new Float32Array(n * 3);
      for (let i = 0; i < 3 * n; i++) out[i] = raw.data[i] / 255;
      img = createImage(raw.height, raw.width, 3, out);
      // jpeg-js hands grey JPEGs back as RGB with equal channels: keep them grey.
      if (comps === 1) img = convertChannels(img, 1);
    }
  } catch (e) {
    throw new ImageDecodeError(`decodeImage: corrupt or unreadable ${format.toUpperCase()} data: ${(e as Error).message}`);
  }
  return options.channels === undefined ? img : convertChannels(img, options.channels);
}

function quantise(v: number, max: number): number {
  return Math.round((v <= 0 ? 0 : v >= 1 ? 1 : Number.isNaN(v) ? 0 : v) * max);
}

function checkImage(img: FloatImage, where: string): void {
  checkChannels(img.channels, where);
  if (!(img.data instanceof Float32Array) || img.data.length !== img.height * img.width * img.channels) {
    throw new RangeError(`${where}: image data must be a Float32Array of ${img.height}x${img.width}x${img.channels} values`);
  }
}

/**
 * Encodes an image as PNG bytes (grey or RGB, 8- or 16-bit). Values are clamped to [0, 1] and
 * rounded to the nearest level. Returns a new `Uint8Array`.
 */
export function encodePng(img: FloatImage, options: PngOptions = {}): Uint8Array {
  checkImage(img, 'encodePng');
  const depth = options.bitDepth ?? 8;
  if (depth !== 8 && depth !== 16) throw new RangeError(`encodePng: bitDepth must be 8 or 16, got ${String(depth)}`);
  const max = depth === 8 ? 255 : 65535;
  const data = depth === 8 ? new Uint8Array(img.data.length) : new Uint16Array(img.data.length);
  for (let i = 0; i < img.data.length; i++) data[i] = quantise(img.data[i], max);
  return pngEncode({ width: img.width, height: img.height, data, depth, channels: img.channels });
}

/**
 * Encodes an image as baseline JPEG bytes (always 3 components: grey images are written as equal
 * RGB and read back as grey with `channels: 1`). Lossy; values clamped to [0, 1]. Note: jpeg-js's
 * encoder returns a Node `Buffer` where CommonJS `module` exists; bundlers that define `module`
 * but not `Buffer` need a Buffer shim for encoding.
 */
export function encodeJpeg(img: FloatImage, options: JpegOptions = {}): Uint8Array {
  checkImage(img, 'encodeJpeg');
  const quality = options.quality ?? 95;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new RangeError(`encodeJpeg: quality must be an integer 1..100, got ${quality}`);
  const n = img.height * img.width;
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) rgba[4 * i + c] = quantise(img.data[img.channels === 3 ? 3 * i + c : i], 255);
    rgba[4 * i + 3] = 255;
  }
  let out: Uint8Array;
  try {
    out = jpeg.encode({ data: rgba, width: img.width, height: img.height }, quality).data;
  } catch (e) {
    if (e instanceof ReferenceError && /Buffer/.test(e.message)) {
      throw new Error('encodeJpeg: jpeg-js needs a global Buffer in this bundle (provide a Buffer shim, or write PNG instead)');
    }
    throw e;
  }
  return new Uint8Array(out); // a plain copy (jpeg-js may hand back a pooled Node Buffer)
}

/** Encodes by format name: {@link encodePng} or {@link encodeJpeg}. */
export function encodeImage(img: FloatImage, format: ImageFormat, options: PngOptions & JpegOptions = {}): Uint8Array {
  if (format === 'png') return encodePng(img, options);
  if (format === 'jpeg') return encodeJpeg(img, options);
  throw new RangeError(`encodeImage: unsupported format '${String(format)}'; supported: 'png', 'jpeg'`);
}
