/**
 * Messages between the {@link WorkerGradientPool} and its gradient workers, and the flat weight
 * layout they share. Plain data only (structured-clone safe).
 */
import type { Objective } from '../../loss/objective.js';
import type { AnySDEConfig } from '../../sde/factory.js';
import type { NetworkConfig } from '../../nn/nets/network.js';

/** Where each variable lives in the flat float32 weight and gradient buffers. */
export interface FlatLayout {
  /** Variable names, in the model's order. */
  readonly names: readonly string[];
  /** Shape of each variable (tfjs layout). */
  readonly shapes: readonly (readonly number[])[];
  /** First element of each variable in the flat buffer. */
  readonly offsets: readonly number[];
  /** Total number of float32 elements. */
  readonly total: number;
}

/** Builds the {@link FlatLayout} of variables given by name and shape. */
export function flatLayout(entries: Iterable<[string, readonly number[]]>): FlatLayout {
  const names: string[] = [];
  const shapes: number[][] = [];
  const offsets: number[] = [];
  let total = 0;
  for (const [name, shape] of entries) {
    names.push(name);
    shapes.push(shape.slice());
    offsets.push(total);
    total += shape.reduce((a, b) => a * b, 1);
  }
  return { names, shapes, offsets, total };
}

/** Main -> worker: build the network and the SDE, attach the shared buffers. */
export interface InitMessage {
  readonly type: 'init';
  readonly network: NetworkConfig;
  readonly sde: AnySDEConfig;
  /** tfjs backend request for the worker ('wasm', 'cpu', 'auto'). */
  readonly backend: string;
  /** Largest chunk of a shard to differentiate at once (0: the whole shard). */
  readonly microBatch: number;
  readonly layout: FlatLayout;
  /** Current weights (written by the main thread before every step). */
  readonly weights: SharedArrayBuffer;
  /** This worker's gradient output. */
  readonly grads: SharedArrayBuffer;
}

/** Main -> worker: one shard of a batch; the weights to use are in the shared buffer. */
export interface StepMessage {
  readonly type: 'step';
  /** `[n, H, W, C]` of the shard. */
  readonly shape: readonly number[];
  readonly gt: Float32Array;
  readonly lq: Float32Array;
  readonly noise: Float32Array;
  /** The shard's extra condition channels (e.g. the inpainting mask) and their `[n, H, W, k]`, when the batch has them. */
  readonly extraCond?: { readonly data: Float32Array; readonly shape: readonly number[] };
  readonly t: readonly number[];
  readonly objective: Objective;
  readonly norm: 'l1' | 'l2';
  /** The task's `maskLossWeight`, when it has one. */
  readonly maskLossWeight?: number;
}

/** Worker -> main replies. */
export type WorkerReply =
  | { readonly type: 'ready'; readonly backend: string }
  | { readonly type: 'done'; readonly loss: number; readonly ms: number }
  | { readonly type: 'error'; readonly message: string; readonly stack?: string };
