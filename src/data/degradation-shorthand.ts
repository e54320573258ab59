/**
 * The short names of the synthetic degradations (`irsde train --degradation`, a run's config
 * file, the evaluation scripts), expanded into a {@link DegradationSpec}.
 */
import type { DegradationSpec } from './degradation.js';

/**
 * Expands the degradation shorthands into a spec: `noise:SIGMA` (fixed sigma, 0-255 scale),
 * `noise:MIN:MAX` (sigma drawn uniformly from [MIN, MAX] for every crop: blind denoising), either
 * with a trailing `:clip` to clamp the noisy image to [0, 1]; `camera` (camera-like noise with
 * the default ranges, see `cameraNoise`; `camera:QUALITY` fixes the JPEG quality, `camera:0`
 * stores 8-bit values without JPEG); `rain`, `blur:SIGMA`,
 * `motion[:LENGTH]`, `sr4` / `bicubic[:SCALE]`, `inpaint[:FRACTION]`; or a JSON spec (a string
 * starting with `{`). A spec object is returned as it is.
 * @throws RangeError for a malformed shorthand (the message names `--degradation`, as the
 *   command line reports it); SyntaxError for malformed JSON.
 */
export function parseDegradation(d: string | DegradationSpec): DegradationSpec {
  if (typeof d !== 'string') return d;
  const s = d.trim();
  if (s.startsWith('{')) return JSON.parse(s) as DegradationSpec;
  const [kind, ...rest] = s.split(':');
  const clip = rest[rest.length - 1] === 'clip';
  if (clip) {
    if (kind !== 'noise') throw new RangeError(`bad --degradation '${d}': ':clip' applies to noise only`);
    rest.pop();
  }
  const nums = rest.map((a) => {
    const v = a.trim() === '' ? NaN : Number(a);
    if (!Number.isFinite(v)) throw new RangeError(`bad --degradation '${d}': '${a}' is not a number`);
    return v;
  });
  if (nums.length > (kind === 'noise' ? 2 : 1)) throw new RangeError(`bad --degradation '${d}': too many numbers for '${kind}'`);
  const num = nums[0];
  switch (kind) {
    case 'noise': {
      if (nums.length === 2 && !(nums[0] >= 0 && nums[0] <= nums[1])) throw new RangeError(`bad --degradation '${d}': expected noise:MIN:MAX with 0 <= MIN <= MAX`);
      const sigma = nums.length === 2 ? ([nums[0], nums[1]] as const) : (num ?? 25);
      return { kind: 'noise', sigma, ...(clip ? { clip: true } : {}) };
    }
    case 'camera':
      if (num !== undefined && !(num === 0 || (Number.isInteger(num) && num >= 1 && num <= 100))) throw new RangeError(`bad --degradation '${d}': expected camera[:QUALITY] with an integer quality 1..100 (0: no JPEG)`);
      return { kind: 'camera-noise', ...(num !== undefined ? { jpegQuality: num === 0 ? false : num } : {}) };
    case 'rain':
      if (num !== undefined) throw new RangeError(`bad --degradation '${d}': 'rain' takes no number (use a JSON spec for its options)`);
      return { kind: 'rain' } as DegradationSpec;
    case 'blur':
      return { kind: 'gaussian-blur', sigma: num ?? 2 };
    case 'motion':
      return { kind: 'motion-blur', ...(num !== undefined ? { length: num } : {}) };
    case 'sr4':
    case 'bicubic':
      return { kind: 'bicubic', scale: num ?? 4 };
    case 'inpaint':
      return { kind: 'inpaint', ...(num !== undefined ? { fraction: num } : {}) };
    default:
      throw new RangeError(`unknown --degradation '${d}'; use noise:SIGMA[:MAX][:clip], camera[:QUALITY], rain, blur:SIGMA, motion[:LENGTH], sr4, inpaint[:FRACTION] or a JSON spec`);
  }
}
