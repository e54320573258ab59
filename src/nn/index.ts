// Networks (each described once in nets/, run on tfjs, exported to ONNX), weight files, model files.
export * from './io/index.js';
export * from './onnx/index.js';
export { Module, RootModule, Conv2d, Linear, LayerNorm, Param, type ParamKind, type ParamSpec } from './arch/module.js';
export type { Ops } from './arch/ops.js';
export { ATTN_DIM_HEAD, ATTN_HEADS } from './nets/blocks.js';
export { NETWORK_PREDICTIONS, predictionOf, type NetworkPrediction } from './nets/common.js';
export { checkUNetConfig, type UNetConfig } from './nets/unet.js';
export { checkNAFNetConfig, type NAFNetConfig } from './nets/nafnet.js';
export {
  ARCHS,
  archOf,
  buildModules,
  checkNetworkConfig,
  countParameters,
  defaultTile,
  forwardFlops,
  fullAttentionScale,
  extraCondChannels,
  imageChannels,
  inferNetworkConfig,
  isConditional,
  networkParamSpecs,
  paddedSize,
  withLocalStatistics,
  type Arch,
  type NetworkConfig,
  type NetworkModules,
  type ImageChannels,
  type PaddedSize,
} from './nets/network.js';
export {
  TfjsNetwork,
  UNet,
  NAFNet,
  createNetwork,
  CustomNetwork,
  withExtraCond,
  type NetworkOptions,
  type NetworkNoiseModel,
  type NetworkTime,
} from './tfjs/network.js';
export {
  NetworkModule,
  registerNetwork,
  unregisterNetwork,
  registeredNetworks,
  checkCustomNetworkConfig,
  UnregisteredNetworkError,
  type CustomNetworkConfig,
  type NetworkDefinition,
  type JsonValue,
} from './nets/custom.js';
export {
  fromLayersModel,
  LayersNetwork,
  sinusoidalTimeEmbedding,
  type LayersNetworkOptions,
  type LayersModelLike,
  type LayerVariableLike,
} from './tfjs/layers-network.js';
export { tfjsShape, tfjsToTorch, torchToTfjs } from './tfjs/layout.js';
export { StateDictMismatchError, type LoadStateDictOptions, type LoadStateDictResult, type ShapeMismatch } from './tfjs/state-dict.js';
export {
  IRSDE_METADATA_KEY,
  IRSDE_MODEL_FORMAT,
  IRSDE_MODEL_VERSION,
  ModelCompatibilityError,
  assertCompatible,
  checkWeightsFitNetwork,
  loadModel,
  readModelInfo,
  verifyModel,
  type VerifiedModel,
  saveModel,
  type RecommendedSampling,
  type ModelTask,
  checkModelTask,
  modelTaskFromName,
  type SaveModelOptions,
  type LoadedModel,
  type LoadModelOptions,
  type ModelExpectation,
  type SavedModelInfo,
} from './model/model-format.js';
export { loadModelFromUrl, modelBlob } from './model/model-url.js';
