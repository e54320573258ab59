/**
 * How {@link timesteps} spreads `K` time indices over `1..T`:
 * - `'linspace'`: `round(T - k (T - 1) / (K - 1))` for `k = 0..K-1`: always starts at `T` and
 *   ends at `1` (`K = 1` gives `[T]`). The default.
 * - `'leading'`: stride `d = floor(T / K)`, `t_k = 1 + (K - 1 - k) d`: ends at `1` and starts at
 *   `1 + (K - 1) d`, usually below `T` (T = 100, K = 10: 91, 81, ..., 1). {@link restore} then
 *   uses the prior drawn at `T` as the state at the first listed `t` (an approximation, as in
 *   diffusers).
 * - `'trailing'`: `round(T - k T / K)` for `k = 0..K-1`: starts at `T` and ends at
 *   `round(T / K)`, leaving the largest jump for the last step (`t_{K-1} -> 0`).
 * In every case the samplers take one more jump, from the last listed `t` to `s = 0`.
 */
export type Spacing = 'linspace' | 'leading' | 'trailing';

const SPACINGS: readonly Spacing[] = ['linspace', 'leading', 'trailing'];

/**
 * A strictly decreasing list of `K` integer time indices within `1..T` (see {@link Spacing}).
 * @param T - number of diffusion steps of the SDE (integer >= 1).
 * @param K - number of sampler steps (network calls for single-call samplers), integer in `1..T`.
 * @param spacing - default `'linspace'`.
 * @returns a new plain array, largest first.
 */
export function timesteps(T: number, K: number, spacing: Spacing = 'linspace'): number[] {
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`timesteps: T must be an integer >= 1, got ${String(T)}`);
  if (!Number.isInteger(K) || K < 1 || K > T) {
    throw new RangeError(`timesteps: K (the number of steps) must be an integer in 1..${T}, got ${String(K)}`);
  }
  const ks = Array.from({ length: K }, (_, k) => k);
  switch (spacing) {
    case 'linspace':
      return K === 1 ? [T] : ks.map((k) => Math.round(T - (k * (T - 1)) / (K - 1)));
    case 'leading': {
      const d = Math.floor(T / K);
      return ks.map((k) => 1 + (K - 1 - k) * d);
    }
    case 'trailing':
      return ks.map((k) => Math.round(T - (k * T) / K));
    default:
      throw new RangeError(`timesteps: unknown spacing ${JSON.stringify(spacing)}; expected one of ${SPACINGS.map((s) => `'${s}'`).join(', ')}`);
  }
}

/**
 * Validates a user step list: a non-empty array of strictly decreasing integers within `1..T`.
 * @param where - prefix for error messages.
 * @returns a plain-array copy.
 */
export function checkSteps(steps: ArrayLike<number>, T: number, where = 'checkSteps'): number[] {
  if (steps === null || typeof steps !== 'object' || typeof steps.length !== 'number') {
    throw new TypeError(`${where}: steps must be an array of time indices (strictly decreasing integers in 1..${T}), got ${String(steps)}`);
  }
  if (steps.length === 0) throw new RangeError(`${where}: steps is empty; expected at least one time index in 1..${T}`);
  const res = Array.from(steps);
  res.forEach((t, i) => {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > T) {
      throw new RangeError(`${where}: steps[${i}] must be an integer in 1..${T}, got ${String(t)}`);
    }
    if (i > 0 && t >= res[i - 1]) {
      throw new RangeError(`${where}: steps must be strictly decreasing, but steps[${i}] = ${t} follows steps[${i - 1}] = ${res[i - 1]}`);
    }
  });
  return res;
}
