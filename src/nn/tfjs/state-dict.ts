/**
 * Matching a PyTorch `state_dict` against the network's parameter table: every problem is
 * collected so that one error lists them all.
 */
import type { StateDict } from '../io/types.js';
import type { ParamSpec } from '../arch/module.js';
import { archOf, inferNetworkConfig, type NetworkConfig } from '../nets/network.js';

/** Options of `loadStateDict` (see `TfjsNetwork.loadStateDict`). */
export interface LoadStateDictOptions {
  /**
   * `true` (default): any missing or unexpected key is an error. `false`: missing parameters keep
   * their current values and unexpected keys are ignored (both are reported in the result).
   * A key with the wrong shape is an error either way, as in PyTorch.
   */
  readonly strict?: boolean;
}

/** What `loadStateDict` found besides the loaded keys. */
export interface LoadStateDictResult {
  /** Parameters of the network absent from the record (always empty after a strict load). */
  readonly missing: string[];
  /** Keys of the record that are not parameters of the network (always empty after a strict load). */
  readonly unexpected: string[];
}

/** A key present on both sides whose shape disagrees. */
export interface ShapeMismatch {
  /** PyTorch name. */
  readonly name: string;
  /** Shape the network needs (PyTorch layout). */
  readonly expected: number[];
  /** Shape found in the record. */
  readonly found: number[];
}

/** Thrown by `loadStateDict` when the record does not fit the network; lists every problem. */
export class StateDictMismatchError extends Error {
  /** Parameters the network needs that the record lacks. */
  readonly missing: string[];
  /** Record keys the network does not have. */
  readonly unexpected: string[];
  /** Keys present on both sides with different shapes (or data of the wrong length). */
  readonly mismatched: ShapeMismatch[];

  /**
   * @param missing - parameters absent from the record.
   * @param unexpected - record keys the network lacks.
   * @param mismatched - keys with the wrong shape.
   * @param config - the network's config (quoted in the message).
   * @param hint - extra advice appended to the message ('' for none).
   * @param where - the class whose `loadStateDict` failed (quoted in the message).
   */
  constructor(missing: string[], unexpected: string[], mismatched: ShapeMismatch[], config: NetworkConfig, hint: string, where = 'loadStateDict') {
    const fmt = (xs: string[]): string => xs.join(', ');
    const parts = [`${where}.loadStateDict: the weights do not fit the network ${JSON.stringify(config)}`];
    if (missing.length > 0) parts.push(`missing keys (${missing.length}): ${fmt(missing)}`);
    if (unexpected.length > 0) parts.push(`unexpected keys (${unexpected.length}): ${fmt(unexpected)}`);
    if (mismatched.length > 0) {
      parts.push(
        `mis-shaped keys (${mismatched.length}): ${mismatched.map((m) => `${m.name} is [${m.found.join(', ')}] in the weights but the network needs [${m.expected.join(', ')}]`).join('; ')}`,
      );
    }
    if (hint !== '') parts.push(hint);
    super(parts.join('\n  '));
    this.name = 'StateDictMismatchError';
    this.missing = missing;
    this.unexpected = unexpected;
    this.mismatched = mismatched;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function has(dict: StateDict, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(dict, key);
}

/** The result of matching a record against the parameter table. */
export interface StateDictMatch {
  /** See {@link StateDictMismatchError}. */
  readonly missing: string[];
  /** See {@link StateDictMismatchError}. */
  readonly unexpected: string[];
  /** See {@link StateDictMismatchError}. */
  readonly mismatched: ShapeMismatch[];
}

/** Compares a record with the parameter table; never throws for a plain object record. */
export function matchStateDict(specs: readonly ParamSpec[], dict: StateDict): StateDictMatch {
  const known = new Set(specs.map((s) => s.name));
  const missing: string[] = [];
  const mismatched: ShapeMismatch[] = [];
  for (const s of specs) {
    if (!has(dict, s.name)) {
      missing.push(s.name);
      continue;
    }
    const t = dict[s.name];
    const shape = Array.isArray(t?.shape) ? t.shape.slice() : [];
    const numel = s.torchShape.reduce((a, b) => a * b, 1);
    if (!sameShape(shape, s.torchShape) || !(t.data instanceof Float32Array) || t.data.length !== numel) {
      mismatched.push({ name: s.name, expected: s.torchShape.slice(), found: shape });
    }
  }
  const unexpected = Object.keys(dict).filter((k) => !known.has(k));
  return { missing, unexpected, mismatched };
}

/** A hint for the common causes of a failed load (DataParallel prefixes, a different network size). */
export function mismatchHint(dict: StateDict, config: NetworkConfig, missing: readonly string[], unexpected: readonly string[]): string {
  const hints: string[] = [];
  if (missing.length > 0 && unexpected.some((k) => k.startsWith('module.'))) {
    hints.push("keys start with 'module.' (saved from DataParallel): strip that prefix before loading");
  }
  const guess = inferNetworkConfig(dict);
  const { prediction: _p, ...shapeOnly } = config;
  if (guess !== null && JSON.stringify(guess) !== JSON.stringify(shapeOnly)) {
    const cls = archOf(guess) === 'nafnet' ? 'NAFNet' : 'UNet';
    hints.push(`the weights look like a network of ${JSON.stringify(guess)}: build the ${cls} with that config`);
  }
  return hints.length > 0 ? `hint: ${hints.join('; ')}` : '';
}
