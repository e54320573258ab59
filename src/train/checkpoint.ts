import { readSafetensors, readSafetensorsMetadata, writeSafetensors } from '../nn/io/safetensors.js';
import type { StateDict } from '../nn/io/types.js';
import type { Trainer, TrainerState } from './trainer.js';

/** Format tag stored in a checkpoint's safetensors metadata. */
export const CHECKPOINT_FORMAT = 'irsde-checkpoint';
const VERSION = 1;

const GROUPS = ['weights', 'ema', 'adam.m', 'adam.v'] as const;

/**
 * Encodes a {@link TrainerState} as one `.safetensors` file: tensors named `weights/<name>`,
 * `ema/<name>`, `adam.m/<name>`, `adam.v/<name>`; step, RNG state, trainer and SDE configs as JSON in
 * the metadata. Readable by any safetensors reader; {@link decodeTrainerState} inverts it exactly.
 */
export function encodeTrainerState(state: TrainerState, extra: Record<string, unknown> = {}): Uint8Array {
  const dict: StateDict = {};
  const put = (group: string, rec: StateDict | undefined) => {
    for (const [k, v] of Object.entries(rec ?? {})) dict[`${group}/${k}`] = { shape: v.shape, data: v.data };
  };
  put('weights', state.weights);
  put('ema', state.ema?.shadow);
  put('adam.m', state.adam.m);
  put('adam.v', state.adam.v);
  const meta = {
    format: CHECKPOINT_FORMAT,
    version: VERSION,
    step: state.step,
    rng: state.rng,
    config: state.config,
    sde: state.sde,
    adamStep: state.adam.step,
    emaCalls: state.ema?.calls ?? null,
    ...extra,
  };
  return writeSafetensors(dict, { irsde: JSON.stringify(meta) });
}

/** What {@link decodeTrainerState} returns. */
export interface DecodedCheckpoint {
  /** The training state, ready for {@link Trainer.setState}. */
  readonly state: TrainerState;
  /** Extra metadata fields stored with it (e.g. the CLI's run config). */
  readonly extra: Record<string, unknown>;
}

/**
 * Decodes {@link encodeTrainerState}'s bytes.
 * @returns the state and any extra metadata fields that were stored with it.
 * @throws Error when the file is not an irsde checkpoint (or is corrupt).
 */
export function decodeTrainerState(bytes: Uint8Array): DecodedCheckpoint {
  const metaText = readSafetensorsMetadata(bytes).irsde;
  let meta: Record<string, any>;
  try {
    meta = JSON.parse(metaText ?? 'null');
  } catch {
    meta = {};
  }
  if (!meta || meta.format !== CHECKPOINT_FORMAT) {
    throw new Error(`decodeTrainerState: not an irsde checkpoint (no '${CHECKPOINT_FORMAT}' metadata); is this a model file rather than a checkpoint?`);
  }
  if (meta.version !== VERSION) throw new Error(`decodeTrainerState: checkpoint version ${meta.version} is not supported (expected ${VERSION})`);
  const dict = readSafetensors(bytes);
  const groups: Record<string, StateDict> = {};
  for (const g of GROUPS) groups[g] = {};
  for (const [key, t] of Object.entries(dict)) {
    const slash = key.indexOf('/');
    const g = key.slice(0, slash);
    if (slash < 0 || !(g in groups)) throw new Error(`decodeTrainerState: unexpected tensor '${key}' in checkpoint`);
    groups[g][key.slice(slash + 1)] = { shape: t.shape, data: t.data };
  }
  const { format: _f, version: _v, step, rng, config, sde, adamStep, emaCalls, ...extra } = meta;
  const state: TrainerState = {
    step,
    rng,
    config,
    sde,
    weights: groups.weights,
    adam: { step: adamStep, m: groups['adam.m'], v: groups['adam.v'] },
    ...(emaCalls !== null && emaCalls !== undefined ? { ema: { calls: emaCalls, shadow: groups.ema } } : {}),
  };
  return { state, extra };
}
