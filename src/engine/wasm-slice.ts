import {
  backend_util,
  type KernelConfig,
  type KernelFunc,
  Slice,
  type SliceAttrs,
  slice_util,
  SplitV,
  type SplitVAttrs,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { WASM } from './wasm-kernel-scope.js';

/** The slice of the wasm backend's API these kernels use (tfjs-backend-wasm 4.x). */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * Copies `x[begin + step*i]` for `i < size` (per axis; `step` defaults to 1) into a new wasm
 * tensor by reading the heap in place. wasm's own Slice first copies the WHOLE input out of the
 * heap (`readSync`), so every slice, split and concat gradient of a large activation cost a full
 * copy per piece, and its StridedSlice walks every element through generic index arithmetic.
 */
export function sliceInfo(backend: WasmHeapBackend, x: TensorInfo, begin: number[], size: number[], step?: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const total = util.sizeFromShape(size);
  if (total === 0) return out;
  // Views are taken after makeOutput: allocating may grow (and detach) the heap buffer.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const shape = x.shape;
  const rank = shape.length;
  const st = step ?? new Array<number>(rank).fill(1);
  const strides = [...util.computeStrides(shape), 1];
  // Fold trailing axes taken whole (and unit-step) into one contiguous run.
  let d = Math.max(rank - 1, 0);
  while (d > 0 && size[d] === shape[d] && begin[d] === 0 && st[d] === 1) d--;
  // A strided axis before whole trailing axes: copy the innermost axis as the run instead (the
  // strided axis is then walked by the outer index like any other).
  if (st[d] !== 1 && d < rank - 1) d = rank - 1;
  const contiguous = rank === 0 || st[d] === 1;
  const run = contiguous ? util.sizeFromShape(size.slice(d)) : size[d];
  const hop = contiguous ? 1 : st[d] * strides[d];
  const outer = total / run;
  const idx = new Array<number>(d).fill(0);
  let base = 0;
  for (let a = 0; a < rank; a++) base += begin[a] * strides[a];
  let o = 0;
  for (let n = 0; n < outer; n++) {
    let off = base;
    for (let a = 0; a < d; a++) off += idx[a] * st[a] * strides[a];
    if (contiguous && run >= 32) dst.set(src.subarray(off, off + run), o);
    else for (let i = 0; i < run; i++) dst[o + i] = src[off + i * hop];
    o += run;
    for (let a = d - 1; a >= 0; a--) {
      if (++idx[a] < size[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

function slice(args: { inputs: { x: TensorInfo }; backend: any; attrs: SliceAttrs }, base: KernelFunc): TensorInfo {
  const { inputs: { x }, backend, attrs } = args;
  if (x.dtype === 'string') return base(args as never) as TensorInfo;
  const [b, s] = slice_util.parseSliceParams(x as never, attrs.begin, attrs.size);
  slice_util.assertParamsValid(x as never, b, s);
  return sliceInfo(backend, x, b, s);
}

function splitV(args: { inputs: { x: TensorInfo }; backend: any; attrs: SplitVAttrs }, base: KernelFunc): TensorInfo[] {
  const { inputs: { x }, backend, attrs } = args;
  if (x.dtype === 'string') return base(args as never) as TensorInfo[];
  const axis = util.parseAxisParam(attrs.axis, x.shape)[0];
  const sizes = backend_util.prepareSplitSize(x as never, attrs.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const size = x.shape.slice();
    size[axis] = n;
    const piece = sliceInfo(backend, x, begin.slice(), size);
    begin[axis] += n;
    return piece;
  });
}

/** Slice on wasm reading the heap in place; `base` (wasm's own kernel) handles strings. */
export function makeWasmSliceConfig(base: KernelFunc): KernelConfig {
  return { kernelName: Slice, backendName: WASM, kernelFunc: ((a: never) => slice(a, base)) as KernelFunc };
}

/** SplitV (split / concat gradient) on wasm built on the in-place slice. */
export function makeWasmSplitVConfig(base: KernelFunc): KernelConfig {
  return { kernelName: SplitV, backendName: WASM, kernelFunc: ((a: never) => splitV(a, base)) as KernelFunc };
}
