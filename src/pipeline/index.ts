// The one restoration pipeline: model + SDE + sampler -> restored image.
export { Restorer, loadRestorer, restorerForModel } from './restorer.js';
export { DEFAULT_RESTORE_STEPS, MIN_SR_INPUT, tfjsEngine, type EngineFactory, type NetworkEngine, type NoiseLevelUsed, type RestoreImageOptions, type RestoredImage, type RestoredTile } from './types.js';
export { validateRestoration, type ValidationOptions, type ValidationScores } from './validation.js';
export { selfEnsemble } from './ensemble.js';
export { estimateBlurKernel, MIN_BLUR_ESTIMATE_SIDE, type BlurEstimate } from './blur-estimate.js';
export { deconvolve, type DeconvolveOptions } from './deconvolve.js';
export { deblurImage, type DeblurModels, type DeblurOptions, type DeblurResult } from './deblur.js';
