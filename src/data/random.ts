import type { Rng } from '../backend/rng.js';

/** A fixed value, or `[min, max]` to draw uniformly from for each image. */
export type Range = number | readonly [number, number];

/** Checks a {@link Range}: finite numbers, `min <= max`, optionally within `[lo, hi]`. */
export function checkRange(r: Range, where: string, lo = -Infinity, hi = Infinity): void {
  const [a, b] = typeof r === 'number' ? [r, r] : r;
  if (!Number.isFinite(a) || !Number.isFinite(b) || a > b || a < lo || b > hi) {
    throw new RangeError(`${where}: expected a number or [min, max] with ${lo} <= min <= max <= ${hi}, got ${JSON.stringify(r)}`);
  }
}

/**
 * Scalar uniforms in [0, 1) drawn from an {@link Rng} a chunk at a time (each chunk is one
 * `rng.uniform` draw), for the many small random choices of masks and augmentations. The
 * sequence is a pure function of the generator's state.
 */
export class Uniforms {
  readonly #rng: Rng;
  readonly #chunk: number;
  #buf: Float64Array = new Float64Array(0);
  #pos = 0;

  /** @param chunk - how many numbers each underlying draw makes (default 64). */
  constructor(rng: Rng, chunk = 64) {
    this.#rng = rng;
    this.#chunk = chunk;
  }

  /** The next uniform in [0, 1). */
  next(): number {
    if (this.#pos >= this.#buf.length) {
      this.#buf = this.#rng.uniform([this.#chunk]);
      this.#pos = 0;
    }
    return this.#buf[this.#pos++];
  }

  /** A uniform value in the range (the value itself for a fixed number). */
  pick(r: Range): number {
    if (typeof r === 'number') return r;
    return r[0] + (r[1] - r[0]) * this.next();
  }

  /** A uniform integer in `lo..hi` inclusive. */
  int(lo: number, hi: number): number {
    return Math.min(hi, lo + Math.floor(this.next() * (hi - lo + 1)));
  }
}
