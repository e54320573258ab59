/**
 * Node-only file helpers for models and weights (uses `node:fs`; not part of the browser core:
 * in a browser, pass the bytes of a `fetch` / `File` to `loadModel` / `readSafetensors` directly).
 */
import { open, stat } from 'node:fs/promises';
import type { AnySDEConfig } from '../sde/factory.js';
import type { DiffusionSDE } from '../sde/diffusion-sde.js';
import type { StateDict } from '../nn/io/types.js';
import { readSafetensors } from '../nn/io/safetensors.js';
import { readTorchStateDict } from '../nn/io/torch.js';
import type { TfjsNetwork } from '../nn/tfjs/network.js';
import { loadModel, saveModel, verifyModel, type LoadedModel, type LoadModelOptions, type ModelExpectation, type SaveModelOptions, type SavedModelInfo } from '../nn/model/model-format.js';
import type { SafetensorsHeader } from '../nn/io/safetensors.js';
import { writeFileAtomic } from './atomic.js';

/** Opens `path` for reading after checking it is a regular file (not a folder, device or FIFO). */
async function openRegular(path: string): Promise<{ fh: Awaited<ReturnType<typeof open>>; size: number }> {
  let s;
  try {
    s = await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`no such file '${path}'`);
    throw new Error(`cannot read '${path}': ${(e as Error).message}`, { cause: e });
  }
  if (s.isDirectory()) throw new Error(`'${path}' is a folder, expected a model file`);
  if (!s.isFile()) throw new Error(`'${path}' is not a regular file (a device, FIFO or socket); refusing to read it`);
  const fh = await open(path, 'r');
  const again = await fh.stat();
  if (!again.isFile()) {
    await fh.close();
    throw new Error(`'${path}' is not a regular file; refusing to read it`);
  }
  return { fh, size: again.size };
}

async function readBytes(path: string): Promise<Uint8Array> {
  const { fh } = await openRegular(path);
  try {
    const buf = await fh.readFile();
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } finally {
    await fh.close();
  }
}

/**
 * Writes `saveModel(network, sde, options)` to `path` (conventionally `*.safetensors`), atomically:
 * a kill at any moment leaves the old file or the whole new one.
 * @returns the number of bytes written.
 */
export async function saveModelFile(path: string, network: TfjsNetwork, sde: AnySDEConfig | DiffusionSDE<unknown>, options: SaveModelOptions = {}): Promise<number> {
  const bytes = saveModel(network, sde, options);
  await writeFileAtomic(path, bytes);
  return bytes.length;
}

/**
 * Reads a model file written by {@link saveModelFile} / `saveModel`. The file is verified
 * (metadata, length, tensors against the network description) before any network is built.
 * `options` override test-time network settings (e.g. `localStatistics`), as `loadModel`'s.
 * @returns as `loadModel`: the caller owns (and disposes) the network.
 * @throws Error for a missing or non-regular file; the errors of `loadModel` otherwise.
 */
export async function loadModelFile(path: string, expect?: ModelExpectation, options?: LoadModelOptions): Promise<LoadedModel> {
  return loadModel(await readBytes(path), expect, options);
}

/** What {@link verifyModelFile} found: the model's metadata and header, and the file's size. */
export interface VerifiedModelFile {
  /** The metadata (network, SDE, sampling, task). */
  readonly info: SavedModelInfo;
  /** The safetensors header: every tensor's name, dtype, shape and byte range. */
  readonly header: SafetensorsHeader;
  /** The file's length in bytes. */
  readonly bytes: number;
}

/**
 * Verifies a model file without building its network and without reading its weights: reads the
 * header only, then checks the metadata, that the tensors end exactly at the end of the file (a
 * truncated file fails) and that they fit the network description (`verifyModel`).
 * @returns the metadata, the header and the file's length in bytes.
 * @throws WeightFileError / StateDictMismatchError of one line naming the problem; Error for a
 *   missing or non-regular file.
 */
export async function verifyModelFile(path: string): Promise<VerifiedModelFile> {
  const { fh, size } = await openRegular(path);
  try {
    const head = new Uint8Array(Math.min(size, 8));
    await fh.read(head, 0, head.length, 0);
    let want = head.length;
    if (head.length === 8) {
      const n = new DataView(head.buffer).getBigUint64(0, true);
      if (n <= BigInt(size - 8)) want = 8 + Number(n);
    }
    const bytes = new Uint8Array(want);
    bytes.set(head);
    if (want > head.length) await fh.read(bytes, 8, want - 8, 8);
    return { ...verifyModel(bytes, size), bytes: size };
  } finally {
    await fh.close();
  }
}

/**
 * Reads plain PyTorch weights: a `.safetensors` file, or a `torch.save`d zip `.pth` (told apart
 * by their first bytes, not the file name).
 * @returns the state dict in PyTorch naming and layout, for `UNet.loadStateDict`.
 */
export async function readWeightsFile(path: string): Promise<StateDict> {
  const bytes = await readBytes(path);
  // A zip starts with "PK"; a safetensors file starts with its little-endian header length.
  return bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] === 0x4b ? readTorchStateDict(bytes) : readSafetensors(bytes);
}
