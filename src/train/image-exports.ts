// The image, metric, codec and data API of src/train (kept in one file so src/train/index.ts
// needs a single line for it).
export {
  type FloatImage,
  type ImageLike,
  makeImage,
  convertChannels,
  asFloatImage,
  imageToTensor,
  imagesToTensor,
  tensorToImage,
  cropImage,
  cropBorder,
  modcrop,
} from './image.js';
export { reflectIndex, gaussianWeights, convolveImage, type Kernel2D } from './filter.js';
export { psnr, ssim, psnrY, ssimY, rgbToY, type MetricOptions, type SsimOptions } from './metrics.js';
export { estimateNoiseSigma, type NoiseSigmaOptions } from './noise-level.js';
export {
  decodeImage,
  encodePng,
  encodeJpeg,
  encodeImage,
  sniffImageFormat,
  ImageDecodeError,
  type ImageFormat,
  type DecodeOptions,
  type PngOptions,
  type JpegOptions,
} from './codec.js';
export * from './data/index.js';
