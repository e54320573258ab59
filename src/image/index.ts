// Images (browser-safe): the FloatImage type and its tensor conversions, the PNG/JPEG codec,
// separable filters, PSNR/SSIM and the noise-level estimate. File I/O is the Node-only src/io.
export {
  type FloatImage,
  type ImageLike,
  createImage,
  convertChannels,
  asFloatImage,
  imageToTensor,
  imagesToTensor,
  tensorToImage,
  cropImage,
  cropBorder,
  modcrop,
  maskedPixels,
} from './image.js';
export { reflectIndex, gaussianWeights, convolveImage, type Kernel2D } from './filter.js';
export { psnr, ssim, psnrY, ssimY, rgbToY, type MetricOptions, type PsnrOptions, type SsimOptions } from './metrics.js';
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
