import * as tf from '@tensorflow/tfjs-core';
import { registerWasmTrainingKernels } from './wasm-kernels.js';
import { registerCpuKernelFixes } from '../backend/cpu-kernel-fixes.js';
import { quietCpuBackendBanner } from '../backend/quiet-banner.js';

/** A tfjs backend request: 'auto', a known name, or any backend name registered with tfjs. */
export type BackendRequest = 'auto' | 'wasm' | 'cpu' | 'webgl' | 'webgpu' | (string & {});

/** The part of the `@tensorflow/tfjs-backend-wasm` module that {@link selectBackend} uses. */
export interface WasmBackendModule {
  /** The package's `setWasmPaths(prefixOrFileMap)`: where its `.wasm` files are served from. */
  setWasmPaths(prefixOrFileMap: string | Record<string, string>, usePlatformFetch?: boolean): void;
}

/** Options of {@link selectBackend}. */
export interface SelectBackendOptions {
  /**
   * The `@tensorflow/tfjs-backend-wasm` module (`await import('@tensorflow/tfjs-backend-wasm')`),
   * whose import registers the wasm backend. In a browser pass it to use `wasmPaths`; without it
   * a browser app imports the package itself. Not needed in Node, where irsde imports the
   * package when it is installed.
   */
  wasm?: WasmBackendModule;
  /**
   * Where the browser fetches tfjs-backend-wasm's `.wasm` files from (passed to its
   * `setWasmPaths`: a URL prefix or a file-name map; needs `wasm` in a browser). Not needed in
   * Node, where the package reads them from its own folder in node_modules.
   */
  wasmPaths?: string | Record<string, string>;
}

/** Environment variable (read in Node only) that picks the backend when none is asked for. */
export const BACKEND_ENV_VAR = 'IRSDE_BACKEND';

const CPU_PACKAGE = '@tensorflow/tfjs-backend-cpu';
const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';
// tfjs-core's own gradient registrations (`@tensorflow/tfjs-core/dist/register_all_gradients`)
// are ES modules with extension-less imports, which Node cannot load; tfjs-layers' Node bundle
// registers the same gradients.
const GRADIENTS_PACKAGE = '@tensorflow/tfjs-layers';

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

/**
 * Imports an optional peer package in Node; `undefined` in browsers or when it is not installed.
 * The specifier is a variable, so bundlers neither need the package nor include it: a browser
 * app imports the backends it wants itself.
 */
async function importOptional(name: string): Promise<Record<string, unknown> | undefined> {
  if (!isNode()) return undefined;
  try {
    const mod = (await import(/* webpackIgnore: true */ /* @vite-ignore */ name)) as Record<string, unknown>;
    // Node's import() of a CommonJS bundle may put its exports under `default` only.
    return mod.default !== undefined && typeof mod.default === 'object' ? { ...(mod.default as object), ...mod } : mod;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((e as Error).message).includes(name)) return undefined;
    throw e;
  }
}

/** Whether tfjs's gradient functions are registered (what `tf.grad` and training need). */
export function tfjsGradientsRegistered(): boolean {
  return tf.getGradient('Conv2D') !== undefined && tf.getGradient('Add') !== undefined;
}

/** In Node, registers tfjs's gradients from tfjs-layers' bundle when it is installed. */
async function loadGradients(): Promise<void> {
  if (!tfjsGradientsRegistered()) await importOptional(GRADIENTS_PACKAGE);
}

async function tryBackend(name: string): Promise<boolean> {
  if (tf.findBackendFactory(name) == null) return false;
  const listeners = processListeners();
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  } finally {
    if (listeners !== null) dropNewListeners(listeners);
  }
}

type ProcessEvent = 'uncaughtException' | 'unhandledRejection';
const PROCESS_EVENTS: readonly ProcessEvent[] = ['uncaughtException', 'unhandledRejection'];
type ProcessLike = { listeners(e: ProcessEvent): Function[]; removeListener(e: ProcessEvent, f: Function): unknown };

/** Node's process (as far as listeners go), or null elsewhere. */
function nodeProcess(): ProcessLike | null {
  const p = (globalThis as { process?: Partial<ProcessLike> }).process;
  return isNode() && p !== undefined && typeof p.listeners === 'function' && typeof p.removeListener === 'function' ? (p as ProcessLike) : null;
}

/** The process's error listeners now (Node), to find those a backend's start adds. */
function processListeners(): Map<ProcessEvent, Function[]> | null {
  const p = nodeProcess();
  return p === null ? null : new Map(PROCESS_EVENTS.map((e) => [e, p.listeners(e)]));
}

/**
 * Removes the error listeners added since `before`. tfjs-backend-wasm's emscripten start-up adds
 * `uncaughtException` / `unhandledRejection` listeners that rethrow: Node then prints the
 * minified line of that rethrow (~38 KB of emscripten code) before any uncaught error of the app.
 * Without them Node reports the app's own error as usual; tfjs never uses emscripten's exit path
 * they exist for.
 */
function dropNewListeners(before: Map<ProcessEvent, Function[]>): void {
  const p = nodeProcess();
  if (p === null) return;
  for (const e of PROCESS_EVENTS) {
    const had = new Set(before.get(e));
    for (const f of p.listeners(e)) if (!had.has(f)) p.removeListener(e, f);
  }
}

/** Once the cpu backend is registered (also by tfjs-backend-wasm, which imports it): no banner, correct kernels. */
function prepareCpu(): void {
  quietCpuBackendBanner();
  registerCpuKernelFixes();
}

/** Registers the cpu backend (Node: imports the package when installed); false when absent. */
async function loadCpu(): Promise<boolean> {
  if (tf.findBackendFactory('cpu') == null) await importOptional(CPU_PACKAGE);
  prepareCpu();
  return tf.findBackendFactory('cpu') != null;
}

/**
 * Registers the wasm backend and our kernels: from `options.wasm`, the package imported in Node,
 * or a registration the app made itself. False when none is available.
 */
async function loadWasm(options: SelectBackendOptions): Promise<boolean> {
  let wasm: WasmBackendModule | undefined = options.wasm;
  if (wasm === undefined && isNode()) wasm = (await importOptional(WASM_PACKAGE)) as WasmBackendModule | undefined;
  prepareCpu();
  if (options.wasmPaths !== undefined) {
    if (wasm === undefined || typeof wasm.setWasmPaths !== 'function') {
      throw new Error("selectBackend: wasmPaths needs the wasm module: pass { wasm: await import('@tensorflow/tfjs-backend-wasm'), wasmPaths }");
    }
    if (tf.findBackend('wasm') == null) wasm.setWasmPaths(options.wasmPaths);
  }
  if (tf.findBackendFactory('wasm') == null) return false;
  registerWasmTrainingKernels();
  return true;
}

/** What to install or import for a backend that is missing. */
function missing(name: 'cpu' | 'wasm'): string {
  const pkg = name === 'cpu' ? CPU_PACKAGE : WASM_PACKAGE;
  return isNode()
    ? `selectBackend('${name}'): ${pkg} is not installed (npm install ${pkg})`
    : `selectBackend('${name}'): the ${name} backend is not registered; import '${pkg}' in your app first`;
}

/**
 * Makes a tfjs backend the active one and returns its name. `'auto'` (the default) picks the
 * fastest that is available: in Node, wasm with our training kernels (see
 * {@link registerWasmTrainingKernels}), else cpu; in browsers webgpu or webgl when their packages
 * are imported, else wasm, else cpu. When `name` is omitted or `'auto'`, the environment variable
 * `IRSDE_BACKEND` (Node only) overrides it.
 *
 * irsde depends on `@tensorflow/tfjs-core` only; the backends are the app's choice. In Node this
 * imports the installed optional packages itself: `@tensorflow/tfjs-backend-wasm` (which brings
 * `@tensorflow/tfjs-backend-cpu`), `@tensorflow/tfjs-backend-cpu`, and `@tensorflow/tfjs-layers`,
 * whose bundle registers tfjs's gradients (needed to train on tfjs). In a browser, import the
 * backend packages (and, to train, `@tensorflow/tfjs-core/dist/register_all_gradients`) in the
 * app; this picks among the registered ones. cpu gives the reference results (with
 * `registerCpuKernelFixes`, which this installs). Await it before running any model.
 * @param name Backend to use: 'auto', 'wasm', 'cpu', or any backend registered with tfjs.
 * @param options See {@link SelectBackendOptions}.
 * @returns The name of the now active backend.
 * @throws Error when a named backend is unknown, not installed or cannot start, or (for 'auto')
 *   when no backend is available; the message names the package to install.
 *
 * @example
 * ```ts
 * import { selectBackend } from 'irsde';
 * const name = await selectBackend(); // 'wasm' when @tensorflow/tfjs-backend-wasm is installed, else 'cpu', ...
 * await selectBackend('cpu');         // or name one
 * ```
 */
export async function selectBackend(name: BackendRequest = 'auto', options: SelectBackendOptions = {}): Promise<string> {
  prepareCpu();
  await loadGradients();
  const want = name === 'auto' ? envBackend() ?? 'auto' : name;
  if (want === 'auto') {
    const order = isNode() ? ['wasm'] : ['webgpu', 'webgl', 'wasm'];
    for (const candidate of order) {
      const ok = candidate === 'wasm' ? (await loadWasm(options)) && (await tryBackend('wasm')) : await tryBackend(candidate);
      if (ok) return candidate;
    }
    if ((await loadCpu()) && (await tryBackend('cpu'))) return 'cpu';
    throw new Error(isNode()
      ? `selectBackend: no tfjs backend is installed; npm install ${WASM_PACKAGE} (fastest in Node; it brings ${CPU_PACKAGE})`
      : `selectBackend: no tfjs backend is registered; import one in your app first (e.g. '@tensorflow/tfjs-backend-webgl', '${WASM_PACKAGE}' or '${CPU_PACKAGE}')`);
  }
  if (want === 'wasm') {
    if (!(await loadWasm(options))) throw new Error(missing('wasm'));
    if (!(await tryBackend('wasm'))) {
      throw new Error("selectBackend('wasm'): the wasm backend failed to start" +
        (isNode() ? '' : " (in a browser, pass { wasm, wasmPaths } pointing at the served tfjs-backend-wasm .wasm files)"));
    }
    return 'wasm';
  }
  if (want === 'cpu' && !(await loadCpu())) throw new Error(missing('cpu'));
  if (tf.findBackendFactory(want) == null) {
    const known = Object.keys(tf.engine().registryFactory).join(', ');
    throw new Error(`selectBackend: unknown backend '${want}'; registered: ${known || 'none'}, plus 'auto' and 'wasm' ` +
      `(for webgl/webgpu import their tfjs packages first)`);
  }
  if (!(await tryBackend(want))) throw new Error(`selectBackend: backend '${want}' failed to start`);
  return want;
}
