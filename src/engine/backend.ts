import * as tf from '@tensorflow/tfjs-core';
// The cpu backend, and tfjs's gradients (registered by tfjs-layers' bundle in Node; see
// backend/tfjs.ts). Imported here by name, not via backend/tfjs.ts: with "sideEffects": false a
// bundler drops a module imported only for its side effects.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { registerWasmTrainingKernels } from './wasm-kernels.js';
import { registerCpuKernelFixes } from '../backend/cpu-kernel-fixes.js';

/** A tfjs backend request: 'auto', a known name, or any backend name registered with tfjs. */
export type BackendRequest = 'auto' | 'wasm' | 'cpu' | 'webgl' | 'webgpu' | (string & {});

/** Options of {@link selectBackend}. */
export interface SelectBackendOptions {
  /**
   * Where the browser fetches tfjs-backend-wasm's `.wasm` files from (passed to its
   * `setWasmPaths`: a URL prefix or a file-name map). Not needed in Node, where the package
   * reads them from its own folder in node_modules.
   */
  wasmPaths?: string | Record<string, string>;
}

/** Environment variable (read in Node only) that picks the backend when none is asked for. */
export const BACKEND_ENV_VAR = 'IRSDE_BACKEND';

function envBackend(): string | undefined {
  // Via globalThis so that the core never names Node's `process` (browsers have none).
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const v = proc?.env?.[BACKEND_ENV_VAR]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}

async function tryBackend(name: string): Promise<boolean> {
  if (tf.findBackendFactory(name) == null) return false;
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/** Loads tfjs-backend-wasm (lazily: importing it registers a backend), then our kernels. */
async function loadWasm(options: SelectBackendOptions): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (options.wasmPaths !== undefined && tf.findBackend('wasm') == null) {
    wasm.setWasmPaths(options.wasmPaths as never);
  }
  registerWasmTrainingKernels();
}

async function useWasm(options: SelectBackendOptions): Promise<boolean> {
  try {
    await loadWasm(options);
  } catch {
    return false;
  }
  return tryBackend('wasm');
}

/**
 * Makes a tfjs backend the active one and returns its name. `'auto'` (the default) picks the
 * fastest that works: in Node, wasm with our training kernels (see
 * {@link registerWasmTrainingKernels}), else cpu; in browsers webgpu or webgl when their packages
 * are imported, else wasm, else cpu. When `name` is omitted or `'auto'`, the environment variable
 * `IRSDE_BACKEND` (Node only) overrides it. A named backend that fails to start is an error; cpu
 * is always available and gives the reference results (with {@link registerCpuKernelFixes},
 * which this installs). Await it before running any model.
 * @param name Backend to use: 'auto', 'wasm', 'cpu', or any backend registered with tfjs.
 * @param options See {@link SelectBackendOptions}.
 * @returns The name of the now active backend.
 * @throws Error when a named backend is unknown or cannot start.
 */
export async function selectBackend(name: BackendRequest = 'auto', options: SelectBackendOptions = {}): Promise<string> {
  registerCpuKernelFixes();
  const want = name === 'auto' ? envBackend() ?? 'auto' : name;
  if (want === 'auto') {
    const order = isNode() ? ['wasm'] : ['webgpu', 'webgl', 'wasm'];
    for (const candidate of order) {
      const ok = candidate === 'wasm' ? await useWasm(options) : await tryBackend(candidate);
      if (ok) return candidate;
    }
    if (!(await tryBackend('cpu'))) throw new Error("selectBackend: not even the 'cpu' backend could start");
    return 'cpu';
  }
  if (want === 'wasm') {
    await loadWasm(options);
    if (!(await tryBackend('wasm'))) {
      throw new Error("selectBackend('wasm'): the wasm backend failed to start" +
        (isNode() ? '' : ' (in a browser, pass wasmPaths pointing at the served tfjs-backend-wasm .wasm files)'));
    }
    return 'wasm';
  }
  if (tf.findBackendFactory(want) == null) {
    const known = Object.keys(tf.engine().registryFactory).join(', ');
    throw new Error(`selectBackend: unknown backend '${want}'; registered: ${known}, plus 'auto' and 'wasm' ` +
      `(for webgl/webgpu import their tfjs packages first)`);
  }
  if (!(await tryBackend(want))) throw new Error(`selectBackend: backend '${want}' failed to start`);
  return want;
}
