/**
 * Theta schedules: `theta_0 .. theta_T` (length `T + 1`), computed in float64.
 *
 * The reference computes these tables in float32; for the cosine schedule its `1 - exp(-x)` at
 * tiny `x` (t <= 2) then loses up to 2% to cancellation. irsde keeps float64 throughout, so its
 * tables match the reference evaluated in float64 (the README's section on the maths says how closely).
 */

/** Names of the built-in schedules. */
export type ScheduleName = 'cosine' | 'linear' | 'constant';

/** The cosine schedule with an explicit offset. */
export interface CosineSchedule {
  /** Discriminator. */
  readonly type: 'cosine';
  /** Offset `s` of the cosine schedule (default 0.008). */
  readonly s?: number;
}

/** The linear schedule (no options). */
export interface LinearSchedule {
  /** Discriminator. */
  readonly type: 'linear';
}

/** The constant schedule with an explicit value. */
export interface ConstantSchedule {
  /** Discriminator. */
  readonly type: 'constant';
  /** The constant theta (default 1). */
  readonly value?: number;
}

/**
 * A schedule: a built-in name, a built-in with options, or user-supplied thetas
 * (`theta_0 .. theta_T`, length `T + 1`, every value finite and > 0).
 */
export type ScheduleSpec = ScheduleName | CosineSchedule | LinearSchedule | ConstantSchedule | ArrayLike<number>;

/** `theta_i = value` for `i = 0..T`. */
export function constantThetas(T: number, value = 1): Float64Array {
  checkT(T, 'constantThetas');
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`constantThetas: value must be finite and > 0, got ${value}`);
  return new Float64Array(T + 1).fill(value);
}

/** `theta = linspace(scale * 1e-4, scale * 0.02, T + 1)` with `scale = 1000 / (T + 1)`. */
export function linearThetas(T: number): Float64Array {
  checkT(T, 'linearThetas');
  const n = T + 1;
  const scale = 1000 / n;
  const start = scale * 1e-4;
  const end = scale * 0.02;
  const res = new Float64Array(n);
  for (let i = 0; i < n; i++) res[i] = n === 1 ? start : start + ((end - start) * i) / (n - 1);
  return res;
}

/**
 * Cosine schedule with offset `s`: `m = T + 2`, `a_k = cos(((k / m) + s) / (1 + s) * pi / 2)^2`
 * for `k = 0..m`, normalised by `a_0`; `theta = 1 - a[1 .. m-1]`.
 */
export function cosineThetas(T: number, s = 0.008): Float64Array {
  checkT(T, 'cosineThetas');
  if (!(Number.isFinite(s) && s >= 0)) throw new RangeError(`cosineThetas: s must be finite and >= 0, got ${s}`);
  const m = T + 2;
  const a = (k: number): number => Math.cos(((k / m + s) / (1 + s)) * Math.PI * 0.5) ** 2;
  const a0 = a(0);
  const res = new Float64Array(T + 1);
  for (let i = 0; i <= T; i++) res[i] = 1 - a(i + 1) / a0;
  return res;
}

function checkT(T: number, where: string): void {
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`${where}: T must be an integer >= 1, got ${T}`);
}

/**
 * Resolves a {@link ScheduleSpec} to `theta_0 .. theta_T` (a new `Float64Array`, length `T + 1`).
 * @throws RangeError for an unknown name, a wrong-length array or a non-positive / non-finite value.
 */
export function thetaSchedule(schedule: ScheduleSpec, T: number): Float64Array {
  checkT(T, 'thetaSchedule');
  if (typeof schedule === 'string') return thetaSchedule({ type: schedule } as ScheduleSpec, T);
  if (schedule === null || typeof schedule !== 'object') {
    throw new TypeError(`thetaSchedule: schedule must be 'cosine', 'linear', 'constant' or an array of T + 1 thetas, got ${String(schedule)}`);
  }
  if ('type' in schedule) {
    switch (schedule.type) {
      case 'cosine':
        return cosineThetas(T, schedule.s ?? 0.008);
      case 'linear':
        return linearThetas(T);
      case 'constant':
        return constantThetas(T, schedule.value ?? 1);
      default:
        throw new RangeError(
          `thetaSchedule: unknown schedule '${String((schedule as { type: unknown }).type)}'; expected 'cosine', 'linear', 'constant' or an array of T + 1 thetas`,
        );
    }
  }
  if (typeof (schedule as ArrayLike<number>).length !== 'number') {
    throw new TypeError('thetaSchedule: schedule must be a name or an array of T + 1 thetas');
  }
  const arr = schedule as ArrayLike<number>;
  if (arr.length !== T + 1) {
    throw new RangeError(`thetaSchedule: a user schedule needs T + 1 = ${T + 1} values (theta_0..theta_T), got ${arr.length}`);
  }
  const res = Float64Array.from(arr);
  res.forEach((v, i) => {
    if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`thetaSchedule: theta[${i}] must be finite and > 0, got ${arr[i]}`);
  });
  return res;
}
