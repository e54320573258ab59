// Node-only: data-parallel training gradients over worker threads (exported from irsde/node).
export { WorkerGradientPool, runGradientWorker, type WorkerGradientPoolOptions } from './pool.js';
