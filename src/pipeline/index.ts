// The one restoration pipeline: model + SDE + sampler -> restored image.
export { DEFAULT_RESTORE_STEPS, MIN_SR_INPUT, Restorer, loadRestorer, restorerForModel, tfjsEngine, type EngineFactory, type NetworkEngine, type NoiseLevelUsed, type RestoreImageOptions, type RestoredImage, type RestoredTile } from './restorer.js';
export { validateRestoration, type ValidationOptions, type ValidationScores } from './validation.js';
