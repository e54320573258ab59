import type { DiffusionSDE } from '../sde/diffusion-sde.js';

/** The SDE tables the jump formulas need, indexed `0..T` (float64). */
export interface SdeTables {
  /** `Theta_i dt` (the "time" u in which the jumps are Euler steps). */
  readonly u: Float64Array;
  /** `sigmaBar_i`, with `sigmaBar_0 = 0`. */
  readonly sigmaBar: Float64Array;
}

// The SDE getters copy their arrays; the samplers read them every step, so keep one copy per SDE.
const cache = new WeakMap<object, SdeTables>();

/** Cached float64 tables of an (immutable) SDE. @internal */
export function sdeTables(sde: DiffusionSDE<unknown>): SdeTables {
  let tab = cache.get(sde);
  if (!tab) {
    const dt = sde.dt;
    tab = { u: sde.thetasCumsum.map((c) => c * dt), sigmaBar: sde.sigmaBars };
    cache.set(sde, tab);
  }
  return tab;
}
