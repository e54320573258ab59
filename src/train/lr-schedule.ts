/** A learning-rate schedule: step index (0-based, the update about to be applied) to learning rate. */
export type LRSchedule = (step: number) => number;

/** A constant learning rate. */
export interface ConstantLR {
  /** Discriminator. */
  readonly type: 'constant';
}

/** The rate times `gamma` at each milestone passed (PyTorch's MultiStepLR). */
export interface MultiStepLR {
  /** Discriminator. */
  readonly type: 'multistep';
  /** Steps at which the rate is multiplied by `gamma` (the reference's `lr_steps`). */
  readonly milestones: readonly number[];
  /** Multiplier per milestone (default 0.5, the reference's `lr_gamma`). */
  readonly gamma?: number;
}

/** Cosine annealing from the base rate to `minLr` over `period` steps, with optional warm-up. */
export interface CosineLR {
  /** Discriminator. */
  readonly type: 'cosine';
  /** Steps of one cosine period (usually the total number of steps). */
  readonly period: number;
  /** Floor learning rate (default 1e-7, the reference's `eta_min`). */
  readonly minLr?: number;
  /** Linear warm-up steps from 0 (default 0). */
  readonly warmup?: number;
}

/** Configuration of the built-in schedules (JSON-serialisable, stored in checkpoints). */
export type LRScheduleConfig = ConstantLR | MultiStepLR | CosineLR;

/**
 * Builds a schedule from its config and base rate. `multistep` multiplies by `gamma` at each
 * milestone passed; `cosine` anneals from `baseLr` to `minLr` over `period` steps (then restarts,
 * as PyTorch's CosineAnnealingWarmRestarts with a single period length does).
 */
export function createLRSchedule(config: LRScheduleConfig, baseLr: number): LRSchedule {
  if (!(Number.isFinite(baseLr) && baseLr >= 0)) throw new RangeError(`createLRSchedule: baseLr must be finite and >= 0, got ${baseLr}`);
  switch (config.type) {
    case 'constant':
      return () => baseLr;
    case 'multistep': {
      const ms = [...config.milestones].sort((a, b) => a - b);
      if (ms.some((m) => !Number.isInteger(m) || m < 0)) throw new RangeError(`createLRSchedule: milestones must be non-negative integers, got ${JSON.stringify(config.milestones)}`);
      const gamma = config.gamma ?? 0.5;
      return (step) => baseLr * gamma ** ms.filter((m) => step >= m).length;
    }
    case 'cosine': {
      const { period } = config;
      const minLr = config.minLr ?? 1e-7;
      const warmup = config.warmup ?? 0;
      if (!Number.isInteger(period) || period < 1) throw new RangeError(`createLRSchedule: cosine period must be an integer >= 1, got ${period}`);
      return (step) => {
        if (step < warmup) return (baseLr * (step + 1)) / warmup;
        const k = (step - warmup) % period;
        return minLr + ((baseLr - minLr) * (1 + Math.cos((Math.PI * k) / period))) / 2;
      };
    }
    default:
      throw new RangeError(`createLRSchedule: unknown schedule type '${String((config as { type: unknown }).type)}'; expected 'constant', 'multistep' or 'cosine'`);
  }
}
