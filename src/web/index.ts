/**
 * Browser engines: onnxruntime-web (an optional peer dependency, imported lazily) and the
 * choice between it and tfjs.
 * @module
 */
export { loadOrtWeb, isolationNote, isCrossOriginIsolated, logicalCores, ORT_WEB_RUNTIME_FILES, type LoadOrtWebOptions, type OrtWebModuleLike, type OrtWebRuntime, type OrtWebSource, type OrtWebWasmEnvLike, type OrtWebFilePaths, type OrtWebEnvLike, type OrtWebModuleNamespace, hasDocument } from './ort-web.js';
export {
  BROWSER_ENGINES,
  detectBrowserEngines,
  selectBrowserEngine,
  loadBrowserNetwork,
  type BrowserEngineName,
  type BrowserEngineOptions,
  type BrowserEngineProbe,
  type BrowserEngineReport,
  type BrowserNetwork,
  type BrowserNetworkSource,
  type BrowserNetworkStats,
  type LoadBrowserNetworkOptions,
  type TfjsForward,
  type SkippedEngine,
  type WebGpuAdapterSummary,
  type WebGlRendererSummary,
} from './engine.js';
export { browserEngine, type BrowserRestorerEngineOptions } from './restorer-engine.js';
export { serveRestorer, type ServeRestorerOptions } from './worker-host.js';
export { WorkerRestorer, loadWorkerRestorer, type LoadWorkerRestorerOptions } from './worker-restorer.js';
export type { RestorerPort, WorkerLike, WorkerEngineOptions, WorkerRestoreOptions, WorkerRestoredImage, WorkerModelSummary, WorkerSdeSummary } from './worker-protocol.js';
