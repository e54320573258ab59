/**
 * The messages between a page's {@link WorkerRestorer} and the worker's {@link serveRestorer}
 * (internal: both ends live in this folder), and the ports they travel over.
 */
import type { RestoredImage, RestoredTile, RestoreImageOptions } from '../pipeline/restorer.js';
import type { SamplerName } from '../sampling/samplers.js';
import type { FloatImage } from '../image/image.js';
import type { ModelTask, RecommendedSampling } from '../nn/model/model-format.js';
import type { Conv3x3 } from '../nn/onnx/winograd.js';
import type { BrowserEngineName } from './engine.js';
import type { OrtWebFilePaths } from './ort-web.js';

/**
 * One end of a message channel: what {@link serveRestorer} talks through. A dedicated worker's
 * global scope (`self`), a `MessagePort` (browsers, or Node's `node:worker_threads`) and a `Worker`
 * all fit.
 */
export interface RestorerPort {
  /** Sends a message; the buffers in `transfer` move to the other side (no copy). */
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  /** Listens for messages (`'message'`) and, on a `Worker`, for its failures (`'error'`). */
  addEventListener(type: 'message' | 'error', listener: (event: { readonly data?: unknown; readonly message?: string }) => void): void;
  /** Starts a `MessagePort`'s queue (absent on workers, which need none). */
  start?(): void;
}

/** What {@link WorkerRestorer} runs in: a `Worker`, or any port with a `terminate()` (tests: one end of a `MessageChannel`). */
export interface WorkerLike extends RestorerPort {
  /** Stops the worker at once (frees everything it holds). */
  terminate(): void;
}

/**
 * Engine settings sent to the worker (plain data: they cross the message channel). The worker
 * runs the network with `browserEngine(these settings)` unless its {@link serveRestorer} was
 * given another engine.
 */
export interface WorkerEngineOptions {
  /** `'auto'` (default), one engine name, or a list in order of preference (see `loadBrowserNetwork`). */
  readonly engine?: 'auto' | BrowserEngineName | readonly BrowserEngineName[];
  /**
   * URL prefix of onnxruntime-web's runtime files, or `{ wasm, mjs }` URLs. Default: beside the
   * page (`'./'`); relative URLs are resolved against the page's URL before they are sent.
   */
  readonly wasmPaths?: string | OrtWebFilePaths;
  /** Where tfjs-backend-wasm's `.wasm` files are served (default: beside the page; resolved like `wasmPaths`). */
  readonly tfjsWasmPaths?: string;
  /** ONNX Runtime wasm threads (default: every core on a cross-origin isolated page, else 1). */
  readonly threads?: number;
  /** 3x3 convolutions of the ONNX export with 128+ channels: `'winograd'` (default) or `'direct'`. */
  readonly conv3x3?: Conv3x3;
}

/** Options of {@link WorkerRestorer.restore}: those of `Restorer.restore`, with a sampler given by name (functions cannot cross to a worker), plus a few about the transfer. */
export interface WorkerRestoreOptions extends Omit<RestoreImageOptions, 'sampler'> {
  /** Sampler name (default: the model's recommended one; see `RestoreImageOptions.sampler`). */
  readonly sampler?: SamplerName;
  /**
   * Hand the image's buffer over to the worker instead of copying it (`image.data` is detached,
   * length 0, afterwards). Default false: the image stays usable, at the cost of one copy.
   */
  readonly transfer?: boolean;
  /** Also encode the result as a PNG in the worker (`result.png`), e.g. for a download link. */
  readonly png?: boolean;
  /**
   * Called after each network evaluation: `done` evaluations of tiles so far in this restore,
   * `tiles` per pass over the whole image (a sampling step takes one pass, two for `heun`), and
   * the evaluation's wall time in ms. For progress finer than a step on large images.
   */
  readonly onEvaluation?: (done: number, tiles: number, ms: number) => void;
}

/** What {@link WorkerRestorer.restore} returns: `Restorer.restore`'s result, plus the PNG when asked for. */
export interface WorkerRestoredImage extends RestoredImage {
  /** The image as a PNG file (with `png: true`), encoded in the worker by `encodeImage`. */
  readonly png?: Uint8Array;
}

/** A worker model's SDE, as plain data. */
export interface WorkerSdeSummary {
  /** `'denoising'` (a `DenoisingSDE`: restores take a `noiseLevel`) or `'mean-reverting'` (an IR-SDE). */
  readonly kind: 'mean-reverting' | 'denoising';
  /** Number of timesteps. */
  readonly T: number;
  /** The noise scale, data units (a DenoisingSDE's highest noise level). */
  readonly maxSigma: number;
}

/** What the worker reports about the model it loaded. */
export interface WorkerModelSummary {
  /** The engine that runs the network, e.g. `'ort-web-wasm (2 threads)'`. */
  readonly engine: string;
  /** The model's recommended sampling (from its file), if any. */
  readonly sampling: RecommendedSampling | undefined;
  /** What the model restores (from its file), if it says. */
  readonly task: ModelTask | undefined;
  /** The model's SDE family, its number of timesteps and its noise scale. */
  readonly sde: WorkerSdeSummary;
  /** The network's default tile side (pixels). */
  readonly tile: number;
}

/** An error as it crosses the channel. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** Options of a restore as they cross the channel (no functions, no signal). */
export type WireRestoreOptions = Omit<WorkerRestoreOptions, 'onProgress' | 'onEvaluation' | 'onTile' | 'signal' | 'transfer'> & {
  /** Whether the page wants each finished tile (`onTile`): the worker then posts a `'tile'` message per tile. */
  readonly tiles?: boolean;
};

/** Page -> worker. */
export type ToWorker =
  | { readonly type: 'load'; readonly model: ArrayBuffer | string; readonly engine: WorkerEngineOptions }
  | { readonly type: 'restore'; readonly id: number; readonly image: FloatImage; readonly options: WireRestoreOptions }
  | { readonly type: 'cancel'; readonly id: number };

/** Worker -> page. */
export type FromWorker =
  | { readonly type: 'loaded'; readonly summary: WorkerModelSummary }
  | { readonly type: 'load-error'; readonly error: WireError }
  | { readonly type: 'note'; readonly message: string }
  | { readonly type: 'progress'; readonly id: number; readonly done: number; readonly total: number }
  | { readonly type: 'evaluation'; readonly id: number; readonly done: number; readonly tiles: number; readonly ms: number }
  | { readonly type: 'tile'; readonly id: number; readonly tile: RestoredTile }
  | { readonly type: 'result'; readonly id: number; readonly result: WorkerRestoredImage }
  | { readonly type: 'error'; readonly id: number; readonly error: WireError };

/** An error (or anything thrown) as plain data. */
export function toWireError(e: unknown): WireError {
  if (e instanceof Error || (typeof e === 'object' && e !== null && 'message' in e)) {
    const err = e as Error;
    return { name: String(err.name ?? 'Error'), message: String(err.message), ...(typeof err.stack === 'string' ? { stack: err.stack } : {}) };
  }
  return { name: 'Error', message: String(e) };
}

/** The error a {@link WireError} stands for: the same class for JavaScript's own (RangeError, TypeError, ...), else an Error with its name. */
export function fromWireError(w: WireError): Error {
  const classes: Record<string, ErrorConstructor> = { RangeError, TypeError, SyntaxError, ReferenceError, EvalError, URIError };
  const err = new (classes[w.name] ?? Error)(w.message);
  if (err.name !== w.name) err.name = w.name;
  return err;
}

/** `a` when it spans its whole buffer (so the buffer can be transferred), else a copy that does. */
export function spanning<T extends Float32Array | Uint8Array>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}
