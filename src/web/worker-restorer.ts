/**
 * A {@link Restorer} that runs in a dedicated Web Worker: the page's thread only posts the image
 * and receives progress and the result, so a restore that takes minutes never blocks input,
 * scrolling or painting. The worker is `irsde/worker` (`dist/restore-worker.js`), or any worker
 * that calls {@link serveRestorer}.
 */
import type { FloatImage } from '../image/image.js';
import type { ModelTask, RecommendedSampling } from '../nn/model/model-format.js';
import {
  fromWireError,
  spanning,
  type FromWorker,
  type ToWorker,
  type WireRestoreOptions,
  type WorkerEngineOptions,
  type WorkerLike,
  type WorkerModelSummary,
  type WorkerSdeSummary,
  type WorkerRestoredImage,
  type WorkerRestoreOptions,
} from './worker-protocol.js';

/** Options of {@link loadWorkerRestorer}. */
export interface LoadWorkerRestorerOptions extends WorkerEngineOptions {
  /**
   * The worker: a `Worker` (or anything {@link WorkerLike}), or a function making one. Default:
   * `new Worker(new URL('./restore-worker.js', import.meta.url), { type: 'module' })`, the
   * `irsde/worker` entry beside irsde's own file (see the README for bundlers).
   */
  readonly worker?: WorkerLike | (() => WorkerLike);
  /**
   * With model bytes: hand their buffer over to the worker instead of copying it (the caller's
   * array is detached afterwards). Default false.
   */
  readonly transferModel?: boolean;
  /** Where the worker's notes go (e.g. the page is not cross-origin isolated: one thread). Default `console.warn`. */
  readonly onNote?: (message: string) => void;
}

/** The default worker: irsde's own worker entry, found the way esbuild, Vite and webpack 5 understand. */
function defaultWorker(): WorkerLike {
  if (typeof Worker !== 'function') throw new Error('loadWorkerRestorer: this environment has no Web Worker; pass options.worker');
  return new Worker(new URL('./restore-worker.js', import.meta.url), { type: 'module' }) as unknown as WorkerLike;
}

/** A relative URL resolved against the page (the worker's own base differs). */
function absolute(url: string): string {
  const base = (globalThis as { document?: { baseURI?: string }; location?: { href?: string } }).document?.baseURI ?? (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return base === undefined ? url : new URL(url, base).href;
  } catch {
    return url;
  }
}

/** A call waiting for the worker's answer. */
interface Pending {
  readonly resolve: (r: WorkerRestoredImage) => void;
  readonly reject: (e: unknown) => void;
  readonly options: WorkerRestoreOptions;
}

/**
 * A model loaded in a Web Worker, restoring images there ({@link loadWorkerRestorer} makes one).
 * The same restoring API as {@link Restorer}: `restore(image, options)` gives the same
 * `RestoredImage`, with `onProgress` and `signal`; the model is sent to the worker once. Calls run
 * one at a time, in order. `dispose()` terminates the worker.
 */
export class WorkerRestorer {
  /** What runs the network in the worker, e.g. `'ort-web-wasm (2 threads)'`. */
  readonly engine: string;
  /** The model's recommended sampling (from its file), if any. */
  readonly sampling: RecommendedSampling | undefined;
  /** What the model restores (from its file), if it says. */
  readonly task: ModelTask | undefined;
  /** The model's SDE family (`'denoising'` models take a `noiseLevel`), timesteps and noise scale. */
  readonly sde: WorkerSdeSummary;
  /** The network's default tile side, pixels. */
  readonly tile: number;
  readonly #worker: WorkerLike;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #disposed = false;

  private constructor(worker: WorkerLike, summary: WorkerModelSummary, onNote: (message: string) => void) {
    this.#worker = worker;
    this.engine = summary.engine;
    this.sampling = summary.sampling;
    this.task = summary.task;
    this.sde = summary.sde;
    this.tile = summary.tile;
    worker.addEventListener('message', (event) => this.#receive(event.data as FromWorker, onNote));
    worker.addEventListener('error', (event) => this.#fail(new Error(`WorkerRestorer: the worker failed: ${event.message ?? 'unknown error'}`)));
  }

  /** Loads a model in `worker` (see {@link loadWorkerRestorer}). */
  static async load(source: Uint8Array | ArrayBuffer | string | URL, options: LoadWorkerRestorerOptions = {}): Promise<WorkerRestorer> {
    const worker = typeof options.worker === 'function' ? options.worker() : options.worker ?? defaultWorker();
    const onNote = options.onNote ?? ((m: string) => console.warn(m));
    let model: ArrayBuffer | string;
    const transfer: ArrayBuffer[] = [];
    if (typeof source === 'string' || source instanceof URL) model = absolute(String(source));
    else {
      const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
      const own = options.transferModel ? spanning(bytes) : bytes.slice();
      model = own.buffer as ArrayBuffer;
      transfer.push(model);
    }
    const engine: WorkerEngineOptions = {
      ...(options.engine !== undefined ? { engine: options.engine } : {}),
      wasmPaths: typeof options.wasmPaths === 'object' ? { ...(options.wasmPaths.wasm ? { wasm: absolute(String(options.wasmPaths.wasm)) } : {}), ...(options.wasmPaths.mjs ? { mjs: absolute(String(options.wasmPaths.mjs)) } : {}) } : absolute(options.wasmPaths ?? './'),
      tfjsWasmPaths: absolute(options.tfjsWasmPaths ?? './'),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.conv3x3 !== undefined ? { conv3x3: options.conv3x3 } : {}),
    };
    let summary: WorkerModelSummary;
    let loading = true; // this listener's part ends with the load (the restorer's own listener takes over)
    try {
      summary = await new Promise<WorkerModelSummary>((resolve, reject) => {
        worker.addEventListener('message', (event) => {
          const m = event.data as FromWorker;
          if (!loading) return;
          if (m.type === 'loaded') resolve(m.summary);
          else if (m.type === 'load-error') reject(fromWireError(m.error));
          else if (m.type === 'note') onNote(m.message);
        });
        worker.addEventListener('error', (event) => loading && reject(new Error(`WorkerRestorer: the worker failed to start: ${event.message ?? 'unknown error'} (is restore-worker.js served beside the page's script? see the README)`)));
        worker.start?.();
        worker.postMessage({ type: 'load', model, engine } satisfies ToWorker, transfer);
      });
    } catch (e) {
      worker.terminate();
      throw e;
    } finally {
      loading = false;
    }
    return new WorkerRestorer(worker, summary, onNote);
  }

  /**
   * Restores one image in the worker.
   * @param image - the degraded image (grey or RGB); copied to the worker unless `options.transfer`.
   * @param options - as `Restorer.restore` (sampler by name; `onTile` gets each finished tile's
   *   preview, its pixels transferred from the worker), plus `transfer`, `png`, `onEvaluation`.
   * @returns the restored image and what was used (its buffers now belong to the page).
   * @throws (rejects with) the worker's error, with its original name and message; the signal's
   *   reason when `signal` aborts it (the worker stops before its next network evaluation); an
   *   Error when the restorer is disposed first.
   */
  restore(image: FloatImage, options: WorkerRestoreOptions = {}): Promise<WorkerRestoredImage> {
    if (this.#disposed) return Promise.reject(new Error('WorkerRestorer.restore: the restorer was disposed'));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason ?? Object.assign(new Error('WorkerRestorer.restore: aborted'), { name: 'AbortError' }));
    const id = this.#next++;
    const { onProgress: _p, onEvaluation: _e, onTile, signal: _s, transfer, ...wire } = options;
    const data = transfer ? spanning(image.data) : image.data.slice();
    const mask = wire.mask ? { ...wire.mask, data: wire.mask.data.slice() } : undefined;
    const sent: WireRestoreOptions = { ...wire, ...(mask ? { mask } : {}), ...(onTile ? { tiles: true } : {}) };
    return new Promise<WorkerRestoredImage>((resolve, reject) => {
      const onAbort = (): void => this.#worker.postMessage({ type: 'cancel', id } satisfies ToWorker, []);
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(id);
      };
      this.#pending.set(id, {
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
        options,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      const buffers = [data.buffer as ArrayBuffer, ...(mask ? [mask.data.buffer as ArrayBuffer] : [])];
      this.#worker.postMessage({ type: 'restore', id, image: { data, height: image.height, width: image.width, channels: image.channels }, options: sent } satisfies ToWorker, buffers);
    });
  }

  #receive(m: FromWorker, onNote: (message: string) => void): void {
    if (m.type === 'note') return onNote(m.message);
    if (m.type === 'loaded' || m.type === 'load-error') return;
    const call = this.#pending.get(m.id);
    if (call === undefined) return;
    if (m.type === 'progress') call.options.onProgress?.(m.done, m.total);
    else if (m.type === 'evaluation') call.options.onEvaluation?.(m.done, m.tiles, m.ms);
    else if (m.type === 'tile') {
      try {
        call.options.onTile?.(m.tile);
      } catch (e) {
        // As in Restorer.restore: the callback's error ends the restore (the worker is told to stop).
        this.#worker.postMessage({ type: 'cancel', id: m.id } satisfies ToWorker, []);
        call.reject(e);
      }
    }
    else if (m.type === 'result') call.resolve(m.result);
    else if (m.type === 'error') {
      const signal = call.options.signal;
      // A cancelled call rejects with its signal's own reason, as Restorer.restore does.
      if (m.error.name === 'AbortError' && signal?.aborted) call.reject(signal.reason ?? fromWireError(m.error));
      else call.reject(fromWireError(m.error));
    }
  }

  #fail(error: Error): void {
    for (const call of [...this.#pending.values()]) call.reject(error);
  }

  /** Terminates the worker (freeing the model and the engine); pending calls reject. Idempotent. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#worker.terminate();
    this.#fail(new Error('WorkerRestorer: disposed before the restore finished'));
  }
}

/**
 * Loads a model file into a {@link WorkerRestorer}: a Web Worker that restores images off the
 * page's thread. The model is sent once: its bytes (copied, or moved with `transferModel`), or
 * its URL, which the worker fetches itself.
 * @param source - the model file's bytes, or where it is served (resolved against the page).
 * @param options - the worker (default: irsde's `restore-worker.js`), the engine settings
 *   (`browserEngine`'s: `engine`, `wasmPaths`, `threads`, ...), `onNote`.
 * @returns the restorer, once the worker has loaded the model; call `dispose()` when done.
 * @throws (rejects with) the worker's loading error with its original message (the worker is then terminated).
 */
export function loadWorkerRestorer(source: Uint8Array | ArrayBuffer | string | URL, options: LoadWorkerRestorerOptions = {}): Promise<WorkerRestorer> {
  return WorkerRestorer.load(source, options);
}
