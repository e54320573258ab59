import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MeanRevertingSDE, Rng } from '../src/index.js';
import { hostBackend, tfjsBackend } from '../src/advanced.js';
import { philox4x32 } from '../src/backend/rng.js';
import { useCpu } from './helpers/backends.js';

beforeAll(useCpu);

const hex = (a: Uint32Array) => Array.from(a, (v) => v.toString(16).padStart(8, '0')).join(' ');

describe('Rng', () => {
  it('Philox4x32-10 matches the published known-answer vectors', () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    expect(hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toBe('d16cfe09 94fdcceb 5001e420 24126ea1');
  });

  it('normals have mean 0, variance 1, no lag-1 correlation (within 5 standard errors)', () => {
    const n = 200_000;
    const z = new Rng(123).normal([1, n]);
    let m = 0;
    let v = 0;
    let c = 0;
    for (let i = 0; i < n; i++) {
      m += z[i];
      v += z[i] * z[i];
      if (i > 0) c += z[i] * z[i - 1];
    }
    expect(Math.abs(m / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(v / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(c / n)).toBeLessThan(5 / Math.sqrt(n));
    // Tail mass beyond 3 sigma: 0.0027.
    const tail = z.filter((x) => Math.abs(x) > 3).length / n;
    expect(Math.abs(tail - 0.0027)).toBeLessThan(5 * Math.sqrt(0.0027 / n));
  });

  it('the same seed gives the same numbers; different seeds and draws differ', () => {
    const a = new Rng(42).normal([2, 10]);
    const b = new Rng(42).normal([2, 10]);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(new Rng(43).normal([2, 10]))).not.toEqual(Array.from(a));
    const r = new Rng(42);
    r.normal([2, 10]);
    expect(Array.from(r.normal([2, 10]))).not.toEqual(Array.from(a));
  });

  it('noise of batch item i does not depend on the batch size', () => {
    const big = new Rng(9).normal([5, 3, 7]);
    const small = new Rng(9).normal([2, 3, 7]);
    const one = new Rng(9).normal([1, 3, 7]);
    expect(Array.from(big.subarray(0, 42))).toEqual(Array.from(small));
    expect(Array.from(big.subarray(0, 21))).toEqual(Array.from(one));
    const u5 = new Rng(9).uniform([5, 2]);
    expect(Array.from(u5.subarray(0, 4))).toEqual(Array.from(new Rng(9).uniform([2, 2])));
    expect(Array.from(new Rng(9).integers(5, 1, 100).subarray(0, 3))).toEqual(Array.from(new Rng(9).integers(3, 1, 100)));
  });

  it('state round-trips exactly; split children are independent and reproducible', () => {
    const r = new Rng(77);
    r.normal([1, 5]);
    const saved = JSON.parse(JSON.stringify(r.state));
    const x = r.normal([3, 4]);
    const y = Rng.fromState(saved).normal([3, 4]);
    expect(Array.from(y)).toEqual(Array.from(x));
    const [c1, c2] = new Rng(5).split(2);
    const [d1] = new Rng(5).split(1);
    expect(Array.from(c1.normal([1, 8]))).toEqual(Array.from(d1.normal([1, 8])));
    expect(Array.from(c1.normal([1, 8]))).not.toEqual(Array.from(c2.normal([1, 8])));
    expect(() => Rng.fromState({ key: [1, -1], draws: 0 })).toThrow(/key words must be uint32/);
    expect(() => new Rng(-1)).toThrow(/seed must be a non-negative safe integer/);
  });

  it('integers cover low..high uniformly; uniforms lie in [0, 1)', () => {
    const k = new Rng(3).integers(60_000, 1, 6);
    const counts = new Array(7).fill(0);
    for (const v of k) counts[v]++;
    expect(counts[0]).toBe(0);
    for (let v = 1; v <= 6; v++) expect(Math.abs(counts[v] - 10_000)).toBeLessThan(5 * Math.sqrt(10_000 * (5 / 6)));
    const u = new Rng(3).uniform([1, 10_000]);
    expect(u.every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it('the same seed gives the same noise on every backend (through the SDE)', () => {
    const cfg = { T: 10, maxSigma: 0.2 };
    const mu = new Float32Array(24).fill(0.5);
    const onTf = new MeanRevertingSDE(cfg).prior(tfjsBackend.fromArray(mu, [2, 3, 4]), new Rng(8));
    const onHost = new MeanRevertingSDE(cfg, hostBackend).prior(hostBackend.fromArray(mu, [2, 3, 4]), new Rng(8));
    const a = onTf.dataSync();
    for (let i = 0; i < 24; i++) expect(Math.abs(a[i] - onHost.data[i])).toBeLessThan(1e-7);
    // A plain seed means a fresh Rng(seed) for that draw.
    const bySeed = new MeanRevertingSDE(cfg, hostBackend).prior(hostBackend.fromArray(mu, [2, 3, 4]), 8);
    expect(Array.from(bySeed.data)).toEqual(Array.from(onHost.data));
    tf.dispose(onTf);
  });
});
