// Training objectives for both SDEs: the maximum-likelihood trajectory loss, noise matching, x0
// matching, and the Trainer's loss built from the same differences.
export { mlLoss, noiseMatchingLoss, type LossInputs, type DenoisingLossInputs, type LossOptions } from './losses.js';
export {
  OBJECTIVES,
  defaultObjective,
  objectiveDiff,
  trainingLoss,
  sampleTrainingState,
  type Objective,
  type ObjectiveOptions,
  type PredictingModel,
  type TrainingPair,
} from './objective.js';
export type { Prediction } from '../sde/prediction.js';
