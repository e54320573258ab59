// Node-only: image files on disk. The byte-level codec (browser-safe) is ../image/codec.ts.
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { FloatImage } from '../image/image.js';
import { decodeImage, encodeImage, ImageDecodeError, sniffImageFormat, type DecodeOptions, type ImageFormat, type JpegOptions, type PngOptions } from '../image/codec.js';
import { writeFileAtomic } from './atomic.js';

/** File extensions (lower case, with the dot) the image files may have, and their formats. */
export const IMAGE_EXTENSIONS: Readonly<Record<string, ImageFormat>> = { '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg' };

/** The format implied by a path's extension (case-insensitive), or `null` if not an image extension. */
export function imageFormatOfPath(path: string): ImageFormat | null {
  return IMAGE_EXTENSIONS[extname(path).toLowerCase()] ?? null;
}

/**
 * The largest image {@link readImage} decodes by default, in pixels (100 megapixels: more than any
 * camera photo; decoded as float32 RGB it takes 1.2 GB).
 */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** Options of {@link readImage}. */
export interface ReadImageOptions extends DecodeOptions {
  /**
   * The most pixels (width x height, read from the file's header before anything is decoded) an
   * image may have (default {@link DEFAULT_MAX_PIXELS}; `Infinity` for no limit). A larger image
   * is refused with an {@link ImageTooLargeError}.
   */
  readonly maxPixels?: number;
}

/** Thrown by {@link readImage} for an image whose header claims more pixels than allowed. */
export class ImageTooLargeError extends Error {
  /** Always `'ImageTooLargeError'`. */
  override readonly name = 'ImageTooLargeError';
}

/** An image's size as its file's header states it. */
export interface ImageDimensions {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/**
 * Width and height from a PNG's IHDR or a JPEG's frame header (SOFn), without decoding; `null`
 * when the bytes hold no readable header (the decoder then says what is wrong).
 */
export function imageDimensions(bytes: Uint8Array): ImageDimensions | null {
  const format = sniffImageFormat(bytes);
  if (format === 'png') {
    // Signature (8), IHDR length (4), "IHDR" (4), width (4, big-endian), height (4).
    if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return null;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { width: dv.getUint32(16), height: dv.getUint32(20) };
  }
  if (format === 'jpeg') {
    let i = 2;
    while (i + 8 < bytes.length) {
      if (bytes[i] !== 0xff) return null;
      const marker = bytes[i + 1];
      if (marker === 0xff) {
        i++;
        continue;
      }
      // Markers without a length: TEM, RSTn, SOI, EOI.
      if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) {
        i += 2;
        continue;
      }
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: (bytes[i + 5] << 8) | bytes[i + 6], width: (bytes[i + 7] << 8) | bytes[i + 8] };
      }
      i += 2 + ((bytes[i + 2] << 8) | bytes[i + 3]);
    }
  }
  return null;
}

function checkMaxPixels(maxPixels: number): void {
  if (!(maxPixels > 0)) throw new RangeError(`readImage: maxPixels must be a positive number, got ${String(maxPixels)}`);
}

/**
 * Reads a PNG or JPEG file into a {@link FloatImage} (float32 in [0, 1], HWC). The format is
 * taken from the file's bytes, not its name. Only regular files are read (a symlink is followed;
 * a device such as `/dev/zero`, a FIFO or a socket is refused). The size in the file's header is
 * checked against `maxPixels` before anything is decoded. See {@link decodeImage} for `channels`.
 * @throws Error naming the path when the file is missing, not a regular file, unreadable, corrupt
 *   or not PNG/JPEG; {@link ImageTooLargeError} when it has more than `maxPixels` pixels.
 */
export async function readImage(path: string, options: ReadImageOptions = {}): Promise<FloatImage> {
  const { maxPixels = DEFAULT_MAX_PIXELS, ...decodeOptions } = options;
  checkMaxPixels(maxPixels);
  let bytes: Uint8Array;
  try {
    // stat before open: opening a FIFO for reading would wait for a writer.
    const s = await stat(path);
    if (s.isDirectory()) throw new Error(`readImage: '${path}' is a folder, expected an image file`);
    if (!s.isFile()) throw new Error(`readImage: '${path}' is not a regular file (a device, FIFO or socket); refusing to read it`);
    const fh = await open(path, 'r');
    try {
      const again = await fh.stat();
      if (!again.isFile()) throw new Error(`readImage: '${path}' is not a regular file (a device, FIFO or socket); refusing to read it`);
      bytes = new Uint8Array(await fh.readFile());
    } finally {
      await fh.close();
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    if (code === 'ENOENT') throw new Error(`readImage: no such file '${path}'`);
    if (code === 'EISDIR') throw new Error(`readImage: '${path}' is a folder, expected an image file`);
    if (code === 'ERR_FS_FILE_TOO_LARGE') throw new ImageTooLargeError(`readImage: '${path}': image too large (the file is over 2 GB)`);
    throw new Error(`readImage: cannot read '${path}': ${(e as Error).message}`);
  }
  const size = imageDimensions(bytes);
  if (size !== null && size.width * size.height > maxPixels) {
    const mp = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MP`;
    throw new ImageTooLargeError(
      `readImage: '${path}': image too large: ${size.width}x${size.height} (${mp(size.width * size.height)}) exceeds the limit of ${maxPixels === DEFAULT_MAX_PIXELS ? '100 MP' : `${maxPixels} pixels`} (raise it with maxPixels / --max-pixels)`,
    );
  }
  try {
    return decodeImage(bytes, decodeOptions);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw new ImageDecodeError(`readImage: '${path}': ${e.message.replace(/^decodeImage: /, '')}`);
    if (e instanceof RangeError && /array length|Array buffer allocation/i.test(e.message)) {
      throw new ImageTooLargeError(`readImage: '${path}': image too large to decode here (${e.message})`);
    }
    throw e;
  }
}

/** Options of {@link writeImage}. */
export type WriteImageOptions = PngOptions & JpegOptions;

/**
 * Writes an image as PNG (`.png`) or JPEG (`.jpg` / `.jpeg`), chosen by the extension; creates
 * missing parent folders. Values are clamped to [0, 1]; PNG may be 8- or 16-bit (`bitDepth`),
 * JPEG takes a `quality` (default 95). The file is written atomically (a temporary file in the
 * same folder, flushed, renamed over `path`): a kill leaves the old file or the whole new one.
 * @throws RangeError for any other extension; Error of one line when the file cannot be written.
 */
export async function writeImage(path: string, image: FloatImage, options: WriteImageOptions = {}): Promise<void> {
  const format = imageFormatOfPath(path);
  if (format === null) {
    throw new RangeError(`writeImage: cannot tell the format of '${path}' from its extension; use .png, .jpg or .jpeg`);
  }
  const bytes = encodeImage(image, format, options);
  try {
    await writeFileAtomic(path, bytes, { mkdirs: true });
  } catch (e) {
    throw new Error(`writeImage: ${(e as Error).message}`);
  }
}
