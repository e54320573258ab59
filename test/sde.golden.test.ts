import { beforeAll, describe, expect, it } from 'vitest';
import { MeanRevertingSDE, type TensorBackend } from '../src/index.js';
import { mlLoss } from '../src/advanced.js';
import { BACKENDS, WASM_CASE } from './helpers/backends.js';
import { flat, flat64, loadJson, normErr } from './helpers/goldens.js';

const TOL = 1e-5;

interface GoldenFile {
  shape: number[];
  inputs: Record<'x0' | 'mu' | 'xt' | 'noise' | 'score', unknown>;
  configs: any[];
}

const FILES: Array<{ file: string; f64: boolean }> = [
  { file: 'goldens/sde_public_f64.json', f64: true },
  { file: 'goldens/sde_public.json', f64: false },
];

function tensors(backend: TensorBackend<any>, g: GoldenFile) {
  const mk = (k: keyof GoldenFile['inputs']) => backend.fromArray(flat(g.inputs[k] as any), g.shape);
  return { x0: mk('x0'), mu: mk('mu'), xt: mk('xt'), noise: mk('noise'), score: mk('score') };
}

for (const { file, f64 } of FILES) {
  const g = loadJson<GoldenFile>(file);
  for (const { name, backend, setup } of [...BACKENDS, WASM_CASE]) {
    describe(`${file} on ${name}`, () => {
      beforeAll(setup);
      for (const cfg of g.configs) {
        const label = `${cfg.schedule} T=${cfg.T} lambda=${cfg.max_sigma_effective.toFixed(4)} eps=${cfg.eps}`;
        const sde = new MeanRevertingSDE({ T: cfg.T, maxSigma: cfg.max_sigma_effective, schedule: cfg.schedule, eps: cfg.eps }, backend);

        it(`${label}: schedule tables and dt`, () => {
          expect(normErr(sde.thetas, flat64(cfg.thetas))).toBeLessThan(TOL);
          expect(normErr(sde.sigmas, flat64(cfg.sigmas))).toBeLessThan(TOL);
          expect(normErr(sde.thetasCumsum, flat64(cfg.thetas_cumsum))).toBeLessThan(TOL);
          expect(normErr(sde.sigmaBars, flat64(cfg.sigma_bars))).toBeLessThan(TOL);
          expect(Math.abs(sde.dt - cfg.dt) / cfg.dt).toBeLessThan(TOL);
          if (f64) {
            // The float64 goldens are matched far beyond the float32 bound.
            expect(normErr(sde.sigmaBars, flat64(cfg.sigma_bars))).toBeLessThan(1e-12);
          }
        });

        for (const st of cfg.steps) {
          // float32 reference loses precision at t <= 2 (cancellation): compare there only in f64.
          if (!f64 && st.t <= 2) continue;
          it(`${label}: every method at t=${st.t}`, () => {
            const { x0, mu, xt, noise, score } = tensors(backend, g);
            const t = st.t as number;
            const check = (what: string, got: any, want: unknown) => {
              const arr = typeof got === 'number' ? [got] : backend.toArray(got);
              const err = normErr(arr, flat64(want as any));
              expect(err, `${what} normalised error`).toBeLessThan(TOL);
              if (typeof got !== 'number') backend.dispose(got);
            };
            check('muBar', sde.muBar(x0, mu, t), st.mu_bar);
            check('sigmaBar', sde.sigmaBar(t), st.sigma_bar);
            check('drift', sde.drift(xt, mu, t), st.drift);
            check('reverseSdeDrift', sde.reverseSdeDrift(xt, mu, score, t), st.sde_reverse_drift);
            check('reverseOdeDrift', sde.reverseOdeDrift(xt, mu, score, t), st.ode_reverse_drift);
            check('reverseSdeStepMean', sde.reverseSdeStepMean(xt, mu, score, t), st.reverse_sde_step_mean);
            check('reverseOdeStep', sde.reverseOdeStep(xt, mu, score, t), st.reverse_ode_step);
            check('optimalReverseMean', sde.optimalReverseMean(xt, x0, mu, t), st.reverse_optimum_step);
            check('optimalReverseStd', sde.optimalReverseStd(t), st.reverse_optimum_std);
            check('x0FromNoise', sde.x0FromNoise(xt, mu, noise, t), st.get_init_state_from_noise);
            check('noiseFromX0', sde.noiseFromX0(xt, x0, mu, t), st.get_real_noise);
            check('scoreFromX0', sde.scoreFromX0(xt, x0, mu, t), st.get_real_score);
            check('scoreFromNoise', sde.scoreFromNoise(noise, t), st.get_score_from_noise);
            check('meanDecay', sde.meanDecay(t), st.weights);
            check('mlLoss', mlLoss(sde, { xt, x0, cond: mu, noisePred: noise, t }), st.loss_l1);
            check('mlLoss (matching)', mlLoss(sde, { xt, x0, cond: mu, noisePred: noise, t }, { norm: 'l1' }), st.loss_matching_l1);
            backend.dispose([x0, mu, xt, noise, score]);
          });
        }

        const bt = cfg.batched_t;
        if (f64 || bt.t.every((v: number) => v > 2)) {
          it(`${label}: batched t = [${bt.t}]`, () => {
            const { x0, mu, xt, noise } = tensors(backend, g);
            const t = bt.t as number[];
            const check = (what: string, got: any, want: unknown) => {
              const arr = got instanceof Float64Array ? got : backend.toArray(got);
              expect(normErr(arr, flat64(want as any)), `${what} normalised error`).toBeLessThan(TOL);
              if (!(got instanceof Float64Array)) backend.dispose(got);
            };
            check('muBar', sde.muBar(x0, mu, t), bt.mu_bar);
            check('sigmaBar', sde.sigmaBar(t), bt.sigma_bar);
            check('scoreFromNoise', sde.scoreFromNoise(noise, t), bt.get_score_from_noise);
            const s = sde.scoreFromNoise(noise, t);
            check('reverseSdeStepMean', sde.reverseSdeStepMean(xt, mu, s, t), bt.reverse_sde_step_mean);
            check('optimalReverseMean', sde.optimalReverseMean(xt, x0, mu, t), bt.reverse_optimum_step);
            check('mlLoss', mlLoss(sde, { xt, x0, cond: mu, noisePred: noise, t }), bt.loss_l1);
            backend.dispose([x0, mu, xt, noise, s]);
          });
        }

        if (cfg.optimal_reverse) {
          it(`${label}: the optimal reverse chain over all T steps`, () => {
            const o = cfg.optimal_reverse;
            const mu = backend.fromArray(flat(g.inputs.mu as any), g.shape);
            // 'start' and 'x0' name golden inputs, e.g. "inputs.xt".
            const input = (ref: string) => flat(g.inputs[ref.replace(/^inputs\./, '') as keyof GoldenFile['inputs']] as any);
            const x0 = backend.fromArray(input(o.x0), g.shape);
            let x = backend.fromArray(input(o.start), g.shape);
            for (let t = cfg.T; t >= 1; t--) {
              const next = sde.optimalReverseMean(x, x0, mu, t);
              backend.dispose(x);
              x = next;
            }
            const got = backend.toArray(x);
            expect(normErr(got, flat64(o.result))).toBeLessThan(TOL);
            expect(normErr(got, input(o.x0))).toBeLessThan(TOL);
            backend.dispose([mu, x0, x]);
          });
        }
      }
    });
  }
}
