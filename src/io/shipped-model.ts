/**
 * The trained models that come with irsde, found on disk: the npm package carries
 * `models/denoise-blind.safetensors` (its `files`), a checkout of the repository also the others
 * under `models/`.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The trained models under `models/`, by task: `irsde restore --task NAME` uses `models/<file>`.
 * `denoise` (Gaussian noise of any sigma 0–50, blind) is the default task and the only one in the
 * npm package (which must stay small); the others live in the repository's `models/` folder.
 */
export const SHIPPED_MODELS = {
  /** The blind Gaussian denoiser (DenoisingSDE, sigma 0–50): in the npm package and the repository. */
  denoise: 'denoise-blind.safetensors',
  /** The deraining model (IR-SDE, the project's synthetic rain): in the repository only. */
  derain: 'derain.safetensors',
  /** The blind deblurring model (IR-SDE; Gaussian and motion blur, a little noise): in the repository only. */
  deblur: 'deblur.safetensors',
  /** The x4 super-resolution model (IR-SDE; inputs bicubic-downscaled, upscaled by the restorer): in the repository only. */
  sr4: 'sr4.safetensors',
  /** The inpainting model (IR-SDE, the mask as an input channel; fills the pixels under a mask from the rest): in the repository only. */
  inpaint: 'inpaint.safetensors',
} as const;

/** A task with a shipped model (`irsde restore --task`). */
export type ShippedTask = keyof typeof SHIPPED_MODELS;

/** The task names, in order (for help texts and choice checks). */
export const SHIPPED_TASKS = Object.keys(SHIPPED_MODELS) as ShippedTask[];

/** What each shipped task restores, one line each (`irsde restore --task` with no name lists them). */
export const SHIPPED_TASK_DESCRIPTIONS: Readonly<Record<ShippedTask, string>> = {
  denoise: 'Gaussian noise of any sigma 0-50, blind (noise level estimated); in the npm package',
  derain: 'rain streaks (the project\'s synthetic rain); in the repository\'s models/ folder only',
  deblur: 'Gaussian or motion blur, blind (kernel estimated, then deconvolved with the denoise model as prior); in the repository\'s models/ folder only',
  sr4: '4x super-resolution of a small photo (bicubic-downscaled); in the repository\'s models/ folder only',
  inpaint: 'missing pixels under a mask (--mask FILE, white = missing): brush strokes, rectangles; in the repository\'s models/ folder only',
};

/** File name of the default model (the `denoise` task's, under `models/`). */
export const DEFAULT_MODEL_FILE = SHIPPED_MODELS.denoise;

/**
 * Absolute path of the shipped model of `task` (default `denoise`, the blind denoiser that
 * `loadRestorerFile()` loads when given no path), or `null` when this install carries none (the
 * npm package has the `denoise` model only). Looked up relative to irsde's own files, so it is
 * found inside `node_modules/irsde/models/` from any app, and in a checkout of the repository.
 * @example
 * ```ts
 * import { shippedModelPath } from 'irsde/node';
 * console.log(shippedModelPath()); // e.g. /app/node_modules/irsde/models/denoise-blind.safetensors
 * ```
 */
export function shippedModelPath(task: ShippedTask = 'denoise'): string | null {
  const file = SHIPPED_MODELS[task];
  if (file === undefined) throw new RangeError(`shippedModelPath: unknown task '${String(task)}' (known: ${SHIPPED_TASKS.join(', ')})`);
  // dist/*.js (the package) or src/io/*.ts (a checkout under tsx): models/ is one or two folders up.
  // This module's folder: from its URL (ESM; a global __filename, as `node -e` defines, is not
  // this module's), else __filename (the CommonJS build, whose import.meta is empty).
  const url = (import.meta as { url?: string }).url;
  const here = url ? dirname(fileURLToPath(url)) : dirname(__filename);
  for (const rel of ['../models', '../../models', '../../../models']) {
    const p = resolve(here, rel, file);
    if (existsSync(p)) return p;
  }
  return null;
}
