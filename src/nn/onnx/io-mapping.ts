/**
 * Mapping an ONNX model's inputs to the noise network's roles `(xt, cond, time)`: our own exports
 * use exactly those names; models exported elsewhere (e.g. `torch.onnx.export` of the original
 * code) may use other names, so aliases, then input ranks, then the original's argument order decide.
 */
import type { OrtSessionLike, OrtValueMetadataLike } from './ort-types.js';

/** Thrown when an ONNX model does not fit the noise-model contract, or a run is given bad inputs. */
export class OrtModelError extends Error {
  /** @param message - what was wrong and what was expected. */
  constructor(message: string) {
    super(message);
    this.name = 'OrtModelError';
  }
}

/** Which model input plays which role, and which output is the noise. */
export interface OrtIoNames {
  /** The noisy state `x_t`, float32 NCHW. */
  readonly xt: string;
  /** The condition `mu` (degraded image), float32 NCHW; `null` for an unconditional model `(xt, time)`. */
  readonly cond: string | null;
  /** The diffusion time, `[B]` (or a fixed `[1]`). */
  readonly time: string;
  /** The predicted noise, float32 NCHW. */
  readonly output: string;
}

/** Element types accepted for the time input. */
export type OrtTimeType = 'float32' | 'float64' | 'int64' | 'int32';

/** What is known about the model's inputs: names plus (when ORT reports it) types and shapes. */
export interface OrtIoSpec extends OrtIoNames {
  /** Element type to feed `time` with. */
  readonly timeType: OrtTimeType;
  /** `time`'s declared shape, `[B]` or a fixed `[1]` (`null` if unknown). */
  readonly timeShape: ReadonlyArray<number | string> | null;
  /** `xt`'s declared NCHW shape (`null` if unknown); numbers are fixed dims. */
  readonly xtShape: ReadonlyArray<number | string> | null;
}

const ALIASES = {
  xt: ['xt', 'x_t', 'x', 'noisy', 'x_noisy', 'input', 'sample'],
  cond: ['cond', 'mu', 'condition', 'lq', 'y', 'c'],
  time: ['time', 't', 'timestep', 'timesteps'],
} as const;

type Role = keyof typeof ALIASES;
const ROLES: readonly Role[] = ['xt', 'cond', 'time'];

function byAlias(names: readonly string[]): Record<Role, string> | null {
  const found: Partial<Record<Role, string>> = {};
  for (const role of ROLES) {
    const hit = names.find((n) => (ALIASES[role] as readonly string[]).includes(n.toLowerCase()));
    if (hit !== undefined) found[role] = hit;
  }
  const vals = Object.values(found);
  return vals.length === 3 && new Set(vals).size === 3 ? (found as Record<Role, string>) : null;
}

// ORT reports an unknown shape as [], so only non-empty shapes say anything about the rank.
function byRank(names: readonly string[], meta: Map<string, OrtValueMetadataLike>): Record<Role, string> | null {
  const rank = (n: string): number => meta.get(n)?.shape?.length ?? 0;
  const images = names.filter((n) => rank(n) === 4);
  const times = names.filter((n) => rank(n) === 1);
  return images.length === 2 && times.length === 1 ? { xt: images[0], cond: images[1], time: times[0] } : null;
}

/**
 * Resolves the roles of a session's inputs and checks their declared types and ranks.
 * @param explicit - names given by the caller (take precedence; must exist).
 * @param timeType - the caller's time type; otherwise the declared one, else float32.
 * @throws OrtModelError naming the model's inputs and what was expected.
 */
export function resolveOrtIo(session: OrtSessionLike, explicit: Partial<OrtIoNames> = {}, timeType?: OrtTimeType): OrtIoSpec {
  const names = session.inputNames;
  const list = `[${names.join(', ')}]`;
  for (const [role, n] of Object.entries(explicit)) {
    if (n === undefined || n === null) continue;
    const pool = role === 'output' ? session.outputNames : names;
    if (!pool.includes(n)) throw new OrtModelError(`OrtNoiseModel: the model has no ${role === 'output' ? 'output' : 'input'} named '${n}' (given for ${role}); it has ${role === 'output' ? `[${session.outputNames.join(', ')}]` : list}`);
  }
  const meta = new Map((session.inputMetadata ?? []).map((m) => [m.name, m]));
  let roles: Record<Role, string> | null = null;
  if (names.length === 2 && explicit.cond == null) {
    // An unconditional network, forward(x, time): the rank-4 input is x, the other the time.
    const rank = (n: string): number => meta.get(n)?.shape?.length ?? 0;
    const timeName = explicit.time ?? names.find((n) => (ALIASES.time as readonly string[]).includes(n.toLowerCase())) ?? names.find((n) => rank(n) === 1) ?? (names.some((n) => rank(n) === 4 || (ALIASES.cond as readonly string[]).includes(n.toLowerCase())) && names.every((n) => rank(n) !== 0 || (ALIASES.cond as readonly string[]).includes(n.toLowerCase()) || (ALIASES.xt as readonly string[]).includes(n.toLowerCase())) ? undefined : names[1]);
    if (timeName === undefined) {
      throw new OrtModelError(
        `OrtNoiseModel: expected a noise model with 3 inputs (xt, cond, time) as the original's forward(xt, cond, time), or 2 (xt, time) for an unconditional one, but the model has ${names.length}: ${list} and none of them is a time vector. Pass inputNames: { xt, cond, time } if some of them fit`,
      );
    }
    const xtName = explicit.xt ?? names.find((n) => n !== timeName) ?? names[0];
    if (xtName === timeName) throw new OrtModelError(`OrtNoiseModel: xt and time must be two different inputs, got ${JSON.stringify({ xt: xtName, time: timeName })}`);
    return finish(session, meta, { xt: xtName, cond: null, time: timeName }, explicit, timeType);
  }
  if (explicit.xt !== undefined && explicit.cond != null && explicit.time !== undefined) roles = { xt: explicit.xt, cond: explicit.cond, time: explicit.time };
  else {
    if (names.length !== 3) {
      throw new OrtModelError(
        `OrtNoiseModel: expected a noise model with 3 inputs (xt, cond, time) as the original's forward(xt, cond, time), or 2 (xt, time) for an unconditional one, but the model has ${names.length}: ${list}. Pass inputNames: { xt, cond, time } if some of them fit`,
      );
    }
    roles = byAlias(names) ?? byRank(names, meta) ?? { xt: names[0], cond: names[1], time: names[2] };
    roles = { xt: explicit.xt ?? roles.xt, cond: explicit.cond ?? roles.cond, time: explicit.time ?? roles.time };
  }
  if (new Set(Object.values(roles)).size !== 3) throw new OrtModelError(`OrtNoiseModel: xt, cond and time must be three different inputs, got ${JSON.stringify(roles)}`);
  return finish(session, meta, roles, explicit, timeType);
}

function finish(session: OrtSessionLike, meta: Map<string, OrtValueMetadataLike>, roles: { xt: string; cond: string | null; time: string }, explicit: Partial<OrtIoNames>, timeType?: OrtTimeType): OrtIoSpec {
  if (session.outputNames.length === 0) throw new OrtModelError('OrtNoiseModel: the model has no outputs');
  const output = explicit.output ?? session.outputNames[0];

  for (const role of ['xt', 'cond'] as const) {
    const name = roles[role];
    if (name === null) continue;
    const m = meta.get(name);
    if (m === undefined) continue;
    if (!m.isTensor) throw new OrtModelError(`OrtNoiseModel: input '${roles[role]}' (${role}) must be a tensor`);
    if (m.type !== undefined && m.type !== 'float32') throw new OrtModelError(`OrtNoiseModel: input '${roles[role]}' (${role}) must be float32 NCHW, but the model declares ${m.type}`);
    if (m.shape !== undefined && m.shape.length > 0 && m.shape.length !== 4) {
      throw new OrtModelError(`OrtNoiseModel: input '${roles[role]}' (${role}) must be rank 4 NCHW [B, C, H, W], but the model declares [${m.shape.join(', ')}]`);
    }
  }
  const tm = meta.get(roles.time);
  let declaredType: OrtTimeType | undefined;
  if (tm !== undefined) {
    if (!tm.isTensor) throw new OrtModelError(`OrtNoiseModel: input '${roles.time}' (time) must be a tensor`);
    if (tm.type !== undefined) {
      if (!['float32', 'float64', 'int64', 'int32'].includes(tm.type)) {
        throw new OrtModelError(`OrtNoiseModel: input '${roles.time}' (time) has type ${tm.type}; expected float32, float64, int64 or int32`);
      }
      declaredType = tm.type as OrtTimeType;
    }
    // The original embeds time with `t[:, None]`, so a traced model always takes a vector.
    if (tm.shape !== undefined && tm.shape.length > 1) {
      throw new OrtModelError(`OrtNoiseModel: input '${roles.time}' (time) must be a vector [B], but the model declares [${tm.shape.join(', ')}]`);
    }
  }
  const xm = meta.get(roles.xt);
  return {
    ...roles,
    output,
    timeType: timeType ?? declaredType ?? 'float32',
    timeShape: tm?.shape !== undefined && tm.shape.length === 1 ? tm.shape : null,
    xtShape: xm?.shape !== undefined && xm.shape.length === 4 ? xm.shape : null,
  };
}
