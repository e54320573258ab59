import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DenoisingSDE, from255, type TensorBackend } from '../src/index.js';
import { BACKENDS } from './helpers/backends.js';
import { flat, flat64, loadJson, normErr } from './helpers/goldens.js';

/*
 * The reference's DenoisingSDE evaluated in float64 (goldens/denoising_sde_public.json): every
 * table, every method at t in {1, 2, T/2, T-1, T} and get_optimal_timestep, on both backends.
 */
const TOL = 1e-5;
const g = loadJson('goldens/denoising_sde_public.json');

for (const { name, backend, setup } of BACKENDS) {
  describe(`denoising_sde_public.json on ${name}`, () => {
    beforeAll(setup);
    for (const cfg of g.configs) {
      const label = `${cfg.schedule} T=${cfg.T} maxSigma=${cfg.max_sigma_arg}/255`;
      const sde = new DenoisingSDE({ T: cfg.T, maxSigma: cfg.max_sigma_effective, schedule: cfg.schedule }, backend);
      const mk = (b: TensorBackend<any>, k: string) => b.fromArray(flat(g.inputs[k]), g.shape);

      it(`${label}: tables, dt and the internal eps 0.04`, () => {
        expect(cfg.eps_internal).toBe(0.04);
        expect(sde.eps).toBe(0.04);
        expect(normErr(sde.thetas, flat64(cfg.thetas))).toBeLessThan(1e-12);
        expect(normErr(sde.sigmas, flat64(cfg.sigmas))).toBeLessThan(1e-12);
        expect(normErr(sde.thetasCumsum, flat64(cfg.thetas_cumsum))).toBeLessThan(1e-12);
        expect(normErr(sde.sigmaBars, flat64(cfg.sigma_bars))).toBeLessThan(1e-12);
        expect(Math.abs(sde.dt - cfg.dt) / cfg.dt).toBeLessThan(1e-12);
      });

      it(`${label}: optimalTimestep matches get_optimal_timestep`, () => {
        for (const [key, want] of Object.entries(cfg.optimal_timestep as Record<string, number>)) {
          const v = Number(key);
          // The golden keys follow the reference's convention (> 1: 0-255 scale); irsde takes data units.
          const sigma = v > 1 ? from255(v) : v;
          expect(sde.optimalTimestep(sigma), `sigma ${key}`).toBe(want);
        }
      });

      for (const st of cfg.steps) {
        it(`${label}: every method at t=${st.t}`, () => {
          const before = backend.name === 'tfjs' ? tf.memory().numTensors : 0;
          const [x0, xt, noise, score] = ['x0', 'xt', 'noise', 'score'].map((k) => mk(backend, k));
          const t = st.t as number;
          const check = (what: string, got: any, want: unknown) => {
            const arr = typeof got === 'number' ? [got] : backend.toArray(got);
            expect(normErr(arr, flat64(want as any)), `${what} normalised error`).toBeLessThan(TOL);
            if (typeof got !== 'number') backend.dispose(got);
          };
          check('muBar', sde.muBar(x0, t), st.mu_bar);
          check('sigmaBar', sde.sigmaBar(t), st.sigma_bar);
          check('drift', sde.drift(xt, x0, t), st.drift);
          check('reverseSdeDrift', sde.reverseSdeDrift(xt, score, t), st.sde_reverse_drift);
          check('reverseOdeDrift', sde.reverseOdeDrift(xt, score, t), st.ode_reverse_drift);
          check('reverseSdeStepMean', sde.reverseSdeStepMean(xt, score, t), st.reverse_sde_step_mean);
          check('reverseOdeStep', sde.reverseOdeStep(xt, score, t), st.reverse_ode_step);
          check('optimalReverseMean', sde.optimalReverseMean(xt, x0, t), st.reverse_optimum_step);
          check('scoreFromNoise', sde.scoreFromNoise(noise, t), st.get_score_from_noise);
          check('x0FromNoise', sde.x0FromNoise(xt, noise, t), st.get_init_state_from_noise);
          check('x0FromScore', sde.x0FromScore(xt, score, t), st.get_init_state_from_score);
          check('noiseFromX0', sde.noiseFromX0(xt, x0, t), st.get_real_noise);
          check('scoreFromX0', sde.scoreFromX0(xt, x0, t), st.get_real_score);
          check('weights', sde.weights(t), st.weights);
          backend.dispose([x0, xt, noise, score]);
          if (backend.name === 'tfjs') expect(tf.memory().numTensors).toBe(before);
        });
      }

      it(`${label}: a batched t gives each item its own scalar-t result`, () => {
        const [x0, xt, noise, score] = ['x0', 'xt', 'noise', 'score'].map((k) => mk(backend, k));
        const ts = [cfg.steps[1].t, cfg.steps[3].t];
        const per = g.shape.slice(1).reduce((a: number, c: number) => a * c, 1);
        const methods: Array<[string, (t: any) => any]> = [
          ['reverseSdeStepMean', (t) => sde.reverseSdeStepMean(xt, score, t)],
          ['reverseOdeStep', (t) => sde.reverseOdeStep(xt, score, t)],
          ['optimalReverseMean', (t) => sde.optimalReverseMean(xt, x0, t)],
          ['x0FromNoise', (t) => sde.x0FromNoise(xt, noise, t)],
          ['noiseFromX0', (t) => sde.noiseFromX0(xt, x0, t)],
          ['sampleMarginal', (t) => sde.sampleMarginal(x0, t, noise)],
        ];
        for (const [what, f] of methods) {
          const got = backend.toArray(f(ts));
          ts.forEach((t, i) => {
            const one = backend.toArray(f(t)).subarray(i * per, (i + 1) * per);
            expect(normErr(got.subarray(i * per, (i + 1) * per), one), `${what} item ${i}`).toBe(0);
          });
        }
        expect(Array.from(sde.weights(ts))).toEqual(ts.map((t) => sde.weights(t)));
        backend.dispose([x0, xt, noise, score]);
      });

      it(`${label}: the optimal reverse chain from xt returns x0`, () => {
        const x0 = mk(backend, 'x0');
        let x = mk(backend, 'xt');
        for (let t = cfg.T; t >= 1; t--) {
          const next = sde.optimalReverseMean(x, x0, t);
          backend.dispose(x);
          x = next;
        }
        expect(normErr(backend.toArray(x), flat(g.inputs.x0))).toBeLessThan(TOL);
        backend.dispose([x, x0]);
      });
    }
  });
}
