import type { AnySDEConfig } from '../../sde/factory.js';
import type { DiffusionSDE } from '../../sde/diffusion-sde.js';
import type { TfjsNetwork } from '../tfjs/network.js';
import { loadModel, saveModel, type LoadedModel, type ModelExpectation } from './model-format.js';

/**
 * Fetches a model file written by `saveModel` / `irsde train` and loads it: the browser's way to
 * read the project's own format (works in Node 18+ too, where `fetch` is global).
 * @param url - where the `.safetensors` model file is served (http(s), `data:` or `blob:` URL).
 * @param expect - optional SDE / network fields to check, as `loadModel`.
 * @param init - optional `fetch` options (headers, signal, ...).
 * @returns as `loadModel`: the caller owns (and disposes) the network.
 * @throws Error for an HTTP failure, with the status; the errors of `loadModel` for the bytes.
 */
export async function loadModelFromUrl(url: string | URL, expect?: ModelExpectation, init?: RequestInit): Promise<LoadedModel> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`loadModelFromUrl: ${String(url)} answered ${res.status} ${res.statusText}`);
  return loadModel(new Uint8Array(await res.arrayBuffer()), expect);
}

/**
 * The model file as a `Blob` (`application/octet-stream`), e.g. for a download link in a page:
 * `URL.createObjectURL(modelBlob(network, sde))`.
 */
export function modelBlob(network: TfjsNetwork, sde: AnySDEConfig | DiffusionSDE<unknown>): Blob {
  return new Blob([saveModel(network, sde) as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
}
