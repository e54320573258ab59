/**
 * A training run in a folder (the library behind `irsde train`): resume from a checkpoint, build
 * the data, the SDE and the network, choose the timesteps and where gradients are computed,
 * train with a JSON-lines log, atomic checkpoints and model files, validation, and a clean stop
 * on Ctrl-C.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { createSDE, sdeConfigOf } from '../sde/factory.js';
import { isDenoisingSDE } from '../sde/kinds.js';
import { createNetwork } from '../nn/tfjs/network.js';
import { saveModel } from '../nn/model/model-format.js';
import { paddedSize } from '../nn/nets/network.js';
import { loadNodeOrt } from '../nn/onnx/node.js';
import { selectBackend } from '../engine/backend.js';
import { Trainer, type StepRecord, type TrainerConfig, type TrainerState } from '../train/trainer.js';
import { decodeTrainerState, encodeTrainerState } from '../train/checkpoint.js';
import { WorkerGradientPool } from '../train/parallel/pool.js';
import { createOrtGradients } from '../train/ort-gradients.js';
import { writeFileAtomic } from '../io/atomic.js';
import { isFile } from '../io/paths.js';
import {
  DENOISING_DEGRADATION,
  gradientsOf,
  networkOf,
  noiseLevelsOf,
  parseTimesteps,
  resolveTrainConfig,
  sdeConfigOfRun,
  taskOfRun,
  trainerConfigOf,
  TrainingRunError,
  type TrainRunConfig,
} from './config.js';
import { buildRunData } from './data.js';
import { loadInto, runValidation, type ValidationSampling } from './validation.js';
import { warmStart } from './warm-start.js';

/** How a run starts (given to {@link RunTrainingOptions.onStart} once everything is built). */
export interface TrainingRunStart {
  /** The run's configuration as it runs (a resumed run's from its checkpoint, defaults filled in). */
  readonly config: TrainRunConfig;
  /** The step the run starts at (0, or the checkpoint's). */
  readonly step: number;
  /** The tfjs backend that was started. */
  readonly engine: string;
  /** Where gradients are computed. */
  readonly gradients: 'tfjs' | 'ort';
  /** Training images. */
  readonly images: number;
  /** How the warm start adapted the weights it took (e.g. the mask channel's zero-initialised input weights), when it did. */
  readonly warmStart?: string;
}

/** One validation of a run (given to {@link RunTrainingOptions.onValidate}). */
export interface TrainingValidation {
  /** The step after which it ran. */
  readonly step: number;
  /**
   * `psnr`, `ssim` and the degraded inputs' `inputPsnr`, `inputSsim` (means over the validation
   * sets), and with several sets each one's under `psnr:<label>`, `ssim:<label>`, ...
   */
  readonly metrics: Readonly<Record<string, number>>;
  /** The labels of the validation sets (`['']` for the training degradation alone). */
  readonly labels: readonly string[];
  /** The sampling the last set used. */
  readonly sampling?: ValidationSampling;
}

/** Options of {@link runTraining} besides the run's configuration. */
export interface RunTrainingOptions {
  /**
   * A checkpoint (`checkpoint.safetensors` of an earlier run) to continue from exactly: its data,
   * network and SDE settings win; `steps` (the new end), `workers`, `gradients`, `conv3x3`,
   * `engine`, `quiet` and `out` may change.
   */
  readonly resume?: string;
  /** Aborting stops the run after the current step, with a checkpoint written. */
  readonly signal?: AbortSignal;
  /** Also stop that way on SIGINT (Ctrl-C) and SIGTERM (default true; the handlers are removed at the end). */
  readonly stopOnSignals?: boolean;
  /** Called once the data, SDE, network and gradient engine are built, before the first step. */
  readonly onStart?: (start: TrainingRunStart) => void | Promise<void>;
  /** Called after every step (the record is also in `log.jsonl`). */
  readonly onStep?: (record: StepRecord) => void | Promise<void>;
  /** Called after every validation (also in `log.jsonl`). */
  readonly onValidate?: (validation: TrainingValidation) => void | Promise<void>;
}

/** What {@link runTraining} returns. */
export interface TrainingRunResult {
  /** The step the run stopped at. */
  readonly step: number;
  /** The model file written (`<out>/model.safetensors`: the evaluation weights, network and SDE). */
  readonly modelPath: string;
  /** The checkpoint written (`<out>/checkpoint.safetensors`; give it to `resume`). */
  readonly checkpointPath: string;
  /** True when the signal (or SIGINT / SIGTERM) stopped the run before `steps`. */
  readonly stoppedEarly: boolean;
}

/** Starts the requested tfjs backend ('auto': the fastest installed) and returns its name. */
async function startEngine(engine: string | undefined): Promise<string> {
  try {
    return await selectBackend((engine ?? 'auto') as 'auto');
  } catch (e) {
    throw new TrainingRunError(`cannot start engine '${engine}': ${(e as Error).message}`);
  }
}

/**
 * Runs a training job in the folder `config.out`: writes `config.json` (the resolved
 * configuration, see {@link resolveTrainConfig}), appends every step, validation and checkpoint
 * to `log.jsonl`, and writes `checkpoint.safetensors` and `model.safetensors` atomically every
 * `checkpointEvery` steps and at the end. Gradients are computed in-process, on `workers` tfjs
 * threads or on ONNX Runtime (`gradients`, by default ONNX Runtime when onnxruntime-node is
 * installed). A DenoisingSDE run trains on the timesteps of its `noiseLevels`. `config` is not
 * modified. Start a new run from {@link TRAIN_RUN_DEFAULTS}:
 *
 * ```ts
 * const { modelPath } = await runTraining({ ...TRAIN_RUN_DEFAULTS, gt: 'photos', out: 'runs/denoise', degradation: 'noise:25' });
 * ```
 * @throws TrainingRunError for settings or data the run refuses (before the first step).
 */
export async function runTraining(config: TrainRunConfig, options: RunTrainingOptions = {}): Promise<TrainingRunResult> {
  const { resume } = options;
  const cfg: TrainRunConfig = { ...config };
  const engine = await startEngine(cfg.engine);
  // Records are appended in order. A step's record is written behind the steps that follow (not
  // awaited: waiting for the file write left the cores idle ~6 ms a step); every other record, and
  // the run's end, wait for all before them. A failed write surfaces at the next wait.
  let written: Promise<void> = Promise.resolve();
  const log = (rec: object): Promise<void> => {
    const line = JSON.stringify({ time: new Date().toISOString(), ...rec }) + '\n';
    written = written.then(() => appendFile(join(cfg.out, 'log.jsonl'), line));
    written.catch(() => undefined); // handled here; the error itself reaches the next `await written`
    return written;
  };
  let state: TrainerState | undefined;
  if (resume !== undefined) {
    if (!(await isFile(resume))) throw new TrainingRunError(`--resume: checkpoint not found: '${resume}'`);
    const decoded = decodeTrainerState(new Uint8Array(await readFile(resume)));
    state = decoded.state;
    // The checkpoint's run config wins (same data, network, SDE); how and how long to run may change.
    const run = decoded.extra.run as Partial<TrainRunConfig>;
    Object.assign(cfg, run, { steps: cfg.steps ?? run.steps, out: cfg.out, engine: cfg.engine, quiet: cfg.quiet, workers: cfg.workers ?? run.workers, gradients: cfg.gradients ?? run.gradients, conv3x3: cfg.conv3x3 ?? run.conv3x3 });
  }
  await mkdir(cfg.out, { recursive: true });
  // A DenoisingSDE trains on the clean images alone; its validation images get sigma-25 noise
  // unless `degradation` says otherwise (and the level is given to the restorer when known).
  if (cfg.sde === 'denoising' && cfg.lq === undefined && cfg.degradation === undefined) cfg.degradation = DENOISING_DEGRADATION;
  const { train, val } = await buildRunData(cfg);
  let sde;
  try {
    sde = createSDE<tf.Tensor>(sdeConfigOfRun(cfg));
  } catch (e) {
    throw e instanceof TrainingRunError ? e : new TrainingRunError(`invalid SDE settings: ${(e as Error).message}`);
  }
  // A DenoisingSDE learns the timesteps of the requested noise levels (the reference draws 1..T).
  let timesteps: [number, number] | undefined;
  // SDE-family branch kept: a DenoisingSDE run's timesteps come from its noise levels (an SDE option of that family).
  if (isDenoisingSDE(sde)) {
    const [lo, hi] = noiseLevelsOf(cfg);
    if (hi / 255 > sde.maxSigma * (1 + 1e-12)) throw new TrainingRunError(`--noise-levels ${cfg.noiseLevels}: the highest level exceeds the SDE's --max-sigma ${(sde.maxSigma * 255).toFixed(1)}`);
    timesteps = [Math.max(1, sde.optimalTimestep(lo / 255)), Math.max(1, sde.optimalTimestep(Math.min(hi / 255, sde.maxSigma)))];
    if (cfg.timesteps !== undefined) throw new TrainingRunError('--timesteps is an IR-SDE option; a DenoisingSDE run takes its timesteps from --noise-levels');
  } else if (cfg.timesteps !== undefined) {
    timesteps = parseTimesteps(cfg.timesteps, sde.T);
  }
  const network = networkOf(cfg);
  // The model file's task (inpaint with the training fill for a run with the mask channel).
  const task = taskOfRun(cfg);
  const net = createNetwork(network, { seed: cfg.seed });
  // Warm start: a new run takes a model file's weights (a resumed one has its checkpoint's).
  let warmNote: string | undefined;
  try {
    if (cfg.initWeights !== undefined && state === undefined) warmNote = await warmStart(net, cfg.initWeights, network);
  } catch (e) {
    net.dispose();
    throw e;
  }
  const evalNet = createNetwork(network, { trainable: false });
  // Workers each run their own wasm backend and average gradients every step (same result as one).
  // Or ONNX Runtime runs the forward and backward pass on every core (same gradients).
  // Default: ONNX Runtime on every core when onnxruntime-node is installed (and no `workers`).
  const gradients = gradientsOf(cfg);
  if (gradients === 'ort' && cfg.workers) throw new TrainingRunError('--gradients ort uses every core itself; drop --workers (or use --gradients tfjs)');
  const multiple = paddedSize(network, 1, 1).multiple;
  const what = network.arch === 'nafnet' ? `2^levels = ${multiple}` : `2^depth = ${multiple}`;
  if (gradients === 'ort' && cfg.patch % multiple !== 0) throw new TrainingRunError(`--gradients ort needs --patch to be a multiple of ${what}, got ${cfg.patch} (or use --gradients tfjs)`);
  if (cfg.conv3x3 !== undefined && cfg.conv3x3 !== 'direct' && cfg.conv3x3 !== 'winograd') throw new TrainingRunError(`conv3x3 must be 'direct' or 'winograd', got '${String(cfg.conv3x3)}'`);
  const pool = gradients === 'ort' ? createOrtGradients({ ort: ortOrFail('--gradients ort'), threads: availableParallelism(), ...(cfg.conv3x3 ? { conv3x3: cfg.conv3x3 } : {}) }) : cfg.workers ? new WorkerGradientPool({ workers: cfg.workers }) : undefined;
  // A checkpoint written before the objective was recorded in it trained with the then default, 'ml'.
  const trainerConfig: TrainerConfig = state ? { objective: 'ml', ...state.config } : trainerConfigOf(cfg, timesteps);
  // The run config names the objective too (config.json, the checkpoint's run).
  cfg.objective ??= trainerConfig.objective;
  const trainer = new Trainer({ sde, model: net, data: train, config: trainerConfig, ...(pool ? { gradients: pool } : {}) });
  if (state) trainer.setState(state);
  // The whole resolved configuration (enough to re-run with it as a config file), with the backend started.
  await writeFileAtomic(join(cfg.out, 'config.json'), JSON.stringify({ ...resolveTrainConfig(cfg), engine }, null, 2) + '\n');
  await log({ event: resume ? 'resume' : 'start', step: trainer.step, engine, gradients, ...(gradients === 'ort' ? { conv3x3: cfg.conv3x3 ?? 'winograd' } : {}), optimiserState: trainer.stateStorage, network, sde: sdeConfigOf(sde), ...(timesteps ? { timesteps } : {}), ...(trainer.config.clipState ? { clipState: true } : {}), images: train.size, validation: val[0]?.data.size ?? 0, ...(warmNote ? { warmStart: warmNote } : {}), ...(val.length > 1 ? { validationDegradations: val.map((v) => v.label) } : {}) });

  const modelPath = join(cfg.out, 'model.safetensors');
  const checkpointPath = join(cfg.out, 'checkpoint.safetensors');
  const saveAll = async (st: TrainerState) => {
    // Each file is written atomically (temporary file, fsync, rename): a kill leaves the old file or the whole new one.
    await writeFileAtomic(checkpointPath, encodeTrainerState(st, { run: cfg, network }));
    loadInto(evalNet, trainer.evalWeights());
    await writeFileAtomic(modelPath, saveModel(evalNet, sde, task ? { task } : {}));
    await log({ event: 'checkpoint', step: st.step });
  };
  // Ctrl-C (or the caller's signal): finish the current step, write a checkpoint, then return.
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  const stopOnSignals = options.stopOnSignals ?? true;
  if (options.signal?.aborted) abort.abort();
  options.signal?.addEventListener('abort', onSignal, { once: true });
  if (stopOnSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  // The sampling the last validation used (logged with its scores).
  let valUsed: ValidationSampling | undefined;
  try {
    await options.onStart?.({ config: { ...cfg }, step: trainer.step, engine, gradients, images: train.size, ...(warmNote ? { warmStart: warmNote } : {}) });
    const { stoppedEarly } = await trainer.fit({
      steps: cfg.steps,
      signal: abort.signal,
      checkpointEvery: cfg.checkpointEvery,
      onCheckpoint: saveAll,
      onStep: async (r) => {
        void log({ event: 'step', ...r });
        await options.onStep?.(r);
      },
      ...(val.length > 0 && cfg.valEvery > 0
        ? {
            validateEvery: cfg.valEvery,
            validate: runValidation(cfg, val, evalNet, gradients, (used) => {
              valUsed = used;
            }),
            onValidate: async (step: number, m: Record<string, number>) => {
              await log({ event: 'validation', step, ...m, ...valUsed });
              await options.onValidate?.({ step, metrics: m, labels: val.map((v) => v.label), ...(valUsed ? { sampling: valUsed } : {}) });
            },
          }
        : {}),
    });
    await written;
    return { step: trainer.step, modelPath, checkpointPath, stoppedEarly };
  } finally {
    await written.catch(() => undefined);
    options.signal?.removeEventListener('abort', onSignal);
    if (stopOnSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    trainer.dispose();
    await pool?.dispose();
    net.dispose();
    evalNet.dispose();
  }
}

/** The ONNX Runtime module for `what`, or a TrainingRunError naming the missing package. */
function ortOrFail(what: string) {
  try {
    return loadNodeOrt();
  } catch (e) {
    throw new TrainingRunError(`${what}: ${(e as Error).message}`);
  }
}
