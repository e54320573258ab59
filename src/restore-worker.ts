/**
 * irsde's restoration worker (`irsde/worker`, built as `dist/restore-worker.js`): the script a
 * `WorkerRestorer` starts by default, `new Worker(new URL('./restore-worker.js', import.meta.url),
 * { type: 'module' })`. It registers tfjs's cpu backend (ONNX Runtime engines carry their small
 * tensors on it; it is also the last fallback) and serves restorations on the worker's port. For
 * other tfjs backends in the worker, write your own three-line worker: import them, then
 * `serveRestorer(self)`.
 * @packageDocumentation
 */
import '@tensorflow/tfjs-backend-cpu';
import { serveRestorer } from './web/worker-host.js';
import type { RestorerPort } from './web/worker-protocol.js';

serveRestorer(globalThis as unknown as RestorerPort);
