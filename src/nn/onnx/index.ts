// ONNX export of any irsde network (U-Net, NAFNet or a registered custom network; pure
// TypeScript, no Python) and an ONNX Runtime noise model with an injected `ort` module. The Node binding lives in ./node.ts (not exported here).
export { exportOnnx, OnnxExportError, ONNX_EXPORT_OPSET, ONNX_EXPORT_IR_VERSION, ONNX_IO, type ExportOnnxOptions } from './export.js';
export { WINOGRAD_MIN_CHANNELS, type Conv3x3 } from './winograd.js';
export { exportOnnxTrainingGraph, ONNX_TRAIN_IO, type TrainingGraphOptions } from './train-graph.js';
export { OrtNoiseModel, createOrtNoiseModel, type OrtNoiseModelOptions, type OrtTime, type NchwArray } from './ort-noise-model.js';
export { OrtModelError, resolveOrtIo, type OrtIoNames, type OrtIoSpec, type OrtTimeType } from './io-mapping.js';
export type { OrtModuleLike, OrtSessionFactoryLike, OrtTensorConstructorLike, OrtSessionLike, OrtSessionOptions, OrtTensorLike, OrtValueMetadataLike } from './ort-types.js';
