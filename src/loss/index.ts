// Training objectives: the maximum-likelihood trajectory loss and plain noise matching.
export { mlLoss, noiseMatchingLoss, type LossInputs, type LossOptions } from './losses.js';
