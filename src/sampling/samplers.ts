import { needRng, runSteps, type Sampler, type SamplerOptions } from './loop.js';
import { heunCorrect, odeJump, posteriorJump, sdeJump } from './steps.js';
import { odeAdaptiveSampler } from './adaptive.js';
import { SAMPLER_NAMES, isSamplerName, type SamplerName } from './names.js';

export type { SamplerName } from './names.js';

/*
 * The samplers, k-diffusion style: each is a short function over (sde, model, x, mu, steps), for
 * either SDE (`mu = null` for a DenoisingSDE). `x` is the state at `steps[0]`; every sampler
 * jumps `steps[i] -> steps[i+1]` and finally `steps[K-1] -> 0`. The jump maths (and what a jump
 * means for the Euler samplers) is in steps.ts; the adaptive ODE solver in adaptive.ts.
 */

/**
 * `sde`: Euler–Maruyama on the reverse SDE, the paper's sampler. One model call and one noise
 * draw per step. For `s = t - 1` it is the reference's step exactly; for a jump `t -> s` it is
 * one Euler–Maruyama step of size `(Theta_t - Theta_s) dt` in `u = Theta dt` (drift and noise
 * variance of the one-step update scaled by `(Theta_t - Theta_s) / theta_t`; see {@link sdeJump}),
 * first order, so prefer many steps. Needs `options.rng`.
 */
export const sdeSampler: Sampler = async (sde, model, x, mu, steps, options = {}) => {
  const rng = needRng(options.rng, 'sde');
  return runSteps('sde', sde, model, x, mu, steps, options, (xt, eps, t, s) => sdeJump(sde, xt, mu, eps, t, s, rng));
};

/**
 * `ode`: the probability-flow ODE, deterministic. `options.order` 1 (default): Euler, as the
 * reference (exactly its step for `s = t - 1`; a jump is one Euler step of size
 * `(Theta_t - Theta_s) dt` in `u`, see {@link odeJump}). `order: 2`: Heun, see {@link heunSampler}.
 */
export const odeSampler: Sampler = async (sde, model, x, mu, steps, options = {}) => {
  const order = options.order ?? 1;
  if (order !== 1 && order !== 2) throw new RangeError(`sampler 'ode': order must be 1 (Euler) or 2 (Heun), got ${String(order)}`);
  if (order === 2) return heunSampler(sde, model, x, mu, steps, options);
  return runSteps('ode', sde, model, x, mu, steps, options, (xt, eps, t, s) => odeJump(sde, xt, mu, eps, t, s));
};

/**
 * `heun`: the probability-flow ODE with Heun's second-order method in `u = Theta dt`
 * (see {@link heunCorrect}): an Euler proposal to `s`, a second model call there, and the
 * trapezoidal average of the two directions. Two model calls per step, except the last jump to
 * `s = 0`, which is a plain Euler step (the model is not defined at `t = 0`).
 *
 * Measured order with the x0 oracle (the exact noise of a known clean image, over halving step sizes): ~2.2 (Euler ~1.1). Near
 * `t = 0` the drift is stiff (for sharp data its Jacobian grows like `1 / (2 u)`), so a large jump
 * onto a small `s` can overshoot badly: use it with ~25 steps or more, and `posterior` / `ddim`
 * (exact for any jump) when only a few model calls are affordable.
 */
export const heunSampler: Sampler = async (sde, model, x, mu, steps, options = {}) => {
  const b = sde.backend;
  return runSteps('heun', sde, model, x, mu, steps, options, async (xt, eps, t, s, ctx) => {
    const euler = odeJump(sde, xt, mu, eps, t, s);
    if (s === 0) return euler;
    try {
      const epsS = await ctx.predict(euler, s);
      try {
        return heunCorrect(sde, xt, mu, eps, euler, epsS, t, s);
      } finally {
        b.dispose(epsS);
      }
    } finally {
      b.dispose(euler);
    }
  });
};

/**
 * `posterior`: `x0_hat` from the predicted noise, then a draw from the exact Gaussian posterior
 * `q(x_s | x_t, x0_hat)`, exact for any jump. `options.eta` in `[0, 1]` (default 1) scales the
 * fresh noise; the rest of the variance is carried by the predicted noise, so with the true noise
 * every `eta` keeps the marginals exact (see {@link posteriorJump}). `eta = 0` is deterministic
 * (DDIM-like) and needs no rng; `eta > 0` needs `options.rng`. With the x0 oracle it returns `x0`
 * for any step list.
 */
export const posteriorSampler: Sampler = async (sde, model, x, mu, steps, options = {}) => {
  const eta = options.eta ?? 1;
  if (typeof eta !== 'number' || !(eta >= 0 && eta <= 1)) throw new RangeError(`sampler 'posterior': eta must be a number in [0, 1], got ${String(eta)}`);
  const rng = eta > 0 ? needRng(options.rng, 'posterior') : undefined;
  return runSteps('posterior', sde, model, x, mu, steps, options, (xt, eps, t, s) => posteriorJump(sde, xt, mu, eps, t, s, eta, rng));
};

/** `ddim`: {@link posteriorSampler} with `eta` defaulting to 0 (deterministic). */
export const ddimSampler: Sampler = async (sde, model, x, mu, steps, options = {}) =>
  posteriorSampler(sde, model, x, mu, steps, { ...options, eta: options.eta ?? 0 });

/**
 * The built-in samplers by name (each a {@link Sampler}: `(sde, model, x, mu, steps, options)`;
 * `restore({ sampler: name })` runs them from the prior).
 *
 * @example
 * ```ts
 * import { Rng, samplers, timesteps } from 'irsde';
 * // x: the start state (e.g. mu + lambda z), mu: the degraded image, model: a NoiseModel
 * const x0 = await samplers.posterior(sde, model, x, mu, timesteps(sde.T, 10), { rng: new Rng(0) });
 * ```
 */
export const samplers: {
  /** {@link sdeSampler}: Euler–Maruyama on the reverse SDE (the paper's default). */
  readonly sde: Sampler;
  /** {@link odeSampler}: probability-flow ODE, Euler (or Heun with `order: 2`). */
  readonly ode: Sampler;
  /** {@link heunSampler}: probability-flow ODE, Heun (second order). */
  readonly heun: Sampler;
  /** {@link posteriorSampler}: exact posterior given `x0_hat`, `eta` default 1. */
  readonly posterior: Sampler;
  /** {@link ddimSampler}: the posterior sampler with `eta` default 0. */
  readonly ddim: Sampler;
  /** {@link odeAdaptiveSampler}: probability-flow ODE, adaptive Dormand–Prince 5(4) with `rtol` / `atol`. */
  readonly 'ode-adaptive': Sampler;
} = Object.freeze({
  sde: sdeSampler,
  ode: odeSampler,
  heun: heunSampler,
  posterior: posteriorSampler,
  ddim: ddimSampler,
  'ode-adaptive': odeAdaptiveSampler,
} satisfies Record<SamplerName, Sampler>);

/** The sampler for a name or function (functions are returned as they are). */
export function resolveSampler(sampler: SamplerName | Sampler): Sampler {
  if (typeof sampler === 'function') return sampler;
  if (isSamplerName(sampler)) return samplers[sampler];
  throw new RangeError(`unknown sampler ${JSON.stringify(sampler)}; expected one of ${SAMPLER_NAMES.map((k) => `'${k}'`).join(', ')} or a sampler function`);
}


