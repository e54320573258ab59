// Samplers for the reverse process of either SDE (reverse SDE, probability-flow ODE with Euler /
// Heun / adaptive Dormand–Prince, exact posterior with an eta knob) over any decreasing step
// list, the restore entry points (with an uncertainty map), model converters, and analytic noise
// models for testing samplers.
export { asNoiseModel, fromResidualModel, fromScoreModel, fromX0Model, type NoiseModel, type ResidualModel, type ScoreModel, type X0Model } from './model.js';
export { timesteps, checkSteps, type Spacing } from './timesteps.js';
export { sdeJump, odeJump, odeDirection, heunCorrect, posteriorJump, type PosteriorJumpResult } from './steps.js';
export type { Sampler, SamplerOptions, StepInfo, StepOutput, OdeSolverStats } from './loop.js';
export { solveProbabilityFlow, odeAdaptiveSampler, type ProbabilityFlowOptions, type ProbabilityFlowResult } from './adaptive.js';
export { SAMPLER_NAMES, DEFAULT_SAMPLERS, ENSEMBLE_SIZES, isSamplerName, defaultSamplerFor, checkEnsembleSize, type EnsembleSize } from './names.js';
export { samplers, sdeSampler, odeSampler, heunSampler, posteriorSampler, ddimSampler, resolveSampler, type SamplerName } from './samplers.js';
export { restore, restoreWithUncertainty, type RestoreOptions, type UncertaintyOptions, type Uncertainty } from './restore.js';
export { repeatBatch, meanStdOverSamples, type MeanStd } from './batch.js';
export { oracleNoiseModel, gaussianNoiseModel, type GaussianData } from './analytic.js';
export { defaultTileOverlap, tiledNoiseModel, tileStarts, type TileDone, type TileModel, type TileOptions } from './tiled.js';
