/**
 * The conditional U-Net's module order, written once for the two ONNX graphs that emit it (the
 * inference export and the training graph): each supplies how to emit a module, this file says
 * which modules come in which order with which parameter names.
 */

/** How one graph emits the U-Net's modules (`V` is its value type). */
export interface UNetSteps<V> {
  /** A ResBlock with the shared time embedding. */
  resBlock(prefix: string, x: V, cout: number, hasResConv: boolean): V;
  /** `Residual(PreNorm(LinearAttention))`. */
  attention(prefix: string, x: V): V;
  /** A convolution with a PyTorch-named weight (and bias); `pad` defaults to `k / 2` rounded down. */
  conv(scope: string, x: V, weight: string, bias: string | null, k: number, stride?: number, pad?: number): V;
  /** Concatenation on the channel axis. */
  concat(scope: string, a: V, b: V): V;
  /** `nn.Upsample(scale_factor=2, mode='nearest')`. */
  upsample(scope: string, x: V): V;
  /**
   * Called before the modules of each resolution level: those that follow run at `1 / 2^level` of
   * the (padded) input size, so their height and width are multiples of `2^(depth - level)`.
   */
  level?(level: number): void;
}

/** Frequencies of the sinusoidal time embedding, `exp(-k ln(1e4) / (half - 1))`, rounded as float32 maths does. */
export function timeFrequencies(nf: number): number[] {
  const half = nf / 2;
  const step = Math.fround(-Math.log(10000) / (half - 1));
  return Array.from({ length: half }, (_, k) => Math.fround(Math.exp(Math.fround(k * step))));
}

/**
 * The U-Net from the output of `init_conv` (`xInit`) to the output of `final_res_block`: down
 * path with skips, middle, up path, and the final block on `[x, xInit]`.
 */
export function unetTrunk<V>(s: UNetSteps<V>, nf: number, depth: number, xInit: V): V {
  let x = xInit;
  const skips: V[] = [];
  for (let i = 0; i < depth; i++) {
    const p = `downs.${i}`;
    const c = nf * 2 ** i;
    s.level?.(i);
    x = s.resBlock(`${p}.0`, x, c, false);
    skips.push(x);
    x = s.resBlock(`${p}.1`, x, c, false);
    x = s.attention(`${p}.2`, x);
    skips.push(x);
    x = i < depth - 1 ? s.conv(`${p}.3`, x, `${p}.3.weight`, `${p}.3.bias`, 4, 2, 1) : s.conv(`${p}.3`, x, `${p}.3.weight`, null, 3);
  }
  const mid = nf * 2 ** depth;
  s.level?.(depth - 1);
  x = s.resBlock('mid_block1', x, mid, false);
  x = s.attention('mid_attn', x);
  x = s.resBlock('mid_block2', x, mid, false);
  for (let j = 0; j < depth; j++) {
    const p = `ups.${j}`;
    const i = depth - 1 - j;
    const cout = nf * 2 ** (i + 1);
    s.level?.(i);
    x = s.resBlock(`${p}.0`, s.concat(p, x, skips.pop() as V), cout, true);
    x = s.resBlock(`${p}.1`, s.concat(p, x, skips.pop() as V), cout, true);
    x = s.attention(`${p}.2`, x);
    if (i > 0) s.level?.(i - 1);
    x = i > 0 ? s.conv(`${p}.3.1`, s.upsample(`${p}.3.0`, x), `${p}.3.1.weight`, `${p}.3.1.bias`, 3) : s.conv(`${p}.3`, x, `${p}.3.weight`, null, 3);
  }
  s.level?.(0);
  return s.resBlock('final_res_block', s.concat('final', x, xInit), nf, true);
}
