/**
 * Layout conversion between the samplers' NHWC images and ONNX's NCHW tensors on host arrays:
 * one pass per call with the channel loop innermost on the NHWC side (the generic tfjs-cpu
 * transpose it replaces took ~50 ms for a 512x512x3 tile).
 */

/**
 * `[B, H, W, C]` values as `[B, C, H, W]`.
 * @param data - row-major NHWC values (not modified). @param dims - `[B, H, W, C]`.
 * @returns a new array.
 */
export function nhwcToNchw(data: ArrayLike<number>, dims: readonly [number, number, number, number]): Float32Array {
  const [B, H, W, C] = dims;
  const plane = H * W;
  const out = new Float32Array(B * C * plane);
  for (let b = 0; b < B; b++) {
    const src = b * plane * C;
    for (let c = 0; c < C; c++) {
      const dst = (b * C + c) * plane;
      for (let p = 0; p < plane; p++) out[dst + p] = data[src + p * C + c];
    }
  }
  return out;
}

/**
 * `[B, C, H, W]` values as `[B, H, W, C]`.
 * @param data - row-major NCHW values (not modified). @param dims - `[B, C, H, W]`.
 * @returns a new array.
 */
export function nchwToNhwc(data: ArrayLike<number>, dims: readonly [number, number, number, number]): Float32Array {
  const [B, C, H, W] = dims;
  const plane = H * W;
  const out = new Float32Array(B * C * plane);
  for (let b = 0; b < B; b++) {
    const dst = b * plane * C;
    for (let c = 0; c < C; c++) {
      const src = (b * C + c) * plane;
      for (let p = 0; p < plane; p++) out[dst + p * C + c] = data[src + p];
    }
  }
  return out;
}
