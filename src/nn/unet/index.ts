// The conditional U-Net of IR-SDE in tfjs (NHWC), weight-compatible with the original PyTorch
// model, plus the project's model file (weights + network and SDE configs) and size helpers.
export { ConditionalUNet, type ConditionalUNetOptions, type UNetNoiseModel, type UNetTime } from './conditional-unet.js';
export {
  ATTN_DIM_HEAD,
  ATTN_HEADS,
  checkUNetConfig,
  countParameters,
  forwardFlops,
  paddedSize,
  type PaddedSize,
  unetParamSpecs,
  type ParamKind,
  type ParamSpec,
  type UNetConfig,
  type UNetPrediction,
  UNET_PREDICTIONS,
  predictionOf,
} from './config.js';
export { tfjsShape, tfjsToTorch, torchToTfjs } from './layout.js';
export {
  StateDictMismatchError,
  inferUNetConfig,
  type LoadStateDictOptions,
  type LoadStateDictResult,
  type ShapeMismatch,
} from './state-dict.js';
export {
  IRSDE_METADATA_KEY,
  IRSDE_MODEL_FORMAT,
  IRSDE_MODEL_VERSION,
  ModelCompatibilityError,
  assertCompatible,
  loadModel,
  readModelInfo,
  saveModel,
  type RecommendedSampling,
  type SaveModelOptions,
  type LoadedModel,
  type ModelExpectation,
  type SavedModelInfo,
} from './model-format.js';
export { loadModelFromUrl, modelBlob } from './model-url.js';
