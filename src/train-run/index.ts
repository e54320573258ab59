// Node only: a training run in a folder, the library behind `irsde train` (resume, data,
// timesteps, gradient engine, log, checkpoints, validation, Ctrl-C). The training pieces it
// wires together are browser-safe (src/train, src/data).
export { runTraining, type RunTrainingOptions, type TrainingRunResult, type TrainingRunStart, type TrainingValidation } from './run.js';
export { resolveTrainConfig, TRAIN_RUN_DEFAULTS, TrainingRunError, type TrainRunConfig, type TrainRunDefaults } from './config.js';
export type { ValidationSampling } from './validation.js';
