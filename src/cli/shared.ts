// Helpers shared by the subcommands: engine start-up, model loading, image <-> tensor.
import { stat } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor } from '../backend/host.js';
import { selectBackend } from '../engine/backend.js';
import { writeFileAtomic } from '../io/atomic.js';
import { isDir, isFile } from '../io/paths.js';
import { loadModelFile } from '../io/model-files.js';
import type { LoadedModel } from '../nn/model/model-format.js';
import type { FloatImage } from '../image/image.js';
import { CliError } from './errors.js';
import { shippedModelPath, SHIPPED_MODELS, type ShippedTask } from '../io/shipped-model.js';

/** Starts the requested tfjs backend ('auto' picks the fastest) and returns its name. */
export async function startEngine(engine: string | undefined): Promise<string> {
  try {
    return await selectBackend((engine ?? 'auto') as 'auto');
  } catch (e) {
    throw new CliError(`cannot start engine '${engine}': ${(e as Error).message}`);
  }
}

/**
 * Makes sure a tfjs backend is active (the model's weights become tfjs variables): the one a
 * command started, else cpu, else the fastest installed.
 */
async function ensureEngine(): Promise<void> {
  if (tf.getBackend() != null) return;
  try {
    await selectBackend('cpu');
  } catch {
    await startEngine('auto');
  }
}

/**
 * Loads an irsde model file (or the shipped default), with a clear error for a missing file.
 * Starts a tfjs backend first when no command did. `local`: a NAFNet local-statistics setting
 * replacing the file's (errors name `local.flag`).
 */
export async function loadModelOrDefault(weights: string | undefined, local?: { readonly localStatistics: number | null; readonly flag: string }): Promise<LoadedModel & { path: string }> {
  await ensureEngine();
  const path = await modelPathOrFail(weights);
  try {
    return { ...(await loadModelFile(path, undefined, local ? { localStatistics: local.localStatistics } : {})), path };
  } catch (e) {
    const message = (e as Error).message;
    // A local-statistics setting the model cannot take is the flag's fault, not the file's.
    if (local && message.startsWith('loadModel: ')) throw new CliError(`${local.flag}: ${message.slice('loadModel: '.length)}`, { cause: e });
    throw new CliError(`cannot load model '${path}': ${message}`, { cause: e });
  }
}

/**
 * The model file a command uses: `weights` when given (it must exist), else the shipped model of
 * `task` (default `denoise`). Throws a one-line {@link CliError} when there is none.
 */
export async function modelPathOrFail(weights: string | undefined, task: ShippedTask = 'denoise'): Promise<string> {
  if (weights !== undefined) {
    if (!(await isFile(weights))) throw new CliError(`weights file not found: '${weights}'`);
    return weights;
  }
  const path = shippedModelPath(task);
  if (path === null) {
    throw new CliError(`no --weights given and this install has no ${task} model (models/${SHIPPED_MODELS[task]}; the npm package carries the denoise one only, the others are in the irsde repository's models/ folder): pass --weights FILE`);
  }
  return path;
}

/**
 * Makes sure `path` is a regular file that can be read (a symlink to one is fine): a one-line
 * {@link CliError} for a missing file, a folder, or a device / FIFO / socket.
 */
export async function readableFileOrFail(path: string, what = 'file'): Promise<void> {
  let s;
  try {
    s = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' || code === 'ENOTDIR' ? `${what} not found: '${path}'` : `cannot read ${what} '${path}': ${(e as Error).message}`);
  }
  if (s.isDirectory()) throw new CliError(`${what} '${path}' is a folder, expected a file`);
  if (!s.isFile()) throw new CliError(`${what} '${path}' is not a regular file (a device, FIFO or socket); refusing to read it`);
}

/**
 * Writes an output file atomically ({@link writeFileAtomic}: a temporary file in the same folder,
 * flushed, renamed over `path`), with a one-line {@link CliError} when it cannot be written.
 */
export async function writeOutputFile(path: string, data: Uint8Array | string): Promise<void> {
  try {
    await writeFileAtomic(path, data);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** True when a path exists and is a regular file / a folder. */
export { isFile, isDir };

/** An image as a `[1, H, W, C]` host tensor (shares the data). */
export function imageToHost(img: FloatImage): HostTensor {
  return new HostTensor(img.data, [1, img.height, img.width, img.channels]);
}

/** A `[1, H, W, C]` host tensor as an image, clamped to [0, 1]. */
export function hostToImage(t: HostTensor): FloatImage {
  const [, height, width, channels] = t.shape;
  if (channels !== 1 && channels !== 3) throw new CliError(`cannot write an image with ${channels} channels`);
  const data = t.data.map((v) => (v < 0 ? 0 : v > 1 ? 1 : v));
  return { data, height, width, channels };
}
