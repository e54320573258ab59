import { asFloatImage, type FloatImage } from '../image/image.js';

/**
 * A named collection of images the data sets read from: a folder on disk (`folderSource` in the
 * Node-only `irsde` io module), images in memory ({@link memorySource}), or anything else (e.g.
 * `fetch` in a browser). Names identify images; paired data sets match LQ and GT by name.
 */
export interface ImageSource {
  /** The image names, in a fixed order (the order sequential iteration uses). */
  readonly names: readonly string[];
  /** Loads one image (float32 in [0, 1], any of 1 / 3 channels; the data set converts). */
  load(name: string): FloatImage | Promise<FloatImage>;
  /** A human-readable location for error messages (e.g. the file path); optional. */
  describe?(name: string): string;
}

/**
 * An {@link ImageSource} over images held in memory, keyed by name (insertion order kept).
 * The images are not copied.
 */
export function memorySource(images: Readonly<Record<string, FloatImage>> | ReadonlyMap<string, FloatImage>): ImageSource {
  const map = images instanceof Map ? new Map(images) : new Map(Object.entries(images as Record<string, FloatImage>));
  if (map.size === 0) throw new RangeError('memorySource: no images given');
  for (const [name, img] of map) asFloatImage(img, `memorySource: image '${name}'`);
  return {
    names: [...map.keys()],
    load(name: string): FloatImage {
      const img = map.get(name);
      if (img === undefined) throw new RangeError(`memorySource: no image named '${name}'`);
      return img;
    },
  };
}

/**
 * Several sources as one: the names of each in turn, each image loaded from the source that has
 * it (e.g. a folder of photos and a folder of scanned documents trained on together).
 * @throws RangeError when no source is given or a name occurs in two sources (name them apart).
 */
export function joinSources(sources: readonly ImageSource[]): ImageSource {
  if (sources.length === 0) throw new RangeError('joinSources: no sources given');
  if (sources.length === 1) return sources[0];
  const owner = new Map<string, ImageSource>();
  for (const src of sources) {
    for (const name of src.names) {
      const before = owner.get(name);
      if (before !== undefined) throw new RangeError(`joinSources: the name '${name}' is in two sources (${before.describe?.(name) ?? name} and ${src.describe?.(name) ?? name}); image names must be unique`);
      owner.set(name, src);
    }
  }
  const of = (name: string): ImageSource => {
    const src = owner.get(name);
    if (src === undefined) throw new RangeError(`joinSources: no image named '${name}'`);
    return src;
  };
  return {
    names: [...owner.keys()],
    load: (name: string) => of(name).load(name),
    describe: (name: string) => of(name).describe?.(name) ?? name,
  };
}
