/**
 * Node-only file helpers for models and weights (uses `node:fs`; not part of the browser core:
 * in a browser, pass the bytes of a `fetch` / `File` to `loadModel` / `readSafetensors` directly).
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { AnySDEConfig } from '../sde/factory.js';
import type { DiffusionSDE } from '../sde/diffusion-sde.js';
import type { StateDict } from '../nn/io/types.js';
import { readSafetensors } from '../nn/io/safetensors.js';
import { readTorchStateDict } from '../nn/io/torch.js';
import type { TfjsNetwork } from '../nn/tfjs/network.js';
import { loadModel, saveModel, type LoadedModel, type ModelExpectation, type SaveModelOptions } from '../nn/model/model-format.js';

async function readBytes(path: string): Promise<Uint8Array> {
  const buf = await readFile(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Writes `saveModel(unet, sde, options)` to `path` (conventionally `*.safetensors`).
 * @returns the number of bytes written.
 */
export async function saveModelFile(path: string, unet: TfjsNetwork, sde: AnySDEConfig | DiffusionSDE<unknown>, options: SaveModelOptions = {}): Promise<number> {
  const bytes = saveModel(unet, sde, options);
  await writeFile(path, bytes);
  return bytes.length;
}

/**
 * Reads a model file written by {@link saveModelFile} / `saveModel`.
 * @returns as `loadModel`: the caller owns (and disposes) the network.
 */
export async function loadModelFile(path: string, expect?: ModelExpectation): Promise<LoadedModel> {
  return loadModel(await readBytes(path), expect);
}

/**
 * Reads plain PyTorch weights: a `.safetensors` file, or a `torch.save`d zip `.pth` (told apart
 * by their first bytes, not the file name).
 * @returns the state dict in PyTorch naming and layout, for `ConditionalUNet.loadStateDict`.
 */
export async function readWeightsFile(path: string): Promise<StateDict> {
  const bytes = await readBytes(path);
  // A zip starts with "PK"; a safetensors file starts with its little-endian header length.
  return bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] === 0x4b ? readTorchStateDict(bytes) : readSafetensors(bytes);
}
