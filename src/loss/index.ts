// Training objectives for both SDEs: the maximum-likelihood trajectory loss and plain noise matching.
export { mlLoss, noiseMatchingLoss, type LossInputs, type DenoisingLossInputs, type LossOptions } from './losses.js';
