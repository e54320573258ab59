import { getKernel, type KernelConfig, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import { wasmConv2DBackpropFilterConfig } from './wasm-conv-backprop-filter.js';
import { wasmConv2DBackpropInputConfig } from './wasm-conv-backprop-input.js';
import { makeWasmBatchMatMulConfig } from './wasm-batch-matmul.js';
import { makeWasmSliceConfig, makeWasmSplitVConfig } from './wasm-slice.js';
import { wasmDepthwiseBackpropFilterConfig, wasmDepthwiseBackpropInputConfig } from './wasm-depthwise-backprop.js';
import { WASM } from './wasm-kernel-scope.js';

/**
 * Kernels {@link registerWasmTrainingKernels} installs on the 'wasm' backend: the conv weight
 * gradient wasm lacks, a conv input gradient and a matrix product that run in XNNPACK instead of
 * wasm's scalar loops, and Slice/SplitV that read the heap in place (wasm's copy the whole input
 * first, which made every split and concat gradient cost a full copy per piece), and the depthwise
 * convolution gradients NAFNet needs (wasm has none). Every other kernel the networks' forward and backward passes use (Erf,
 * Softmax, Sigmoid, MirrorPad, ResizeNearestNeighbor(Grad), PadV2, Slice, Concat, SplitV, Tile,
 * Sum, Mean, ...) already exists on wasm 4.22.
 */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'BatchMatMul',
  'Slice',
  'SplitV',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
];

let installed = false;

/** True once {@link registerWasmTrainingKernels} has installed the kernels in this process. */
export function wasmTrainingKernelsRegistered(): boolean {
  return installed;
}

/**
 * Registers our training kernels ({@link WASM_TRAINING_KERNELS}) on the tfjs 'wasm' backend,
 * replacing the package's versions. Call it after `@tensorflow/tfjs-backend-wasm` has been
 * imported (its import registers wasm's kernels and would overwrite ours) and before or after
 * `tf.setBackend('wasm')`; {@link selectBackend} does both. Idempotent; affects only the 'wasm'
 * backend (cpu results are unchanged). Kernels are NHWC, float32, dilation 1 (what tfjs's conv
 * gradients support); each frees its intermediates, so tensor counts stay flat.
 * @throws Error when the wasm backend's kernels are not registered yet.
 */
export function registerWasmTrainingKernels(): void {
  if (installed) return;
  const base = (name: string) => getKernel(name, WASM)?.kernelFunc;
  const bmm = base('BatchMatMul');
  const slice = base('Slice');
  const splitV = base('SplitV');
  if (getKernel('Conv2D', WASM) === undefined || bmm === undefined || slice === undefined || splitV === undefined) {
    throw new Error("registerWasmTrainingKernels: the 'wasm' backend's kernels are not registered; " +
      "import '@tensorflow/tfjs-backend-wasm' first (or call selectBackend('wasm'))");
  }
  const configs: KernelConfig[] = [
    wasmConv2DBackpropFilterConfig,
    wasmConv2DBackpropInputConfig,
    makeWasmBatchMatMulConfig(bmm),
    makeWasmSliceConfig(slice),
    makeWasmSplitVConfig(splitV),
    wasmDepthwiseBackpropFilterConfig,
    wasmDepthwiseBackpropInputConfig,
  ];
  for (const cfg of configs) {
    const existing = getKernel(cfg.kernelName, WASM);
    if (existing !== undefined) {
      unregisterKernel(cfg.kernelName, WASM);
    }
    // Keep the original setup: it binds the wasm export the original kernel (which ours may
    // call) needs, and the engine runs it when the wasm backend initialises.
    registerKernel({ ...cfg, setupFunc: existing?.setupFunc, disposeFunc: existing?.disposeFunc });
  }
  installed = true;
}
