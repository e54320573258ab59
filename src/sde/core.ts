import type { Coef, TensorBackend } from '../backend/types.js';
import { tfjsBackend } from '../backend/tfjs.js';
import { hostBackend, type HostTensor } from '../backend/host.js';
import { drawNoise, type NoiseSource } from './noise-source.js';
import { checkTimesteps, isBatched, type Timestep } from './timesteps.js';
import type { ScheduleSpec } from './schedules.js';

/*
 * What both SDE classes share: the float64 Ornstein–Uhlenbeck tables, argument checks with
 * errors that name the method, per-item coefficients and the noise plumbing. @internal
 */

/** Names accepted in place of a backend object: `'tfjs'` or `'float32'`. */
export type BackendName = 'tfjs' | 'float32';

/** The float64 tables of an OU-type SDE on integer times `0..T`. @internal */
export interface OuTables {
  /** `theta_0 .. theta_T`. */
  readonly thetas: Float64Array;
  /** `sigma_i = sqrt(2 lambda^2 theta_i)`. */
  readonly sigmas: Float64Array;
  /** `Theta_i = cumsum(theta)_i - theta_0` (so `Theta_0 = 0`). */
  readonly cumsum: Float64Array;
  /** `sigmaBar_i = lambda sqrt(1 - exp(-2 Theta_i dt))`. */
  readonly sigmaBars: Float64Array;
  /** `u_i = Theta_i dt`, the OU time in which both SDEs have closed forms. */
  readonly u: Float64Array;
  /** `dt = -ln(eps) / Theta_T`. */
  readonly dt: number;
}

/**
 * Checks an SDE's `maxSigma` (`lambda`, in data units: images are in [0, 1]): a finite number in
 * (0, 1]. A value above 1 is almost always the 0-255 scale by mistake; the message says so.
 * @throws RangeError naming the class and giving `example` as the right way to write it.
 */
export function checkMaxSigma(maxSigma: unknown, cls: string, what: string, example: string): number {
  if (typeof maxSigma !== 'number' || !Number.isFinite(maxSigma) || maxSigma <= 0) {
    throw new RangeError(`${cls}: maxSigma must be a finite number > 0 (${what} in data units, e.g. ${example}), got ${String(maxSigma)}`);
  }
  if (maxSigma > 1) {
    throw new RangeError(`${cls}: maxSigma must be at most 1 (${what} in data units, images in [0, 1]), got ${maxSigma}: on the 0-255 scale write from255(${maxSigma}) = ${(maxSigma / 255).toPrecision(4)}`);
  }
  return maxSigma;
}

/**
 * The tables both SDEs build from a theta (or beta) schedule, in float64: `sigma_i`, `Theta_i`,
 * `dt = -ln(eps) / Theta_T` and `sigmaBar_i` (with `1 - exp(-x)` as `-expm1(-x)`).
 * @throws RangeError when `dt` is not finite (a degenerate schedule).
 */
export function ouTables(thetas: Float64Array, maxSigma: number, eps: number, where: string): OuTables {
  const T = thetas.length - 1;
  const cumsum = new Float64Array(T + 1);
  // Theta_i = cumsum(theta)_i - theta_0, so Theta_0 = 0 and Theta_t - Theta_{t-1} = theta_t.
  let acc = 0;
  for (let i = 0; i <= T; i++) {
    acc += thetas[i];
    cumsum[i] = acc - thetas[0];
  }
  cumsum[0] = 0;
  const dt = -Math.log(eps) / cumsum[T];
  if (!(Number.isFinite(dt) && dt > 0)) {
    throw new RangeError(`${where}: the schedule gives Theta_T = ${cumsum[T]}, so dt is not finite; check the thetas`);
  }
  const sigmas = thetas.map((th) => Math.sqrt(2 * maxSigma * maxSigma * th));
  const sigmaBars = cumsum.map((c) => maxSigma * Math.sqrt(-Math.expm1(-2 * c * dt)));
  const u = cumsum.map((c) => c * dt);
  return { thetas, sigmas, cumsum, sigmaBars, u, dt };
}

const MUTATORS = new Set<PropertyKey>(['fill', 'set', 'copyWithin', 'reverse', 'sort']);

/**
 * A read-only view of a float64 table, made once per table: reads, iteration and the
 * non-mutating `Float64Array` methods work as on the array (`slice()` gives a writable copy);
 * writes through an index are ignored and the mutating methods (`fill`, `set`, `sort`, ...)
 * throw. The view wraps its own copy, so nothing done to it reaches the SDE's maths. @internal
 */
export function readonlyTable(values: Float64Array): Float64Array {
  const own = values.slice();
  return new Proxy(own, {
    get(target, key) {
      if (MUTATORS.has(key)) {
        return () => {
          throw new TypeError(`this SDE table is read-only; take a copy with .slice() to change it (${String(key)})`);
        };
      }
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
    set: () => true,
    defineProperty: () => true,
    deleteProperty: () => true,
  });
}

/**
 * A schedule as plain, storable data: names and `{ type, ... }` objects copied, tables as plain
 * number arrays; `undefined` is the default `'cosine'`. @internal
 */
export function plainSchedule(spec: ScheduleSpec | undefined): ScheduleSpec {
  if (spec === undefined) return 'cosine';
  if (typeof spec === 'string') return spec;
  if ('type' in spec && typeof (spec as { type: unknown }).type === 'string') return { ...(spec as object) } as ScheduleSpec;
  return Array.from(spec as ArrayLike<number>);
}

/**
 * Coefficients of the OU posterior `q(x_s | x_t, x0)` for the jump `t -> s` (`s < t`): with
 * `A = exp(-(Theta_t - Theta_s) dt)`, `B = exp(-Theta_t dt)`, `C = exp(-Theta_s dt)`, the mean
 * is `cXt (x_t - c) + cX0 (x0 - c) + c` around the SDE's centre `c` and the variance
 * `lambda^2 variance`. The one-step case uses `theta_t` itself, as the reference does (equal to
 * `Theta_t - Theta_{t-1}` up to rounding). @internal
 */
export function ouPosterior(tab: OuTables, ti: number, si: number): { cXt: number; cX0: number; variance: number } {
  const cs = tab.cumsum;
  const gap = si === ti - 1 ? tab.thetas[ti] : cs[ti] - cs[si];
  const dt = tab.dt;
  const A = Math.exp(-gap * dt);
  const C = Math.exp(-cs[si] * dt);
  // 1 - A^2 etc. via expm1: no cancellation when the exponents are tiny.
  const oneMinusA2 = -Math.expm1(-2 * gap * dt);
  const oneMinusB2 = -Math.expm1(-2 * cs[ti] * dt);
  const oneMinusC2 = -Math.expm1(-2 * cs[si] * dt);
  return {
    cXt: (A * oneMinusC2) / oneMinusB2,
    cX0: (C * oneMinusA2) / oneMinusB2,
    variance: (oneMinusA2 * oneMinusC2) / oneMinusB2,
  };
}

/** The posterior std floor of the reference: `lambda exp(0.5 log(max(var, 1e-20 dt)))`. @internal */
export function ouPosteriorStd(tab: OuTables, maxSigma: number, ti: number, si: number): number {
  return Math.exp(0.5 * Math.log(Math.max(ouPosterior(tab, ti, si).variance, 1e-20 * tab.dt))) * maxSigma;
}

/**
 * Argument checks and per-item coefficients for one SDE class; every error names
 * `Class.method`. @internal
 */
export class SdeArgs<X> {
  constructor(
    private readonly cls: string,
    private readonly T: number,
    private readonly backend: TensorBackend<X>,
  ) {}

  /** Validates `t` (integers in `1..T`; a batched `t` must have `batch` entries). */
  t(t: Timestep, where: string, batch?: number): number[] {
    return checkTimesteps(t, 1, this.T, `${this.cls}.${where}`, 't', batch);
  }

  /** Evaluates `f` per timestep: a number for scalar `t`, else one float64 per batch item. */
  coef(t: Timestep, ts: number[], f: (ti: number) => number): Coef {
    return isBatched(t) ? Float64Array.from(ts, f) : f(ts[0]);
  }

  /** The shared shape of named tensors (rank >= 1), or an error naming the mismatch. */
  shapeOf(where: string, named: ReadonlyArray<readonly [string, X]>): number[] {
    const [firstName, first] = named[0];
    const shape = this.backend.shape(first);
    if (shape.length === 0) throw new RangeError(`${this.cls}.${where}: ${firstName} must have rank >= 1 (batch on axis 0), got a scalar`);
    for (const [name, x] of named.slice(1)) {
      const s = this.backend.shape(x);
      if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
        throw new RangeError(`${this.cls}.${where}: ${name} has shape [${s}] but ${firstName} has shape [${shape}]`);
      }
    }
    return shape;
  }

  /** Resolves (t, s) pairs for jumps; `s` defaults to `t - 1` and must satisfy `0 <= s < t`. */
  pairs(t: Timestep, s: Timestep | undefined, where: string, batch?: number): { ts: number[]; ss: number[]; batched: boolean } {
    const batched = isBatched(t) || (s !== undefined && isBatched(s));
    let ts = this.t(t, where, isBatched(t) ? batch : undefined);
    let ss = s === undefined ? ts.map((v) => v - 1) : checkTimesteps(s, 0, this.T - 1, `${this.cls}.${where}`, 's', isBatched(s) ? batch : undefined);
    const n = Math.max(ts.length, ss.length);
    if (ts.length !== ss.length && ts.length !== 1 && ss.length !== 1) {
      throw new RangeError(`${this.cls}.${where}: batched t has ${ts.length} entries but batched s has ${ss.length}`);
    }
    if (ts.length === 1) ts = new Array<number>(n).fill(ts[0]);
    if (ss.length === 1) ss = new Array<number>(n).fill(ss[0]);
    ts.forEach((ti, i) => {
      if (ss[i] >= ti) throw new RangeError(`${this.cls}.${where}: s must satisfy 0 <= s < t, got s = ${ss[i]} with t = ${ti}`);
    });
    return { ts, ss, batched };
  }

  /** Standard normal `z` shaped like `shape` from a noise source (see {@link drawNoise}). */
  noise(source: NoiseSource<X>, shape: number[], where: string): { z: X; owned: boolean } {
    return drawNoise(this.backend, source, shape, `${this.cls}.${where}`);
  }

  /** Adds `coef * z` (z from `source`) to a tensor the method owns, disposing intermediates. */
  plusNoise(base: X, coef: Coef, source: NoiseSource<X>, where: string): X {
    const b = this.backend;
    let drawn: { z: X; owned: boolean };
    try {
      drawn = this.noise(source, b.shape(base), where);
    } catch (e) {
      b.dispose(base);
      throw e;
    }
    const { z, owned } = drawn;
    const res = b.linear([
      [base, 1],
      [z, coef],
    ]);
    b.dispose(base);
    if (owned) b.dispose(z);
    return res;
  }
}

/** The backend for a backend object or name (`'tfjs'` default, `'float32'`). @internal */
export function resolveBackend(b: TensorBackend<unknown> | BackendName | undefined, cls: string): TensorBackend<unknown> {
  if (b === undefined || b === 'tfjs') return tfjsBackend as TensorBackend<unknown>;
  if (b === 'float32') return hostBackend as TensorBackend<HostTensor> as TensorBackend<unknown>;
  if (typeof b === 'object' && b !== null && typeof b.linear === 'function') return b;
  throw new TypeError(`${cls}: backend must be a TensorBackend, 'tfjs' or 'float32', got ${String(b)}`);
}

/** `-c` for a scalar or per-item coefficient. @internal */
export function negate(c: Coef): Coef {
  return typeof c === 'number' ? -c : c.map((v) => -v);
}
