import { BatchMatMul, type BatchMatMulAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { type KernelScope, WASM, withScope } from './wasm-kernel-scope.js';

const prod = (xs: readonly number[]): number => xs.reduce((p, d) => p * d, 1);

/** Swaps the last two axes (a real copy, so the product below sees an untransposed matrix). */
function transposeLast2(s: KernelScope, x: TensorInfo): TensorInfo {
  const r = x.shape.length;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return s.run('Transpose', { x }, { perm });
}

/** Broadcast batch shape of two batch shapes (numpy rules), or a clear error. */
function broadcastBatch(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(`BatchMatMul: batch dimensions [${a}] and [${b}] do not broadcast`);
    }
    out.push(Math.max(da, db));
  }
  return out;
}

/** Flat index into a (left-padded, broadcast) batch shape for the flat output batch index `k`. */
function sourceIndex(k: number, outBatch: readonly number[], src: readonly number[]): number {
  const pad = outBatch.length - src.length;
  let idx = 0;
  let rem = k;
  let stride = 1;
  for (let i = outBatch.length - 1; i >= 0; i--) {
    const coord = rem % outBatch[i];
    rem = Math.floor(rem / outBatch[i]);
    const d = i - pad >= 0 ? src[i - pad] : 1;
    if (d !== 1) idx += coord * stride;
    stride *= d;
  }
  return idx;
}

/**
 * Matrix product on wasm that always reaches XNNPACK: tfjs-backend-wasm runs only a single
 * untransposed product there and falls back to a slow scalar loop for transposed operands or a
 * batch (10x-20x slower), which attention and every matMul gradient hit. Transposes become
 * explicit copies, a batch against one shared matrix becomes one tall product, and any other
 * batch becomes one XNNPACK product per item.
 */
function batchMatMul(args: { inputs: { a: TensorInfo; b: TensorInfo }; backend: any; attrs: BatchMatMulAttrs }, base: KernelFunc): TensorInfo {
  const { inputs: { a, b }, backend, attrs: { transposeA, transposeB } } = args;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return base(args as never) as TensorInfo;
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  const batchA = prod(batchShapeA);
  const batchB = prod(batchShapeB);
  if (batchA <= 1 && batchB <= 1 && !transposeA && !transposeB) return base(args as never) as TensorInfo;
  return withScope(backend, (s) => {
    const a2 = transposeA ? transposeLast2(s, a) : a;
    const b2 = transposeB ? transposeLast2(s, b) : b;
    const m = a2.shape[a2.shape.length - 2];
    const k = a2.shape[a2.shape.length - 1];
    const kb = b2.shape[b2.shape.length - 2];
    const n = b2.shape[b2.shape.length - 1];
    if (k !== kb) {
      throw new RangeError(`BatchMatMul: inner dimensions ${k} and ${kb} differ (shapes [${a.shape}] and [${b.shape}], ` +
        `transposeA=${transposeA}, transposeB=${transposeB})`);
    }
    const outBatch = broadcastBatch(batchShapeA, batchShapeB);
    const outShape = [...outBatch, m, n];
    // wasm's own kernel does each single untransposed product (its XNNPACK path).
    const run = (x: TensorInfo, y: TensorInfo): TensorInfo =>
      s.call(base, { a: x, b: y }, { transposeA: false, transposeB: false }, 'BatchMatMul');
    if (batchB === 1 && prod(outBatch) === batchA) {
      // Many matrices against one: a single tall product.
      const r = run(s.reshape(a2, [batchA * m, k]), s.reshape(b2, [k, n]));
      return s.reshape(r, outShape);
    }
    const a3 = s.reshape(a2, [batchA, m, k]);
    const b3 = s.reshape(b2, [batchB, k, n]);
    const parts: TensorInfo[] = [];
    const total = prod(outBatch);
    for (let i = 0; i < total; i++) {
      const ia = sourceIndex(i, outBatch, batchShapeA);
      const ib = sourceIndex(i, outBatch, batchShapeB);
      const ai = batchA === 1 ? s.reshape(a3, [m, k]) : s.run('Slice', { x: a3 }, { begin: [ia, 0, 0], size: [1, m, k] });
      const bi = batchB === 1 ? s.reshape(b3, [k, n]) : s.run('Slice', { x: b3 }, { begin: [ib, 0, 0], size: [1, k, n] });
      parts.push(s.reshape(run(ai, bi), [1, m, n]));
    }
    const all = parts.length === 1 ? parts[0] : s.run('Concat', parts, { axis: 0 });
    return s.reshape(all, outShape);
  });
}

/** Builds the BatchMatMul config around wasm's own kernel function `base` (called for each product). */
export function makeWasmBatchMatMulConfig(base: KernelFunc): KernelConfig {
  return {
    kernelName: BatchMatMul,
    backendName: WASM,
    kernelFunc: ((args: never) => batchMatMul(args, base)) as KernelFunc,
  };
}
