import type { Term, TensorBackend } from '../backend/types.js';

/**
 * `mu + sum_i c_i (x_i - mu) + sum_j k_j y_j`: every mean-reverting update has this form. The
 * deviations `x_i - mu` are formed first (as the reference does), because some coefficients are
 * large (`exp(Theta_T dt) = 1/eps`): expanding `c (x - mu)` into `c x - c mu` would cancel two
 * large numbers and lose digits in float32.
 *
 * Ownership: returns one new tensor; disposes its own intermediates, never its arguments.
 * @param deviations - `[x_i, c_i]`: tensors measured from `mu`.
 * @param others - `[y_j, k_j]`: tensors added as they are (noise, predicted noise).
 * @param addMu - add `mu` itself (default true; false gives only the weighted deviations).
 */
export function combineAroundMu<X>(
  backend: TensorBackend<X>,
  mu: X,
  deviations: ReadonlyArray<Term<X>>,
  others: ReadonlyArray<Term<X>> = [],
  addMu = true,
): X {
  return backend.tidy(() => {
    const devs = deviations.map(
      ([x, c]) =>
        [
          backend.linear([
            [x, 1],
            [mu, -1],
          ]),
          c,
        ] as const,
    );
    const res = backend.linear(addMu ? [...devs, ...others, [mu, 1] as const] : [...devs, ...others]);
    backend.dispose(devs.map(([d]) => d));
    return res;
  });
}

/**
 * {@link combineAroundMu} around a centre that may be absent: `centre = null` stands for 0 (an
 * SDE without a condition), giving `sum_i c_i x_i + sum_j k_j y_j` with zero-coefficient terms
 * left out. Same ownership as {@link combineAroundMu}. @internal
 */
export function combineAround<X>(
  backend: TensorBackend<X>,
  centre: X | null,
  deviations: ReadonlyArray<Term<X>>,
  others: ReadonlyArray<Term<X>> = [],
  addCentre = true,
): X {
  if (centre !== null) return combineAroundMu(backend, centre, deviations, others, addCentre);
  return backend.linear([...deviations, ...others].filter(([, c]) => c !== 0));
}
