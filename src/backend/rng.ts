/**
 * A seeded, splittable, counter-based random generator (Philox4x32-10, Salmon et al., SC 2011).
 *
 * Why counter-based: every number is a pure function of (seed, draw, batch item, position), so
 * - the same seed gives the same noise on every backend (noise is made here, on the host, then
 *   uploaded), and
 * - the noise of batch item `i` does not depend on the batch size: item `i` of a batch of 8 gets
 *   the same numbers as item `i` of a batch of 2 (and item 0 of a batch of 1 equals item 0 of any
 *   batch).
 *
 * The generator is stateful in one respect only: each draw ({@link Rng.normal},
 * {@link Rng.uniform}, {@link Rng.integers}, {@link Rng.split}) advances a draw counter, so
 * successive draws differ. {@link Rng.state} / {@link Rng.fromState} save and restore it exactly.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** Kinds of draw, kept in the last counter word so different kinds never share a stream. */
const KIND_NORMAL = 0;
const KIND_UNIFORM = 1;
const KIND_SPLIT = 2;
const KIND_INTEGERS = 3;

const TWO_PI = 2 * Math.PI;
const INV_2_32 = 2 ** -32;

/** Scratch output of one Philox block (module-local: the generator is single-threaded JS). */
const out = new Uint32Array(4);

/** High 32 bits of the 64-bit product of two uint32 values, computed exactly in doubles. */
/** The high 32 bits of the 64-bit product of two uint32 (16-bit halves; every partial sum below 2^32, so the shifts are exact). */
function mulHi(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const lh = al * bh;
  const hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

function philox(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): void {
  for (let r = 0; r < 10; r++) {
    const hi0 = mulHi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulHi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** A uniform in the open interval (0, 1) from a uint32 (never 0, so `log` is safe). */
function openUniform(u: number): number {
  return (u + 0.5) * INV_2_32;
}

/** The complete, serialisable state of an {@link Rng}. */
export interface RngState {
  /** The 64-bit key as two uint32 words `[low, high]`. */
  readonly key: readonly [number, number];
  /** How many draws have been made (the draw counter). */
  readonly draws: number;
}

function checkShape(shape: readonly number[], where: string): void {
  if (!Array.isArray(shape) || shape.length === 0) {
    throw new TypeError(`${where}: shape must be a non-empty array of sizes, got ${JSON.stringify(shape)}`);
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`${where}: shape entries must be non-negative integers, got ${JSON.stringify(shape)}`);
    }
  }
}

/** A seeded, splittable random generator; see the module documentation. */
export class Rng {
  private readonly k0: number;
  private readonly k1: number;
  private drawCount: number;

  /**
   * @param seed - a non-negative integer below 2^53 (its 64-bit pattern is the Philox key).
   */
  constructor(seed: number = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`Rng: seed must be a non-negative safe integer, got ${seed}`);
    }
    this.k0 = seed % 2 ** 32 >>> 0;
    this.k1 = Math.floor(seed / 2 ** 32) >>> 0;
    this.drawCount = 0;
  }

  /** Restores a generator from {@link Rng.state}; it continues exactly where the saved one was. */
  static fromState(state: RngState): Rng {
    const [k0, k1] = state.key;
    for (const v of [k0, k1]) {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new RangeError(`Rng.fromState: key words must be uint32, got ${JSON.stringify(state.key)}`);
      }
    }
    if (!Number.isInteger(state.draws) || state.draws < 0 || state.draws > 0xffffffff) {
      throw new RangeError(`Rng.fromState: draws must be an integer in [0, 2^32), got ${state.draws}`);
    }
    const rng = new Rng(0);
    (rng as unknown as { k0: number }).k0 = k0 >>> 0;
    (rng as unknown as { k1: number }).k1 = k1 >>> 0;
    rng.drawCount = state.draws;
    return rng;
  }

  /** The generator's state, a plain JSON-serialisable object. */
  get state(): RngState {
    return { key: [this.k0, this.k1], draws: this.drawCount };
  }

  /** An independent copy at the same state. */
  clone(): Rng {
    return Rng.fromState(this.state);
  }

  private nextDraw(): number {
    const d = this.drawCount;
    if (d >= 0xffffffff) throw new RangeError('Rng: draw counter exhausted (2^32 draws)');
    this.drawCount = d + 1;
    return d;
  }

  /**
   * Standard normal numbers (Box–Muller over Philox uniforms), row-major for `shape`.
   * Axis 0 is the batch axis: item `b` reads its own stream, so its numbers do not depend on
   * `shape[0]`. Advances the draw counter by one.
   * @param shape - `[B, ...]`, at least rank 1.
   * @returns a new `Float32Array` of `prod(shape)` numbers.
   */
  normal(shape: readonly number[]): Float32Array {
    checkShape(shape, 'Rng.normal');
    const draw = this.nextDraw();
    const batch = shape[0];
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    const res = new Float32Array(batch * per);
    for (let b = 0; b < batch; b++) {
      const base = b * per;
      for (let j = 0, block = 0; j < per; j += 4, block++) {
        philox(block, b, draw, KIND_NORMAL, this.k0, this.k1);
        const r1 = Math.sqrt(-2 * Math.log(openUniform(out[0])));
        const a1 = TWO_PI * out[1] * INV_2_32;
        const r2 = Math.sqrt(-2 * Math.log(openUniform(out[2])));
        const a2 = TWO_PI * out[3] * INV_2_32;
        res[base + j] = r1 * Math.cos(a1);
        if (j + 1 < per) res[base + j + 1] = r1 * Math.sin(a1);
        if (j + 2 < per) res[base + j + 2] = r2 * Math.cos(a2);
        if (j + 3 < per) res[base + j + 3] = r2 * Math.sin(a2);
      }
    }
    return res;
  }

  /**
   * Uniform numbers in [0, 1), row-major for `shape`, with the same per-item streams as
   * {@link Rng.normal}. Advances the draw counter by one.
   */
  uniform(shape: readonly number[]): Float64Array {
    checkShape(shape, 'Rng.uniform');
    const draw = this.nextDraw();
    const batch = shape[0];
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    const res = new Float64Array(batch * per);
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < per; j++) {
        philox(j, b, draw, KIND_UNIFORM, this.k0, this.k1);
        // 53 random bits: exactly representable, in [0, 1).
        res[b * per + j] = ((out[0] >>> 5) * 67108864 + (out[1] >>> 6)) / 9007199254740992;
      }
    }
    return res;
  }

  /**
   * `n` integers drawn uniformly from `low..high` inclusive (item `i` from stream `i`, so the
   * first `k` values do not depend on `n`). Advances the draw counter by one.
   */
  integers(n: number, low: number, high: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Rng.integers: n must be a non-negative integer, got ${n}`);
    if (!Number.isInteger(low) || !Number.isInteger(high) || high < low || high - low >= 2 ** 31) {
      throw new RangeError(`Rng.integers: need integers low <= high (span < 2^31), got ${low}..${high}`);
    }
    const draw = this.nextDraw();
    const span = high - low + 1;
    const res = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      // floor(u * span) with a 53-bit uniform u: bias below span / 2^53, irrelevant here.
      philox(0, i, draw, KIND_INTEGERS, this.k0, this.k1);
      const u = ((out[0] >>> 5) * 67108864 + (out[1] >>> 6)) / 9007199254740992;
      res[i] = low + Math.floor(u * span);
    }
    return res;
  }

  /**
   * `n` independent child generators (fresh keys derived from this one). Advances this
   * generator's draw counter by one; child `i` does not depend on `n`.
   */
  split(n: number): Rng[] {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Rng.split: n must be a non-negative integer, got ${n}`);
    const draw = this.nextDraw();
    const children: Rng[] = [];
    for (let i = 0; i < n; i++) {
      philox(0, i, draw, KIND_SPLIT, this.k0, this.k1);
      children.push(Rng.fromState({ key: [out[0], out[1]], draws: 0 }));
    }
    return children;
  }
}

/** Test hook: the raw Philox4x32-10 block for a counter and key (uint32 words). */
export function philox4x32(counter: readonly number[], key: readonly number[]): Uint32Array {
  philox(counter[0] >>> 0, counter[1] >>> 0, counter[2] >>> 0, counter[3] >>> 0, key[0] >>> 0, key[1] >>> 0);
  return out.slice();
}
