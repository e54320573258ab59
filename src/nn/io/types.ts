/** One named parameter tensor as read from (or written to) a weights file. */
export interface NamedTensor {
  /** Shape in the file's own layout (PyTorch: conv `[out, in, kh, kw]`, linear `[out, in]`). */
  readonly shape: number[];
  /** Values, row-major, widened to float32. */
  readonly data: Float32Array;
  /** The dtype the values had in the file (float16 / bfloat16 are widened exactly). */
  readonly dtype?: 'float32' | 'float16' | 'bfloat16';
}

/** A state dict: parameter name (PyTorch naming) to tensor. */
export type StateDict = Record<string, NamedTensor>;
