/**
 * irsde for web pages: everything in `irsde`, plus running networks on the fastest browser
 * engine — ONNX Runtime Web (WebGPU, or WebAssembly threads + SIMD on every core of a
 * cross-origin isolated page) with tfjs (webgpu / webgl / wasm / cpu) as the fallback. Import
 * from `irsde/web`; `onnxruntime-web` is an optional peer dependency, imported on first use.
 * @packageDocumentation
 */
export * from './index.js';
export * from './web/index.js';
