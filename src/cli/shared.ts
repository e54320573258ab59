// Helpers shared by the subcommands: engine start-up, model loading, image <-> tensor.
import { stat } from 'node:fs/promises';
import { selectBackend } from '../engine/backend.js';
import { loadModelFile } from '../io/model-files.js';
import type { LoadedModel } from '../nn/model/model-format.js';
import { CliError } from './errors.js';
import { defaultModelPath } from './default-model.js';

/** Starts the requested tfjs backend ('auto' picks the fastest) and returns its name. */
export async function startEngine(engine: string | undefined): Promise<string> {
  try {
    return await selectBackend((engine ?? 'auto') as 'auto');
  } catch (e) {
    throw new CliError(`cannot start engine '${engine}': ${(e as Error).message}`);
  }
}

/** Loads an irsde model file (or the shipped default), with a clear error for a missing file. */
export async function loadModelOrDefault(weights: string | undefined): Promise<LoadedModel & { path: string }> {
  const path = weights ?? defaultModelPath();
  if (path === null) throw new CliError('no --weights given and no shipped model is installed; train one with `irsde train` or pass --weights FILE');
  if (!(await isFile(path))) throw new CliError(`weights file not found: '${path}'`);
  try {
    return { ...(await loadModelFile(path)), path };
  } catch (e) {
    throw new CliError(`cannot load model '${path}': ${(e as Error).message}`);
  }
}

/** True when `path` exists and is a regular file. */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** True when `path` exists and is a folder. */
export async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
