import { describe, expect, it } from 'vitest';
import { parseDegradation } from '../src/data/index.js';
import { createDegradation } from '../src/data/degradation.js';
import { createImage } from '../src/image/image.js';
import { Rng } from '../src/backend/rng.js';

describe('--degradation shorthands', () => {
  it('noise: fixed sigma, a per-crop range (blind denoising), optional clipping', () => {
    expect(parseDegradation('noise:25')).toEqual({ kind: 'noise', sigma: 25 });
    expect(parseDegradation('noise')).toEqual({ kind: 'noise', sigma: 25 });
    expect(parseDegradation('noise:0:50')).toEqual({ kind: 'noise', sigma: [0, 50] });
    expect(parseDegradation('noise:0:50:clip')).toEqual({ kind: 'noise', sigma: [0, 50], clip: true });
    expect(parseDegradation('noise:15:clip')).toEqual({ kind: 'noise', sigma: 15, clip: true });
    expect(parseDegradation(' noise:5:5 ')).toEqual({ kind: 'noise', sigma: [5, 5] });
    // The spec builds a working degradation; a clipped one stays in [0, 1].
    const img = createImage(8, 8, 3, new Float32Array(192).fill(0.9));
    const out = createDegradation(parseDegradation('noise:0:50:clip'))(img, new Rng(1));
    expect(out.data.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('other kinds and JSON are unchanged', () => {
    expect(parseDegradation('rain')).toEqual({ kind: 'rain' });
    expect(parseDegradation('blur:3')).toEqual({ kind: 'gaussian-blur', sigma: 3 });
    expect(parseDegradation('sr4')).toEqual({ kind: 'bicubic', scale: 4 });
    expect(parseDegradation('inpaint:0.3')).toEqual({ kind: 'inpaint', fraction: 0.3 });
    expect(parseDegradation('{"kind":"noise","sigma":[0,50],"clip":true}')).toEqual({ kind: 'noise', sigma: [0, 50], clip: true });
  });

  it('bad shorthands fail with one line that names the problem', () => {
    expect(() => parseDegradation('noise:50:0')).toThrow(/noise:MIN:MAX with 0 <= MIN <= MAX/);
    expect(() => parseDegradation('noise:-5:10')).toThrow(/0 <= MIN <= MAX/);
    expect(() => parseDegradation('noise:a')).toThrow(/'a' is not a number/);
    expect(() => parseDegradation('noise:')).toThrow(/'' is not a number/);
    expect(() => parseDegradation('noise:1:2:3')).toThrow(/too many numbers for 'noise'/);
    expect(() => parseDegradation('blur:1:2')).toThrow(/too many numbers for 'blur'/);
    expect(() => parseDegradation('rain:3')).toThrow(/'rain' takes no number/);
    expect(() => parseDegradation('blur:2:clip')).toThrow(/':clip' applies to noise only/);
    expect(() => parseDegradation('snow')).toThrow(/unknown --degradation 'snow'/);
  });
});
