import { ENSEMBLE_SIZES, type EnsembleSize } from '../sampling/names.js';

/** An error whose message is for the user of the command line (printed without a stack trace). */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** Parses an integer option, refusing anything else with a message naming the option. */
export function intOption(name: string, lo: number, hi = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < lo || n > hi) {
      throw new CliError(`${name} must be an integer in ${lo}..${hi === Number.MAX_SAFE_INTEGER ? '∞' : hi}, got '${v}'`);
    }
    return n;
  };
}

/** Parses a finite number option. */
export function numberOption(name: string, lo = -Infinity, hi = Infinity): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < lo || n > hi) throw new CliError(`${name} must be a number in [${lo}, ${hi}], got '${v}'`);
    return n;
  };
}

/** Parses an option that must be one of `choices`. */
export function choiceOption<C extends string>(name: string, choices: readonly C[]): (v: string) => C {
  return (v: string) => {
    if (!(choices as readonly string[]).includes(v)) throw new CliError(`${name} must be one of ${choices.join(', ')}, got '${v}'`);
    return v as C;
  };
}

/** Parses `--ensemble`: a self-ensemble size, 1, 2, 4 or 8. */
export function ensembleOption(name: string): (v: string) => EnsembleSize {
  const choice = choiceOption(name, ENSEMBLE_SIZES.map(String));
  return (v: string) => Number(choice(v)) as EnsembleSize;
}

/**
 * Parses `--local-stats`: a window side in pixels (an integer >= 1), or `0` / `off` for the global
 * mean (both `0`: commander turns a parser's `null` into `''`; `withLocalStatistics` reads 0 as off).
 */
export function localStatsOption(name: string): (v: string) => number {
  const int = intOption(name, 0);
  return (v: string) => {
    if (v.trim() === 'off') return 0;
    try {
      return int(v);
    } catch {
      throw new CliError(`${name} must be a window side in pixels (an integer >= 1), or 0 / off for the global mean, got '${v}'`);
    }
  };
}
