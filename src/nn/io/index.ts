// Weights-file readers and writers, pure TypeScript (bytes in, float32 tensors out; browser-safe):
// safetensors, and PyTorch's zip `.pth` via an allow-list pickle reader that never executes code.
export type { NamedTensor, StateDict } from './types.js';
export { WeightFileError } from './errors.js';
export { halfBitsToFloatBits, bfloat16BitsToFloatBits, type FloatDtype } from './dtypes.js';
export { readSafetensors, readSafetensorsMetadata, writeSafetensors, type WriteSafetensorsOptions } from './safetensors.js';
export { readZip, type ZipEntry } from './zip.js';
export { readPickle, ALLOWED_GLOBALS, PickleDict, PickleTensor, PickleStorage, PickleGlobal, type PickleValue } from './pickle.js';
export { readTorchStateDict } from './torch.js';
export { readSafetensorsHeader, isPyTorchFile, type SafetensorsHeader, type SafetensorsEntry } from './safetensors.js';
