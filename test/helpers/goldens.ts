import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared folder beside the checkout (override with IRSDE_SHARED). */
export const SHARED = process.env.IRSDE_SHARED ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared');

export type Nested = number | Nested[];

export function flat(v: Nested): Float32Array {
  return Float32Array.from((Array.isArray(v) ? (v as unknown[]).flat(Infinity) : [v]) as number[]);
}

export function flat64(v: Nested): Float64Array {
  return Float64Array.from((Array.isArray(v) ? (v as unknown[]).flat(Infinity) : [v]) as number[]);
}

export function loadJson<T = any>(rel: string): T {
  return JSON.parse(readFileSync(resolve(SHARED, rel), 'utf8')) as T;
}

/** `max|got - want| / max|want|` (plain max abs error when want is all zero). */
export function normErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} vs ${want.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i] - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return Number.isNaN(num) ? Infinity : den === 0 ? num : num / den;
}
