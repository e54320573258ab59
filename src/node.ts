/**
 * irsde's Node-only additions: image and model files on disk, folder data sources, and the
 * command line's building blocks. Import from `irsde/node`; everything in `irsde` itself also
 * runs in browsers.
 * @packageDocumentation
 */
export * from './index.js';
export * from './io/index.js';
export * from './io/model-files.js';
export * from './train/parallel/index.js';
export * from './nn/onnx/node.js';
// The ONNX Runtime types the Node binding's functions take and return (also in irsde/advanced).
export { OrtNoiseModel, type OrtModuleLike, type OrtNoiseModelOptions, type OrtSessionOptions } from './nn/onnx/index.js';
