/**
 * A diffusion time index: an integer in `1..T` for the whole batch, or one integer per batch
 * element (axis 0), as training needs.
 */
export type Timestep = number | ArrayLike<number>;

/** True when `t` is a per-item timestep array rather than one number. */
export function isBatched(t: Timestep): t is ArrayLike<number> {
  return typeof t !== 'number';
}

function describe(v: unknown): string {
  return typeof v === 'number' ? String(v) : JSON.stringify(v);
}

/**
 * Validates `t` (integers in `lo..hi`) and, if batched, its length against `batch`.
 * @returns the timesteps as a plain number array (length 1 for a scalar `t`).
 */
export function checkTimesteps(
  t: Timestep,
  lo: number,
  hi: number,
  where: string,
  name: string,
  batch?: number,
): number[] {
  if (typeof t === 'number') {
    if (!Number.isInteger(t) || t < lo || t > hi) {
      throw new RangeError(`${where}: ${name} must be an integer in ${lo}..${hi}, got ${describe(t)}`);
    }
    return [t];
  }
  if (t === null || typeof t !== 'object' || typeof t.length !== 'number') {
    throw new TypeError(`${where}: ${name} must be an integer or an array of integers (one per batch element), got ${describe(t)}`);
  }
  if (batch !== undefined && t.length !== batch) {
    throw new RangeError(`${where}: batched ${name} has ${t.length} entries but the batch axis has size ${batch}`);
  }
  if (t.length === 0) throw new RangeError(`${where}: batched ${name} is empty`);
  const res = Array.from(t);
  res.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(`${where}: ${name}[${i}] must be an integer in ${lo}..${hi}, got ${describe(v)}`);
    }
  });
  return res;
}
