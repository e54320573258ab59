// Theta schedules and the mean-reverting SDE: closed-form marginals, Euler–Maruyama steps,
// exact posterior (jump) formulas and noise / score / x0 conversions.
export { thetaSchedule, cosineThetas, linearThetas, constantThetas, type ScheduleName, type ScheduleSpec, type CosineSchedule, type LinearSchedule, type ConstantSchedule } from './schedules.js';
export { MeanRevertingSDE, from255, type SDEConfig, type BackendName } from './mean-reverting-sde.js';
export { drawNoise, isRng, type NoiseSource, type DrawnNoise } from './noise-source.js';
export { checkTimesteps, type Timestep } from './timesteps.js';
export { combineAroundMu } from './around-mu.js';
