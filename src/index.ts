/**
 * irsde: mean-reverting SDE (IR-SDE) diffusion primitives for image restoration.
 * @packageDocumentation
 */
export * from './backend/index.js';
export * from './sde/index.js';
export * from './loss/index.js';
export * from './nn/index.js';
export * from './train/index.js';
export * from './sampling/index.js';
export * from './engine/index.js';
export * from './pipeline/index.js';
