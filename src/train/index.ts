// Training: the Trainer (ML objective, Adam, EMA, LR schedules, clipping, exact resume),
// gradient engines and checkpoints. Images are src/image, data sets and degradations src/data.
export { Trainer, type TrainableNoiseModel, type Batch, type BatchSource, type TrainerConfig, type StepRecord, type TrainerState, type FitResult } from './trainer.js';
export { inProcessGradients, microBatchGradients, disposeGradients, gradientValues, type Gradient, type GradientComputer, type GradientTask, type GradientResult } from './gradients.js';
export { createOrtGradients, type OrtGradients, type OrtGradientsOptions } from './ort-gradients.js';
export { Adam, type AdamConfig, type AdamState } from './adam.js';
export type { StateStorage } from './host-state.js';
export { EMA, type EMAConfig, type EMAState } from './ema.js';
export { createLRSchedule, type LRSchedule, type LRScheduleConfig, type ConstantLR, type MultiStepLR, type CosineLR } from './lr-schedule.js';
export { clipGradNorm, clipFactor, gradNorm, type ClippedGradients } from './clip.js';
export { encodeTrainerState, decodeTrainerState, CHECKPOINT_FORMAT, type DecodedCheckpoint } from './checkpoint.js';
