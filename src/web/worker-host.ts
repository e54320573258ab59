/**
 * The worker side of {@link WorkerRestorer}: a handler that loads the model once, runs each
 * restore through the one pipeline (`Restorer`) and answers over a port with progress, the result
 * (its buffers transferred) or the error. It takes any {@link RestorerPort}, so it runs in a Web
 * Worker (`serveRestorer(self)`) and, in tests, on one end of a `MessageChannel`.
 */
import { throwIfAborted } from '../sampling/abort.js';
import { defaultTileOverlap, tileStarts } from '../sampling/tiled.js';
import { defaultTile } from '../nn/nets/network.js';
import { encodeImage } from '../image/codec.js';
import { loadRestorer, type EngineFactory, type RestoredTile, type Restorer } from '../pipeline/restorer.js';
import { browserEngine } from './restorer-engine.js';
import { spanning, toWireError, type FromWorker, type RestorerPort, type ToWorker, type WorkerModelSummary, type WorkerRestoredImage } from './worker-protocol.js';

/** Options of {@link serveRestorer}. */
export interface ServeRestorerOptions {
  /**
   * The engine that runs the network. Default: `browserEngine` with the settings the page sent
   * (`WorkerEngineOptions`); pass `tfjsEngine` (or your own) to run elsewhere, e.g. in tests.
   */
  readonly engine?: EngineFactory;
}

/** The restore in progress: its signal (checked before every network evaluation) and its evaluation counter. */
interface Running {
  readonly signal: AbortSignal;
  readonly evaluated: (ms: number) => void;
}

/** Lets queued messages (a cancel) be handled: a macrotask, not a microtask. */
const yieldToMessages = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/**
 * Serves restorations on `port` (in a worker: `serveRestorer(self)`) for a {@link WorkerRestorer}
 * on the other side. The first message loads the model (its bytes, or a URL fetched here) once;
 * restores then run one at a time, in order. A cancel aborts its restore before the next network
 * evaluation (between tiles and between sampling steps). Errors go back with their name and
 * message. Everything is freed when the worker is terminated.
 * @param port - the worker's global scope, or a `MessagePort`.
 * @param options - the engine (default: `browserEngine` with the page's settings).
 */
export function serveRestorer(port: RestorerPort, options: ServeRestorerOptions = {}): void {
  const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  const jobs = new Map<number, AbortController>();
  let restorer: Promise<Restorer> | undefined;
  let queue: Promise<void> = Promise.resolve();
  let running: Running | null = null;

  // The pipeline's engine, with a cancellation point and a progress report around each network evaluation.
  const guarded = (base: EngineFactory): EngineFactory => async (network) => {
    const inner = await base(network);
    return {
      name: inner.name,
      predict: async (xt, cond, t) => {
        const job = running;
        if (job !== null) {
          await yieldToMessages();
          throwIfAborted(job.signal, 'WorkerRestorer.restore');
        }
        const started = performance.now();
        const out = await inner.predict(xt, cond, t);
        job?.evaluated(performance.now() - started);
        return out;
      },
      dispose: () => inner.dispose(),
    };
  };

  const load = async (msg: Extract<ToWorker, { type: 'load' }>): Promise<Restorer> => {
    let bytes: Uint8Array;
    if (typeof msg.model === 'string') {
      const res = await fetch(msg.model);
      if (!res.ok) throw new Error(`WorkerRestorer: ${msg.model} answered ${res.status} ${res.statusText}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } else bytes = new Uint8Array(msg.model);
    const engine = options.engine ?? browserEngine({ ...msg.engine, onNote: (message) => post({ type: 'note', message }) });
    const r = await loadRestorer(bytes, { engine: guarded(engine) });
    const summary: WorkerModelSummary = {
      engine: r.engine,
      sampling: r.sampling,
      task: r.task,
      sde: { kind: r.sde.kind, T: r.sde.T, maxSigma: r.sde.maxSigma },
      tile: defaultTile(r.network.config),
    };
    post({ type: 'loaded', summary });
    return r;
  };

  const run = async (msg: Extract<ToWorker, { type: 'restore' }>, controller: AbortController): Promise<void> => {
    const { id, image } = msg;
    const { png, tiles: wantTiles, ...restoreOptions } = msg.options;
    try {
      throwIfAborted(controller.signal, 'WorkerRestorer.restore');
      if (restorer === undefined) throw new Error('WorkerRestorer: no model was loaded');
      const r = await restorer;
      // Tiles per pass over the image, as the pipeline tiles it (tiledNoiseModel's default overlap, defaultTileOverlap).
      const scale = r.task?.scale ?? 1;
      const tile = restoreOptions.tile ?? defaultTile(r.network.config);
      const overlap = restoreOptions.overlap ?? defaultTileOverlap(tile);
      const tiles = tileStarts(image.height * scale, tile, overlap).length * tileStarts(image.width * scale, tile, overlap).length;
      let done = 0;
      running = { signal: controller.signal, evaluated: (ms) => post({ type: 'evaluation', id, done: ++done, tiles, ms }) };
      // Each finished tile goes to the page at once, its pixels moved, not copied.
      const onTile = wantTiles
        ? (tile: RestoredTile): void => {
            const data = spanning(tile.image.data);
            post({ type: 'tile', id, tile: { ...tile, image: { ...tile.image, data } } }, [data.buffer as ArrayBuffer]);
          }
        : undefined;
      const result = await r.restore(image, { ...restoreOptions, signal: controller.signal, onProgress: (d, total) => post({ type: 'progress', id, done: d, total }), ...(onTile ? { onTile } : {}) });
      const file = png ? spanning(encodeImage(result.image, 'png')) : undefined;
      const data = spanning(result.image.data);
      const out: WorkerRestoredImage = { ...result, image: { ...result.image, data }, ...(file ? { png: file } : {}) };
      post({ type: 'result', id, result: out }, file ? [data.buffer as ArrayBuffer, file.buffer as ArrayBuffer] : [data.buffer as ArrayBuffer]);
    } catch (e) {
      post({ type: 'error', id, error: toWireError(e) });
    } finally {
      running = null;
      jobs.delete(id);
    }
  };

  port.addEventListener('message', (event) => {
    const msg = event.data as ToWorker;
    if (msg.type === 'load') {
      restorer = load(msg);
      restorer.catch((e: unknown) => post({ type: 'load-error', error: toWireError(e) }));
    } else if (msg.type === 'restore') {
      const controller = new AbortController();
      jobs.set(msg.id, controller);
      queue = queue.then(() => run(msg, controller));
    } else if (msg.type === 'cancel') {
      jobs.get(msg.id)?.abort();
    }
  });
  port.start?.();
}
