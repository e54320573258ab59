import {
  findBackendFactory,
  getKernel,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  registerKernel,
  ResizeNearestNeighborGrad,
  type ResizeNearestNeighborGradAttrs,
  type TensorInfo,
  unregisterKernel,
} from '@tensorflow/tfjs-core';

interface CpuBackend extends KernelBackend {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TensorInfo;
}

/** Source index of output position `i` in a nearest-neighbour resize (tfjs's forward rule). */
function nearest(i: number, inLen: number, outLen: number, alignCorners: boolean, halfPixel: boolean): number {
  const ratio = alignCorners && outLen > 1 ? (inLen - 1) / (outLen - 1) : inLen / outLen;
  const frac = halfPixel ? ratio * (i + 0.5) : ratio * i;
  const j = Math.min(inLen - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
  return halfPixel ? Math.max(0, j) : j;
}

/**
 * ResizeNearestNeighborGrad on cpu as a scatter-add of `dy` onto the source pixels. The cpu
 * kernel of tfjs-backend-cpu 4.22 offsets `dy` by the IMAGE's batch stride, so for batch > 1
 * every item after the first reads the wrong part of `dy` (wasm's kernel is right).
 */
function resizeNearestNeighborGrad(args: { inputs: { images: TensorInfo; dy: TensorInfo }; backend: CpuBackend; attrs: ResizeNearestNeighborGradAttrs & { halfPixelCenters?: boolean } }): TensorInfo {
  const { inputs: { images, dy }, backend, attrs } = args;
  const [batch, xh, xw, depth] = images.shape;
  const [, yh, yw] = dy.shape;
  const dyv = backend.data.get(dy.dataId).values;
  const out = new Float32Array(batch * xh * xw * depth);
  const align = attrs.alignCorners === true;
  const half = attrs.halfPixelCenters === true;
  const rows = Array.from({ length: yh }, (_, r) => nearest(r, xh, yh, align, half));
  const cols = Array.from({ length: yw }, (_, c) => nearest(c, xw, yw, align, half));
  let k = 0;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < yh; r++) {
      for (let c = 0; c < yw; c++) {
        const o = ((b * xh + rows[r]) * xw + cols[c]) * depth;
        for (let d = 0; d < depth; d++) out[o + d] += dyv[k++];
      }
    }
  }
  return backend.makeTensorInfo(images.shape, 'float32', out);
}

const fixes: KernelConfig[] = [
  { kernelName: ResizeNearestNeighborGrad, backendName: 'cpu', kernelFunc: resizeNearestNeighborGrad as unknown as KernelFunc },
];

/**
 * Replaces cpu kernels of tfjs-backend-cpu 4.22 that give wrong results with correct ones:
 * `ResizeNearestNeighborGrad` (the gradient of nearest-neighbour upsampling) for batch > 1.
 * Does nothing until the cpu backend is registered (importing tfjs-backend-cpu registers its own
 * kernels and would replace ours); idempotent. {@link selectBackend} calls it after loading the
 * cpu backend; call it yourself after importing `@tensorflow/tfjs-backend-cpu` if you train on
 * cpu without `selectBackend`.
 */
export function registerCpuKernelFixes(): void {
  if (findBackendFactory('cpu') == null) return;
  for (const cfg of fixes) {
    const existing = getKernel(cfg.kernelName, cfg.backendName);
    if (existing?.kernelFunc === cfg.kernelFunc) continue;
    if (existing !== undefined) unregisterKernel(cfg.kernelName, cfg.backendName);
    registerKernel({ ...cfg, setupFunc: existing?.setupFunc, disposeFunc: existing?.disposeFunc });
  }
}
