import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { MeanRevertingSDE, type SDEConfig } from '../../sde/mean-reverting-sde.js';
import type { ScheduleSpec } from '../../sde/schedules.js';
import { ConditionalUNet } from '../../nn/unet/conditional-unet.js';
import { saveModel } from '../../nn/unet/model-format.js';
import type { SamplerName } from '../../sampling/samplers.js';
import { Trainer, type TrainerConfig, type TrainerState } from '../../train/trainer.js';
import { decodeTrainerState, encodeTrainerState } from '../../train/checkpoint.js';
import { ImageDataset } from '../../train/data/dataset.js';
import type { DegradationSpec } from '../../train/data/degradation.js';
import type { ImageSource } from '../../train/data/source.js';
import { validateRestoration } from '../../train/validation.js';
import { folderSource } from '../../io/folder.js';
import { WorkerGradientPool } from '../../train/parallel/pool.js';
import { createOrtGradients } from '../../train/ort-gradients.js';
import { CliError, choiceOption, intOption, numberOption } from '../errors.js';
import { UNET_PREDICTIONS, type UNetConfig, type UNetPrediction } from '../../nn/unet/config.js';
import { OBJECTIVES, type Objective } from '../../train/objective.js';
import { isDir, isFile, ortInstalled, ortOrFail, startEngine } from '../shared.js';

/** Everything `irsde train` needs, as flags or as a JSON config file (same keys). */
export interface TrainRunConfig {
  /** Folder of clean images. */
  gt: string;
  /** Folder of degraded images with the same names (paired data); omit for synthetic data. */
  lq?: string;
  /** Synthetic degradation (JSON spec, or the shorthands `noise:25`, `rain`, `blur:2`, `motion`, `sr4`, `inpaint`). */
  degradation?: string | DegradationSpec;
  /** Number of images (from the end of the name-sorted list) held out for validation. */
  valCount: number;
  /** Images (file names without extension) held out for validation instead of the last `valCount`. */
  valNames?: string[];
  channels: 1 | 3;
  nf: number;
  depth: number;
  /** What the network predicts: 'noise' (default, the reference's) or 'residual' (x0 - mu). */
  prediction?: UNetPrediction;
  /** Training objective: 'ml' (default), 'noise' or 'x0'. */
  objective?: Objective;
  /** Loss norm: 'l1' (default) or 'l2'. */
  norm?: 'l1' | 'l2';
  T: number;
  /** lambda on the 0–255 scale (the paper's max_sigma, e.g. 10 or 50). */
  maxSigma255: number;
  schedule: string;
  eps: number;
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
  valSampler: string;
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
  'conv3x3', 'quiet',
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

const DEFAULTS: Omit<TrainRunConfig, 'gt' | 'out'> = {
  valCount: 0,
  channels: 3,
  nf: 16,
  depth: 3,
  T: 100,
  maxSigma255: 10,
  schedule: 'cosine',
  eps: 0.005,
  steps: 1000,
  batch: 4,
  patch: 64,
  lr: 1e-4,
  ema: true,
  seed: 0,
  checkpointEvery: 200,
  valEvery: 0,
  valSteps: 10,
  valSampler: 'posterior',
  valCrop: 96,
};

/** Expands the degradation shorthands into a spec. */
export function parseDegradation(d: string | DegradationSpec): DegradationSpec {
  if (typeof d !== 'string') return d;
  const s = d.trim();
  if (s.startsWith('{')) return JSON.parse(s) as DegradationSpec;
  const [kind, arg] = s.split(':');
  const num = arg === undefined ? undefined : Number(arg);
  if (arg !== undefined && !Number.isFinite(num)) throw new CliError(`bad --degradation '${d}': '${arg}' is not a number`);
  switch (kind) {
    case 'noise':
      return { kind: 'noise', sigma: num ?? 25 };
    case 'rain':
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
      throw new CliError(`unknown --degradation '${d}'; use noise:SIGMA, rain, blur:SIGMA, motion[:LENGTH], sr4, inpaint[:FRACTION] or a JSON spec`);
  }
}

/** A subset of a source (for the train / validation split). */
function subset(src: ImageSource, names: readonly string[]): ImageSource {
  return { ...src, names: [...names] };
}

async function buildData(cfg: TrainRunConfig): Promise<{ train: ImageDataset; val: ImageDataset | null }> {
  if (!(await isDir(cfg.gt))) throw new CliError(`--gt folder not found: '${cfg.gt}'`);
  const gt = await folderSource(cfg.gt);
  const lq = cfg.lq === undefined ? null : await folderSource(cfg.lq).catch((e: Error) => { throw new CliError(`--lq: ${e.message}`); });
  if (lq === null && cfg.degradation === undefined) throw new CliError('give --lq DIR (paired data) or --degradation SPEC (synthetic data from --gt only)');
  const names = [...gt.names];
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
  const common = { channels: cfg.channels, cropSize: cfg.patch, batchSize: cfg.batch };
  const make = (which: readonly string[], opts: object) =>
    lq === null
      ? ImageDataset.synthetic({ ...common, ...opts, gt: subset(gt, which), degradation: parseDegradation(cfg.degradation!) })
      : ImageDataset.paired({ ...common, ...opts, gt: subset(gt, which), lq: subset(lq, which) });
  return { train: make(trainNames, {}), val: valNames.length ? make(valNames, { flip: false, rotate: false }) : null };
}

function sdeConfigOf(cfg: TrainRunConfig): SDEConfig {
  return { T: cfg.T, maxSigma: cfg.maxSigma255 / 255, schedule: cfg.schedule as ScheduleSpec, eps: cfg.eps };
}

function trainerConfigOf(cfg: TrainRunConfig): TrainerConfig {
  return {
    lr: cfg.lr,
    seed: cfg.seed,
    ...(cfg.objective !== undefined ? { objective: cfg.objective } : {}),
    ...(cfg.norm !== undefined ? { norm: cfg.norm } : {}),
    ...(cfg.lrSchedule === 'cosine'
      ? { lrSchedule: { type: 'cosine', period: cfg.steps, minLr: 1e-7 } }
      : cfg.lrMilestones?.length
        ? { lrSchedule: { type: 'multistep', milestones: cfg.lrMilestones, gamma: 0.5 } }
        : {}),
    ...(cfg.clip !== undefined ? { clipGradNorm: cfg.clip } : {}),
    ...(cfg.ema ? {} : { ema: false }),
  };
}

/** Copies named tensors into a network's variables (for evaluating with EMA weights). */
function loadInto(net: ConditionalUNet, weights: Record<string, tf.Tensor>): void {
  for (const [name, v] of net.variables) {
    const w = weights[name];
    if (w) v.assign(w);
  }
}

async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
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
  const { train, val } = await buildData(cfg);
  const sde = new MeanRevertingSDE(sdeConfigOf(cfg));
  const network: UNetConfig = { inChannels: cfg.channels, outChannels: cfg.channels, nf: cfg.nf, depth: cfg.depth, ...(cfg.prediction ? { prediction: cfg.prediction } : {}) };
  const net = new ConditionalUNet(network, { seed: cfg.seed });
  const evalNet = new ConditionalUNet(network, { trainable: false });
  // Workers each run their own wasm backend and average gradients every step (same result as one).
  // Or ONNX Runtime runs the forward and backward pass on every core (same gradients).
  // Default: ONNX Runtime (the fastest here) unless tfjs worker threads were asked for.
  // Default: ONNX Runtime on every core when onnxruntime-node is installed (and no --workers).
  const gradients = cfg.gradients ?? (cfg.workers || !ortInstalled() ? 'tfjs' : 'ort');
  if (gradients === 'ort' && cfg.workers) throw new CliError('--gradients ort uses every core itself; drop --workers (or use --gradients tfjs)');
  const multiple = 2 ** cfg.depth;
  if (gradients === 'ort' && cfg.patch % multiple !== 0) throw new CliError(`--gradients ort needs --patch to be a multiple of 2^depth = ${multiple}, got ${cfg.patch} (or use --gradients tfjs)`);
  if (cfg.conv3x3 !== undefined && cfg.conv3x3 !== 'direct' && cfg.conv3x3 !== 'winograd') throw new CliError(`conv3x3 must be 'direct' or 'winograd', got '${String(cfg.conv3x3)}'`);
  const pool = gradients === 'ort' ? createOrtGradients({ ort: ortOrFail('--gradients ort'), threads: availableParallelism(), ...(cfg.conv3x3 ? { conv3x3: cfg.conv3x3 } : {}) }) : cfg.workers ? new WorkerGradientPool({ workers: cfg.workers }) : undefined;
  const trainer = new Trainer({ sde, model: net, data: train, config: state?.config ?? trainerConfigOf(cfg), ...(pool ? { gradients: pool } : {}) });
  if (state) trainer.setState(state);
  await writeFile(join(cfg.out, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  await log({ event: resume ? 'resume' : 'start', step: trainer.step, engine, gradients, ...(gradients === 'ort' ? { conv3x3: cfg.conv3x3 ?? 'winograd' } : {}), optimiserState: trainer.stateStorage, network, sde: sde.config, images: train.size, validation: val?.size ?? 0 });

  const modelPath = join(cfg.out, 'model.safetensors');
  const saveAll = async (st: TrainerState) => {
    await writeAtomic(join(cfg.out, 'checkpoint.safetensors'), encodeTrainerState(st, { run: cfg, network }));
    loadInto(evalNet, trainer.evalWeights());
    await writeAtomic(modelPath, saveModel(evalNet, sde.config));
    await log({ event: 'checkpoint', step: st.step });
  };
  // Ctrl-C: finish the current step, write a checkpoint, then exit.
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let recent = 0;
  let recentN = 0;
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
          console.error(`step ${r.step}/${cfg.steps}  loss ${(recent / recentN).toExponential(3)}  lr ${r.lr.toExponential(2)}  ${r.ms.toFixed(0)} ms/step`);
          recent = 0;
          recentN = 0;
        }
      },
      ...(val && cfg.valEvery > 0
        ? {
            validateEvery: cfg.valEvery,
            validate: async (t: Trainer) => {
              loadInto(evalNet, t.evalWeights());
              const scores = await validateRestoration(evalNet.noiseModelFor(t.sde), val, {
                sde: t.sde.config,
                sampler: cfg.valSampler as SamplerName,
                steps: cfg.valSteps,
                cropSize: cfg.valCrop,
                seed: cfg.seed,
              });
              return { ...scores };
            },
            onValidate: async (step: number, m: Record<string, number>) => {
              await log({ event: 'validation', step, ...m });
              if (!cfg.quiet) console.error(`validation at step ${step}: PSNR ${m.psnr.toFixed(2)} dB, SSIM ${m.ssim.toFixed(4)}`);
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
    await (pool instanceof WorkerGradientPool ? pool.close() : pool?.release());
    net.dispose();
    evalNet.dispose();
  }
}

/** `irsde train`: trains a ConditionalUNet on a folder of images. */
export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a ConditionalUNet restoration network (by default a noise network with the maximum-likelihood objective)')
    .option('-c, --config <file>', "JSON file with any of the options below as camelCase keys (--max-sigma is maxSigma255, --no-ema is \"ema\": false; unknown keys are an error); flags override it")
    .option('--gt <dir>', 'folder of clean (ground-truth) images')
    .option('--lq <dir>', 'folder of degraded images with the same file names (paired data)')
    .option('--degradation <spec>', 'synthetic degradation of --gt images: noise:SIGMA255, rain, blur:SIGMA, motion[:LEN], sr4, inpaint[:FRAC] or JSON')
    .option('--val-count <n>', 'hold out the last N images (by name) for validation', intOption('--val-count', 0))
    .option('--val-names <list>', 'hold out these comma-separated image names (file names without extension) for validation (instead of --val-count)', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .option('--channels <n>', '3 (RGB) or 1 (grey)', intOption('--channels', 1, 3))
    .option('--nf <n>', 'base channel width of the U-Net', intOption('--nf', 2))
    .option('--depth <n>', 'U-Net levels', intOption('--depth', 1, 8))
    .option('--prediction <kind>', "what the network predicts: noise (the reference's) or residual (x0 - mu; suits few-step sampling)", choiceOption('--prediction', UNET_PREDICTIONS))
    .option('--objective <name>', 'training loss: ml (maximum likelihood, default), noise (noise matching) or x0 (clean-image matching)', choiceOption('--objective', OBJECTIVES))
    .option('--norm <name>', 'loss norm: l1 (default) or l2', choiceOption('--norm', ['l1', 'l2'] as const))
    .option('--T <n>', 'diffusion steps T', intOption('--T', 1))
    .option('--max-sigma <x>', 'stationary noise lambda on the 0-255 scale (paper: 10 or 50)', numberOption('--max-sigma', 0))
    .option('--schedule <name>', 'theta schedule: cosine, linear or constant')
    .option('--eps <x>', 'terminal mean gap eps in (0, 1)', numberOption('--eps', 0, 1))
    .option('--steps <n>', 'total optimiser steps', intOption('--steps', 0))
    .option('--batch <n>', 'crops per step', intOption('--batch', 1))
    .option('--patch <px>', 'crop side', intOption('--patch', 8))
    .option('--lr <x>', 'learning rate (Adam, betas 0.9/0.99)', numberOption('--lr', 0))
    .option('--lr-milestones <list>', 'comma-separated steps at which the LR halves', (v: string) => v.split(',').map((s) => intOption('--lr-milestones', 0)(s)))
    .option('--lr-schedule <name>', "constant, multistep (with --lr-milestones) or cosine (anneals to 1e-7 over --steps)", (v: string) => {
      if (v !== 'constant' && v !== 'multistep' && v !== 'cosine') throw new CliError(`--lr-schedule must be constant, multistep or cosine, got '${v}'`);
      return v;
    })
    .option('--clip <x>', 'clip the gradient norm', numberOption('--clip', 0))
    .option('--no-ema', 'evaluate / export the live weights instead of their EMA')
    .option('--seed <n>', 'random seed', intOption('--seed', 0))
    .option('-o, --out <dir>', 'output folder: checkpoint.safetensors, model.safetensors, log.jsonl, config.json')
    .option('--checkpoint-every <n>', 'steps between checkpoints', intOption('--checkpoint-every', 1))
    .option('--val-every <n>', 'steps between validations (0 = never)', intOption('--val-every', 0))
    .option('--val-steps <n>', 'sampling steps used in validation', intOption('--val-steps', 1))
    .option('--val-sampler <name>', 'sampler used in validation')
    .option('--val-crop <px>', 'centre crop of validation images', intOption('--val-crop', 8))
    .option('--resume <checkpoint>', 'continue from a checkpoint: its data, network and SDE settings win; --steps (new end), --workers, --gradients, --engine may change; --out defaults to its folder')
    .option('-e, --engine <name>', 'tfjs backend: auto, wasm or cpu')
    .option('--gradients <where>', 'where the forward/backward pass runs: ort (ONNX Runtime on every core; the default when onnxruntime-node is installed and no --workers are given) or tfjs (the --engine backend, or --workers threads of tfjs-wasm)', choiceOption('--gradients', ['tfjs', 'ort'] as const))
    .option('--conv3x3 <algo>', 'with --gradients ort: 3x3 convolutions with 128+ channels as winograd (default; faster) or direct', choiceOption('--conv3x3', ['direct', 'winograd'] as const))
    .option('--workers <n>', 'data-parallel gradient workers (e.g. 2 to use both cores; each runs tfjs-wasm)', intOption('--workers', 0, 64))
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nExamples:\n  irsde train --gt photos/ --degradation noise:25 --val-count 2 --steps 2000 --out runs/denoise\n  irsde train --gt clean/ --lq rainy/ --nf 32 --depth 4 --out runs/derain\n  irsde train --resume runs/denoise/checkpoint.safetensors --steps 4000 --out runs/denoise',
    )
    .action(async (flags: Record<string, unknown>) => {
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
      const given = Object.fromEntries(Object.entries(flags).filter(([k, v]) => v !== undefined && k !== 'config' && k !== 'resume' && k !== 'maxSigma' && k !== 'ema'));
      if (flags.maxSigma !== undefined) given.maxSigma255 = flags.maxSigma;
      if (flags.ema === false) given.ema = false;
      const resume = flags.resume as string | undefined;
      // On resume, options not given come from the checkpoint (not from the defaults).
      const cfg = (resume ? { ...fromFile, ...given } : { ...DEFAULTS, ...fromFile, ...given }) as TrainRunConfig;
      if (!resume && !cfg.gt) throw new CliError('--gt DIR is required (or --config FILE with "gt", or --resume CHECKPOINT)');
      if (!cfg.out && resume) cfg.out = dirname(resume);
      if (!cfg.out) throw new CliError('--out DIR is required');
      if (cfg.lrSchedule === 'multistep' && !cfg.lrMilestones?.length) throw new CliError('--lr-schedule multistep needs --lr-milestones N,M,...');
      const { step, modelPath } = await runTraining(cfg, resume);
      if (!cfg.quiet) console.error(`done at step ${step}; model: ${modelPath}`);
    });
}
