/**
 * Loading and configuring `onnxruntime-web` (an optional peer dependency): imported lazily, on
 * first use, so that pages that never run ONNX Runtime never download it; its WebAssembly files
 * are fetched from the app's own server (`wasmPaths`), on every core when the page is
 * cross-origin isolated.
 */
import type { OrtModuleLike } from '../nn/onnx/ort-types.js';

/** Explicit URLs of onnxruntime-web's two runtime files. */
export interface OrtWebFilePaths {
  /** URL of the `.wasm` binary. */
  wasm?: string | URL;
  /** URL of the `.mjs` module that loads it (also the script of ORT's worker threads). */
  mjs?: string | URL;
}

/** The slice of `onnxruntime-web`'s `env.wasm` that irsde sets. */
export interface OrtWebWasmEnvLike {
  /** Worker threads of the wasm execution provider (0: ORT decides; 1: no workers). */
  numThreads?: number;
  /** URL prefix of the served `.wasm`/`.mjs` files, or explicit URLs for both. */
  wasmPaths?: string | OrtWebFilePaths;
  /** Whether ORT runs in a proxy worker (irsde leaves it off; see {@link loadOrtWeb}). */
  proxy?: boolean;
}

/** The slice of `onnxruntime-web`'s `env` that irsde reads or sets. */
export interface OrtWebEnvLike {
  /** The wasm execution provider's settings (read when the first session is created). */
  wasm: OrtWebWasmEnvLike;
  /** Package versions, e.g. `{ web: '1.30.0' }`. */
  readonly versions?: Record<string, string | undefined>;
}

/** The `onnxruntime-web` module: the injectable ORT module plus its `env`. */
export interface OrtWebModuleLike extends OrtModuleLike {
  /** ORT's global settings; `env.wasm` takes effect when the first session is created. */
  readonly env: OrtWebEnvLike;
}

/** What a dynamic `import()` of a CommonJS-style build may return: the module under `default`. */
export interface OrtWebModuleNamespace {
  /** The onnxruntime-web module. */
  readonly default: OrtWebModuleLike;
}

/** Where the `onnxruntime-web` module comes from: the module itself, or a function loading it. */
export type OrtWebSource = OrtWebModuleLike | (() => Promise<OrtWebModuleLike | OrtWebModuleNamespace>);

/** Options of {@link loadOrtWeb}. */
export interface LoadOrtWebOptions {
  /**
   * The module, or a loader such as `() => import('onnxruntime-web/wasm')`. Default: a lazy
   * `import('onnxruntime-web')` (the JSEP build: wasm and WebGPU).
   */
  readonly ort?: OrtWebSource;
  /**
   * URL prefix under which the app serves onnxruntime-web's runtime files (for the default
   * build `onnxruntime-web/dist/ort-wasm-simd-threaded.jsep.mjs` and `.jsep.wasm`, see {@link ORT_WEB_RUNTIME_FILES}),
   * resolved against the page's URL; or `{ wasm, mjs }` URLs. Default in a page `'./'`: beside
   * the page (outside a page, e.g. in Node: ORT's own default).
   * Always set, so nothing is fetched from a CDN and ORT's worker threads load the runtime's own
   * script rather than the app's bundle.
   */
  readonly wasmPaths?: string | OrtWebFilePaths;
  /**
   * Worker threads for the wasm execution provider. Default: `navigator.hardwareConcurrency`
   * when the page is cross-origin isolated, else 1 (threads need `SharedArrayBuffer`).
   */
  readonly threads?: number;
  /** Where notes go (page not cross-origin isolated, settings already fixed). Default `console.warn`. */
  readonly onNote?: (message: string) => void;
}

/** What {@link loadOrtWeb} set up. */
export interface OrtWebRuntime {
  /** The configured module. */
  readonly ort: OrtWebModuleLike;
  /** Worker threads the wasm execution provider will use (1 when not cross-origin isolated). */
  readonly threads: number;
  /** Whether the page is cross-origin isolated (`self.crossOriginIsolated`). */
  readonly crossOriginIsolated: boolean;
  /** The resolved `env.wasm.wasmPaths`. */
  readonly wasmPaths: OrtWebWasmEnvLike['wasmPaths'];
}

/**
 * The runtime files of the default `import('onnxruntime-web')` build (in
 * `node_modules/onnxruntime-web/dist/`); serve them under {@link LoadOrtWebOptions.wasmPaths}.
 * (`onnxruntime-web/wasm` needs `onnxruntime-web/dist/ort-wasm-simd-threaded.mjs` and `.wasm` instead.)
 */
export const ORT_WEB_RUNTIME_FILES: readonly string[] = Object.freeze(['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm']);

/** Message of the note printed when a page cannot use wasm threads. */
export function isolationNote(cores: number): string {
  return (
    `irsde: this page is not cross-origin isolated, so WebAssembly runs on 1 thread instead of ${cores}. ` +
    'Serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp ' +
    '(see the README, "In a browser") to use every core.'
  );
}

/** Whether this global scope is cross-origin isolated (false where the notion does not exist). */
export function isCrossOriginIsolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/** Logical cores (`navigator.hardwareConcurrency`), 1 when unknown. */
export function logicalCores(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 1;
}

/** Whether this is a page (a `document` exists): where relative file URLs mean "beside the page". */
export function hasDocument(): boolean {
  return typeof (globalThis as { document?: unknown }).document === 'object';
}

function resolveUrl(path: string): string {
  const base = (globalThis as { document?: { baseURI?: string }; location?: { href?: string } }).document?.baseURI ??
    (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return base === undefined ? new URL(path).href : new URL(path, base).href;
  } catch {
    return path;
  }
}

function isOrtModule(m: unknown): m is OrtWebModuleLike {
  const o = m as Partial<OrtWebModuleLike> | null;
  return typeof o?.InferenceSession?.create === 'function' && typeof o?.Tensor === 'function' && typeof o?.env?.wasm === 'object';
}

/** The lazily imported package (the specifier is literal so that bundlers include it). */
async function importOrtWeb(): Promise<unknown> {
  return import('onnxruntime-web');
}

// The module of the last load and the settings it was configured with: env.wasm takes effect once,
// when ORT initialises its wasm runtime, so later loads report what is in force.
const configured = new WeakMap<object, OrtWebRuntime>();

/**
 * Imports `onnxruntime-web` (lazily, once) and configures its wasm execution provider: the
 * served runtime files and the thread count. ORT reads these settings when it creates its first
 * session; later calls with other settings keep the first ones (with a note).
 *
 * When the page is not cross-origin isolated, threads fall back to 1 and a note (console.warn by
 * default) says how to serve the page to use every core.
 *
 * @param options - see {@link LoadOrtWebOptions}.
 * @returns the configured module and the thread count in force.
 * @throws Error naming the package when `onnxruntime-web` cannot be imported.
 */
export async function loadOrtWeb(options: LoadOrtWebOptions = {}): Promise<OrtWebRuntime> {
  const note = options.onNote ?? ((m: string) => console.warn(m));
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
    throw new RangeError(`loadOrtWeb: threads must be an integer >= 1, got ${String(options.threads)}`);
  }
  let mod: unknown;
  const source = options.ort;
  if (source === undefined || typeof source === 'function') {
    try {
      mod = await (source ?? importOrtWeb)();
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(
        `irsde: the onnxruntime-web engine needs the optional package 'onnxruntime-web' (npm install onnxruntime-web), which could not be loaded: ${why}`,
      );
    }
  } else mod = source;
  const ort = isOrtModule(mod) ? mod : isOrtModule((mod as { default?: unknown } | null)?.default) ? (mod as { default: OrtWebModuleLike }).default : null;
  if (ort === null) throw new TypeError("loadOrtWeb: options.ort is not the onnxruntime-web module (it needs InferenceSession, Tensor and env.wasm)");

  const previous = configured.get(ort);
  const isolated = isCrossOriginIsolated();
  const cores = logicalCores();
  const wanted = options.threads ?? cores;
  const threads = isolated ? wanted : 1;
  // In a page the default is beside the page; elsewhere (Node, workers without a document) ORT's
  // own default (its package folder) unless told otherwise.
  const paths = options.wasmPaths ?? (hasDocument() ? './' : undefined);
  const wasmPaths = paths === undefined ? ort.env.wasm.wasmPaths : typeof paths === 'string' ? resolveUrl(paths) : {
    ...(paths.wasm !== undefined ? { wasm: resolveUrl(String(paths.wasm)) } : {}),
    ...(paths.mjs !== undefined ? { mjs: resolveUrl(String(paths.mjs)) } : {}),
  };
  if (previous !== undefined) {
    if (previous.threads !== threads || JSON.stringify(previous.wasmPaths) !== JSON.stringify(wasmPaths)) {
      note(`irsde: onnxruntime-web is already set up with ${previous.threads} thread(s) and wasmPaths ${JSON.stringify(previous.wasmPaths)}; its settings cannot change after the first session`);
    }
    return previous;
  }
  if (!isolated && wanted > 1) note(isolationNote(cores));
  ort.env.wasm.numThreads = threads;
  if (wasmPaths !== undefined) ort.env.wasm.wasmPaths = wasmPaths;
  // The proxy worker would load the app's bundle as its script when ORT is bundled into it.
  ort.env.wasm.proxy = false;
  const runtime: OrtWebRuntime = { ort, threads, crossOriginIsolated: isolated, wasmPaths };
  configured.set(ort, runtime);
  return runtime;
}
