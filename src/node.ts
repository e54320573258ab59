/**
 * irsde's Node-only additions: image and model files on disk, folder data sources, training
 * runs in a folder (`runTraining`), and the command line's building blocks. Import from `irsde/node`; everything in `irsde` itself also
 * runs in browsers.
 * @packageDocumentation
 */
export * from './index.js';
export * from './io/index.js';
export * from './io/model-files.js';
export * from './train/parallel/index.js';
// The training run behind `irsde train`: runTraining and its configuration.
export * from './train-run/index.js';
export * from './nn/onnx/node.js';
// The ONNX Runtime types the Node binding's functions take and return (also in irsde/advanced).
export { OrtNoiseModel, type OrtModuleLike, type OrtNoiseModelOptions, type OrtSessionOptions } from './nn/onnx/index.js';
