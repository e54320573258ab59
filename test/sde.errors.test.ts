import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DenoisingSDE, MeanRevertingSDE, Rng } from '../src/index.js';
import { hostBackend, thetaSchedule } from '../src/advanced.js';
import { useCpu } from './helpers/backends.js';

beforeAll(useCpu);

describe('config validation', () => {
  const ok = { T: 100, maxSigma: 10 / 255, schedule: 'cosine', eps: 0.005 } as const;
  const cases: Array<[string, object, RegExp]> = [
    ['T = 0', { ...ok, T: 0 }, /T must be an integer >= 1, got 0/],
    ['non-integer T', { ...ok, T: 10.5 }, /T must be an integer >= 1, got 10.5/],
    ['NaN T', { ...ok, T: NaN }, /T must be an integer >= 1, got NaN/],
    ['NaN maxSigma', { ...ok, maxSigma: NaN }, /maxSigma must be a finite number > 0.*got NaN/],
    ['negative maxSigma', { ...ok, maxSigma: -1 }, /maxSigma must be a finite number > 0/],
    ['maxSigma on the 0-255 scale', { ...ok, maxSigma: 10 }, /maxSigma must be at most 1 .*got 10: on the 0-255 scale write from255\(10\) = 0\.03922/],
    ['NaN eps', { ...ok, eps: NaN }, /eps must be a number in \(0, 1\), got NaN/],
    ['eps = 0', { ...ok, eps: 0 }, /eps must be a number in \(0, 1\), got 0/],
    ['eps = 1', { ...ok, eps: 1 }, /eps must be a number in \(0, 1\), got 1/],
    ['eps > 1', { ...ok, eps: 2 }, /eps must be a number in \(0, 1\)/],
    ['unknown schedule', { ...ok, schedule: 'sigmoid' }, /unknown schedule 'sigmoid'; expected 'cosine', 'linear', 'constant'/],
    ['short user schedule', { ...ok, T: 3, schedule: [1, 1, 1] }, /needs T \+ 1 = 4 values.*got 3/],
    ['NaN in user schedule', { ...ok, T: 3, schedule: [1, NaN, 1, 1] }, /theta\[1\] must be finite and > 0, got NaN/],
    ['non-positive user theta', { ...ok, T: 3, schedule: [1, 1, 0, 1] }, /theta\[2\] must be finite and > 0, got 0/],
  ];
  for (const [what, cfg, msg] of cases) {
    it(`refuses ${what}`, () => {
      expect(() => new MeanRevertingSDE(cfg as never)).toThrow(msg);
    });
  }
  it('the DenoisingSDE refuses a 0-255 maxSigma the same way', () => {
    expect(() => new DenoisingSDE({ T: 100, maxSigma: 50 })).toThrow(/DenoisingSDE: maxSigma must be at most 1 .*from255\(50\)/);
    expect(new DenoisingSDE({ T: 100, maxSigma: 1 }).maxSigma).toBe(1);
  });
  it('accepts a user schedule and applies defaults', () => {
    const sde = new MeanRevertingSDE({ T: 3, maxSigma: 0.1, schedule: [0.5, 1, 2, 3] });
    expect(Array.from(sde.thetasCumsum)).toEqual([0, 1, 3, 6]);
    expect(sde.eps).toBe(0.01);
    const d = new MeanRevertingSDE({ T: 10, maxSigma: 0.1 });
    expect(Array.from(d.thetas)).toEqual(Array.from(thetaSchedule('cosine', 10)));
  });
  it('exposes copies, so the tables cannot be corrupted from outside', () => {
    const sde = new MeanRevertingSDE(ok);
    const th = sde.thetas;
    th[5] = 123;
    expect(sde.thetas[5]).not.toBe(123);
  });
});

describe('timestep and shape validation', () => {
  const sde = new MeanRevertingSDE({ T: 100, maxSigma: 0.1 });
  const rng = new Rng(1);
  const x = tf.tensor(rng.normal([2, 3, 3, 1]), [2, 3, 3, 1]);
  const mu = tf.tensor(rng.normal([2, 3, 3, 1]), [2, 3, 3, 1]);
  const other = tf.zeros([2, 3, 3, 2]);

  it('t = 0, t > T and non-integer t', () => {
    expect(() => sde.muBar(x, mu, 0)).toThrow(/MeanRevertingSDE.muBar: t must be an integer in 1..100, got 0/);
    expect(() => sde.muBar(x, mu, 101)).toThrow(/t must be an integer in 1..100, got 101/);
    expect(() => sde.drift(x, mu, 2.5)).toThrow(/MeanRevertingSDE.drift: t must be an integer in 1..100, got 2.5/);
    expect(() => sde.sigmaBar(NaN)).toThrow(/t must be an integer in 1..100, got NaN/);
    expect(() => sde.sigmaBar('3' as never)).toThrow(/t must be an integer or an array of integers/);
  });
  it('batched t of the wrong length or with a bad entry', () => {
    expect(() => sde.muBar(x, mu, [1, 2, 3])).toThrow(/batched t has 3 entries but the batch axis has size 2/);
    expect(() => sde.muBar(x, mu, [1, 0])).toThrow(/t\[1\] must be an integer in 1..100, got 0/);
    expect(() => sde.muBar(x, mu, [])).toThrow(/batched t (is empty|has 0 entries)/);
  });
  it('jumps need 0 <= s < t', () => {
    expect(() => sde.optimalReverseStd(10, 10)).toThrow(/s must satisfy 0 <= s < t, got s = 10 with t = 10/);
    expect(() => sde.optimalReverseMean(x, x, mu, 5, -1)).toThrow(/s must be an integer in 0..99, got -1/);
  });
  it('shape mismatch between x and mu (and the other operands)', () => {
    expect(() => sde.muBar(x, other, 3)).toThrow(/MeanRevertingSDE.muBar: mu has shape \[2,3,3,2\] but x0 has shape \[2,3,3,1\]/);
    expect(() => sde.reverseSdeStep(x, mu, other, 3, rng)).toThrow(/score has shape \[2,3,3,2\] but x has shape \[2,3,3,1\]/);
    expect(() => sde.reverseSdeStep(x, mu, mu, 3, other)).toThrow(/noise has shape \[2,3,3,2\] but x has shape \[2,3,3,1\]/);
    expect(() => sde.prior(tf.scalar(1), rng)).toThrow(/mu must have rank >= 1/);
  });
  it('a missing noise source', () => {
    expect(() => sde.dispersion(x, 3, undefined as never)).toThrow(/a generator \(Rng\), a seed or a noise tensor is required/);
  });
  it('errors leak no tensors', () => {
    const before = tf.memory().numTensors;
    expect(() => sde.reverseSdeStep(x, mu, mu, 3, other)).toThrow();
    expect(() => sde.muBar(x, mu, [1, 2, 3])).toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });
  it('the Float32Array backend reports the same errors', () => {
    const h = new MeanRevertingSDE({ T: 100, maxSigma: 0.1 }, hostBackend);
    const a = hostBackend.fromArray([1, 2], [2, 1]);
    const b = hostBackend.fromArray([1, 2, 3], [3, 1]);
    expect(() => h.muBar(a, b, 3)).toThrow(/mu has shape \[3,1\] but x0 has shape \[2,1\]/);
    expect(() => h.muBar(a, a, 0)).toThrow(/t must be an integer in 1..100, got 0/);
  });
});
