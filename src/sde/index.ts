// Theta schedules and the two SDEs (IR-SDE's mean-reverting SDE and the reference's
// DenoisingSDE): closed-form marginals, Euler–Maruyama steps, exact posterior (jump) formulas and
// noise / score / x0 conversions, behind one interface the samplers use.
export { thetaSchedule, cosineThetas, linearThetas, constantThetas, type ScheduleName, type ScheduleSpec, type CosineSchedule, type LinearSchedule, type ConstantSchedule } from './schedules.js';
export { MeanRevertingSDE, from255, type MeanRevertingSDEConfig, type BackendName } from './mean-reverting-sde.js';
export { DenoisingSDE, type DenoisingSDEConfig } from './denoising-sde.js';
export { type DiffusionSDE, type SDEKind } from './diffusion-sde.js';
export { isMeanRevertingSDE, isDenoisingSDE, checkSDE } from './kinds.js';
export { drawNoise, isRng, type NoiseSource, type DrawnNoise } from './noise-source.js';
export { checkTimesteps, type Timestep } from './timesteps.js';
export { combineAroundMu } from './around-mu.js';
export { OrnsteinUhlenbeckSDE, type OUSDEConfig, type OUFamilyInfo } from './ou-sde.js';
export { type RestorationStart } from './diffusion-sde.js';
export { createSDE, sdeConfigOf, sdeKindOf, type AnySDEConfig, type MeanRevertingSDEConfigRecord, type DenoisingSDEConfigRecord } from './factory.js';
