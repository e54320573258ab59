import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../io/atomic.js';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import type { SDEConfig } from '../../sde/mean-reverting-sde.js';
import { createSDE, sdeConfigOf, type AnySDEConfig } from '../../sde/factory.js';
import { isDenoisingSDE } from '../../sde/kinds.js';
import { Restorer, tfjsEngine } from '../../pipeline/restorer.js';
import type { ScheduleSpec } from '../../sde/schedules.js';
import { createNetwork, type TfjsNetwork } from '../../nn/tfjs/network.js';
import { saveModel } from '../../nn/model/model-format.js';
import { checkNetworkConfig, paddedSize, type Arch, type NetworkConfig } from '../../nn/nets/network.js';
import type { SamplerName } from '../../sampling/samplers.js';
import { Trainer, type TrainerConfig, type TrainerState } from '../../train/trainer.js';
import { decodeTrainerState, encodeTrainerState } from '../../train/checkpoint.js';
import { ImageDataset } from '../../train/data/dataset.js';
import type { DegradationSpec } from '../../train/data/degradation.js';
import type { ImageSource } from '../../train/data/source.js';
import { validateRestoration } from '../../pipeline/validation.js';
import { folderSource } from '../../io/folder.js';
import { WorkerGradientPool } from '../../train/parallel/pool.js';
import { createOrtGradients } from '../../train/ort-gradients.js';
import { ortNodeEngine } from '../../io/restorer-files.js';
import { CliError, choiceOption, intOption, numberOption } from '../errors.js';
import { NETWORK_PREDICTIONS, predictionOf, type NetworkPrediction } from '../../nn/nets/common.js';
import { defaultObjective, OBJECTIVES, type Objective } from '../../loss/objective.js';
import { isDir, isFile, ortInstalled, ortOrFail, startEngine } from '../shared.js';

/** Everything `irsde train` needs, as flags or as a JSON config file (same keys). */
export interface TrainRunConfig {
  /** Folder of clean images. */
  gt: string;
  /** Folder of degraded images with the same names (paired data); omit for synthetic data. */
  lq?: string;
  /** Synthetic degradation (JSON spec, or the shorthands `noise:25`, `noise:0:50:clip`, `rain`, `blur:2`, `motion`, `sr4`, `inpaint`; see {@link parseDegradation}). */
  degradation?: string | DegradationSpec;
  /** Number of images (from the end of the name-sorted list) held out for validation. */
  valCount: number;
  /** Images (file names without extension) held out for validation instead of the last `valCount`. */
  valNames?: string[];
  /** A separate folder of clean validation images (instead of `valCount` / `valNames`: all of `gt` trains). */
  valGt?: string;
  /** With `lq` and `valGt`: the degraded validation images, same names as `valGt`. */
  valLq?: string;
  /**
   * Synthetic data only: validate under each of these degradations (same shorthands / specs as
   * `degradation`), logging `psnr` / `ssim` (means over all) and `psnr:<label>` / `ssim:<label>`
   * per degradation, e.g. noise at sigma 15, 25 and 50 for a blind denoiser trained on
   * `noise:0:50:clip`. Default: the training degradation.
   */
  valDegradations?: Array<string | DegradationSpec>;
  channels: 1 | 3;
  /** RGB training: the fraction of colour crops turned grey before the degradation (default 0). */
  greyFraction?: number;
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
  T: number;
  /** lambda on the 0–255 scale (the paper's max_sigma, e.g. 10 or 50). */
  maxSigma255?: number;
  schedule: string;
  /** IR-SDE's terminal gap (default 0.005); the DenoisingSDE's internal one (default 0.04). */
  eps?: number;
  steps: number;
  batch: number;
  patch: number;
  lr: number;
  lrMilestones?: number[];
  /** 'constant' (default; 'multistep' when lrMilestones are given) or 'cosine' (anneals to 1e-7 over `steps`). */
  lrSchedule?: 'constant' | 'multistep' | 'cosine';
  clip?: number;
  ema: boolean;
  seed: number;
  out: string;
  checkpointEvery: number;
  valEvery: number;
  valSteps: number;
  /** Validation sampler (default posterior; ode for a DenoisingSDE). */
  valSampler?: string;
  valCrop: number;
  engine?: string;
  /** Gradient worker threads (data-parallel over the cores; 0 = compute in-process). */
  workers?: number;
  /** Where the forward/backward pass runs: `tfjs` (default; see `workers`) or `ort` (ONNX Runtime, all cores). */
  gradients?: 'tfjs' | 'ort';
  /** With `gradients: 'ort'`: 3x3 convolutions with 128+ channels as `winograd` (default) or `direct`. */
  conv3x3?: 'direct' | 'winograd';
  quiet?: boolean;
}

/**
 * Every key a `--config` file may hold: the camelCase names of the flags, except that
 * `--max-sigma` is `maxSigma255` and `--no-ema` is `"ema": false` (the run's config.json has the
 * same keys).
 */
export const TRAIN_CONFIG_KEYS = [
  'gt', 'lq', 'degradation', 'valCount', 'valNames', 'channels', 'nf', 'depth', 'prediction', 'objective', 'norm',
  'T', 'maxSigma255', 'schedule', 'eps', 'steps', 'batch', 'patch', 'lr', 'lrMilestones', 'lrSchedule', 'clip', 'ema',
  'seed', 'out', 'checkpointEvery', 'valEvery', 'valSteps', 'valSampler', 'valCrop', 'engine', 'workers', 'gradients',
  'conv3x3', 'valGt', 'valLq', 'valDegradations', 'greyFraction', 'arch', 'width', 'encBlocks', 'middleBlocks',
  'decBlocks', 'sde', 'noiseLevels', 'timesteps', 'quiet',
] as const satisfies ReadonlyArray<keyof TrainRunConfig>;
// Compile-time check that the list names every key of TrainRunConfig.
const everyKeyListed: Record<Exclude<keyof TrainRunConfig, (typeof TRAIN_CONFIG_KEYS)[number]>, never> = {};
void everyKeyListed;

/**
 * Checks the parsed JSON of a `--config` file: an object whose keys are all {@link TRAIN_CONFIG_KEYS}.
 * @throws CliError naming the file and the first unknown key (with the likely intended key).
 */
export function checkTrainConfig(json: unknown, file: string): Partial<TrainRunConfig> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new CliError(`--config '${file}' must hold a JSON object of options`);
  const norm = (k: string) => k.toLowerCase().replace(/[-_]/g, '');
  for (const key of Object.keys(json)) {
    if ((TRAIN_CONFIG_KEYS as readonly string[]).includes(key)) continue;
    const near = key === 'maxSigma' || norm(key) === 'maxsigma' ? 'maxSigma255' : TRAIN_CONFIG_KEYS.find((k) => norm(k) === norm(key));
    throw new CliError(`--config '${file}': unknown key '${key}'${near ? ` (did you mean '${near}'?)` : ''}; the keys are ${TRAIN_CONFIG_KEYS.join(', ')}`);
  }
  return json as Partial<TrainRunConfig>;
}

/**
 * The defaults of `irsde train` (its `--help` texts are made from them). A residual network with
 * the x0 objective (the objective follows the prediction: {@link defaultObjective}) gains PSNR
 * over its input within a few hundred steps; the reference's noise network with the ML objective
 * did not (a flat 4.5 dB validation, input 20.1 dB, after 200 steps of the README's first example).
 */
const DEFAULTS: Omit<TrainRunConfig, 'gt' | 'out'> & { prediction: NetworkPrediction } = {
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

/**
 * Expands the degradation shorthands into a spec: `noise:SIGMA` (fixed sigma, 0-255 scale),
 * `noise:MIN:MAX` (sigma drawn uniformly from [MIN, MAX] for every crop: blind denoising), either
 * with a trailing `:clip` to clamp the noisy image to [0, 1]; `rain`, `blur:SIGMA`,
 * `motion[:LENGTH]`, `sr4` / `bicubic[:SCALE]`, `inpaint[:FRACTION]`; or a JSON spec.
 */
export function parseDegradation(d: string | DegradationSpec): DegradationSpec {
  if (typeof d !== 'string') return d;
  const s = d.trim();
  if (s.startsWith('{')) return JSON.parse(s) as DegradationSpec;
  const [kind, ...rest] = s.split(':');
  const clip = rest[rest.length - 1] === 'clip';
  if (clip) {
    if (kind !== 'noise') throw new CliError(`bad --degradation '${d}': ':clip' applies to noise only`);
    rest.pop();
  }
  const nums = rest.map((a) => {
    const v = a.trim() === '' ? NaN : Number(a);
    if (!Number.isFinite(v)) throw new CliError(`bad --degradation '${d}': '${a}' is not a number`);
    return v;
  });
  if (nums.length > (kind === 'noise' ? 2 : 1)) throw new CliError(`bad --degradation '${d}': too many numbers for '${kind}'`);
  const num = nums[0];
  switch (kind) {
    case 'noise': {
      if (nums.length === 2 && !(nums[0] >= 0 && nums[0] <= nums[1])) throw new CliError(`bad --degradation '${d}': expected noise:MIN:MAX with 0 <= MIN <= MAX`);
      const sigma = nums.length === 2 ? ([nums[0], nums[1]] as const) : (num ?? 25);
      return { kind: 'noise', sigma, ...(clip ? { clip: true } : {}) };
    }
    case 'rain':
      if (num !== undefined) throw new CliError(`bad --degradation '${d}': 'rain' takes no number (use a JSON spec for its options)`);
      return { kind: 'rain' } as DegradationSpec;
    case 'blur':
      return { kind: 'gaussian-blur', sigma: num ?? 2 };
    case 'motion':
      return { kind: 'motion-blur', ...(num !== undefined ? { length: num } : {}) };
    case 'sr4':
    case 'bicubic':
      return { kind: 'bicubic', scale: num ?? 4 };
    case 'inpaint':
      return { kind: 'inpaint', ...(num !== undefined ? { fraction: num } : {}) };
    default:
      throw new CliError(`unknown --degradation '${d}'; use noise:SIGMA[:MAX][:clip], rain, blur:SIGMA, motion[:LENGTH], sr4, inpaint[:FRACTION] or a JSON spec`);
  }
}

/** A subset of a source (for the train / validation split). */
function subset(src: ImageSource, names: readonly string[]): ImageSource {
  return { ...src, names: [...names] };
}

/** Validation sets: one per validation degradation (label `''` when there is only the training one). */
type ValSets = Array<{ label: string; data: ImageDataset }>;

async function buildData(cfg: TrainRunConfig): Promise<{ train: ImageDataset; val: ValSets }> {
  if (!(await isDir(cfg.gt))) throw new CliError(`--gt folder not found: '${cfg.gt}'`);
  const gt = await folderSource(cfg.gt);
  const lq = cfg.lq === undefined ? null : await folderSource(cfg.lq).catch((e: Error) => { throw new CliError(`--lq: ${e.message}`); });
  if (lq === null && cfg.degradation === undefined) throw new CliError('give --lq DIR (paired data) or --degradation SPEC (synthetic data from --gt only)');
  const common = { channels: cfg.channels, cropSize: cfg.patch, batchSize: cfg.batch };
  const make = (gtSrc: ImageSource, lqSrc: ImageSource | null, which: readonly string[], opts: object, degradation = cfg.degradation) =>
    lqSrc === null
      ? ImageDataset.synthetic({ ...common, ...opts, gt: subset(gtSrc, which), degradation: parseDegradation(degradation!) })
      : ImageDataset.paired({ ...common, ...opts, gt: subset(gtSrc, which), lq: subset(lqSrc, which) });
  const valOpts = { flip: false, rotate: false };
  const trainOpts = cfg.greyFraction ? { greyFraction: cfg.greyFraction } : {};
  if (cfg.valDegradations !== undefined && (!Array.isArray(cfg.valDegradations) || cfg.valDegradations.length === 0)) throw new CliError('valDegradations must be a non-empty list of degradations');
  if (cfg.valDegradations && lq !== null) throw new CliError('--val-degradation applies to synthetic data (--degradation), not to paired --lq data');
  const makeVal = (gtSrc: ImageSource, lqSrc: ImageSource | null, which: readonly string[]): ValSets =>
    which.length === 0
      ? []
      : cfg.valDegradations
        ? cfg.valDegradations.map((d) => ({ label: typeof d === 'string' ? d.trim() : JSON.stringify(d), data: make(gtSrc, lqSrc, which, valOpts, d) }))
        : [{ label: '', data: make(gtSrc, lqSrc, which, valOpts) }];
  const names = [...gt.names];
  if (cfg.valGt !== undefined) {
    if (cfg.valNames?.length || cfg.valCount > 0) throw new CliError('--val-gt replaces --val-names / --val-count: give one of them');
    if (!(await isDir(cfg.valGt))) throw new CliError(`--val-gt folder not found: '${cfg.valGt}'`);
    if ((lq === null) !== (cfg.valLq === undefined)) throw new CliError(lq === null ? '--val-lq needs --lq (paired data)' : 'paired data (--lq) with --val-gt needs --val-lq too');
    const valGt = await folderSource(cfg.valGt);
    const valLq = cfg.valLq === undefined ? null : await folderSource(cfg.valLq).catch((e: Error) => { throw new CliError(`--val-lq: ${e.message}`); });
    const shared = valGt.names.filter((n) => names.includes(n));
    if (shared.length) throw new CliError(`--val-gt: ${shared.join(', ')} also in --gt '${cfg.gt}' (validation images must not be trained on)`);
    return { train: make(gt, lq, names, trainOpts), val: makeVal(valGt, valLq, valGt.names) };
  }
  let trainNames: string[];
  let valNames: string[];
  if (cfg.valNames?.length) {
    const unknown = cfg.valNames.filter((n) => !names.includes(n));
    if (unknown.length) throw new CliError(`--val-names: not in '${cfg.gt}': ${unknown.join(', ')}`);
    valNames = names.filter((n) => cfg.valNames!.includes(n));
    trainNames = names.filter((n) => !cfg.valNames!.includes(n));
    if (!trainNames.length) throw new CliError('--val-names leaves no training images');
  } else {
    if (cfg.valCount >= names.length) throw new CliError(`--val-count ${cfg.valCount} leaves no training images (found ${names.length} in '${cfg.gt}')`);
    trainNames = names.slice(0, names.length - cfg.valCount);
    valNames = names.slice(names.length - cfg.valCount);
  }
  return { train: make(gt, lq, trainNames, trainOpts), val: makeVal(gt, lq, valNames) };
}

/** The noise levels `[min, max]` (0–255 scale) of a DenoisingSDE run, and whether its states are clipped (`MIN:MAX:clip`). */
export function noiseLevelsOf(cfg: TrainRunConfig): [number, number] {
  return parseNoiseLevels(cfg).levels;
}

/** A DenoisingSDE run's noise levels when `--noise-levels` is not given. */
const DEFAULT_NOISE_LEVELS = '0:50';

function parseNoiseLevels(cfg: TrainRunConfig): { levels: [number, number]; clip: boolean } {
  const spec = cfg.noiseLevels ?? DEFAULT_NOISE_LEVELS;
  const m = /^\s*([0-9.]+)\s*:\s*([0-9.]+)\s*(?::\s*(clip)\s*)?$/.exec(spec);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2]) : NaN;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo >= 0 && hi > 0 && lo <= hi)) throw new CliError(`--noise-levels must be MIN:MAX[:clip] on the 0-255 scale with 0 <= MIN <= MAX and MAX > 0, got '${spec}'`);
  return { levels: [lo, hi], clip: m?.[3] === 'clip' };
}

/** `--timesteps MIN:MAX` as integers with 1 <= MIN <= MAX <= T. */
function parseTimesteps(spec: string, T: number): [number, number] {
  const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(String(spec));
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2]) : NaN;
  if (!(lo >= 1 && lo <= hi && hi <= T)) throw new CliError(`--timesteps must be MIN:MAX with integers 1 <= MIN <= MAX <= T = ${T}, got '${spec}'`);
  return [lo, hi];
}

function sdeConfigOfRun(cfg: TrainRunConfig): AnySDEConfig {
  if (cfg.sde !== undefined && cfg.sde !== 'ir' && cfg.sde !== 'denoising') throw new CliError(`--sde must be ir or denoising, got '${String(cfg.sde)}'`);
  if (cfg.sde === 'denoising') {
    const maxSigma = (cfg.maxSigma255 ?? noiseLevelsOf(cfg)[1]) / 255;
    return { kind: 'denoising', T: cfg.T, maxSigma, schedule: cfg.schedule as ScheduleSpec, ...(cfg.eps !== undefined ? { eps: cfg.eps } : {}) };
  }
  if (cfg.noiseLevels !== undefined) throw new CliError('--noise-levels is a DenoisingSDE option: add --sde denoising (IR-SDE learns the degradation of its --degradation / --lq data)');
  return { T: cfg.T, maxSigma: (cfg.maxSigma255 ?? 10) / 255, schedule: cfg.schedule as ScheduleSpec, eps: cfg.eps ?? 0.005 } satisfies SDEConfig;
}

function trainerConfigOf(cfg: TrainRunConfig, timesteps?: readonly [number, number]): TrainerConfig {
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
    ...(cfg.ema ? {} : { ema: false }),
    ...(cfg.sde === 'denoising' && parseNoiseLevels(cfg).clip ? { clipState: true } : {}),
  };
}

/** The validation sampler of a run: `valSampler`, else `ode` for a DenoisingSDE and `posterior` for an IR-SDE. */
function valSamplerOf(cfg: TrainRunConfig, denoising: boolean): string {
  return cfg.valSampler ?? (denoising ? 'ode' : 'posterior');
}

/** The degradation of a DenoisingSDE run's validation images when neither `--degradation` nor `--lq` is given. */
const DENOISING_DEGRADATION = 'noise:25';

/** Rounds a float to 12 significant digits (`10 / 255 * 255` back to 10). */
const round12 = (x: number): number => Number(x.toPrecision(12));

/**
 * The whole configuration of a run, every default filled in as the run applies it: the SDE
 * (`sde`, `T`, `maxSigma255`, `schedule`, `eps`, and `noiseLevels` or `timesteps`), the network
 * (`arch` and its sizes, `prediction`), the objective and norm, the LR schedule, where gradients
 * run, the validation sampler. This is what a run's `config.json` holds; given back to
 * `--config` it resolves to itself.
 * @throws CliError for settings the run would refuse (as `irsde train` does).
 */
export function resolveTrainConfig(cfg: TrainRunConfig): TrainRunConfig {
  const sdeConfig = sdeConfigOfRun(cfg);
  let sde;
  try {
    sde = createSDE(sdeConfig, 'float32');
  } catch (e) {
    throw new CliError(`invalid SDE settings: ${(e as Error).message}`);
  }
  const denoising = isDenoisingSDE(sde);
  const network = networkOf(cfg);
  const trainer = trainerConfigOf(cfg);
  const gradients = cfg.gradients ?? (cfg.workers || !ortInstalled() ? 'tfjs' : 'ort');
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
    valSampler: valSamplerOf(cfg, denoising),
  };
}

const UNET_KEYS = ['nf', 'depth'] as const;
const NAFNET_KEYS = ['width', 'encBlocks', 'middleBlocks', 'decBlocks'] as const;

/** The network config of a run: the architecture's options (defaults filled in); another architecture's options are an error. */
export function networkOf(cfg: TrainRunConfig): NetworkConfig {
  const arch = cfg.arch ?? 'unet';
  const flag = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const foreign = (arch === 'unet' ? NAFNET_KEYS : arch === 'nafnet' ? UNET_KEYS : []).filter((k) => cfg[k] !== undefined);
  if (arch !== 'unet' && arch !== 'nafnet') throw new CliError(`--arch must be unet or nafnet, got '${String(arch)}'`);
  if (foreign.length > 0) {
    const own = (arch === 'unet' ? UNET_KEYS : NAFNET_KEYS).map(flag).join(', ');
    throw new CliError(`${foreign.map(flag).join(', ')} ${foreign.length > 1 ? 'are not options' : 'is not an option'} of --arch ${arch} (its options: ${own})`);
  }
  // The DenoisingSDE's network sees x_t alone (the reference's denoising-sde networks).
  const common = { ...(cfg.sde === 'denoising' ? { conditional: false } : {}), ...(cfg.prediction ? { prediction: cfg.prediction } : {}) };
  try {
    return checkNetworkConfig(
      arch === 'unet'
        ? { inChannels: cfg.channels, outChannels: cfg.channels, nf: cfg.nf ?? 16, depth: cfg.depth ?? 3, ...common }
        : { arch: 'nafnet', imgChannels: cfg.channels, width: cfg.width ?? 16, encBlocks: cfg.encBlocks ?? [1, 1, 1, 1], middleBlocks: cfg.middleBlocks ?? 1, decBlocks: cfg.decBlocks ?? [1, 1, 1, 1], ...common },
      `--arch ${arch}`,
    );
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** Copies named tensors into a network's variables (for evaluating with EMA weights). */
function loadInto(net: TfjsNetwork, weights: Record<string, tf.Tensor>): void {
  for (const [name, v] of net.variables) {
    const w = weights[name];
    if (w) v.assign(w);
  }
}

/** Writes a run's file atomically (temporary file in the same folder, fsync, rename): a kill leaves the old file or the whole new one. */
async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await writeFileAtomic(path, bytes);
}

/** Runs a training job (the library calls behind `irsde train`). */
export async function runTraining(cfg: TrainRunConfig, resume?: string): Promise<{ step: number; modelPath: string }> {
  const engine = await startEngine(cfg.engine);
  const log = (rec: object) => appendFile(join(cfg.out, 'log.jsonl'), JSON.stringify({ time: new Date().toISOString(), ...rec }) + '\n');
  let state: TrainerState | undefined;
  if (resume !== undefined) {
    if (!(await isFile(resume))) throw new CliError(`--resume: checkpoint not found: '${resume}'`);
    const decoded = decodeTrainerState(new Uint8Array(await readFile(resume)));
    state = decoded.state;
    // The checkpoint's run config wins (same data, network, SDE); how and how long to run may change.
    const run = decoded.extra.run as Partial<TrainRunConfig>;
    Object.assign(cfg, run, { steps: cfg.steps ?? run.steps, out: cfg.out, engine: cfg.engine, quiet: cfg.quiet, workers: cfg.workers ?? run.workers, gradients: cfg.gradients ?? run.gradients, conv3x3: cfg.conv3x3 ?? run.conv3x3 });
  }
  await mkdir(cfg.out, { recursive: true });
  // A DenoisingSDE trains on the clean images alone; its validation images get sigma-25 noise
  // unless --degradation says otherwise (and the level is given to the restorer when known).
  if (cfg.sde === 'denoising' && cfg.lq === undefined && cfg.degradation === undefined) cfg.degradation = DENOISING_DEGRADATION;
  const { train, val } = await buildData(cfg);
  // A DenoisingSDE's validation restorer is told the noise level of fixed-sigma noise (else it estimates it).
  const valNoiseOf = (spec: string | DegradationSpec | undefined): number | undefined => {
    if (cfg.sde !== 'denoising' || spec === undefined) return undefined;
    const d = parseDegradation(spec) as { kind: string; sigma?: unknown };
    return d.kind === 'noise' && typeof d.sigma === 'number' ? d.sigma / 255 : undefined;
  };
  let sde;
  try {
    sde = createSDE<tf.Tensor>(sdeConfigOfRun(cfg));
  } catch (e) {
    throw e instanceof CliError ? e : new CliError(`invalid SDE settings: ${(e as Error).message}`);
  }
  // A DenoisingSDE learns the timesteps of the requested noise levels (the reference draws 1..T).
  let timesteps: [number, number] | undefined;
  if (isDenoisingSDE(sde)) {
    const [lo, hi] = noiseLevelsOf(cfg);
    if (hi / 255 > sde.maxSigma * (1 + 1e-12)) throw new CliError(`--noise-levels ${cfg.noiseLevels}: the highest level exceeds the SDE's --max-sigma ${(sde.maxSigma * 255).toFixed(1)}`);
    timesteps = [Math.max(1, sde.optimalTimestep(lo / 255)), Math.max(1, sde.optimalTimestep(Math.min(hi / 255, sde.maxSigma)))];
    if (cfg.timesteps !== undefined) throw new CliError('--timesteps is an IR-SDE option; a DenoisingSDE run takes its timesteps from --noise-levels');
  } else if (cfg.timesteps !== undefined) {
    timesteps = parseTimesteps(cfg.timesteps, sde.T);
  }
  const network = networkOf(cfg);
  const net = createNetwork(network, { seed: cfg.seed });
  const evalNet = createNetwork(network, { trainable: false });
  // Workers each run their own wasm backend and average gradients every step (same result as one).
  // Or ONNX Runtime runs the forward and backward pass on every core (same gradients).
  // Default: ONNX Runtime (the fastest here) unless tfjs worker threads were asked for.
  // Default: ONNX Runtime on every core when onnxruntime-node is installed (and no --workers).
  const gradients = cfg.gradients ?? (cfg.workers || !ortInstalled() ? 'tfjs' : 'ort');
  if (gradients === 'ort' && cfg.workers) throw new CliError('--gradients ort uses every core itself; drop --workers (or use --gradients tfjs)');
  const multiple = paddedSize(network, 1, 1).multiple;
  const what = network.arch === 'nafnet' ? `2^levels = ${multiple}` : `2^depth = ${multiple}`;
  if (gradients === 'ort' && cfg.patch % multiple !== 0) throw new CliError(`--gradients ort needs --patch to be a multiple of ${what}, got ${cfg.patch} (or use --gradients tfjs)`);
  if (cfg.conv3x3 !== undefined && cfg.conv3x3 !== 'direct' && cfg.conv3x3 !== 'winograd') throw new CliError(`conv3x3 must be 'direct' or 'winograd', got '${String(cfg.conv3x3)}'`);
  const pool = gradients === 'ort' ? createOrtGradients({ ort: ortOrFail('--gradients ort'), threads: availableParallelism(), ...(cfg.conv3x3 ? { conv3x3: cfg.conv3x3 } : {}) }) : cfg.workers ? new WorkerGradientPool({ workers: cfg.workers }) : undefined;
  // A checkpoint written before the objective was recorded in it trained with the then default, 'ml'.
  const trainerConfig: TrainerConfig = state ? { objective: 'ml', ...state.config } : trainerConfigOf(cfg, timesteps);
  // The run config names the objective too (config.json, the checkpoint's run).
  cfg.objective ??= trainerConfig.objective;
  const trainer = new Trainer({ sde, model: net, data: train, config: trainerConfig, ...(pool ? { gradients: pool } : {}) });
  if (state) trainer.setState(state);
  // The whole resolved configuration (enough to re-run with --config), with the backend started.
  await writeAtomic(join(cfg.out, 'config.json'), JSON.stringify({ ...resolveTrainConfig(cfg), engine }, null, 2) + '\n');
  await log({ event: resume ? 'resume' : 'start', step: trainer.step, engine, gradients, ...(gradients === 'ort' ? { conv3x3: cfg.conv3x3 ?? 'winograd' } : {}), optimiserState: trainer.stateStorage, network, sde: sdeConfigOf(sde), ...(timesteps ? { timesteps } : {}), ...(trainer.config.clipState ? { clipState: true } : {}), images: train.size, validation: val[0]?.data.size ?? 0, ...(val.length > 1 ? { validationDegradations: val.map((v) => v.label) } : {}) });

  const modelPath = join(cfg.out, 'model.safetensors');
  const saveAll = async (st: TrainerState) => {
    await writeAtomic(join(cfg.out, 'checkpoint.safetensors'), encodeTrainerState(st, { run: cfg, network }));
    loadInto(evalNet, trainer.evalWeights());
    await writeAtomic(modelPath, saveModel(evalNet, sde));
    await log({ event: 'checkpoint', step: st.step });
  };
  // Ctrl-C: finish the current step, write a checkpoint, then exit.
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let recent = 0;
  let recentN = 0;
  // The sampling the last validation used (logged with its scores).
  let valUsed: { sampler: string; steps?: number } | undefined;
  // Steps per second over the steps since the last progress line (wall clock: checkpoints and
  // validation included), and the time left at that rate.
  let lastLine = { at: performance.now(), step: trainer.step };
  try {
    const { stoppedEarly } = await trainer.fit({
      steps: cfg.steps,
      signal: abort.signal,
      checkpointEvery: cfg.checkpointEvery,
      onCheckpoint: saveAll,
      onStep: async (r) => {
        await log({ event: 'step', ...r });
        recent += r.loss;
        recentN++;
        if (!cfg.quiet && (r.step % 10 === 0 || r.step === cfg.steps)) {
          const now = performance.now();
          const rate = (r.step - lastLine.step) / ((now - lastLine.at) / 1000);
          lastLine = { at: now, step: r.step };
          console.error(`step ${r.step}/${cfg.steps}  loss ${(recent / recentN).toExponential(3)}  lr ${r.lr.toExponential(2)}  ${r.ms.toFixed(0)} ms/step  ${rate.toFixed(2)} steps/s  ${formatDuration((cfg.steps - r.step) / rate)} left`);
          recent = 0;
          recentN = 0;
        }
      },
      ...(val.length > 0 && cfg.valEvery > 0
        ? {
            validateEvery: cfg.valEvery,
            validate: async (t: Trainer) => {
              loadInto(evalNet, t.evalWeights());
              // With ONNX Runtime gradients the validation network runs there too (several times
              // faster than tfjs-wasm); the weights are the same EMA weights either way.
              const restorer = await Restorer.create(evalNet, sdeConfigOf(t.sde), { engine: gradients === 'ort' ? ortNodeEngine({ conv3x3: cfg.conv3x3 ?? 'winograd' }) : tfjsEngine });
              const out: Record<string, number> = {};
              let p = 0;
              let s = 0;
              let pIn = 0;
              let sIn = 0;
              try {
                for (const v of val) {
                  const noiseLevel = valNoiseOf(v.label || cfg.degradation);
                  const scores = await validateRestoration(restorer, v.data, {
                    sampler: valSamplerOf(cfg, isDenoisingSDE(t.sde)) as SamplerName,
                    steps: cfg.valSteps,
                    cropSize: cfg.valCrop,
                    seed: cfg.seed,
                    ...(noiseLevel !== undefined ? { noiseLevel } : {}),
                  });
                  p += scores.psnr / val.length;
                  s += scores.ssim / val.length;
                  pIn += scores.inputPsnr / val.length;
                  sIn += scores.inputSsim / val.length;
                  valUsed = { sampler: scores.sampler, ...(scores.steps !== undefined ? { steps: scores.steps } : {}) };
                  if (v.label) Object.assign(out, { [`psnr:${v.label}`]: scores.psnr, [`ssim:${v.label}`]: scores.ssim, [`inputPsnr:${v.label}`]: scores.inputPsnr, [`inputSsim:${v.label}`]: scores.inputSsim });
                }
              } finally {
                await restorer.dispose();
              }
              // The degraded inputs' scores on the same crops: the gain is psnr - inputPsnr.
              return { psnr: p, ssim: s, inputPsnr: pIn, inputSsim: sIn, ...out };
            },
            onValidate: async (step: number, m: Record<string, number>) => {
              await log({ event: 'validation', step, ...m, ...valUsed });
              if (!cfg.quiet) {
                const gain = (a: number, b: number) => `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(2)}`;
                const each = val.length > 1 ? ` (${val.map((v) => `${v.label} ${m[`psnr:${v.label}`].toFixed(2)} from ${m[`inputPsnr:${v.label}`].toFixed(2)}`).join(', ')})` : '';
                const how = valUsed ? `; ${valUsed.sampler}${valUsed.steps !== undefined ? `, ${valUsed.steps} step${valUsed.steps === 1 ? '' : 's'}` : ''}` : '';
                console.error(`validation at step ${step}: PSNR ${m.psnr.toFixed(2)} dB (input ${m.inputPsnr.toFixed(2)}, ${gain(m.psnr, m.inputPsnr)} dB), SSIM ${m.ssim.toFixed(4)} (input ${m.inputSsim.toFixed(4)})${each}${how}`);
              }
            },
          }
        : {}),
    });
    if (stoppedEarly && !cfg.quiet) console.error(`interrupted: checkpoint written at step ${trainer.step}; continue with --resume ${join(cfg.out, 'checkpoint.safetensors')}`);
    return { step: trainer.step, modelPath };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    trainer.dispose();
    await pool?.dispose();
    net.dispose();
    evalNet.dispose();
  }
}

/**
 * The configuration of an `irsde train` invocation from its parsed flags (commander's attribute
 * names): the defaults, then the `--config` file's keys, then the flags given. With `--resume`
 * the defaults are left out (options not given come from the checkpoint).
 * @throws CliError for a missing or invalid `--config` file, or a missing `--gt` / `--out`.
 */
export async function trainConfigOfFlags(flags: Record<string, unknown>): Promise<{ cfg: TrainRunConfig; resume?: string }> {
  let fromFile: Partial<TrainRunConfig> = {};
  if (typeof flags.config === 'string') {
    if (!(await isFile(flags.config))) throw new CliError(`--config file not found: '${flags.config}'`);
    try {
      fromFile = JSON.parse(await readFile(flags.config, 'utf8')) as Partial<TrainRunConfig>;
    } catch (e) {
      throw new CliError(`--config '${flags.config}' is not valid JSON: ${(e as Error).message}`);
    }
    fromFile = checkTrainConfig(fromFile, flags.config);
  }
  const given = Object.fromEntries(Object.entries(flags).filter(([k, v]) => v !== undefined && k !== 'config' && k !== 'resume' && k !== 'maxSigma' && k !== 'ema' && k !== 'valDegradation'));
  if (flags.maxSigma !== undefined) given.maxSigma255 = flags.maxSigma;
  if (flags.valDegradation !== undefined) given.valDegradations = flags.valDegradation;
  if (flags.ema === false) given.ema = false;
  const resume = flags.resume as string | undefined;
  // On resume, options not given come from the checkpoint (not from the defaults).
  const cfg = (resume ? { ...fromFile, ...given } : { ...DEFAULTS, ...fromFile, ...given }) as TrainRunConfig;
  if (!resume && !cfg.gt) throw new CliError('--gt DIR is required (or --config FILE with "gt", or --resume CHECKPOINT)');
  if (!cfg.out && resume) cfg.out = dirname(resume);
  if (!cfg.out) throw new CliError('--out DIR is required');
  if (cfg.lrSchedule === 'multistep' && !cfg.lrMilestones?.length) throw new CliError('--lr-schedule multistep needs --lr-milestones N,M,...');
  return { cfg, ...(resume !== undefined ? { resume } : {}) };
}

/** ` (default: V)` for a help text (lists joined by commas). */
function def(v: unknown): string {
  return ` (default: ${Array.isArray(v) ? v.join(',') : String(v)})`;
}

/** `irsde train`: trains a ConditionalUNet or ConditionalNAFNet on a folder of images. */
export function registerTrain(program: Command): void {
  program
    .command('train')
    .description(`train a restoration network, ConditionalUNet or ConditionalNAFNet (by default a ${DEFAULTS.prediction} U-Net with the ${defaultObjective(DEFAULTS.prediction)} objective)`)
    .option('-c, --config <file>', "JSON file with any of the options below as camelCase keys (--max-sigma is maxSigma255, --no-ema is \"ema\": false; unknown keys are an error); flags override it (default: none)")
    .option('--gt <dir>', 'folder of clean (ground-truth) images (required unless --resume)')
    .option('--lq <dir>', 'folder of degraded images with the same file names (paired data; default: none, give --degradation)')
    .option('--degradation <spec>', 'synthetic degradation of --gt images: noise:SIGMA255 (noise:MIN:MAX: a random sigma per crop; add :clip to clamp to [0, 1]), rain, blur:SIGMA, motion[:LEN], sr4, inpaint[:FRAC] or JSON (default: none, give --lq; with --sde denoising validation uses noise:25)')
    .option('--val-count <n>', `hold out the last N images (by name) for validation${def(DEFAULTS.valCount)}`, intOption('--val-count', 0))
    .option('--val-names <list>', 'hold out these comma-separated image names (file names without extension) for validation (instead of --val-count; default: none)', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .option('--val-gt <dir>', 'a separate folder of clean validation images (instead of --val-count / --val-names; default: none)')
    .option('--val-lq <dir>', 'with --lq and --val-gt: the degraded validation images (default: none)')
    .option('--val-degradation <spec>', 'synthetic data: validate under this degradation instead of the training one (repeat for several, e.g. noise:15:clip --val-degradation noise:50:clip; logs psnr:<spec> each and their mean; default: the training degradation)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--channels <n>', `3 (RGB) or 1 (grey)${def(DEFAULTS.channels)}`, intOption('--channels', 1, 3))
    .option('--grey-fraction <x>', 'RGB training: fraction of colour crops turned grey (with grey noise) so the model learns grey photos too (default: 0)', numberOption('--grey-fraction', 0, 1))
    .option('--arch <name>', 'network: unet (--nf, --depth) or nafnet (--width, --enc-blocks, --middle-blocks, --dec-blocks) (default: unet)', choiceOption('--arch', ['unet', 'nafnet'] as const))
    .option('--nf <n>', 'unet: base channel width (default: 16)', intOption('--nf', 2))
    .option('--depth <n>', 'unet: levels (default: 3)', intOption('--depth', 1, 8))
    .option('--width <n>', 'nafnet: channels of the first level (default: 16)', intOption('--width', 2))
    .option('--enc-blocks <list>', 'nafnet: comma-separated NAFBlocks per encoder level (default: 1,1,1,1)', (v: string) => v.split(',').map((s) => intOption('--enc-blocks', 0)(s)))
    .option('--middle-blocks <n>', 'nafnet: NAFBlocks in the middle (default: 1)', intOption('--middle-blocks', 0))
    .option('--dec-blocks <list>', 'nafnet: comma-separated NAFBlocks per decoder level (default: 1,1,1,1)', (v: string) => v.split(',').map((s) => intOption('--dec-blocks', 0)(s)))
    .option('--prediction <kind>', `what the network predicts: residual (x0 - mu; converges fast, suits few-step sampling) or noise (the reference's)${def(DEFAULTS.prediction)}`, choiceOption('--prediction', NETWORK_PREDICTIONS))
    .option('--objective <name>', `training loss: ml (maximum likelihood), noise (noise matching) or x0 (clean-image matching) (default: ${defaultObjective(DEFAULTS.prediction)}; with --prediction noise: ${defaultObjective('noise')})`, choiceOption('--objective', OBJECTIVES))
    .option('--norm <name>', `loss norm: l1 or l2${def(DEFAULTS.norm ?? 'l1')}`, choiceOption('--norm', ['l1', 'l2'] as const))
    .option('--sde <kind>', "ir (IR-SDE: a conditional network learns the --degradation / --lq pairs) or denoising (the reference's DenoisingSDE: an unconditional network learns Gaussian noise of every level in --noise-levels) (default: ir)", choiceOption('--sde', ['ir', 'denoising'] as const))
    .option('--noise-levels <min:max>', `with --sde denoising: noise levels to learn, 0-255 scale (MAX sets --max-sigma); MIN:MAX:clip clips the noisy training images to [0, 1] as 8-bit photos are${def(DEFAULT_NOISE_LEVELS)}`)
    .option('--timesteps <min:max>', 'IR-SDE: draw the training timesteps from MIN..MAX only (e.g. 60:100 for a model sampled in one posterior step from T) (default: 1:T, the reference\'s)')
    .option('--T <n>', `diffusion steps T${def(DEFAULTS.T)}`, intOption('--T', 1))
    .option('--max-sigma <x>', 'stationary noise lambda on the 0-255 scale (paper: 10 or 50) (default: 10; with --sde denoising the MAX of --noise-levels)', numberOption('--max-sigma', 0))
    .option('--schedule <name>', `theta schedule: cosine, linear or constant${def(DEFAULTS.schedule)}`)
    .option('--eps <x>', 'terminal mean gap eps in (0, 1) (default: 0.005; with --sde denoising the internal eps, 0.04)', numberOption('--eps', 0, 1))
    .option('--steps <n>', `total optimiser steps${def(DEFAULTS.steps)}`, intOption('--steps', 0))
    .option('--batch <n>', `crops per step${def(DEFAULTS.batch)}`, intOption('--batch', 1))
    .option('--patch <px>', `crop side${def(DEFAULTS.patch)}`, intOption('--patch', 8))
    .option('--lr <x>', `learning rate (Adam, betas 0.9/0.99)${def(DEFAULTS.lr)}`, numberOption('--lr', 0))
    .option('--lr-milestones <list>', 'comma-separated steps at which the LR halves (default: none)', (v: string) => v.split(',').map((s) => intOption('--lr-milestones', 0)(s)))
    .option('--lr-schedule <name>', "constant, multistep (with --lr-milestones) or cosine (anneals to 1e-7 over --steps) (default: constant; multistep when --lr-milestones are given)", (v: string) => {
      if (v !== 'constant' && v !== 'multistep' && v !== 'cosine') throw new CliError(`--lr-schedule must be constant, multistep or cosine, got '${v}'`);
      return v;
    })
    .option('--clip <x>', 'clip the gradient norm to this value (default: no clipping)', numberOption('--clip', 0))
    .option('--no-ema', 'evaluate / export the live weights instead of their EMA (default: the EMA)')
    .option('--seed <n>', `random seed${def(DEFAULTS.seed)}`, intOption('--seed', 0))
    .option('-o, --out <dir>', 'output folder: checkpoint.safetensors, model.safetensors, log.jsonl, config.json (required; default with --resume: the checkpoint\'s folder)')
    .option('--checkpoint-every <n>', `steps between checkpoints${def(DEFAULTS.checkpointEvery)}`, intOption('--checkpoint-every', 1))
    .option('--val-every <n>', `steps between validations (0 = never)${def(DEFAULTS.valEvery)}`, intOption('--val-every', 0))
    .option('--val-steps <n>', `sampling steps used in validation${def(DEFAULTS.valSteps)}`, intOption('--val-steps', 1))
    .option('--val-sampler <name>', 'sampler used in validation (default: posterior; ode with --sde denoising)')
    .option('--val-crop <px>', `centre crop of validation images${def(DEFAULTS.valCrop)}`, intOption('--val-crop', 8))
    .option('--resume <checkpoint>', 'continue from a checkpoint: its data, network and SDE settings win; --steps (new end), --workers, --gradients, --engine may change; --out defaults to its folder (default: none, a new run)')
    .option('-e, --engine <name>', 'tfjs backend: auto, wasm or cpu (default: auto, wasm when installed)')
    .option('--gradients <where>', 'where the forward/backward pass runs: ort (ONNX Runtime on every core) or tfjs (the --engine backend, or --workers threads of tfjs-wasm) (default: ort when onnxruntime-node is installed and no --workers are given, else tfjs)', choiceOption('--gradients', ['tfjs', 'ort'] as const))
    .option('--conv3x3 <algo>', 'with --gradients ort: 3x3 convolutions with 128+ channels as winograd (faster) or direct (default: winograd)', choiceOption('--conv3x3', ['direct', 'winograd'] as const))
    .option('--workers <n>', 'data-parallel gradient workers (e.g. 2 to use both cores; each runs tfjs-wasm; 0: in-process) (default: 0)', intOption('--workers', 0, 64))
    .option('-q, --quiet', 'no progress output (default: progress every 10 steps)')
    .addHelpText(
      'after',
      '\nExamples:\n  irsde train --gt photos/ --degradation noise:25 --val-count 2 --steps 2000 --out runs/denoise\n  irsde train --gt clean/ --lq rainy/ --nf 32 --depth 4 --out runs/derain\n  irsde train --resume runs/denoise/checkpoint.safetensors --steps 4000 --out runs/denoise',
    )
    .action(async (flags: Record<string, unknown>) => {
      const { cfg, resume } = await trainConfigOfFlags(flags);
      const { step, modelPath } = await runTraining(cfg, resume);
      if (!cfg.quiet) console.error(`done at step ${step}; model: ${modelPath}`);
    });
}

/** Seconds as `1h 02m`, `3m 05s` or `12s` (progress lines). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}
