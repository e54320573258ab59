import { getKernel, type KernelBackend, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

/** Name of the tfjs backend our training kernels are registered on. */
export const WASM = 'wasm';

function lookup(kernelName: string): KernelFunc {
  const cfg = getKernel(kernelName, WASM);
  if (cfg === undefined) {
    throw new Error(`irsde wasm kernels: kernel '${kernelName}' is not registered for backend 'wasm' ` +
      `(import '@tensorflow/tfjs-backend-wasm' before registering the training kernels)`);
  }
  return cfg.kernelFunc;
}

/**
 * Runs wasm kernels from inside another wasm kernel and owns every output it creates: calling
 * kernel functions directly (not through tf ops) keeps the engine's tape and scopes out of it,
 * so each intermediate must be freed by hand with {@link KernelScope.dispose}. The one result a
 * kernel returns is taken out of the scope with {@link KernelScope.keep}.
 */
export class KernelScope {
  private readonly owned: TensorInfo[] = [];

  /** @param backend The backend instance the calling kernel received (the wasm backend). */
  constructor(readonly backend: KernelBackend) {}

  /** Runs `kernelName` on wasm; the output is owned by this scope until {@link keep} is called. */
  run(kernelName: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: object = {}): TensorInfo {
    return this.call(lookup(kernelName), inputs, attrs, kernelName);
  }

  /** Like {@link run} for a given kernel function (e.g. wasm's own one that ours replaced). */
  call(fn: KernelFunc, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: object = {}, kernelName = 'kernel'): TensorInfo {
    const out = fn({
      inputs: inputs as unknown as Record<string, TensorInfo>,
      backend: this.backend,
      attrs: attrs as NamedAttrMap,
    });
    if (Array.isArray(out)) throw new Error(`irsde wasm kernels: '${kernelName}' returned several outputs`);
    this.owned.push(out);
    return out;
  }

  /** Adopts an output made outside {@link run} (e.g. by a heap helper); returns it. */
  own(info: TensorInfo): TensorInfo {
    this.owned.push(info);
    return info;
  }

  /** Reshape without copying (wasm's Reshape shares the data and counts a reference). */
  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /** Takes `info` out of the scope so that {@link dispose} leaves it alive; returns it. */
  keep(info: TensorInfo): TensorInfo {
    const i = this.owned.lastIndexOf(info);
    if (i >= 0) this.owned.splice(i, 1);
    return info;
  }

  /** Frees every output still owned (each release drops one reference of its data). */
  dispose(): void {
    for (const info of this.owned) this.backend.disposeData(info.dataId);
    this.owned.length = 0;
  }
}

/** Runs `body` with a fresh scope, keeps its result and frees everything else, even on error. */
export function withScope(backend: KernelBackend, body: (s: KernelScope) => TensorInfo): TensorInfo {
  const scope = new KernelScope(backend);
  try {
    return scope.keep(body(scope));
  } finally {
    scope.dispose();
  }
}
