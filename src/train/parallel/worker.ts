/**
 * The worker-thread side of {@link WorkerGradientPool} (Node only): builds its own copy of the
 * network on its own tfjs backend, and for each shard loads the shared weights, computes the
 * training loss and its gradients, and writes them to its shared gradient buffer.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../engine/backend.js';
import { createNetwork, type TfjsNetwork } from '../../nn/tfjs/network.js';
import { createSDE } from '../../sde/factory.js';
import type { DiffusionSDE } from '../../sde/diffusion-sde.js';
import { disposeGradients, gradientValues, inProcessGradients, microBatchGradients, type GradientComputer } from '../gradients.js';
import type { FlatLayout, InitMessage, StepMessage, WorkerReply } from './protocol.js';

interface WorkerState {
  readonly model: TfjsNetwork;
  readonly sde: DiffusionSDE<tf.Tensor>;
  readonly layout: FlatLayout;
  readonly weights: Float32Array;
  readonly grads: Float32Array;
  readonly gradients: GradientComputer;
}

async function init(msg: InitMessage): Promise<{ state: WorkerState; backend: string }> {
  const backend = await selectBackend(msg.backend);
  const model = createNetwork(msg.network, { seed: 0 });
  const { layout } = msg;
  const problems: string[] = [];
  layout.names.forEach((name, i) => {
    const v = model.variables.get(name);
    if (!v) problems.push(`unknown '${name}'`);
    else if (v.shape.join(',') !== layout.shapes[i].join(',')) problems.push(`'${name}' is [${v.shape}] here but [${layout.shapes[i]}] in the main thread`);
  });
  if (layout.names.length !== model.variables.size) problems.push(`${model.variables.size} variables here but ${layout.names.length} in the main thread`);
  if (problems.length) throw new Error(`gradient worker: the network does not match the main thread's: ${problems.join('; ')}`);
  const sde = createSDE<tf.Tensor>(msg.sde);
  return { state: { model, sde, layout, weights: new Float32Array(msg.weights), grads: new Float32Array(msg.grads),
    gradients: msg.microBatch > 0 ? microBatchGradients(msg.microBatch) : inProcessGradients }, backend };
}

async function step(state: WorkerState, msg: StepMessage): Promise<number> {
  const { model, layout, weights } = state;
  layout.names.forEach((name, i) => {
    const n = layout.shapes[i].reduce((a, b) => a * b, 1);
    // A private copy: the cpu backend would keep a view of the shared buffer otherwise.
    const w = tf.tensor(weights.slice(layout.offsets[i], layout.offsets[i] + n), layout.shapes[i] as number[], 'float32');
    (model.variables.get(name) as tf.Variable).assign(w);
    w.dispose();
  });
  const shape = msg.shape as number[];
  const batch = {
    gt: tf.tensor(msg.gt, shape, 'float32'),
    lq: tf.tensor(msg.lq, shape, 'float32'),
    ...(msg.extraCond ? { extraCond: tf.tensor(msg.extraCond.data, msg.extraCond.shape as number[], 'float32') } : {}),
  };
  const noise = tf.tensor(msg.noise, shape, 'float32');
  try {
    const { loss, grads } = await state.gradients.compute({ sde: state.sde, model, batch, t: msg.t, noise, objective: msg.objective, norm: msg.norm, ...(msg.maskLossWeight !== undefined ? { maskLossWeight: msg.maskLossWeight } : {}) });
    layout.names.forEach((name, i) => {
      const g = grads[name];
      const n = layout.shapes[i].reduce((a, b) => a * b, 1);
      if (g === undefined) state.grads.fill(0, layout.offsets[i], layout.offsets[i] + n);
      else state.grads.set(gradientValues(g), layout.offsets[i]);
    });
    disposeGradients(grads);
    return loss;
  } finally {
    tf.dispose([batch.gt, batch.lq, noise, ...(batch.extraCond ? [batch.extraCond] : [])]);
  }
}

/**
 * Runs the gradient worker loop on `worker_threads`' `parentPort` (call it only inside a worker
 * started by {@link WorkerGradientPool}). Handles one message at a time; replies with
 * a `WorkerReply` message. Resolves once the loop is installed.
 * @throws Error when not in a worker thread.
 */
export async function runGradientWorker(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('runGradientWorker: not running in a worker thread (it is started by WorkerGradientPool)');
  let state: WorkerState | null = null;
  let queue: Promise<void> = Promise.resolve();
  const reply = (r: WorkerReply) => port.postMessage(r);
  const handle = async (msg: InitMessage | StepMessage): Promise<void> => {
    try {
      if (msg.type === 'init') {
        state?.model.dispose();
        const r = await init(msg);
        state = r.state;
        reply({ type: 'ready', backend: r.backend });
      } else {
        if (state === null) throw new Error('gradient worker: step before init');
        const t0 = performance.now();
        const loss = await step(state, msg);
        reply({ type: 'done', loss, ms: performance.now() - t0 });
      }
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      reply({ type: 'error', message: err.message, stack: err.stack });
    }
  };
  port.on('message', (msg: InitMessage | StepMessage) => {
    queue = queue.then(() => handle(msg));
  });
}
