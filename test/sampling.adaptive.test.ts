import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  DenoisingSDE,
  MeanRevertingSDE,
  Rng,
  from255,
  restore,
  samplers,
  timesteps,
  type DiffusionSDE,
  type NoiseModel,
} from '../src/index.js';
import {
  HostTensor,
  gaussianNoiseModel,
  hostBackend,
  oracleNoiseModel,
  solveProbabilityFlow,
  tfjsBackend,
} from '../src/advanced.js';

/*
 * The adaptive probability-flow ODE solver (Dormand–Prince 5(4)) on Gaussian data
 * x0 ~ N(m, s^2) per pixel, whose exact noise predictor makes the ODE solvable in closed form:
 * x_u = M_u + sqrt(V_u / V_u0) (x_u0 - M_u0), M_u = c + B_u (m - c), V_u = B_u^2 s^2 + sigmaBar_u^2
 * (c = mu, B = exp(-u) for the mean-reverting SDE; c = 0, B = 1 for the denoising SDE).
 * Errors are measured on the state at t = 1 (where the solver stops before its x0 estimate)
 * against that exact flow, for the solver and for fixed-step Euler (the `ode` sampler, the
 * reference's reverse_ode) on the same problem.
 */
const m = 0.5;
const s = 0.15;
const N = 2000;

interface Problem {
  name: string;
  sde: DiffusionSDE<HostTensor>;
  mu: HostTensor | null;
  t0: number;
  x: HostTensor;
  /** Exact flow at t = 1. */
  exact1: Float64Array;
  /** The exact x0 estimate made at t = 1 from the exact state there. */
  exactOut: Float64Array;
  model: NoiseModel<HostTensor, HostTensor | null>;
}

function problem(name: string, sde: DiffusionSDE<HostTensor>, t0: number): Problem {
  const rng = new Rng(1);
  const mr = sde.kind === 'mean-reverting';
  const mu = mr ? new HostTensor(Float32Array.from(rng.uniform([1, N])), [1, N]) : null;
  const cs = sde.thetasCumsum;
  const lam = sde.maxSigma;
  const u0 = cs[t0] * sde.dt;
  const u1 = cs[1] * sde.dt;
  const B = (u: number) => (mr ? Math.exp(-u) : 1);
  const sb = (u: number) => lam * Math.sqrt(-Math.expm1(-2 * u));
  const V = (u: number) => B(u) ** 2 * s * s + sb(u) ** 2;
  const c = mu ? mu.data : new Float32Array(N);
  const M = (u: number, j: number) => c[j] + B(u) * (m - c[j]);
  const z = rng.normal([1, N]);
  const x = new HostTensor(Float32Array.from(z, (zz, j) => M(u0, j) + Math.sqrt(V(u0)) * zz), [1, N]);
  const exact1 = Float64Array.from(x.data, (xv, j) => M(u1, j) + Math.sqrt(V(u1) / V(u0)) * (xv - M(u0, j)));
  const exactOut = Float64Array.from(exact1, (xe, j) => {
    const eps = (sb(u1) * (xe - M(u1, j))) / V(u1);
    return c[j] + (xe - c[j] - sb(u1) * eps) / B(u1);
  });
  return { name, sde, mu, t0, x, exact1, exactOut, model: gaussianNoiseModel(sde, { mean: m, std: s }) };
}

function maxErr(a: Float32Array, b: Float64Array): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

const PROBLEMS = [
  () => problem('MeanRevertingSDE T=1000 cosine, from T', new MeanRevertingSDE({ T: 1000, maxSigma: 0.2, schedule: 'cosine', eps: 0.005 }, hostBackend), 1000),
  () => {
    const sde = new DenoisingSDE({ T: 1000, maxSigma: from255(75), schedule: 'cosine' }, hostBackend);
    return problem('DenoisingSDE T=1000 cosine, from sigma 50', sde, sde.optimalTimestep(from255(50)));
  },
  () => {
    const sde = new DenoisingSDE({ T: 100, maxSigma: from255(50), schedule: 'linear' }, hostBackend);
    return problem('DenoisingSDE T=100 linear, from T', sde, 100);
  },
];

describe.each(PROBLEMS.map((f) => [f().name, f] as const))('ode-adaptive on Gaussian data: %s', (_name, make) => {
  const P = make();
  for (const tol of [1e-2, 1e-3, 1e-5]) {
    it(`rtol = atol = ${tol}: error within a small multiple of the tolerance, fewer evaluations than Euler`, async () => {
      let x1: Float32Array | undefined;
      let calls = 0;
      const counted: NoiseModel<HostTensor, HostTensor | null> = (xt, c, t) => {
        calls++;
        return P.model(xt, c, t);
      };
      const { x, stats } = await solveProbabilityFlow(P.sde, counted, P.x, P.mu, {
        tStart: P.t0,
        rtol: tol,
        atol: tol,
        callback: ({ s: landed, x: state }) => {
          if (landed === 1) x1 = Float32Array.from((state as HostTensor).data);
        },
      });
      expect(stats.nfe).toBe(calls);
      expect(stats.tEnd).toBe(1);
      const err = maxErr(x1!, P.exact1);
      const scale = tol + tol * Math.max(...P.exact1.map(Math.abs));
      expect(err, `error ${err} vs tolerance scale ${scale}`).toBeLessThan(5 * scale);
      // The x0 estimate at t = 1 is a fixed linear map of the state there.
      expect(maxErr(x.data, P.exactOut)).toBeLessThan(5 * scale + 1e-6);
      // Fixed-step Euler on the same problem: the fewest steps (<= t0) reaching the same error.
      let eulerSteps = Infinity;
      let eulerErr = NaN;
      for (const K of [10, 20, 50, 100, 200, 500, 1000].filter((k) => k <= P.t0)) {
        let e1 = NaN;
        await samplers.ode(P.sde, P.model, P.x, P.mu, timesteps(P.t0, K), {
          callback: ({ s: landed, x: state }) => {
            if (landed === 1) e1 = maxErr((state as HostTensor).data, P.exact1);
          },
        });
        eulerErr = e1;
        if (e1 <= err) {
          eulerSteps = K;
          break;
        }
      }
      console.log(
        `${P.name}: rtol=atol=${tol}: error ${err.toExponential(2)} with ${stats.nfe} evaluations (${stats.accepted} steps, ${stats.rejected} rejected); ` +
          `Euler needs ${Number.isFinite(eulerSteps) ? `${eulerSteps} evaluations` : `more than ${P.t0} (error ${eulerErr.toExponential(2)} at ${P.t0})`}`,
      );
      expect(stats.nfe).toBeLessThan(eulerSteps);
    });
  }
});

describe('ode-adaptive: sampler, restore, options and resources', () => {
  it("restore({ sampler: 'ode-adaptive' }) on a DenoisingSDE and a MeanRevertingSDE; stats reported", async () => {
    const dn = new DenoisingSDE({ T: 100, maxSigma: from255(75) }, hostBackend);
    const x0 = new HostTensor(Float32Array.from(new Rng(2).uniform([2, 50])), [2, 50]);
    const noisy = dn.sampleMarginal(x0, 30, new Rng(3));
    let stats: any;
    const out = await restore({ sde: dn, model: oracleNoiseModel(dn, x0), lq: noisy, start: 30, sampler: 'ode-adaptive', onSolverStats: (st) => (stats = st) });
    // The oracle's x0 estimate is x0 itself, wherever the solver stops.
    expect(maxErr(out.data, Float64Array.from(x0.data))).toBeLessThan(1e-5);
    expect(stats.tStart).toBe(30);
    expect(stats.nfe).toBeGreaterThan(6);
    const mr = new MeanRevertingSDE({ T: 100, maxSigma: 0.1 }, hostBackend);
    const mu = hostBackend.linear([[x0, 0.8]], 0.1);
    const out2 = await restore({ sde: mr, model: oracleNoiseModel(mr, x0), lq: mu, sampler: 'ode-adaptive', rtol: 1e-4, atol: 1e-4 });
    expect(maxErr(out2.data, Float64Array.from(x0.data))).toBeLessThan(1e-4);
  });

  it('bad options and a runaway solve give one-line errors', async () => {
    const dn = new DenoisingSDE({ T: 100, maxSigma: 0.3 }, hostBackend);
    const x = hostBackend.randomNormal([1, 8], new Rng(1));
    const model = gaussianNoiseModel(dn, { mean: 0, std: 0.1 });
    await expect(solveProbabilityFlow(dn, model, x, null, { rtol: 0 })).rejects.toThrow(/rtol must be a finite number > 0, got 0/);
    await expect(solveProbabilityFlow(dn, model, x, null, { atol: NaN })).rejects.toThrow(/atol must be a finite number > 0, got NaN/);
    await expect(solveProbabilityFlow(dn, model, x, null, { tStart: 0 })).rejects.toThrow(/start time must be in \(0, 100\], got 0/);
    await expect(solveProbabilityFlow(dn, model, x, null, { rtol: 1e-9, atol: 1e-9, maxEvals: 20 })).rejects.toThrow(/more than maxEvals = 20 model evaluations/);
    await expect(solveProbabilityFlow(dn, model, x, x)).rejects.toThrow(/a DenoisingSDE is unconditional and has no mu; pass null/);
  });

  it('tfjs: nothing leaks, also when aborted', async () => {
    await tf.setBackend('cpu');
    const sde = new MeanRevertingSDE({ T: 100, maxSigma: 0.1 });
    const rng = new Rng(5);
    const mu = tfjsBackend.fromArray(rng.uniform([2, 30]), [2, 30]);
    const model = gaussianNoiseModel(sde, { mean: 0.5, std: 0.2 });
    const before = tf.memory().numTensors;
    const out = await restore({ sde, model, lq: mu, sampler: 'ode-adaptive', callback: () => undefined });
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const ac = new AbortController();
    await expect(
      restore({ sde, model, lq: mu, sampler: 'ode-adaptive', onProgress: (done) => done > 100 && ac.abort(), signal: ac.signal }),
    ).rejects.toThrow(/abort/i);
    expect(tf.memory().numTensors).toBe(before);
    mu.dispose();
  });
});
