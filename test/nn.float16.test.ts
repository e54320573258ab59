// float16 weight files and recommended sampling in model files.
import { beforeAll, describe, expect, it } from 'vitest';
import { UNet, loadModel, readModelInfo, readSafetensors, saveModel } from '../src/index.js';
import { writeSafetensors } from '../src/advanced.js';
import { floatToHalfBits, halfBitsToFloatBits } from '../src/nn/io/dtypes.js';
import { useCpu } from './helpers/backends.js';

beforeAll(useCpu);

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function halfValue(h: number): number {
  u32[0] = halfBitsToFloatBits(h);
  return f32[0];
}
function nextUp(x: number): number {
  f32[0] = x;
  u32[0] += x >= 0 ? 1 : -1;
  return f32[0];
}

describe('floatToHalfBits', () => {
  it('round-trips every non-NaN half bit pattern exactly', () => {
    let bad = 0;
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue;
      if (floatToHalfBits(halfValue(h)) !== h) bad++;
    }
    expect(bad).toBe(0);
    expect(Number.isNaN(halfValue(floatToHalfBits(NaN)))).toBe(true);
  });

  it('rounds to nearest with ties to even, subnormals included, and overflows to infinity', () => {
    for (let h = 0; h < 0x7bff; h += 7) {
      const a = halfValue(h);
      const b = halfValue(h + 1);
      const mid = (a + b) / 2; // exact in float32: halves carry 11 significant bits
      const even = (h & 1) === 0 ? h : h + 1;
      expect(floatToHalfBits(mid)).toBe(even);
      expect(floatToHalfBits(nextUp(mid))).toBe(h + 1);
      expect(floatToHalfBits(-mid)).toBe(even | 0x8000);
    }
    expect(halfValue(floatToHalfBits(65519))).toBe(65504);
    expect(halfValue(floatToHalfBits(65520))).toBe(Infinity);
    expect(halfValue(floatToHalfBits(1e-9))).toBe(0);
    expect(halfValue(floatToHalfBits(2 ** -24))).toBe(2 ** -24);
  });
});

describe('float16 safetensors and model files', () => {
  it('writes F16 tensors that read back as the half-rounded values, at half the size', () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3 + 1e-6 * i);
    const dict = { w: { shape: [10, 100], data } };
    const f16 = writeSafetensors(dict, undefined, { dtype: 'float16' });
    const f32b = writeSafetensors(dict);
    expect(f16.length).toBeLessThan(f32b.length / 2 + 200);
    const back = readSafetensors(f16).w.data;
    expect(Array.from(back)).toEqual(Array.from(data, (v) => halfValue(floatToHalfBits(v))));
    expect(() => writeSafetensors({ w: { shape: [1], data: new Float32Array([1e5]) } }, undefined, { dtype: 'float16' })).toThrow(/does not fit float16/);
  });

  it('saveModel stores float16 weights and a validated recommended sampling', () => {
    const sde = { T: 50, maxSigma: 0.1, schedule: 'cosine', eps: 0.005 } as const;
    const net = new UNet({ inChannels: 1, outChannels: 1, nf: 4, depth: 2, prediction: 'residual' }, { seed: 2 });
    const sampling = { sampler: 'posterior', steps: 5, eta: 0 };
    const bytes = saveModel(net, sde, { dtype: 'float16', sampling });
    expect(bytes.length).toBeLessThan(saveModel(net, sde).length * 0.6);
    expect(readModelInfo(bytes).sampling).toEqual(sampling);
    const back = loadModel(bytes);
    expect(back.info.network.prediction).toBe('residual');
    const want = net.stateDict();
    for (const [k, t] of Object.entries(back.network.stateDict())) {
      expect(Array.from(t.data)).toEqual(Array.from(want[k].data, (v) => halfValue(floatToHalfBits(v))));
    }
    expect(() => saveModel(net, sde, { sampling: { sampler: 'posterior', steps: 51 } })).toThrow(/steps must be an integer in 1..50/);
    expect(() => saveModel(net, sde, { sampling: { sampler: 'magic', steps: 5 } })).toThrow(/sampler must be one of/);
    expect(() => saveModel(net, sde, { sampling: { sampler: 'ddim', steps: 5, eta: 2 } })).toThrow(/eta must be in \[0, 1\]/);
    back.network.dispose();
    net.dispose();
  });
});
