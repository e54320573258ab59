/**
 * What a network's output means, in terms of the SDE's forward process. It lives with the SDEs
 * because both the networks (`nn`, which record it in their config) and the training objectives
 * (`loss`, which turn an output into a loss) read it, and neither may import the other.
 */

/**
 * What a network's output means: `'noise'` (the noise `eps` in `x_t = muBar_t + sigmaBar_t eps`,
 * the original's), or `'residual'`, a correction: `x0_hat = mu + output` under a
 * `MeanRevertingSDE`, `x0_hat = x_t + output` under a `DenoisingSDE` (which has no `mu`).
 */
export type Prediction = 'noise' | 'residual';
