import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The trained models under `models/`, by task: `irsde restore --task NAME` uses `models/<file>`.
 * `denoise` (Gaussian noise of any sigma 0–50, blind) is the default task and the only one in the
 * npm package (which must stay small); the others live in the repository's `models/` folder.
 */
export const SHIPPED_MODELS = {
  denoise: 'denoise-blind.safetensors',
  derain: 'derain.safetensors',
} as const;

/** A task with a shipped model (`irsde restore --task`). */
export type ShippedTask = keyof typeof SHIPPED_MODELS;

/** The task names, in order (for help texts and choice checks). */
export const SHIPPED_TASKS = Object.keys(SHIPPED_MODELS) as ShippedTask[];

/** File name of the default model (the `denoise` task's, under `models/`). */
export const DEFAULT_MODEL_FILE = SHIPPED_MODELS.denoise;

/**
 * Path of the shipped model of `task` (default `denoise`), or `null` when this install carries
 * none. Looked up relative to this module (works from `src/` under tsx and from the built `dist/`).
 */
export function defaultModelPath(task: ShippedTask = 'denoise'): string | null {
  const here = typeof __filename === 'string' ? dirname(__filename) : dirname(fileURLToPath(import.meta.url));
  for (const rel of ['../models', '../../models', '../../../models']) {
    const p = resolve(here, rel, SHIPPED_MODELS[task]);
    if (existsSync(p)) return p;
  }
  return null;
}
