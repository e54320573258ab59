/**
 * Compute engine: choosing the tfjs backend, and the kernels that let tfjs-backend-wasm train.
 * @module
 */
export { selectBackend, BACKEND_ENV_VAR, type BackendRequest, type SelectBackendOptions, type WasmBackendModule } from './backend.js';
export { registerWasmTrainingKernels, wasmTrainingKernelsRegistered, WASM_TRAINING_KERNELS } from './wasm-kernels.js';
export { registerCpuKernelFixes } from '../backend/cpu-kernel-fixes.js';
