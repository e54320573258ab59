// The tensor interface the maths is written against, its tfjs and Float32Array implementations,
// and the seeded counter-based random generator.
export type { Coef, Term, TensorBackend } from './types.js';
export { Rng, type RngState } from './rng.js';
export { TfjsBackend, tfjsBackend } from './tfjs.js';
export { HostBackend, HostTensor, hostBackend } from './host.js';
