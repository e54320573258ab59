// Node-only: folders of images as ImageSources for the data sets.
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { ImageSource } from '../data/source.js';
import type { FloatImage } from '../image/image.js';
import { imageFormatOfPath, readImage } from './images.js';

/** One image file of a folder. */
export interface ImageFile {
  /** The file name without its extension (what pairs LQ with GT files). */
  readonly name: string;
  /** The full path. */
  readonly path: string;
}

/**
 * Lists the PNG / JPEG files directly in `dir` (not recursive), sorted by name (code-unit
 * order, so the order is the same on every platform).
 * @throws Error when the folder is missing, holds no images, or two files share a name
 * without extension (e.g. `a.png` and `a.jpg`, which could not be paired unambiguously).
 */
export async function listImageFiles(dir: string): Promise<ImageFile[]> {
  let entries: string[];
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new Error(`listImageFiles: '${dir}' is a file, expected a folder of images`);
    entries = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`listImageFiles: no such folder '${dir}'`);
    throw e;
  }
  const files: ImageFile[] = [];
  const seen = new Map<string, string>();
  for (const entry of entries.sort()) {
    if (imageFormatOfPath(entry) === null) continue;
    const name = basename(entry, extname(entry));
    const prev = seen.get(name);
    if (prev !== undefined) throw new Error(`listImageFiles: '${prev}' and '${entry}' in '${dir}' share the name '${name}'; keep one`);
    seen.set(name, entry);
    files.push({ name, path: join(dir, entry) });
  }
  if (files.length === 0) throw new Error(`listImageFiles: no .png/.jpg/.jpeg images in '${dir}'`);
  return files;
}

/**
 * The images of a folder as an {@link ImageSource}: names are file names without extension,
 * and `load` reads the file (decoded in the file's own channels; the data sets convert).
 */
export async function folderSource(dir: string): Promise<ImageSource> {
  const files = await listImageFiles(dir);
  const byName = new Map(files.map((f) => [f.name, f.path]));
  return {
    names: files.map((f) => f.name),
    describe: (name: string) => byName.get(name) ?? name,
    load(name: string): Promise<FloatImage> {
      const path = byName.get(name);
      if (path === undefined) throw new RangeError(`folderSource: no image named '${name}' in '${dir}'`);
      return readImage(path);
    },
  };
}
