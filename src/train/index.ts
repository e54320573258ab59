// Training: the Trainer (ML objective, Adam, EMA, LR schedules, clipping, exact resume), and
// the data / metric pieces it uses.
export { Trainer, type TrainableNoiseModel, type Batch, type BatchSource, type TrainerConfig, type StepRecord, type TrainerState } from './trainer.js';
export { inProcessGradients, type GradientComputer, type GradientTask, type GradientResult } from './gradients.js';
export { trainingLoss, type ObjectiveOptions } from './objective.js';
export { Adam, type AdamConfig, type AdamState } from './adam.js';
export { EMA, type EMAConfig } from './ema.js';
export { makeLRSchedule, type LRSchedule, type LRScheduleConfig } from './lr-schedule.js';
export { clipGradNorm } from './clip.js';
export { encodeTrainerState, decodeTrainerState, CHECKPOINT_FORMAT } from './checkpoint.js';
// Images, metrics and data (browser-safe; file I/O is the Node-only src/io).
export * from './image-exports.js';
