// Node-only: image files on disk. The byte-level codec (browser-safe) is ./codec.ts.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import type { FloatImage } from '../train/image.js';
import { decodeImage, encodeImage, ImageDecodeError, type DecodeOptions, type ImageFormat, type JpegOptions, type PngOptions } from '../train/codec.js';

/** File extensions (lower case, with the dot) the image files may have, and their formats. */
export const IMAGE_EXTENSIONS: Readonly<Record<string, ImageFormat>> = { '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg' };

/** The format implied by a path's extension (case-insensitive), or `null` if not an image extension. */
export function imageFormatOfPath(path: string): ImageFormat | null {
  return IMAGE_EXTENSIONS[extname(path).toLowerCase()] ?? null;
}

/**
 * Reads a PNG or JPEG file into a {@link FloatImage} (float32 in [0, 1], HWC). The format is
 * taken from the file's bytes, not its name. See {@link decodeImage} for the options.
 * @throws Error naming the path when the file is missing, unreadable, corrupt or not PNG/JPEG.
 */
export async function readImage(path: string, options: DecodeOptions = {}): Promise<FloatImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`readImage: no such file '${path}'`);
    if (code === 'EISDIR') throw new Error(`readImage: '${path}' is a folder, expected an image file`);
    throw new Error(`readImage: cannot read '${path}': ${(e as Error).message}`);
  }
  try {
    return decodeImage(bytes, options);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw new ImageDecodeError(`readImage: '${path}': ${e.message.replace(/^decodeImage: /, '')}`);
    throw e;
  }
}

/** Options of {@link writeImage}. */
export type WriteImageOptions = PngOptions & JpegOptions;

/**
 * Writes an image as PNG (`.png`) or JPEG (`.jpg` / `.jpeg`), chosen by the extension; creates
 * missing parent folders. Values are clamped to [0, 1]; PNG may be 8- or 16-bit (`bitDepth`),
 * JPEG takes a `quality` (default 95).
 * @throws RangeError for any other extension.
 */
export async function writeImage(path: string, image: FloatImage, options: WriteImageOptions = {}): Promise<void> {
  const format = imageFormatOfPath(path);
  if (format === null) {
    throw new RangeError(`writeImage: cannot tell the format of '${path}' from its extension; use .png, .jpg or .jpeg`);
  }
  const bytes = encodeImage(image, format, options);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}
