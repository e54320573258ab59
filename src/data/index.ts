// Data for training and evaluation (browser-safe): image sources, synthetic degradations,
// augmentations, MATLAB-style bicubic resizing and crop data sets. Folder reading is Node-only
// (src/io).
export { joinSources, memorySource, type ImageSource } from './source.js';
export { type Range, Uniforms } from './random.js';
export { imresize, type ResizeOptions, type ResizeByScale, type ResizeToSize } from './resize.js';
export { lineKernel, normalizeKernel, gaussianBlur, motionBlur, blurKernel, type BlurKernelParams, type GaussianBlurOptions, type MotionBlurOptions } from './blur.js';
export { gaussianNoise, rainStreaks, type GaussianNoiseOptions, type RainOptions } from './noise.js';
export {
  cameraNoise,
  cameraNoiseWith,
  srgbToLinear,
  linearToSrgb,
  POISSON_EXACT_MAX_MEAN,
  type CameraNoiseOptions,
  type CameraNoiseDraw,
} from './camera-noise.js';
export { inpaintingMask, applyMask, isInpaintFill, type InpaintFill, type MaskOptions, type MaskShape } from './mask.js';
export {
  bicubicDownUp,
  createDegradation,
  degradeBatch,
  DEGRADATION_KINDS,
  inpaintFillOf,
  type Degradation,
  type DegradedImage,
  type DegradationSpec,
  type NoiseSpec,
  type CameraNoiseSpec,
  type OneOfSpec,
  type QuantizeSpec,
  type RainSpec,
  type GaussianBlurSpec,
  type MotionBlurSpec,
  type Kernel2DJson,
  type BicubicSpec,
  type InpaintSpec,
  type ChainSpec,
} from './degradation.js';
export { parseDegradation } from './degradation-shorthand.js';
export { dihedral, augmentPair, randomCropPair, centerCrop, type ImagePair, type AugmentOptions } from './augment.js';
export {
  ImageDataset,
  type ImageBatch,
  type DatasetItem,
  type DatasetOptions,
  type PairedDatasetOptions,
  type SyntheticDatasetOptions,
  type ItemOptions,
  type ContrastOptions,
  type DefocusOptions,
} from './dataset.js';
