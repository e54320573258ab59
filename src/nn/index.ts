export * from './io/index.js';
export * from './unet/index.js';
export * from './onnx/index.js';
