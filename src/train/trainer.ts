import * as tf from '@tensorflow/tfjs-core';
import { Rng, type RngState } from '../backend/rng.js';
import type { DiffusionSDE } from '../sde/diffusion-sde.js';
import { isDenoisingSDE } from '../sde/kinds.js';
import type { DenoisingSDE } from '../sde/denoising-sde.js';
import { sdeConfigOf, type AnySDEConfig } from '../sde/factory.js';
import { defaultObjective, OBJECTIVES, type Objective } from '../loss/objective.js';
import type { Batch, TrainableNoiseModel } from './types.js';
import { batchTrainingLoss } from './extra-cond.js';
import { disposeGradients, inProcessGradients, type GradientComputer } from './gradients.js';
import { Adam, type AdamState } from './adam.js';
import { checkStorage, defaultStorage, type StateStorage } from './host-state.js';
import { EMA, type EMAConfig, type EMAState } from './ema.js';
import type { NamedTensor } from '../nn/io/types.js';
import { createLRSchedule, type LRSchedule, type LRScheduleConfig } from './lr-schedule.js';
import { clipFactor, gradNorm as gradNormOf } from './clip.js';
import { clippedNoise, dataNoiseOf, greyNoise } from './training-noise.js';

// Defined in types.ts (shared with gradients.ts and objective.ts without a cycle); part of the trainer's API.
export type { Batch, TrainableNoiseModel } from './types.js';

/**
 * A source of training batches. It must draw all its randomness from the `rng` it is given, so
 * that a resumed run sees exactly the batches the uninterrupted run would have seen. The trainer
 * disposes the batch tensors after the step.
 */
export interface BatchSource {
  /** Returns the next batch (tensors owned by the trainer from then on). */
  next(rng: Rng): Batch | Promise<Batch>;
}

/** Trainer options (JSON-serialisable; stored in checkpoints). */
export interface TrainerConfig {
  /** Base learning rate (default 1e-4, the reference's). */
  readonly lr?: number;
  /** Adam betas (default [0.9, 0.99], the reference's). */
  readonly betas?: readonly [number, number];
  /** Adam weight decay (default 0). */
  readonly weightDecay?: number;
  /** Learning-rate schedule (default constant). */
  readonly lrSchedule?: LRScheduleConfig;
  /** Clip the global gradient norm to this value (default: no clipping). */
  readonly clipGradNorm?: number;
  /** EMA of the weights (default the reference's: beta 0.995 every 10 steps); `false` disables it. */
  readonly ema?: EMAConfig | false;
  /**
   * Objective: `'ml'` (maximum-likelihood trajectory loss), `'noise'` (noise matching) or `'x0'`
   * (clean-image matching; see {@link Objective}). Default: the one that converges with the
   * model's `prediction` ({@link defaultObjective}): `'x0'` for a residual network (gains PSNR
   * over its input within 200 steps of the README's first example, 21.2 dB from 20.1), `'ml'`
   * for a noise network. A noise network needs a long run whatever its objective (after 200
   * steps the same example restores at 4.5 dB with `'ml'` and with `'noise'`: no measured
   * difference, so its default stays the reference's `'ml'`). The trainer records the objective
   * it uses here (so checkpoints name it).
   */
  readonly objective?: Objective;
  /** `'l1'` (default) or `'l2'`. */
  readonly norm?: 'l1' | 'l2';
  /**
   * Inpainting: the loss weight of the pixels the batch's mask marks as missing, relative to 1 for
   * the known ones (see `GradientTask.maskLossWeight`; needs batches with a mask, from the `inpaint`
   * degradation). Default 1.
   */
  readonly maskLossWeight?: number;
  /** Seed of the trainer's generator (timesteps, noise, and the batch source's draws). Default 0. */
  readonly seed?: number;
  /**
   * The range `[min, max]` (inclusive, within `1..T`) the per-item timesteps are drawn from,
   * uniformly (default `[1, T]`, the reference's). A DenoisingSDE trained for noise levels up to
   * some sigma uses `[1, sde.optimalTimestep(sigma)]`.
   */
  readonly timesteps?: readonly [number, number];
  /**
   * DenoisingSDE only: clip the training states to the image range, `x_t = clip(x0 + sigmaBar_t z,
   * 0, 1)`, as in photos whose noise was clipped when they were stored (default false: the SDE's
   * Gaussian marginal). The trainer passes the noise actually in the state, `(x_t - x0) /
   * sigmaBar_t`, so every objective and gradient computer sees the clipped state.
   */
  readonly clipState?: boolean;
  /**
   * DenoisingSDE only: take the noisy states from the data set instead of drawing Gaussian noise,
   * so a denoiser learns the noise of its data's degradation (camera noise, a `one-of` mix of
   * Gaussian and camera noise, ...): item `b`'s state is `batch.lq[b]`, its timestep
   * `sde.optimalTimestep(level)` (at least 1) and its noise `(lq - gt) / sigmaBar_t`, where the
   * level (capped at the SDE's maxSigma) is:
   * - `'estimated'`: `estimateNoiseSigma(lq, { clipped: true })`, what `Restorer.restore` (and
   *   `irsde restore`) start from on a photo of unknown noise, so training sees the timesteps that
   *   blind restoration will use;
   * - `'rms'`: the root mean square of `lq - gt` over the item (the noise's true size).
   * Default: off (`timesteps`, `clipState` and the trainer's own Gaussian draw apply; with this
   * option they do not, and the trainer's generator draws nothing for the states).
   */
  readonly dataNoise?: 'estimated' | 'rms';
}

/** What one training step reports (also the JSON-lines log record of a step). */
export interface StepRecord {
  /** Number of updates applied after this step (1-based). */
  readonly step: number;
  /** Loss of the batch before the update. */
  readonly loss: number;
  /** Learning rate used by the update. */
  readonly lr: number;
  /** Global gradient norm before clipping (only when clipping is enabled). */
  readonly gradNorm?: number;
  /** Wall time of the step in milliseconds. */
  readonly ms: number;
}

/** What {@link Trainer.fit} returns. */
export interface FitResult {
  /** True when `signal` aborted the run before `steps` was reached. */
  readonly stoppedEarly: boolean;
}

/** Everything needed to continue training exactly: see {@link Trainer.getState}. */
export interface TrainerState {
  /** Updates applied so far. */
  readonly step: number;
  /** The trainer's generator state. */
  readonly rng: RngState;
  /** The trainer config. */
  readonly config: TrainerConfig;
  /** The SDE config (checked on resume). */
  readonly sde: AnySDEConfig;
  /** Model weights by name. */
  readonly weights: Record<string, NamedTensor>;
  /** Optimiser state. */
  readonly adam: AdamState;
  /** EMA state (absent when disabled). */
  readonly ema?: EMAState;
}

/** Frees a batch's tensors (its extra condition channels too). */
function disposeBatch(batch: Batch): void {
  tf.dispose([batch.lq, batch.gt, ...(batch.extraCond !== undefined ? [batch.extraCond] : [])]);
}

function dumpVars(vars: Record<string, tf.Tensor>): Record<string, NamedTensor> {
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { shape: v.shape.slice(), data: Float32Array.from(v.dataSync() as Float32Array) }]));
}

/**
 * Trains a network on an SDE (library API; the CLI wraps it). Per step: `t ~ U{1..T}` per item,
 * `x_t = muBar_t + sigmaBar_t z`, the objective's loss of the network's output (by default the one
 * that converges with its `prediction`: see {@link TrainerConfig.objective}), Adam update
 * (optionally clipped), LR schedule, EMA update.
 *
 * Randomness comes from one {@link Rng} seeded by `config.seed` and shared with the batch source,
 * so {@link Trainer.getState} / {@link Trainer.setState} resume bit-for-bit.
 *
 * @example
 * ```ts
 * import { UNet, ImageDataset, MeanRevertingSDE, Trainer, from255, memorySource, saveModel } from 'irsde';
 * const sde = new MeanRevertingSDE({ T: 100, maxSigma: from255(25) });
 * const net = new UNet({ inChannels: 3, outChannels: 3, nf: 16, depth: 3, prediction: 'residual' });
 * const data = ImageDataset.synthetic({ gt: memorySource({ photo }), degradation: { kind: 'noise', sigma: 25 }, cropSize: 32, batchSize: 4 });
 * const trainer = new Trainer({ sde, model: net, data, config: { lr: 1e-4, seed: 0 } });
 * await trainer.fit({ steps: 200, onStep: (r) => console.log(r.step, r.loss) });
 * const file = saveModel(net, sde); // the live weights (trainer.evalWeights() holds the EMA)
 * trainer.dispose();
 * ```
 */
export class Trainer {
  /** The SDE the network learns to reverse. */
  readonly sde: DiffusionSDE<tf.Tensor>;
  /** The network being trained (its variables are updated in place). */
  readonly model: TrainableNoiseModel;
  /** Where batches come from. */
  readonly data: BatchSource;
  /** The trainer options. */
  readonly config: TrainerConfig;
  /** The optimiser (owns the Adam moments). */
  readonly optimizer: Adam;
  /** The weight average, or null when disabled. */
  readonly ema: EMA | null;
  /** Where each step's loss and gradients are computed (see {@link GradientComputer}). */
  readonly gradients: GradientComputer;
  /** Where the Adam moments and the EMA live (see `AdamConfig.storage`). */
  readonly stateStorage: StateStorage;
  #rng: Rng;
  #step = 0;
  readonly #schedule: LRSchedule;

  /**
   * @param options.gradients - how gradients are computed: {@link inProcessGradients} (default),
   *   or e.g. a `WorkerGradientPool` from `irsde/node` to use several cores. Owned by the caller
   *   (the trainer never disposes it). The result, the checkpoints and resuming do not depend on it
   *   (up to float rounding).
   * @param options.stateStorage - where the Adam moments and the EMA live: `'host'` (JavaScript
   *   arrays) or `'backend'` (tensors). Default `'host'` on the cpu and wasm backends, whose memory
   *   is host memory anyway (and wasm's heap stops at 4 GiB: weights, two moments, the EMA and the
   *   gradients of the 137M-weight nf=64 U-Net do not fit in it), `'backend'` elsewhere (GPU
   *   backends). Results agree up to float rounding; checkpoints are the same format either way.
   */
  constructor(options: {
    sde: DiffusionSDE<tf.Tensor>; model: TrainableNoiseModel; data: BatchSource; config?: TrainerConfig;
    gradients?: GradientComputer; stateStorage?: StateStorage;
  }) {
    const { sde, model, data } = options;
    const config = options.config ?? {};
    // SDE-family check kept: clipState is an option of DenoisingSDE training only.
    if (config.clipState && !isDenoisingSDE(sde)) {
      throw new RangeError('Trainer: clipState applies to a DenoisingSDE only (a MeanRevertingSDE learns the degradation of its data)');
    }
    if (config.dataNoise !== undefined) {
      if (!isDenoisingSDE(sde)) throw new RangeError('Trainer: dataNoise applies to a DenoisingSDE only (a MeanRevertingSDE learns the degradation of its data anyway)');
      if (config.dataNoise !== 'estimated' && config.dataNoise !== 'rms') throw new RangeError(`Trainer: dataNoise must be 'estimated' or 'rms', got ${String(config.dataNoise)}`);
    }
    if (config.objective !== undefined && !OBJECTIVES.includes(config.objective)) {
      throw new RangeError(`Trainer: objective must be one of ${OBJECTIVES.map((o) => `'${o}'`).join(', ')}, got ${String(config.objective)}`);
    }
    if (config.timesteps !== undefined) {
      const [lo, hi] = config.timesteps;
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi > sde.T || lo > hi) {
        throw new RangeError(`Trainer: timesteps must be integers [min, max] with 1 <= min <= max <= T = ${sde.T}, got ${JSON.stringify(config.timesteps)}`);
      }
    }
    if (config.maskLossWeight !== undefined && !(Number.isFinite(config.maskLossWeight) && config.maskLossWeight > 0)) {
      throw new RangeError(`Trainer: maskLossWeight must be a finite number > 0, got ${String(config.maskLossWeight)}`);
    }
    if (config.clipGradNorm !== undefined && !(config.clipGradNorm > 0)) {
      throw new RangeError(`Trainer: clipGradNorm must be > 0, got ${config.clipGradNorm}`);
    }
    this.sde = sde;
    this.model = model;
    this.data = data;
    this.config = config.objective === undefined ? { ...config, objective: defaultObjective(model.prediction) } : config;
    this.gradients = options.gradients ?? inProcessGradients;
    const storage = checkStorage('Trainer', options.stateStorage ?? defaultStorage());
    this.stateStorage = storage;
    const lr = config.lr ?? 1e-4;
    this.optimizer = new Adam({ lr, beta1: config.betas?.[0] ?? 0.9, beta2: config.betas?.[1] ?? 0.99, weightDecay: config.weightDecay ?? 0, storage });
    this.ema = config.ema === false ? null : new EMA({ ...(config.ema ?? {}), storage });
    this.#schedule = createLRSchedule(config.lrSchedule ?? { type: 'constant' }, lr);
    this.#rng = new Rng(config.seed ?? 0);
  }

  /** Number of updates applied so far. */
  get step(): number {
    return this.#step;
  }

  /** The objective in use: `config.objective`, else {@link defaultObjective} of the model's `prediction`. */
  get objective(): Objective {
    return this.config.objective!;
  }

  /** The learning rate the next update will use. */
  get learningRate(): number {
    return this.#schedule(this.#step);
  }

  /** The loss of a batch at given timesteps, as a rank-0 tensor (differentiable; caller disposes). */
  lossOf(batch: Batch, t: number[], noise: tf.Tensor): tf.Scalar {
    const { norm, maskLossWeight } = this.config;
    return batchTrainingLoss(this.sde, this.model, batch, t, noise, { objective: this.objective, ...(norm !== undefined ? { norm } : {}), ...(maskLossWeight !== undefined ? { maskLossWeight } : {}) }, 'Trainer.lossOf');
  }

  /** Runs one training step (draws a batch, timesteps and noise; updates weights, EMA, LR). */
  async trainStep(): Promise<StepRecord> {
    const started = performance.now();
    const batch = await this.data.next(this.#rng);
    const B = batch.gt.shape[0];
    if (this.config.dataNoise !== undefined) {
      let fromData: { t: number[]; noise: tf.Tensor };
      try {
        // The constructor checked that dataNoise comes with a DenoisingSDE.
        fromData = dataNoiseOf(this.sde as DenoisingSDE<tf.Tensor>, batch, this.config.dataNoise);
      } catch (e) {
        disposeBatch(batch);
        throw e;
      }
      return this.#update(batch, fromData.t, fromData.noise, started);
    }
    const [tLo, tHi] = this.config.timesteps ?? [1, this.sde.T];
    const t = Array.from(this.#rng.integers(B, tLo, tHi));
    const z = this.#rng.normal(batch.gt.shape);
    // SDE-family branch kept: a DenoisingSDE learns the photo's own noise, so grey items get grey noise.
    if (batch.grey && isDenoisingSDE(this.sde)) {
      try {
        greyNoise(z, batch.gt.shape, batch.grey);
      } catch (e) {
        disposeBatch(batch);
        throw e;
      }
    }
    const drawn = tf.tensor(z, batch.gt.shape);
    // The constructor checked that clipState comes with a DenoisingSDE.
    const noise = this.config.clipState ? clippedNoise(this.sde as DenoisingSDE<tf.Tensor>, batch.gt, drawn, t) : drawn;
    if (noise !== drawn) drawn.dispose();
    return this.#update(batch, t, noise, started);
  }

  /** One update from a batch, its timesteps and its noise (disposes the batch tensors and `noise`). */
  async #update(batch: Batch, t: number[], noise: tf.Tensor, started: number): Promise<StepRecord> {
    const vars = Object.fromEntries(this.model.variables);
    const lr = this.#schedule(this.#step);
    this.optimizer.learningRate = lr;
    let gradNorm: number | undefined;
    let lossValue: number;
    try {
      const result = await this.gradients.compute({
        sde: this.sde, model: this.model, batch, t, noise,
        objective: this.objective, norm: this.config.norm ?? 'l1',
        ...(this.config.maskLossWeight !== undefined ? { maskLossWeight: this.config.maskLossWeight } : {}),
      });
      const named = result.grads;
      lossValue = result.loss;
      try {
        if (!Number.isFinite(lossValue)) {
          throw new RangeError(`Trainer: the loss became ${lossValue} at step ${this.#step + 1}; lower the learning rate or enable clipGradNorm`);
        }
        let scale = 1;
        if (this.config.clipGradNorm !== undefined) {
          gradNorm = gradNormOf(named);
          scale = clipFactor(gradNorm, this.config.clipGradNorm);
        }
        this.optimizer.step(vars, named, scale, result.weights);
      } finally {
        disposeGradients(named);
      }
    } finally {
      disposeBatch(batch);
      noise.dispose();
    }
    this.#step += 1;
    this.ema?.update(vars);
    return { step: this.#step, loss: lossValue, lr, ...(gradNorm !== undefined ? { gradNorm } : {}), ms: performance.now() - started };
  }

  /**
   * Trains until `steps` updates have been applied in total (so a resumed trainer continues to the
   * same end point), calling `onStep` after each update and `onCheckpoint` every
   * `checkpointEvery` steps and at the end. Stops early, after a finished step and a checkpoint,
   * when `signal` aborts.
   */
  async fit(options: {
    steps: number;
    signal?: AbortSignal;
    onStep?: (record: StepRecord) => void | Promise<void>;
    checkpointEvery?: number;
    onCheckpoint?: (state: TrainerState) => void | Promise<void>;
    validateEvery?: number;
    validate?: (trainer: Trainer) => Promise<Record<string, number>>;
    onValidate?: (step: number, metrics: Record<string, number>) => void | Promise<void>;
  }): Promise<FitResult> {
    const { steps } = options;
    if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`Trainer.fit: steps must be a non-negative integer, got ${steps}`);
    let stoppedEarly = false;
    while (this.#step < steps) {
      if (options.signal?.aborted) {
        stoppedEarly = true;
        break;
      }
      const rec = await this.trainStep();
      await options.onStep?.(rec);
      if (options.validate && options.validateEvery && this.#step % options.validateEvery === 0) {
        await options.onValidate?.(this.#step, await options.validate(this));
      }
      if (options.onCheckpoint && options.checkpointEvery && this.#step % options.checkpointEvery === 0 && this.#step < steps) {
        await options.onCheckpoint(this.getState());
      }
    }
    if (options.onCheckpoint) await options.onCheckpoint(this.getState());
    return { stoppedEarly };
  }

  /**
   * Weights for evaluation and export: the EMA average when enabled (and populated), else the
   * live weights. Borrowed tensors; copy them if you keep them past the next step.
   */
  evalWeights(): Record<string, tf.Tensor> {
    const w = this.ema?.weights;
    return w && Object.keys(w).length > 0 ? w : Object.fromEntries(this.model.variables);
  }

  /** A complete copy of the training state (plain data; see `encodeTrainerState` of `irsde/advanced`). */
  getState(): TrainerState {
    return {
      step: this.#step,
      rng: this.#rng.state,
      config: this.config,
      sde: sdeConfigOf(this.sde),
      weights: dumpVars(Object.fromEntries(this.model.variables)),
      adam: this.optimizer.getState(),
      ...(this.ema ? { ema: this.ema.getState() } : {}),
    };
  }

  /** Restores {@link Trainer.getState}'s output; refuses a different SDE or mismatched weights. */
  setState(state: TrainerState): void {
    const a = JSON.stringify(state.sde);
    const b = JSON.stringify(sdeConfigOf(this.sde));
    if (a !== b) throw new RangeError(`Trainer.setState: the checkpoint was trained with SDE ${a}, but this trainer uses ${b}`);
    const vars = Object.fromEntries(this.model.variables);
    const problems: string[] = [];
    for (const name of Object.keys(vars)) {
      const w = state.weights[name];
      if (!w) problems.push(`missing '${name}'`);
      else if (w.shape.join(',') !== vars[name].shape.join(',')) problems.push(`'${name}' has shape [${w.shape}] but the model expects [${vars[name].shape}]`);
    }
    for (const name of Object.keys(state.weights)) if (!vars[name]) problems.push(`unexpected '${name}'`);
    if (problems.length) throw new RangeError(`Trainer.setState: the checkpoint does not fit the model: ${problems.join('; ')}`);
    for (const [name, v] of Object.entries(vars)) tf.tidy(() => v.assign(tf.tensor(state.weights[name].data, state.weights[name].shape)));
    this.optimizer.setState(state.adam);
    if (this.ema && state.ema) this.ema.setState(state.ema);
    this.#rng = Rng.fromState(state.rng);
    this.#step = state.step;
  }

  /** Frees the optimiser and EMA tensors (the model is not touched). */
  dispose(): void {
    this.optimizer.dispose();
    this.ema?.dispose();
  }
}
