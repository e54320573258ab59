/**
 * irsde: mean-reverting SDE (IR-SDE) diffusion primitives for image restoration.
 *
 * The curated public API (browser-safe): the two SDEs, the samplers and `restore`, the networks
 * with their weight and model files, ONNX export, training, images, metrics and the restoration
 * pipeline. The lower-level building blocks (single sampler steps, the network module tree, ONNX
 * training graphs, Adam/EMA/LR schedules, data augmentation and degradation pieces, ...) are in
 * `irsde/advanced`; Node's file I/O and ONNX Runtime binding in `irsde/node`; onnxruntime-web in
 * `irsde/web`. Every object that holds memory is released with `dispose()`.
 * @packageDocumentation
 */

// Tensors, random numbers, backends.
export { Rng, type RngState, type TensorBackend, HostTensor, hostBackend, tfjsBackend } from './backend/index.js';
export { selectBackend, type SelectBackendOptions } from './engine/index.js';

// The SDEs.
export {
  MeanRevertingSDE,
  DenoisingSDE,
  createSDE,
  isMeanRevertingSDE,
  isDenoisingSDE,
  from255,
  thetaSchedule,
  type SDEConfig,
  type DenoisingSDEConfig,
  type AnySDEConfig,
  type DiffusionSDE,
  type SDEKind,
  type ScheduleSpec,
} from './sde/index.js';

// Losses.
export { mlLoss, noiseMatchingLoss, trainingLoss, defaultObjective, type Objective } from './loss/index.js';

// Sampling and restoration.
export {
  restore,
  restoreWithUncertainty,
  timesteps,
  samplers,
  sdeSampler,
  odeSampler,
  heunSampler,
  posteriorSampler,
  odeAdaptiveSampler,
  solveProbabilityFlow,
  asNoiseModel,
  fromScoreModel,
  fromX0Model,
  fromResidualModel,
  tiledNoiseModel,
  oracleNoiseModel,
  gaussianNoiseModel,
  type RestoreOptions,
  type Uncertainty,
  type NoiseModel,
  type Sampler,
  type SamplerName,
  type SamplerOptions,
  type StepInfo,
  type TileDone,
  type TileOptions,
} from './sampling/index.js';

// Networks, weight files, model files, ONNX.
export {
  ConditionalUNet,
  ConditionalNAFNet,
  TfjsNetwork,
  createNetwork,
  countParameters,
  inferNetworkConfig,
  readTorchStateDict,
  readSafetensors,
  writeSafetensors,
  saveModel,
  loadModel,
  readModelInfo,
  loadModelFromUrl,
  exportOnnx,
  createOrtNoiseModel,
  WeightFileError,
  StateDictMismatchError,
  ModelCompatibilityError,
  type NetworkConfig,
  type UNetConfig,
  type NAFNetConfig,
  type StateDict,
  type LoadedModel,
  type RecommendedSampling,
  type ExportOnnxOptions,
} from './nn/index.js';

// Images: the FloatImage type, codec, metrics, noise-level estimate.
export {
  makeImage,
  asFloatImage,
  imageToTensor,
  tensorToImage,
  decodeImage,
  encodeImage,
  psnr,
  ssim,
  psnrY,
  ssimY,
  estimateNoiseSigma,
  type FloatImage,
} from './image/index.js';

// Data sets and synthetic degradations.
export {
  ImageDataset,
  memorySource,
  degradationFromSpec,
  gaussianNoise,
  rainStreaks,
  type DatasetOptions,
  type ImageSource,
  type DegradationSpec,
} from './data/index.js';

// Training.
export {
  Trainer,
  createOrtGradients,
  type TrainerConfig,
  type FitResult,
  type StepRecord,
} from './train/index.js';

// The restoration pipeline.
export { Restorer, loadRestorer, tfjsEngine, type NetworkEngine, type NoiseLevelUsed, type RestoreImageOptions, type RestoredImage, type RestoredTile } from './pipeline/index.js';
