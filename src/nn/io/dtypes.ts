import { WeightFileError } from './errors.js';

/** The element types the readers accept; all are widened exactly to float32. */
export type FloatDtype = 'float32' | 'float16' | 'bfloat16';

/** Bytes per element of each accepted dtype. */
export const DTYPE_BYTES: Readonly<Record<FloatDtype, number>> = { float32: 4, float16: 2, bfloat16: 2 };

// Typed-array views read in host order; the files are little-endian. Big-endian hosts take the
// DataView path below.
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Widens one IEEE binary16 bit pattern to the float32 bit pattern of the same value (exact:
 * every half value, subnormals, infinities and NaN payloads included, is representable in float32).
 */
export function halfBitsToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal half: renormalise so the leading 1 becomes float32's implicit bit.
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** Widens one bfloat16 bit pattern to float32 bits (bfloat16 is the top half of a float32). */
export function bfloat16BitsToFloatBits(b: number): number {
  return ((b & 0xffff) << 16) >>> 0;
}

/**
 * Decodes `count` little-endian elements of `dtype` starting at `bytes[offset]` into a new
 * float32 array (never a view of `bytes`; the caller owns the result). Bounds must have been
 * checked by the caller; this only guards against programming errors.
 */
export function decodeFloats(bytes: Uint8Array, offset: number, count: number, dtype: FloatDtype): Float32Array {
  const width = DTYPE_BYTES[dtype];
  if (offset < 0 || offset + count * width > bytes.length) {
    throw new WeightFileError(`decode: ${count} ${dtype} values at byte ${offset} run past the ${bytes.length}-byte buffer`);
  }
  const out = new Float32Array(count);
  const abs = bytes.byteOffset + offset;
  if (dtype === 'float32') {
    // Copy bits, never go through a JS number: that would quieten signalling-NaN payloads.
    if (HOST_LE) {
      new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * 4));
    } else {
      const bits = new Uint32Array(out.buffer);
      const dv = new DataView(bytes.buffer, abs, count * 4);
      for (let i = 0; i < count; i++) bits[i] = dv.getUint32(i * 4, true);
    }
    return out;
  }
  const bits = new Uint32Array(out.buffer);
  const widen = dtype === 'float16' ? halfBitsToFloatBits : bfloat16BitsToFloatBits;
  if (HOST_LE && abs % 2 === 0) {
    const src = new Uint16Array(bytes.buffer, abs, count);
    for (let i = 0; i < count; i++) bits[i] = widen(src[i]);
  } else {
    const dv = new DataView(bytes.buffer, abs, count * 2);
    for (let i = 0; i < count; i++) bits[i] = widen(dv.getUint16(i * 2, true));
  }
  return out;
}

/** Encodes float32 values little-endian into `out` at `offset` (bit exact, NaN payloads kept). */
export function encodeFloat32(values: Float32Array, out: Uint8Array, offset: number): void {
  if (HOST_LE) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.length * 4), offset);
    return;
  }
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const dv = new DataView(out.buffer, out.byteOffset + offset, values.length * 4);
  for (let i = 0; i < bits.length; i++) dv.setUint32(i * 4, bits[i], true);
}

/** `prod(shape)` after checking every size is a non-negative safe integer; `where` prefixes errors. */
export function numelOf(shape: readonly unknown[], where: string): number {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new WeightFileError(`${where}: shape [${shape.join(', ')}] must hold non-negative integers`);
    }
    n *= d;
    if (!Number.isSafeInteger(n)) throw new WeightFileError(`${where}: shape [${shape.join(', ')}] is too large`);
  }
  return n;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/**
 * Rounds a number to the nearest IEEE binary16 value (ties to even) and returns its bit pattern.
 * Values beyond the half range become +-Infinity; NaN stays NaN (quiet).
 */
export function floatToHalfBits(value: number): number {
  F32[0] = value;
  const x = U32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: the value is m * 2^-24 with m = (1.mant) * 2^(e + 9), rounded.
    const shift = 14 - e;
    if (shift >= 25) return sign;
    const full = mant | 0x800000;
    let m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (m & 1) === 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (m & 1) === 1)) m++;
  // A carry out of the mantissa correctly bumps the exponent (up to Infinity).
  return sign | ((e << 10) + m);
}

/** Writes `values` as little-endian IEEE binary16 (rounded to nearest, ties to even) at `out[offset]`. */
export function encodeFloat16(values: Float32Array, out: Uint8Array, offset: number): void {
  const dv = new DataView(out.buffer, out.byteOffset + offset, values.length * 2);
  for (let i = 0; i < values.length; i++) dv.setUint16(i * 2, floatToHalfBits(values[i]), true);
}
