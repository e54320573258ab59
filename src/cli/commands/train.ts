// `irsde train`: the flags and `--config` file of a training run, and its progress lines. The run
// itself is the library's runTraining (src/train-run).
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import type { StepRecord } from '../../train/trainer.js';
import { NETWORK_PREDICTIONS } from '../../nn/nets/common.js';
import { defaultObjective, OBJECTIVES } from '../../loss/objective.js';
import { DEFAULT_NOISE_LEVELS, TRAIN_RUN_DEFAULTS, TrainingRunError, type TrainRunConfig } from '../../train-run/config.js';
import { runTraining, type RunTrainingOptions, type TrainingValidation } from '../../train-run/run.js';
import { CliError, choiceOption, intOption, numberOption } from '../errors.js';
import { isFile } from '../shared.js';

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
  'decBlocks', 'sde', 'noiseLevels', 'timesteps', 'defocus', 'contrast', 'dataNoise', 'initWeights', 'maskChannel', 'maskLossWeight', 'quiet',
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
 * The progress lines of a run on stderr (nothing when the run's config says `quiet`): every 10
 * steps and at the last one, the running mean of the loss, the learning rate, the step time,
 * steps per second since the last line (wall clock: checkpoints and validation included) and the
 * time left at that rate; after each validation, the PSNR and SSIM against the inputs'.
 */
function progressPrinter(): Pick<RunTrainingOptions, 'onStart' | 'onStep' | 'onValidate'> {
  let quiet = false;
  let steps = 0;
  let recent = 0;
  let recentN = 0;
  let lastLine = { at: performance.now(), step: 0 };
  return {
    onStart: (start) => {
      quiet = start.config.quiet === true;
      steps = start.config.steps;
      lastLine = { at: performance.now(), step: start.step };
      if (start.warmStart && !quiet) console.error(start.warmStart);
    },
    onStep: (r: StepRecord) => {
      recent += r.loss;
      recentN++;
      if (!quiet && (r.step % 10 === 0 || r.step === steps)) {
        const now = performance.now();
        const rate = (r.step - lastLine.step) / ((now - lastLine.at) / 1000);
        lastLine = { at: now, step: r.step };
        console.error(`step ${r.step}/${steps}  loss ${(recent / recentN).toExponential(3)}  lr ${r.lr.toExponential(2)}  ${r.ms.toFixed(0)} ms/step  ${rate.toFixed(2)} steps/s  ${formatDuration((steps - r.step) / rate)} left`);
        recent = 0;
        recentN = 0;
      }
    },
    onValidate: ({ step, metrics: m, labels, sampling }: TrainingValidation) => {
      if (quiet) return;
      const gain = (a: number, b: number) => `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(2)}`;
      const each = labels.length > 1 ? ` (${labels.map((l) => `${l} ${m[`psnr:${l}`].toFixed(2)} from ${m[`inputPsnr:${l}`].toFixed(2)}`).join(', ')})` : '';
      const how = sampling ? `; ${sampling.sampler}${sampling.steps !== undefined ? `, ${sampling.steps} step${sampling.steps === 1 ? '' : 's'}` : ''}` : '';
      console.error(`validation at step ${step}: PSNR ${m.psnr.toFixed(2)} dB (input ${m.inputPsnr.toFixed(2)}, ${gain(m.psnr, m.inputPsnr)} dB), SSIM ${m.ssim.toFixed(4)} (input ${m.inputSsim.toFixed(4)})${each}${how}`);
    },
  };
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
  const cfg = (resume ? { ...fromFile, ...given } : { ...TRAIN_RUN_DEFAULTS, ...fromFile, ...given }) as TrainRunConfig;
  if (!resume && !cfg.gt) throw new CliError('--gt DIR is required (or --config FILE with "gt", or --resume CHECKPOINT)');
  if (!cfg.out && resume) cfg.out = dirname(resume);
  if (!cfg.out) throw new CliError('--out DIR is required');
  if (cfg.lrSchedule === 'multistep' && !cfg.lrMilestones?.length) throw new CliError('--lr-schedule multistep needs --lr-milestones N,M,...');
  return { cfg, ...(resume !== undefined ? { resume } : {}) };
}

/** Commander's collector for a repeatable folder flag: one value stays a string, more make a list. */
function repeatable(value: string, previous: string | string[] | undefined): string | string[] {
  return previous === undefined ? value : [...[previous].flat(), value];
}

/** ` (default: V)` for a help text (lists joined by commas). */
function def(v: unknown): string {
  return ` (default: ${Array.isArray(v) ? v.join(',') : String(v)})`;
}

/** `irsde train`: trains a UNet or NAFNet on a folder of images. */
export function registerTrain(program: Command): void {
  program
    .command('train')
    .description(`train a restoration network, UNet or NAFNet (by default a ${TRAIN_RUN_DEFAULTS.prediction} U-Net with the ${defaultObjective(TRAIN_RUN_DEFAULTS.prediction)} objective)`)
    .option('-c, --config <file>', "JSON file with any of the options below as camelCase keys (--max-sigma is maxSigma255, --no-ema is \"ema\": false; unknown keys are an error); flags override it (default: none)")
    .option('--gt <dir>', 'folder of clean (ground-truth) images, repeatable: several folders train together (required unless --resume)', repeatable)
    .option('--lq <dir>', 'folder of degraded images with the same file names (paired data; default: none, give --degradation)')
    .option('--degradation <spec>', 'synthetic degradation of --gt images: noise:SIGMA255 (noise:MIN:MAX: a random sigma per crop; add :clip to clamp to [0, 1]), camera[:QUALITY] (camera-like noise), rain, blur:SIGMA, motion[:LEN], sr4, inpaint[:FRAC] or JSON (default: none, give --lq; with --sde denoising validation uses noise:25)')
    .option('--val-count <n>', `hold out the last N images (by name) for validation${def(TRAIN_RUN_DEFAULTS.valCount)}`, intOption('--val-count', 0))
    .option('--val-names <list>', 'hold out these comma-separated image names (file names without extension) for validation (instead of --val-count; default: none)', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .option('--val-gt <dir>', 'a separate folder of clean validation images, repeatable (instead of --val-count / --val-names; default: none)', repeatable)
    .option('--val-lq <dir>', 'with --lq and --val-gt: the degraded validation images (default: none)')
    .option('--val-degradation <spec>', 'synthetic data: validate under this degradation instead of the training one (repeat for several, e.g. noise:15:clip --val-degradation noise:50:clip; logs psnr:<spec> each and their mean; default: the training degradation)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--channels <n>', `3 (RGB) or 1 (grey)${def(TRAIN_RUN_DEFAULTS.channels)}`, intOption('--channels', 1, 3))
    .option('--grey-fraction <x>', 'RGB training: fraction of colour crops turned grey (with grey noise) so the model learns grey photos too (default: 0)', numberOption('--grey-fraction', 0, 1))
    .option('--defocus <p:min:max>', 'synthetic data: defocus this share P of training crops by a Gaussian blur of sigma MIN..MAX px, the blurred crop being the clean target, so smooth content stays smooth (P:SIGMA for one sigma) (default: none)')
    .option('--contrast <p:min:max>', 'synthetic data: lower the contrast of this share P of training crops to a factor MIN..MAX in (0, 1] (x -> offset + factor * x, kept in [0, 1]), the result being the clean target, so faint structure is learnt under full-strength noise (P:FACTOR for one factor) (default: none)')
    .option('--data-noise <level>', 'with --sde denoising: learn the noise of --degradation (e.g. camera noise, a one-of mix) instead of Gaussian --noise-levels; each crop\'s timestep from its estimated level (as blind restore starts) or its rms one: estimated or rms (default: off)', choiceOption('--data-noise', ['estimated', 'rms'] as const))
    .option('--init-weights <model>', 'warm start: a new run starts from this model file\'s weights (same network), e.g. models/denoise-blind.safetensors; optimiser and EMA start afresh; ignored with --resume (default: none, random weights)')
    .option('--arch <name>', 'network: unet (--nf, --depth) or nafnet (--width, --enc-blocks, --middle-blocks, --dec-blocks) (default: unet)', choiceOption('--arch', ['unet', 'nafnet'] as const))
    .option('--nf <n>', 'unet: base channel width (default: 16)', intOption('--nf', 2))
    .option('--depth <n>', 'unet: levels (default: 3)', intOption('--depth', 1, 8))
    .option('--width <n>', 'nafnet: channels of the first level (default: 16)', intOption('--width', 2))
    .option('--enc-blocks <list>', 'nafnet: comma-separated NAFBlocks per encoder level (default: 1,1,1,1)', (v: string) => v.split(',').map((s) => intOption('--enc-blocks', 0)(s)))
    .option('--middle-blocks <n>', 'nafnet: NAFBlocks in the middle (default: 1)', intOption('--middle-blocks', 0))
    .option('--dec-blocks <list>', 'nafnet: comma-separated NAFBlocks per decoder level (default: 1,1,1,1)', (v: string) => v.split(',').map((s) => intOption('--dec-blocks', 0)(s)))
    .option('--mask-channel', 'inpainting: give the network the mask as an extra input channel (needs an inpaint --degradation; the model file records the task inpaint, so restore takes --mask; --init-weights may name an unmasked model of the same sizes) (default: off)')
    .option('--mask-loss-weight <w>', 'inpainting: loss weight of the missing pixels relative to 1 for the known ones (needs an inpaint --degradation) (default: 1)', numberOption('--mask-loss-weight', 0))
    .option('--prediction <kind>', `what the network predicts: residual (x0 - mu; converges fast, suits few-step sampling) or noise (the reference's)${def(TRAIN_RUN_DEFAULTS.prediction)}`, choiceOption('--prediction', NETWORK_PREDICTIONS))
    .option('--objective <name>', `training loss: ml (maximum likelihood), noise (noise matching) or x0 (clean-image matching) (default: ${defaultObjective(TRAIN_RUN_DEFAULTS.prediction)}; with --prediction noise: ${defaultObjective('noise')})`, choiceOption('--objective', OBJECTIVES))
    .option('--norm <name>', `loss norm: l1 or l2${def(TRAIN_RUN_DEFAULTS.norm ?? 'l1')}`, choiceOption('--norm', ['l1', 'l2'] as const))
    .option('--sde <kind>', "ir (IR-SDE: a conditional network learns the --degradation / --lq pairs) or denoising (the reference's DenoisingSDE: an unconditional network learns Gaussian noise of every level in --noise-levels) (default: ir)", choiceOption('--sde', ['ir', 'denoising'] as const))
    .option('--noise-levels <min:max>', `with --sde denoising: noise levels to learn, 0-255 scale (MAX sets --max-sigma); MIN:MAX:clip clips the noisy training images to [0, 1] as 8-bit photos are${def(DEFAULT_NOISE_LEVELS)}`)
    .option('--timesteps <min:max>', 'IR-SDE: draw the training timesteps from MIN..MAX only (e.g. 60:100 for a model sampled in one posterior step from T) (default: 1:T, the reference\'s)')
    .option('--T <n>', `diffusion steps T${def(TRAIN_RUN_DEFAULTS.T)}`, intOption('--T', 1))
    .option('--max-sigma <x>', 'stationary noise lambda on the 0-255 scale (paper: 10 or 50) (default: 10; with --sde denoising the MAX of --noise-levels)', numberOption('--max-sigma', 0))
    .option('--schedule <name>', `theta schedule: cosine, linear or constant${def(TRAIN_RUN_DEFAULTS.schedule)}`)
    .option('--eps <x>', 'terminal mean gap eps in (0, 1) (default: 0.005; with --sde denoising the internal eps, 0.04)', numberOption('--eps', 0, 1))
    .option('--steps <n>', `total optimiser steps${def(TRAIN_RUN_DEFAULTS.steps)}`, intOption('--steps', 0))
    .option('--batch <n>', `crops per step${def(TRAIN_RUN_DEFAULTS.batch)}`, intOption('--batch', 1))
    .option('--patch <px>', `crop side${def(TRAIN_RUN_DEFAULTS.patch)}`, intOption('--patch', 8))
    .option('--lr <x>', `learning rate (Adam, betas 0.9/0.99)${def(TRAIN_RUN_DEFAULTS.lr)}`, numberOption('--lr', 0))
    .option('--lr-milestones <list>', 'comma-separated steps at which the LR halves (default: none)', (v: string) => v.split(',').map((s) => intOption('--lr-milestones', 0)(s)))
    .option('--lr-schedule <name>', "constant, multistep (with --lr-milestones) or cosine (anneals to 1e-7 over --steps) (default: constant; multistep when --lr-milestones are given)", (v: string) => {
      if (v !== 'constant' && v !== 'multistep' && v !== 'cosine') throw new CliError(`--lr-schedule must be constant, multistep or cosine, got '${v}'`);
      return v;
    })
    .option('--clip <x>', 'clip the gradient norm to this value (default: no clipping)', numberOption('--clip', 0))
    .option('--no-ema', 'evaluate / export the live weights instead of their EMA (default: the EMA)')
    .option('--seed <n>', `random seed${def(TRAIN_RUN_DEFAULTS.seed)}`, intOption('--seed', 0))
    .option('-o, --out <dir>', 'output folder: checkpoint.safetensors, model.safetensors, log.jsonl, config.json (required; default with --resume: the checkpoint\'s folder)')
    .option('--checkpoint-every <n>', `steps between checkpoints${def(TRAIN_RUN_DEFAULTS.checkpointEvery)}`, intOption('--checkpoint-every', 1))
    .option('--val-every <n>', `steps between validations (0 = never)${def(TRAIN_RUN_DEFAULTS.valEvery)}`, intOption('--val-every', 0))
    .option('--val-steps <n>', `sampling steps used in validation${def(TRAIN_RUN_DEFAULTS.valSteps)}`, intOption('--val-steps', 1))
    .option('--val-sampler <name>', 'sampler used in validation (default: posterior; ode with --sde denoising)')
    .option('--val-crop <px>', `centre crop of validation images${def(TRAIN_RUN_DEFAULTS.valCrop)}`, intOption('--val-crop', 8))
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
      let result;
      try {
        result = await runTraining(cfg, { ...(resume !== undefined ? { resume } : {}), ...progressPrinter() });
      } catch (e) {
        // The run's refusals are for the user: one line, like the flags' own.
        throw e instanceof TrainingRunError ? new CliError(e.message) : e;
      }
      if (result.stoppedEarly && !cfg.quiet) console.error(`interrupted: checkpoint written at step ${result.step}; continue with --resume ${result.checkpointPath}`);
      if (!cfg.quiet) console.error(`done at step ${result.step}; model: ${result.modelPath}`);
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
