/**
 * irsde: mean-reverting SDE (IR-SDE) diffusion primitives for image restoration.
 *
 * The curated public API (browser-safe), 44 runtime names for five acts: build an SDE, sample,
 * train a network, restore an image, measure it. Everything else (host tensors and backends,
 * single sampler steps, other noise-model wrappers, the loss pieces, the network module tree and
 * your own networks, weight-file details and errors, ONNX training graphs, Adam/EMA/LR schedules,
 * the data augmentation and degradation pieces, ...) is in `irsde/advanced`, which also re-exports
 * all of this; Node's file I/O and ONNX Runtime binding are in `irsde/node`; onnxruntime-web in
 * `irsde/web`. Every object that holds memory is released with `dispose()`.
 *
 * Names: the condition an SDE pulls towards (the paper's `mu`, the degraded image for a
 * MeanRevertingSDE; `null` for a DenoisingSDE) is the `cond` argument of every SDE, sampler and
 * network method; `lq` / `gt` name the degraded and clean images of a data pair, of a batch and of
 * `restore`'s input. Verbs: `create*` builds a new object from a config, `read*` / `write*`
 * turn bytes (or files, in `irsde/node`) into plain data and back, `decode*` / `encode*` do it for
 * image formats, `load*` / `save*` turn bytes, URLs or files into a ready-to-run object and back.
 * @packageDocumentation
 */

// Backends and random numbers.
export { Rng, type TensorBackend } from './backend/index.js';
export { selectBackend, type SelectBackendOptions } from './engine/index.js';

// Build an SDE.
export {
  MeanRevertingSDE,
  DenoisingSDE,
  createSDE,
  from255,
  type MeanRevertingSDEConfig,
  type DenoisingSDEConfig,
  type AnySDEConfig,
  type DiffusionSDE,
  type SDEKind,
  type ScheduleSpec,
} from './sde/index.js';

// Sample: restore, the samplers, wrapping a model as a noise model.
export {
  restore,
  restoreWithUncertainty,
  samplers,
  timesteps,
  sdeSampler,
  odeSampler,
  heunSampler,
  posteriorSampler,
  odeAdaptiveSampler,
  asNoiseModel,
  fromX0Model,
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
  UNet,
  NAFNet,
  createNetwork,
  countParameters,
  saveModel,
  loadModel,
  readModelInfo,
  readSafetensors,
  readTorchStateDict,
  exportOnnx,
  createOrtNoiseModel,
  type NetworkConfig,
  type UNetConfig,
  type NAFNetConfig,
  type StateDict,
  type LoadedModel,
  type RecommendedSampling,
  type ExportOnnxOptions,
} from './nn/index.js';

// Train a network.
export { Trainer, type TrainerConfig, type FitResult, type StepRecord } from './train/index.js';
export { trainingLoss, type Objective } from './loss/index.js';
export {
  ImageDataset,
  memorySource,
  createDegradation,
  type DatasetOptions,
  type ImageSource,
  type DegradationSpec,
} from './data/index.js';

// Images and metrics: the FloatImage type, codec, PSNR / SSIM, noise-level estimate.
export {
  createImage,
  decodeImage,
  encodeImage,
  imageToTensor,
  tensorToImage,
  psnr,
  ssim,
  estimateNoiseSigma,
  type FloatImage,
} from './image/index.js';

// Restore an image: the pipeline.
export { Restorer, loadRestorer, tfjsEngine, type NetworkEngine, type NoiseLevelUsed, type RestoreImageOptions, type RestoredImage, type RestoredTile } from './pipeline/index.js';
