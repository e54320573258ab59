/** What a network's description provides (built-in or registered with `registerNetwork`). */
import type { ParamSpec } from '../arch/module.js';
import type { Ops } from '../arch/ops.js';

/** The module tree of a network: its parameters (PyTorch order) and its forward pass over any {@link Ops}. */
export interface NetworkModules {
  /** The padding multiple of the input's height and width. */
  readonly multiple: number;
  /**
   * The downsampling factor of the positions a full (quadratic) attention layer attends over, or
   * `null` when the network has none (see `fullAttentionScale`).
   */
  readonly fullAttentionScale: number | null;
  /** Every parameter in `state_dict` order. */
  paramSpecs(): ParamSpec[];
  /** The forward pass: `x_t` (and `cond` for conditional networks, else `null`) to the output, images `[B, C, H, W]`. */
  forward<V>(ops: Ops<V>, xt: V, cond: V | null): V;
}
