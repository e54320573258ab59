import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** File name of the model shipped with the package (under `models/`). */
export const DEFAULT_MODEL_FILE = 'denoise-blind.safetensors';

/**
 * Path of the shipped model, or `null` when the package carries none. Looked up relative to this
 * module (works from `src/` under tsx and from the built `dist/`).
 */
export function defaultModelPath(): string | null {
  const here = typeof __filename === 'string' ? dirname(__filename) : dirname(fileURLToPath(import.meta.url));
  for (const rel of ['../models', '../../models', '../../../models']) {
    const p = resolve(here, rel, DEFAULT_MODEL_FILE);
    if (existsSync(p)) return p;
  }
  return null;
}
