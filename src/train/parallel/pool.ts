/**
 * Data-parallel gradients over Node worker threads (Node only). tfjs-backend-wasm runs one thread
 * in Node, so a second core is only reachable through a second JavaScript thread with its own
 * backend.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { checkNetworkConfig, type NetworkConfig } from '../../nn/nets/network.js';
import { sdeConfigOf } from '../../sde/factory.js';
import type { GradientComputer, GradientResult, GradientTask } from '../gradients.js';
import { flatLayout, type FlatLayout, type InitMessage, type StepMessage, type WorkerReply } from './protocol.js';

export { runGradientWorker } from './worker.js';

/** Options of {@link WorkerGradientPool}. */
export interface WorkerGradientPoolOptions {
  /** Number of worker threads (default: the number of cores, at least 1). */
  readonly workers?: number;
  /** tfjs backend each worker uses: 'auto' (default: wasm with our training kernels), 'wasm' or 'cpu'. */
  readonly backend?: string;
  /**
   * Largest number of items a worker differentiates at once (default: its whole shard); smaller
   * chunks need less memory (wasm's heap is 4 GiB per worker) and give the same gradient up to
   * rounding (see `microBatchGradients`).
   */
  readonly microBatch?: number;
  /**
   * The module the workers load, which must export `runGradientWorker` (default: found next to
   * this module in the built package, or the TypeScript source through tsx's loader).
   */
  readonly workerModule?: string | URL;
}

// Eval'd (CommonJS) bootstrap: loads the worker module, through tsx when it is TypeScript source
// (vitest and tsx run the sources, but a worker thread starts as plain Node).
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  const { moduleUrl, tsxApi } = workerData;
  const mod = tsxApi ? await (await import(tsxApi)).tsImport(moduleUrl, moduleUrl) : await import(moduleUrl);
  const run = mod.runGradientWorker || (mod.default && mod.default.runGradientWorker);
  if (typeof run !== 'function') throw new Error('irsde gradient worker: ' + moduleUrl + ' does not export runGradientWorker');
  await run();
})().catch((e) => setImmediate(() => { throw e; }));
`;

function here(): string {
  // In the CommonJS build import.meta is empty; __filename stands in.
  const url = (import.meta as { url?: string }).url;
  if (url) return url;
  return pathToFileURL(typeof __filename === 'string' ? __filename : process.argv[1]).href;
}

/** The worker module's URL and, for TypeScript sources, tsx's `esm/api` to load it with. */
function workerEntry(explicit?: string | URL): { moduleUrl: string; tsxApi?: string } {
  const self = here();
  const isTs = (u: string) => /\.[cm]?ts$/.test(new URL(u).pathname);
  let moduleUrl: string | undefined;
  if (explicit !== undefined) moduleUrl = explicit instanceof URL ? explicit.href : /^[a-z]+:/i.test(explicit) ? explicit : pathToFileURL(explicit).href;
  else if (isTs(self)) moduleUrl = new URL('./worker.ts', self).href;
  else {
    for (const name of ['./gradient-worker.js', './node.js']) {
      const u = new URL(name, self);
      if (existsSync(fileURLToPath(u))) {
        moduleUrl = u.href;
        break;
      }
    }
    moduleUrl ??= self;
  }
  if (!isTs(moduleUrl)) return { moduleUrl };
  let tsxApi: string;
  try {
    // The package's ESM build (its CommonJS build of this API cannot load the ESM half it needs).
    const cjs = createRequire(self).resolve('tsx/esm/api');
    tsxApi = new URL('./index.mjs', pathToFileURL(cjs)).href;
  } catch {
    throw new Error(`WorkerGradientPool: the worker module ${moduleUrl} is TypeScript and needs the 'tsx' package to load; ` +
      `install tsx or run the built package`);
  }
  return { moduleUrl, tsxApi };
}

interface Slot {
  readonly worker: Worker;
  readonly grads: Float32Array;
  pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | null;
  failure: Error | null;
}

interface Started {
  readonly key: string;
  readonly layout: FlatLayout;
  readonly weights: Float32Array;
  readonly slots: Slot[];
}

/** `n` items over `k` shards as evenly as possible (the first `n % k` get one more). */
function shardSizes(n: number, k: number): number[] {
  return Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));
}

/**
 * A {@link GradientComputer} that splits each batch over worker threads (Node only): each worker
 * holds its own copy of the network on its own tfjs backend (wasm by default), receives the
 * current weights through a shared buffer and its shard of the batch (images, timesteps and noise,
 * all drawn by the trainer as for one thread), and returns the gradient of its shard's loss; the
 * results are averaged, weighted by shard size, which equals the full-batch gradient up to float
 * rounding (the loss is a mean of per-item means). The trainer then clips, applies Adam and the
 * EMA in the main thread, so checkpoints and resuming work as without workers.
 *
 * The model must be a `UNet` (workers rebuild it from its `config`). Workers start on
 * the first step (seconds) and restart if the network, SDE or backend changes.
 *
 * Memory: each worker holds a copy of the weights and its gradients; the returned gradient
 * tensors are owned by the caller. Call {@link WorkerGradientPool.dispose} when done (idle workers
 * do not keep the process alive).
 *
 * @example
 * const pool = new WorkerGradientPool({ workers: 2 });
 * const trainer = new Trainer({ sde, model: net, data, config, gradients: pool });
 * await trainer.fit({ steps: 1000 });
 * await pool.dispose();
 */
export class WorkerGradientPool implements GradientComputer {
  /** Number of worker threads. */
  readonly size: number;
  /** Backend request of the workers. */
  readonly backend: string;
  /** Chunk size of each worker's shard (0: whole shard). */
  readonly microBatch: number;
  readonly #entry: { moduleUrl: string; tsxApi?: string };
  #started: Started | null = null;
  #starting: Promise<Started> | null = null;
  #closed = false;
  /** Per-worker time (ms) of the last step's shards: for load-balance diagnostics. */
  lastShardMs: number[] = [];

  /** @throws RangeError for a bad worker count; Error when the worker module cannot be located. */
  constructor(options: WorkerGradientPoolOptions = {}) {
    const n = options.workers ?? Math.max(1, availableParallelism());
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError(`WorkerGradientPool: workers must be an integer in 1..256, got ${String(options.workers)}`);
    this.size = n;
    this.backend = options.backend ?? 'auto';
    const mb = options.microBatch ?? 0;
    if (!Number.isInteger(mb) || mb < 0) throw new RangeError(`WorkerGradientPool: microBatch must be an integer >= 1, got ${String(options.microBatch)}`);
    this.microBatch = mb;
    this.#entry = workerEntry(options.workerModule);
  }

  /** Loss and full-batch gradients, computed by the workers on shards of the batch. */
  async compute(task: GradientTask): Promise<GradientResult> {
    if (this.#closed) throw new Error('WorkerGradientPool.compute: the pool was closed');
    const pool = await this.#ensure(task);
    const { layout, weights } = pool;
    // Current weights, read by every worker before its shard.
    layout.names.forEach((name, i) => weights.set(task.model.variables.get(name)!.dataSync() as Float32Array, layout.offsets[i]));
    const shape = task.batch.gt.shape;
    const B = shape[0];
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    if (task.t.length !== B) throw new RangeError(`WorkerGradientPool.compute: ${task.t.length} timesteps for a batch of ${B}`);
    const gt = task.batch.gt.dataSync() as Float32Array;
    const lq = task.batch.lq.dataSync() as Float32Array;
    const noise = task.noise.dataSync() as Float32Array;
    const extra = task.batch.extraCond;
    const extraData = extra === undefined ? null : (extra.dataSync() as Float32Array);
    const extraPer = extra === undefined ? 0 : extra.shape.slice(1).reduce((a, b) => a * b, 1);
    const sizes = shardSizes(B, pool.slots.length);
    let start = 0;
    const jobs: Promise<{ loss: number; weight: number; slot: Slot; ms: number }>[] = [];
    sizes.forEach((n, k) => {
      if (n === 0) return;
      const a = start * per;
      const b = (start + n) * per;
      const msg: StepMessage = {
        type: 'step', shape: [n, ...shape.slice(1)],
        gt: gt.slice(a, b), lq: lq.slice(a, b), noise: noise.slice(a, b),
        ...(extra !== undefined && extraData !== null ? { extraCond: { data: extraData.slice(start * extraPer, (start + n) * extraPer), shape: [n, ...extra.shape.slice(1)] } } : {}),
        t: task.t.slice(start, start + n), objective: task.objective, norm: task.norm,
        ...(task.maskLossWeight !== undefined ? { maskLossWeight: task.maskLossWeight } : {}),
      };
      const slot = pool.slots[k];
      const moved = [msg.gt.buffer as ArrayBuffer, msg.lq.buffer as ArrayBuffer, msg.noise.buffer as ArrayBuffer, ...(msg.extraCond ? [msg.extraCond.data.buffer as ArrayBuffer] : [])];
      jobs.push(this.#send(slot, msg, moved).then((r) => {
        if (r.type !== 'done') throw new Error(`WorkerGradientPool: unexpected reply '${r.type}'`);
        return { loss: r.loss, weight: n / B, slot, ms: r.ms };
      }));
      start += n;
    });
    const parts = await Promise.all(jobs);
    this.lastShardMs = parts.map((p) => p.ms);
    let loss = 0;
    for (const p of parts) loss += p.weight * p.loss;
    // Host arrays: the trainer's optimiser reads them where they are (see `Gradient`).
    const grads: Record<string, Float32Array> = {};
    layout.names.forEach((name, i) => {
      const off = layout.offsets[i];
      const n = layout.shapes[i].reduce((x, y) => x * y, 1);
      let out: Float32Array;
      if (parts.length === 1) out = parts[0].slot.grads.slice(off, off + n);
      else {
        const acc = new Float64Array(n);
        for (const p of parts) {
          const g = p.slot.grads;
          for (let j = 0; j < n; j++) acc[j] += p.weight * g[off + j];
        }
        out = Float32Array.from(acc);
      }
      grads[name] = out;
    });
    return { loss, grads };
  }

  /** Stops the workers (idempotent); the pool cannot be used afterwards. */
  async dispose(): Promise<void> {
    this.#closed = true;
    const started = this.#started ?? (this.#starting ? await this.#starting.catch(() => null) : null);
    this.#started = null;
    this.#starting = null;
    if (started) await Promise.all(started.slots.map((s) => s.worker.terminate()));
  }

  async #ensure(task: GradientTask): Promise<Started> {
    const model = task.model as unknown as { config?: NetworkConfig };
    if (model.config === undefined || typeof model.config !== 'object') {
      throw new TypeError('WorkerGradientPool: the model must be a UNet or NAFNet (workers rebuild it from its `config`)');
    }
    const network = checkNetworkConfig(model.config, 'WorkerGradientPool');
    if (network.arch === 'custom') {
      throw new TypeError(`WorkerGradientPool: custom networks ('${network.name}') are not supported (its workers cannot register your network definition); use the in-process gradients or createOrtGradients`);
    }
    const layout = flatLayout([...task.model.variables].map(([n, v]) => [n, v.shape]));
    const key = JSON.stringify({ network, sde: sdeConfigOf(task.sde), names: layout.names, shapes: layout.shapes });
    if (this.#starting) await this.#starting.catch(() => undefined);
    if (this.#started?.key === key) return this.#started;
    if (this.#started) {
      await Promise.all(this.#started.slots.map((s) => s.worker.terminate()));
      this.#started = null;
    }
    this.#starting = this.#start(key, network, task, layout);
    try {
      this.#started = await this.#starting;
    } finally {
      this.#starting = null;
    }
    return this.#started;
  }

  async #start(key: string, network: NetworkConfig, task: GradientTask, layout: FlatLayout): Promise<Started> {
    const weightsBuf = new SharedArrayBuffer(4 * layout.total);
    const slots: Slot[] = [];
    const ready: Promise<WorkerReply>[] = [];
    for (let k = 0; k < this.size; k++) {
      const gradsBuf = new SharedArrayBuffer(4 * layout.total);
      const worker = new Worker(BOOTSTRAP, { eval: true, workerData: this.#entry });
      const slot: Slot = { worker, grads: new Float32Array(gradsBuf), pending: null, failure: null };
      const fail = (e: Error) => {
        slot.failure = e;
        slot.pending?.reject(e);
        slot.pending = null;
      };
      worker.on('message', (r: WorkerReply) => {
        const p = slot.pending;
        slot.pending = null;
        worker.unref();
        if (!p) return;
        if (r.type === 'error') p.reject(new Error(`WorkerGradientPool: worker ${k} failed: ${r.message}`));
        else p.resolve(r);
      });
      worker.on('error', (e) => fail(new Error(`WorkerGradientPool: worker ${k} crashed: ${e instanceof Error ? e.message : String(e)}`)));
      worker.on('exit', (code) => fail(new Error(`WorkerGradientPool: worker ${k} exited (code ${code})`)));
      slots.push(slot);
      const init: InitMessage = { type: 'init', network, sde: sdeConfigOf(task.sde), backend: this.backend, microBatch: this.microBatch, layout, weights: weightsBuf, grads: gradsBuf };
      ready.push(this.#send(slot, init));
    }
    const started: Started = { key, layout, weights: new Float32Array(weightsBuf), slots };
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw e;
    }
    return started;
  }

  #send(slot: Slot, msg: InitMessage | StepMessage, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (slot.failure) return Promise.reject(slot.failure);
    if (slot.pending) return Promise.reject(new Error('WorkerGradientPool: a worker got a second request before answering the first'));
    return new Promise<WorkerReply>((resolve, reject) => {
      slot.pending = { resolve, reject };
      slot.worker.ref();
      slot.worker.postMessage(msg, transfer);
    });
  }
}
