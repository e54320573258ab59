/**
 * The configuration of a training run (what `irsde train` takes as flags or a `--config` file,
 * and what a run's `config.json` and checkpoint record), its defaults, and how it resolves into
 * the SDE, the network and the Trainer's settings.
 */
import type { MeanRevertingSDEConfig } from '../sde/mean-reverting-sde.js';
import { createSDE, type AnySDEConfig } from '../sde/factory.js';
import { isDenoisingSDE } from '../sde/kinds.js';
import type { SDEKind } from '../sde/diffusion-sde.js';
import { defaultSamplerFor } from '../sampling/names.js';
import type { ScheduleSpec } from '../sde/schedules.js';
import { checkNetworkConfig, type Arch } from '../nn/nets/network.js';
import type { NAFNetConfig } from '../nn/nets/nafnet.js';
import type { UNetConfig } from '../nn/nets/unet.js';
import { predictionOf, type NetworkPrediction } from '../nn/nets/common.js';
import { defaultObjective, type Objective } from '../loss/objective.js';
import type { TrainerConfig } from '../train/trainer.js';
import { parseDegradation } from '../data/degradation-shorthand.js';
import { inpaintFillOf, type DegradationSpec } from '../data/degradation.js';
import type { InpaintFill } from '../data/mask.js';
import type { ModelTask } from '../nn/model/model-format.js';
import type { ContrastOptions, DefocusOptions } from '../data/dataset.js';
import { ortNodeAvailable } from '../io/restorer-files.js';

/**
 * A training run's settings that the run refuses (a missing folder, options that do not go
 * together, an SDE or network it cannot build). The message is for the person who wrote the
 * settings and names them as `irsde train` spells its flags (`--gt`, `--noise-levels`, ...).
 */
export class TrainingRunError extends Error {
  /** `'TrainingRunError'`. */
  override readonly name = 'TrainingRunError';
}

/** Everything a training run needs (`irsde train`'s flags, or its `--config` file: same keys). */
export interface TrainRunConfig {
  /** Folder of clean images, or several (their images trained on together; names must not repeat across them). */
  gt: string | string[];
  /** Folder of degraded images with the same names (paired data); omit for synthetic data. */
  lq?: string;
  /** Synthetic degradation (JSON spec, or the shorthands `noise:25`, `noise:0:50:clip`, `rain`, `blur:2`, `motion`, `sr4`, `inpaint`; see `parseDegradation` of `irsde/advanced`). */
  degradation?: string | DegradationSpec;
  /** Number of images (from the end of the name-sorted list) held out for validation. */
  valCount: number;
  /** Images (file names without extension) held out for validation instead of the last `valCount`. */
  valNames?: string[];
  /** A separate folder of clean validation images (instead of `valCount` / `valNames`: all of `gt` trains). */
  valGt?: string | string[];
  /** With `lq` and `valGt`: the degraded validation images, same names as `valGt`. */
  valLq?: string;
  /**
   * Synthetic data only: validate under each of these degradations (same shorthands / specs as
   * `degradation`), logging `psnr` / `ssim` (means over all) and `psnr:<label>` / `ssim:<label>`
   * per degradation, e.g. noise at sigma 15, 25 and 50 for a blind denoiser trained on
   * `noise:0:50:clip`. Default: the training degradation.
   */
  valDegradations?: Array<string | DegradationSpec>;
  /** 3 (RGB) or 1 (grey). */
  channels: 1 | 3;
  /** RGB training: the fraction of colour crops turned grey before the degradation (default 0). */
  greyFraction?: number;
  /**
   * Synthetic data: defocus a share of the training crops, the blurred crop becoming the clean
   * target (smooth content; `ImageDataset`'s `defocus`): `'P:MIN:MAX'` (probability P, Gaussian
   * blur sigma drawn from [MIN, MAX] px) or `{ probability, sigma }`. Default none.
   */
  defocus?: string | DefocusOptions;
  /**
   * Synthetic data: lower the contrast of a share of the training crops (`offset + scale * x`, the
   * result the clean target; `ImageDataset`'s `contrast`): `'P:MIN:MAX'` (probability P, contrast
   * factor MIN..MAX in (0, 1]) or `'P:SCALE'`, or the object form.
   */
  contrast?: string | ContrastOptions;
  /**
   * DenoisingSDE: learn the noise of the `degradation` (e.g. camera noise, or a `one-of` mix)
   * instead of the trainer's Gaussian draw: the Trainer's `dataNoise`, the timestep of each crop
   * from its `'estimated'` noise level (as blind restoration starts) or its `'rms'` one. Default
   * off (`noiseLevels` gives the timesteps and the noise is Gaussian).
   */
  dataNoise?: 'estimated' | 'rms';
  /**
   * A new run starts from this model file's weights (warm start; a `.safetensors` model as
   * `train` or `export` writes it, e.g. `models/denoise-blind.safetensors`) instead of random
   * ones: its network must be the run's (same architecture and sizes). The optimiser, EMA and
   * schedule start afresh. Ignored on `--resume` (the checkpoint's weights win). Default none.
   */
  initWeights?: string;
  /** The network: 'unet' (default; `nf`, `depth`) or 'nafnet' (`width`, `encBlocks`, `middleBlocks`, `decBlocks`). */
  arch?: Arch;
  /** U-Net base width (default 16). */
  nf?: number;
  /** U-Net levels (default 3). */
  depth?: number;
  /** NAFNet width (default 16). */
  width?: number;
  /** NAFNet blocks per encoder level (default [1, 1, 1, 1]). */
  encBlocks?: number[];
  /** NAFNet middle blocks (default 1). */
  middleBlocks?: number;
  /** NAFNet blocks per decoder level (default [1, 1, 1, 1]). */
  decBlocks?: number[];
  /** What the network predicts: 'residual' (x0 - mu; the default) or 'noise' (the reference's). */
  prediction?: NetworkPrediction;
  /**
   * Inpainting: give the network the mask (1 = missing) as an extra input channel
   * (`extraCondChannels: 1`), so it can tell filled pixels from genuinely smooth ones. Needs an IR-SDE and a
   * synthetic `degradation` that makes masks (kind `inpaint`, also inside `one-of` / `chain`,
   * with one fill); the model file records the task `inpaint` with that fill, so restoring takes
   * `--mask`. Warm-starting from an unmasked model of the same sizes is allowed: the mask
   * channel's input weights start at zero. Default false.
   */
  maskChannel?: boolean;
  /**
   * Inpainting: the loss weight of the missing pixels relative to 1 for the known ones (the
   * Trainer's `maskLossWeight`), so the network learns mostly from what it must make up rather
   * than from the pixels it copies. Needs a `degradation` that makes masks. Default 1.
   */
  maskLossWeight?: number;
  /** Training objective: 'ml', 'noise' or 'x0' (default: the one that converges with `prediction`, see {@link defaultObjective}: 'x0' for a residual network). */
  objective?: Objective;
  /** Loss norm: 'l1' (default) or 'l2'. */
  norm?: 'l1' | 'l2';
  /**
   * The SDE: `'ir'` (default; IR-SDE's mean-reverting SDE, conditional network) or `'denoising'`
   * (the reference's DenoisingSDE: an unconditional network learns to remove Gaussian noise of
   * every level in `noiseLevels`).
   */
  sde?: 'ir' | 'denoising';
  /**
   * DenoisingSDE: the noise levels `MIN:MAX` (0–255 scale) to train for (default `0:50`); `MAX` is
   * the SDE's maxSigma unless `maxSigma255` is given. `MIN:MAX:clip` clips the training states to
   * [0, 1] (noise as stored in 8-bit photos; the Trainer's `clipState`).
   */
  noiseLevels?: string;
  /**
   * IR-SDE: the timesteps `MIN:MAX` (within 1..T) the training draws from, uniformly (default
   * `1:T`, the reference's). A model meant to be sampled in one posterior step from T only ever
   * runs at t = T; `60:100` (T 100) spends the training on the states near it.
   */
  timesteps?: string;
  /** Diffusion steps T. */
  T: number;
  /** lambda on the 0–255 scale (the paper's max_sigma, e.g. 10 or 50). */
  maxSigma255?: number;
  /** Theta schedule: 'cosine', 'linear' or 'constant'. */
  schedule: string;
  /** IR-SDE's terminal gap (default 0.005); the DenoisingSDE's internal one (default 0.04). */
  eps?: number;
  /** Total optimiser steps (the step the run ends at; a resumed run continues to it). */
  steps: number;
  /** Crops per step. */
  batch: number;
  /** Crop side in pixels. */
  patch: number;
  /** Learning rate (Adam, betas 0.9 / 0.99). */
  lr: number;
  /** Steps at which the learning rate halves. */
  lrMilestones?: number[];
  /** 'constant' (default; 'multistep' when lrMilestones are given) or 'cosine' (anneals to 1e-7 over `steps`). */
  lrSchedule?: 'constant' | 'multistep' | 'cosine';
  /** Clip the gradient norm to this value (default: no clipping). */
  clip?: number;
  /** Evaluate and export the EMA of the weights (true) or the live weights (false). */
  ema: boolean;
  /** Random seed (weights, data, timesteps, noise). */
  seed: number;
  /** The run's folder: checkpoint.safetensors, model.safetensors, log.jsonl, config.json. */
  out: string;
  /** Steps between checkpoints. */
  checkpointEvery: number;
  /** Steps between validations (0 = never). */
  valEvery: number;
  /** Sampling steps used in validation. */
  valSteps: number;
  /** Validation sampler (default posterior; ode for a DenoisingSDE). */
  valSampler?: string;
  /** Centre crop of validation images, in pixels. */
  valCrop: number;
  /** tfjs backend: 'auto' (default), 'wasm' or 'cpu'. */
  engine?: string;
  /** Gradient worker threads (data-parallel over the cores; 0 = compute in-process). */
  workers?: number;
  /** Where the forward/backward pass runs: `tfjs` (default; see `workers`) or `ort` (ONNX Runtime, all cores). */
  gradients?: 'tfjs' | 'ort';
  /** With `gradients: 'ort'`: 3x3 convolutions with 128+ channels as `winograd` (default) or `direct`. */
  conv3x3?: 'direct' | 'winograd';
  /** No progress output (read by whoever prints; recorded with the run). */
  quiet?: boolean;
}

/** The type of {@link TRAIN_RUN_DEFAULTS}: every key of a run's config but its folders, and the prediction. */
export interface TrainRunDefaults extends Omit<TrainRunConfig, 'gt' | 'out'> {
  /** The network's output: a residual (`x0 - mu`), trained with the x0 objective. */
  readonly prediction: NetworkPrediction;
}

/**
 * The defaults of a training run (`irsde train`'s `--help` texts are made from them; a new run
 * starts from them, a resumed one from its checkpoint). A residual network with the x0 objective
 * (the objective follows the prediction: {@link defaultObjective}) gains PSNR over its input
 * within a few hundred steps; the reference's noise network with the ML objective did not (a
 * flat 4.5 dB validation, input 20.1 dB, after 200 steps of the README's first example).
 */
export const TRAIN_RUN_DEFAULTS: Readonly<TrainRunDefaults> = {
  prediction: 'residual',
  valCount: 0,
  channels: 3,
  T: 100,
  schedule: 'cosine',
  steps: 1000,
  batch: 4,
  patch: 64,
  lr: 1e-4,
  ema: true,
  seed: 0,
  checkpointEvery: 200,
  valEvery: 0,
  valSteps: 10,
  valCrop: 96,
};

/** A DenoisingSDE run's noise levels when `noiseLevels` is not given. */
export const DEFAULT_NOISE_LEVELS = '0:50';

/** The degradation of a DenoisingSDE run's validation images when neither `degradation` nor `lq` is given. */
export const DENOISING_DEGRADATION = 'noise:25';

/** {@link parseDegradation}, its own refusals as {@link TrainingRunError}s. */
export function degradationOfRun(d: string | DegradationSpec): DegradationSpec {
  try {
    return parseDegradation(d);
  } catch (e) {
    throw e instanceof RangeError ? new TrainingRunError(e.message) : e;
  }
}

/** A `'P:MIN:MAX'` / `'P:VALUE'` share option as numbers, or a one-line error naming `flag` and `what`. */
function shareOf(d: string, flag: string, what: string): { probability: number; range: number | [number, number] } {
  const nums = String(d).split(':').map((v) => (v.trim() === '' ? NaN : Number(v)));
  if (!(nums.length === 2 || nums.length === 3) || !nums.every(Number.isFinite)) throw new TrainingRunError(`${flag} must be P:VALUE or P:MIN:MAX (probability, ${what}), got '${String(d)}'`);
  return { probability: nums[0], range: nums.length === 2 ? nums[1] : [nums[1], nums[2]] };
}

/** The `defocus` option of a run as `ImageDataset` takes it (`'P:MIN:MAX'` or `'P:SIGMA'` parsed), or undefined. */
export function defocusOf(cfg: TrainRunConfig): DefocusOptions | undefined {
  const d = cfg.defocus;
  if (d === undefined) return undefined;
  if (typeof d === 'object' && d !== null) return d;
  const { probability, range } = shareOf(d, '--defocus', 'blur sigma in px');
  return { probability, sigma: range };
}

/** The `contrast` option of a run as `ImageDataset` takes it (`'P:MIN:MAX'` or `'P:SCALE'` parsed), or undefined. */
export function contrastOf(cfg: TrainRunConfig): ContrastOptions | undefined {
  const d = cfg.contrast;
  if (d === undefined) return undefined;
  if (typeof d === 'object' && d !== null) return d;
  const { probability, range } = shareOf(d, '--contrast', 'contrast factor in (0, 1]');
  return { probability, scale: range };
}

/** The noise levels `[min, max]` (0–255 scale) of a DenoisingSDE run. */
export function noiseLevelsOf(cfg: TrainRunConfig): [number, number] {
  return parseNoiseLevels(cfg).levels;
}

function parseNoiseLevels(cfg: TrainRunConfig): { levels: [number, number]; clip: boolean } {
  const spec = cfg.noiseLevels ?? DEFAULT_NOISE_LEVELS;
  const m = /^\s*([0-9.]+)\s*:\s*([0-9.]+)\s*(?::\s*(clip)\s*)?$/.exec(spec);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2]) : NaN;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo >= 0 && hi > 0 && lo <= hi)) throw new TrainingRunError(`--noise-levels must be MIN:MAX[:clip] on the 0-255 scale with 0 <= MIN <= MAX and MAX > 0, got '${spec}'`);
  return { levels: [lo, hi], clip: m?.[3] === 'clip' };
}

/** `timesteps: 'MIN:MAX'` as integers with 1 <= MIN <= MAX <= T. */
export function parseTimesteps(spec: string, T: number): [number, number] {
  const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(String(spec));
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2]) : NaN;
  if (!(lo >= 1 && lo <= hi && hi <= T)) throw new TrainingRunError(`--timesteps must be MIN:MAX with integers 1 <= MIN <= MAX <= T = ${T}, got '${spec}'`);
  return [lo, hi];
}

/** The SDE configuration of a run. */
export function sdeConfigOfRun(cfg: TrainRunConfig): AnySDEConfig {
  if (cfg.sde !== undefined && cfg.sde !== 'ir' && cfg.sde !== 'denoising') throw new TrainingRunError(`--sde must be ir or denoising, got '${String(cfg.sde)}'`);
  if (cfg.sde === 'denoising') {
    const maxSigma = (cfg.maxSigma255 ?? noiseLevelsOf(cfg)[1]) / 255;
    return { kind: 'denoising', T: cfg.T, maxSigma, schedule: cfg.schedule as ScheduleSpec, ...(cfg.eps !== undefined ? { eps: cfg.eps } : {}) };
  }
  if (cfg.dataNoise !== undefined) throw new TrainingRunError('--data-noise is a DenoisingSDE option: add --sde denoising (IR-SDE learns the degradation of its data anyway)');
  if (cfg.noiseLevels !== undefined) throw new TrainingRunError('--noise-levels is a DenoisingSDE option: add --sde denoising (IR-SDE learns the degradation of its --degradation / --lq data)');
  return { T: cfg.T, maxSigma: (cfg.maxSigma255 ?? 10) / 255, schedule: cfg.schedule as ScheduleSpec, eps: cfg.eps ?? 0.005 } satisfies MeanRevertingSDEConfig;
}

/** The Trainer's settings of a new run (`timesteps`: the range its timesteps are drawn from). */
export function trainerConfigOf(cfg: TrainRunConfig, timesteps?: readonly [number, number]): TrainerConfig {
  return {
    ...(timesteps ? { timesteps } : {}),
    lr: cfg.lr,
    seed: cfg.seed,
    // The objective follows the network's prediction unless given (recorded in checkpoints).
    objective: cfg.objective ?? defaultObjective(cfg.prediction),
    ...(cfg.norm !== undefined ? { norm: cfg.norm } : {}),
    ...(cfg.lrSchedule === 'cosine'
      ? { lrSchedule: { type: 'cosine', period: cfg.steps, minLr: 1e-7 } }
      : cfg.lrMilestones?.length
        ? { lrSchedule: { type: 'multistep', milestones: cfg.lrMilestones, gamma: 0.5 } }
        : {}),
    ...(cfg.clip !== undefined ? { clipGradNorm: cfg.clip } : {}),
    ...(cfg.maskLossWeight !== undefined ? { maskLossWeight: checkMaskLossWeight(cfg) } : {}),
    ...(cfg.ema ? {} : { ema: false }),
    ...(cfg.sde === 'denoising' && parseNoiseLevels(cfg).clip ? { clipState: true } : {}),
    ...(cfg.dataNoise !== undefined ? { dataNoise: cfg.dataNoise } : {}),
  };
}

/**
 * The fill of the inpainting masks a run's synthetic degradation makes, or `undefined` when it
 * makes none (paired `--lq` data, no degradation, or one without kind `inpaint`).
 * @throws TrainingRunError naming `flag` for a degradation whose masks have several fills.
 */
function runInpaintFill(cfg: TrainRunConfig, flag: string): InpaintFill | undefined {
  if (cfg.degradation === undefined || cfg.lq !== undefined) return undefined;
  try {
    return inpaintFillOf(degradationOfRun(cfg.degradation));
  } catch (e) {
    throw new TrainingRunError(`${flag}: ${(e as Error).message}`);
  }
}

/** `cfg.maskLossWeight`, checked: a finite number > 0 with a synthetic degradation that makes inpainting masks. */
function checkMaskLossWeight(cfg: TrainRunConfig): number {
  const w = cfg.maskLossWeight;
  if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) throw new TrainingRunError(`--mask-loss-weight must be a number > 0, got ${JSON.stringify(w)}`);
  if (runInpaintFill(cfg, '--mask-loss-weight') === undefined) throw new TrainingRunError('--mask-loss-weight needs synthetic data whose --degradation makes inpainting masks (kind inpaint)');
  return w;
}

/**
 * The task a run's model file records: `inpaint` with the degradation's fill for a run with
 * `maskChannel` (its network needs the mask to restore), none otherwise.
 * @throws TrainingRunError when `maskChannel` comes without a synthetic degradation that makes masks with one fill.
 */
export function taskOfRun(cfg: TrainRunConfig): ModelTask | undefined {
  if (!cfg.maskChannel) return undefined;
  if (cfg.degradation === undefined || cfg.lq !== undefined) throw new TrainingRunError('--mask-channel needs synthetic data whose --degradation makes inpainting masks (kind inpaint), not paired --lq data');
  const fill = runInpaintFill(cfg, '--mask-channel');
  if (fill === undefined) throw new TrainingRunError('--mask-channel needs a --degradation that makes inpainting masks (kind inpaint, e.g. --degradation inpaint)');
  return { name: 'inpaint', inpaint: { fill } };
}

/** The validation sampler of a run: `valSampler`, else the SDE family's default (`defaultSamplerFor`: `ode` for a DenoisingSDE, `posterior` for an IR-SDE). */
export function valSamplerOf(cfg: TrainRunConfig, kind: SDEKind): string {
  return cfg.valSampler ?? defaultSamplerFor(kind);
}

/** Where a run's gradients are computed: `gradients`, else ONNX Runtime when it is installed and no `workers` are asked for. */
export function gradientsOf(cfg: TrainRunConfig): 'tfjs' | 'ort' {
  return cfg.gradients ?? (cfg.workers || !ortNodeAvailable() ? 'tfjs' : 'ort');
}

/** Rounds a float to 12 significant digits (`10 / 255 * 255` back to 10). */
const round12 = (x: number): number => Number(x.toPrecision(12));

/**
 * The whole configuration of a run, every default filled in as the run applies it: the SDE
 * (`sde`, `T`, `maxSigma255`, `schedule`, `eps`, and `noiseLevels` or `timesteps`), the network
 * (`arch` and its sizes, `prediction`), the objective and norm, the LR schedule, where gradients
 * run, the validation sampler. This is what a run's `config.json` holds; given back as a config
 * it resolves to itself.
 * @throws TrainingRunError for settings the run would refuse.
 */
export function resolveTrainConfig(cfg: TrainRunConfig): TrainRunConfig {
  const sdeConfig = sdeConfigOfRun(cfg);
  let sde;
  try {
    sde = createSDE(sdeConfig, 'float32');
  } catch (e) {
    throw new TrainingRunError(`invalid SDE settings: ${(e as Error).message}`);
  }
  // SDE-family branch kept: the run's options (noise levels vs timesteps, degradation) differ per family.
  const denoising = isDenoisingSDE(sde);
  const network = networkOf(cfg);
  const trainer = trainerConfigOf(cfg);
  const gradients = gradientsOf(cfg);
  const sizes =
    network.arch === 'nafnet'
      ? { arch: 'nafnet' as const, width: network.width, encBlocks: [...network.encBlocks], middleBlocks: network.middleBlocks, decBlocks: [...network.decBlocks] }
      : { arch: 'unet' as const, nf: network.nf, depth: network.depth };
  return {
    ...cfg,
    ...sizes,
    prediction: predictionOf(network),
    objective: trainer.objective!,
    norm: trainer.norm ?? 'l1',
    sde: denoising ? 'denoising' : 'ir',
    T: sde.T,
    maxSigma255: round12(sde.maxSigma * 255),
    schedule: cfg.schedule,
    eps: sde.eps,
    ...(denoising ? { noiseLevels: cfg.noiseLevels ?? DEFAULT_NOISE_LEVELS } : { timesteps: cfg.timesteps ?? `1:${sde.T}` }),
    ...(denoising && cfg.lq === undefined && cfg.degradation === undefined ? { degradation: DENOISING_DEGRADATION } : {}),
    lrSchedule: cfg.lrSchedule ?? (cfg.lrMilestones?.length ? 'multistep' : 'constant'),
    greyFraction: cfg.greyFraction ?? 0,
    gradients,
    ...(gradients === 'ort' ? { conv3x3: cfg.conv3x3 ?? 'winograd' } : {}),
    workers: cfg.workers ?? 0,
    valSampler: valSamplerOf(cfg, sde.kind),
  };
}

const UNET_KEYS = ['nf', 'depth'] as const;
const NAFNET_KEYS = ['width', 'encBlocks', 'middleBlocks', 'decBlocks'] as const;

/** The network config of a run: the architecture's options (defaults filled in); another architecture's options are an error. */
export function networkOf(cfg: TrainRunConfig): UNetConfig | NAFNetConfig {
  const arch = cfg.arch ?? 'unet';
  const flag = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const foreign = (arch === 'unet' ? NAFNET_KEYS : arch === 'nafnet' ? UNET_KEYS : []).filter((k) => cfg[k] !== undefined);
  if (arch !== 'unet' && arch !== 'nafnet') throw new TrainingRunError(`--arch must be unet or nafnet, got '${String(arch)}'`);
  if (foreign.length > 0) {
    const own = (arch === 'unet' ? UNET_KEYS : NAFNET_KEYS).map(flag).join(', ');
    throw new TrainingRunError(`${foreign.map(flag).join(', ')} ${foreign.length > 1 ? 'are not options' : 'is not an option'} of --arch ${arch} (its options: ${own})`);
  }
  // The DenoisingSDE's network sees x_t alone (the reference's denoising-sde networks).
  if (cfg.maskChannel !== undefined && typeof cfg.maskChannel !== 'boolean') throw new TrainingRunError(`maskChannel must be true or false, got ${JSON.stringify(cfg.maskChannel)}`);
  if (cfg.maskChannel && cfg.sde === 'denoising') throw new TrainingRunError('--mask-channel is an IR-SDE option (the mask joins the condition mu); a DenoisingSDE network has no condition');
  const common = {
    ...(cfg.sde === 'denoising' ? { conditional: false } : {}),
    ...(cfg.prediction ? { prediction: cfg.prediction } : {}),
    ...(cfg.maskChannel ? { extraCondChannels: 1 } : {}),
  };
  try {
    const config: UNetConfig | NAFNetConfig =
      arch === 'unet'
        ? { inChannels: cfg.channels, outChannels: cfg.channels, nf: cfg.nf ?? 16, depth: cfg.depth ?? 3, ...common }
        : { arch: 'nafnet', imgChannels: cfg.channels, width: cfg.width ?? 16, encBlocks: cfg.encBlocks ?? [1, 1, 1, 1], middleBlocks: cfg.middleBlocks ?? 1, decBlocks: cfg.decBlocks ?? [1, 1, 1, 1], ...common };
    // A plain, checked copy (of a built-in architecture: the cast only narrows what checkNetworkConfig returns).
    return checkNetworkConfig(config, `--arch ${arch}`) as UNetConfig | NAFNetConfig;
  } catch (e) {
    throw new TrainingRunError((e as Error).message);
  }
}
