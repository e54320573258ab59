/**
 * The project's own model file: a `.safetensors` file (PyTorch names and layouts, float32 or
 * float16) whose
 * `__metadata__` carries the network and SDE configs. Bytes in, bytes out: works in browsers and
 * Node alike (no tfjs-node, no tfjs IO handlers needed). Being plain safetensors with PyTorch
 * names, the file also loads in PyTorch (`safetensors.torch.load_file` + `load_state_dict`).
 *
 * Metadata: `format: 'pt'` (what PyTorch tooling expects) and `irsde`: JSON of
 * {@link SavedModelInfo}.
 */
import { readSafetensors, readSafetensorsHeader, readSafetensorsMetadata, writeSafetensors, type SafetensorsHeader } from '../io/safetensors.js';
import { WeightFileError } from '../io/errors.js';
import { createSDE, sdeConfigOf, sdeKindOf, type AnySDEConfig } from '../../sde/factory.js';
import type { DiffusionSDE } from '../../sde/diffusion-sde.js';
import { thetaSchedule, type ScheduleSpec } from '../../sde/schedules.js';
import { checkNetworkConfig, networkParamSpecs, withLocalStatistics, type NetworkConfig } from '../nets/network.js';
import { TfjsNetwork, createNetwork } from '../tfjs/network.js';
import { StateDictMismatchError, type ShapeMismatch } from '../tfjs/state-dict.js';
import { isInpaintFill, type InpaintFill } from '../../data/mask.js';
import { SAMPLER_NAMES, checkEnsembleSize, isSamplerName, type EnsembleSize } from '../../sampling/names.js';

/** Value of {@link SavedModelInfo.format}. */
export const IRSDE_MODEL_FORMAT = 'irsde';
/** Current {@link SavedModelInfo.version}; files of a newer version are refused. */
export const IRSDE_MODEL_VERSION = 1;
/** The `__metadata__` key holding the JSON of {@link SavedModelInfo}. */
export const IRSDE_METADATA_KEY = 'irsde';

/** What a saved model carries besides its weights (JSON in the file's metadata). */
export interface SavedModelInfo {
  /** Always `'irsde'`. */
  readonly format: typeof IRSDE_MODEL_FORMAT;
  /** Format version (currently 1). */
  readonly version: number;
  /** The network's config (its `arch` tells which network: none or `'unet'`, or `'nafnet'`). */
  readonly network: NetworkConfig;
  /** The SDE the network was trained for (user-supplied thetas are stored as a plain array). */
  readonly sde: AnySDEConfig;
  /** The sampling its author recommends (chosen by measurement), used when a caller gives none. */
  readonly sampling?: RecommendedSampling;
  /** What the model restores, when it needs more than "degraded image in, restored image out". */
  readonly task?: ModelTask;
}

/**
 * What a model restores (stored with it; the restoration pipeline reads it). Without `scale` or
 * `inpaint` the input is the degraded image and the output has its size.
 */
export interface ModelTask {
  /** A short name users see (`'deblur'`, `'sr4'`, `'inpaint'`, ...). */
  readonly name: string;
  /**
   * Super-resolution: the input (the small image a user has) is first upscaled by this integer
   * factor with bicubic interpolation as MATLAB's `imresize` computes it; the network restores
   * that, so the output is `scale` times the input's width and height.
   */
  readonly scale?: number;
  /**
   * Inpainting: restoring needs a mask (non-zero = missing). Its pixels are set to `fill` before
   * the network sees the image (as in training), and every pixel outside it is returned unchanged.
   */
  readonly inpaint?: {
    /**
     * What missing pixels become before the network sees the image, as in training: a value (0:
     * black), `'smooth'` (filled from the known pixels, push-pull) or `'harmonic'` (the same,
     * relaxed towards the harmonic interpolation); see `InpaintFill`.
     */
    readonly fill: InpaintFill;
  };
}

/** Checks a {@link ModelTask} (a plain copy; throws RangeError naming the bad field). */
export function checkModelTask(task: ModelTask, where: string): ModelTask {
  if (task === null || typeof task !== 'object' || typeof task.name !== 'string' || task.name.length === 0) {
    throw new RangeError(`${where}: task must be an object { name, scale?, inpaint? } with a non-empty name`);
  }
  if (task.scale !== undefined && !(Number.isInteger(task.scale) && task.scale >= 2 && task.scale <= 16)) {
    throw new RangeError(`${where}: task.scale must be an integer in 2..16, got ${String(task.scale)}`);
  }
  if (task.inpaint !== undefined && !(task.inpaint !== null && typeof task.inpaint === 'object' && isInpaintFill(task.inpaint.fill))) {
    throw new RangeError(`${where}: task.inpaint must be { fill } with a finite fill value, 'smooth' or 'harmonic', got ${JSON.stringify(task.inpaint)}`);
  }
  if (task.scale !== undefined && task.inpaint !== undefined) throw new RangeError(`${where}: a task is either super-resolution (scale) or inpainting, not both`);
  return { name: task.name, ...(task.scale !== undefined ? { scale: task.scale } : {}), ...(task.inpaint !== undefined ? { inpaint: { fill: task.inpaint.fill } } : {}) };
}

/**
 * The {@link ModelTask} a task name stands for: `srN` (e.g. `sr4`) is xN super-resolution,
 * `inpaint` is inpainting with missing pixels filled with `inpaintFill` (default 0; it must be
 * the `inpaint` degradation's `fill` the model was trained with), any other name (`deblur`, `derain`, `denoise`, ...) a plain restoration.
 * @throws RangeError for an empty name or a bad scale.
 */
export function modelTaskFromName(name: string, inpaintFill: InpaintFill = 0): ModelTask {
  const sr = /^sr(\d+)$/.exec(name);
  if (sr) return checkModelTask({ name, scale: Number(sr[1]) }, 'modelTaskFromName');
  if (name === 'inpaint') return checkModelTask({ name, inpaint: { fill: inpaintFill } }, 'modelTaskFromName');
  return checkModelTask({ name }, 'modelTaskFromName');
}

/** What {@link verifyModel} found in a model file. */
export interface VerifiedModel {
  /** The metadata (network, SDE, sampling, task). */
  readonly info: SavedModelInfo;
  /** The safetensors header: every tensor's name, dtype, shape and byte range. */
  readonly header: SafetensorsHeader;
}

/** A sampler setting stored with a model (see {@link SavedModelInfo.sampling}). */
export interface RecommendedSampling {
  /** Sampler name (`'posterior'`, `'sde'`, `'ode'`, `'heun'`, `'ddim'`). */
  readonly sampler: string;
  /** Number of sampling steps, `1..T`. */
  readonly steps: number;
  /** Posterior / DDIM noise in `[0, 1]` (absent: the sampler's default). */
  readonly eta?: number;
  /** Geometric self-ensemble size, 1, 2, 4 or 8 (absent: 1, none; see `RestoreImageOptions.ensemble`). */
  readonly ensemble?: EnsembleSize;
}

/** Options of {@link saveModel}. */
export interface SaveModelOptions {
  /** Stored weight type: `'float32'` (default, bit-exact) or `'float16'` (half the file). */
  readonly dtype?: 'float32' | 'float16';
  /** Recommended sampling, stored in the metadata. */
  readonly sampling?: RecommendedSampling;
  /** What the model restores (see {@link ModelTask}), stored in the metadata. */
  readonly task?: ModelTask;
}

function checkSampling(s: RecommendedSampling, T: number, where: string): RecommendedSampling {
  if (s === null || typeof s !== 'object') throw new RangeError(`${where}: sampling must be an object { sampler, steps, eta?, ensemble? }`);
  if (!isSamplerName(s.sampler)) throw new RangeError(`${where}: sampling.sampler must be one of ${SAMPLER_NAMES.join(', ')}, got ${JSON.stringify(s.sampler)}`);
  if (!Number.isInteger(s.steps) || s.steps < 1 || s.steps > T) throw new RangeError(`${where}: sampling.steps must be an integer in 1..${T}, got ${String(s.steps)}`);
  if (s.eta !== undefined && !(typeof s.eta === 'number' && s.eta >= 0 && s.eta <= 1)) throw new RangeError(`${where}: sampling.eta must be in [0, 1], got ${String(s.eta)}`);
  if (s.ensemble !== undefined) checkEnsembleSize(s.ensemble, `${where}: sampling`);
  return { sampler: s.sampler, steps: s.steps, ...(s.eta !== undefined ? { eta: s.eta } : {}), ...(s.ensemble !== undefined && s.ensemble !== 1 ? { ensemble: s.ensemble } : {}) };
}

/** A model read back by {@link loadModel}. */
export interface LoadedModel {
  /** The network with the file's weights (a `UNet`, a `NAFNet` or a registered custom network); the caller owns it (call `dispose()`). */
  readonly network: TfjsNetwork;
  /** The SDE config stored with it (build the sampler's SDE from this). */
  readonly sdeConfig: AnySDEConfig;
  /** The whole metadata record. */
  readonly info: SavedModelInfo;
}

/** What a caller expects of a model (each field checked when given). */
export interface ModelExpectation {
  /** The SDE that will drive sampling (or its config). */
  readonly sde?: AnySDEConfig | DiffusionSDE<unknown>;
  /** Network config fields that must match (e.g. `{ inChannels: 3 }` for RGB data, `{ arch: 'nafnet' }`). */
  readonly network?: Partial<Record<string, unknown>>;
}

/** Options of {@link loadModel}: test-time settings of the network that are not weights. */
export interface LoadModelOptions {
  /**
   * NAFNet models: the channel attention's local-statistics window in input pixels for this load,
   * in place of the file's `network.localStatistics` (`null` or `0`: the global mean; absent: the
   * file's). See `NAFNetConfig.localStatistics`. The returned network's `config` carries it; `info` stays the file's.
   */
  readonly localStatistics?: number | null;
}

/** Thrown when a model and the SDE or network it is to be used with do not fit together. */
export class ModelCompatibilityError extends Error {
  /** @param message - every mismatch found, with both values. */
  constructor(message: string) {
    super(message);
    this.name = 'ModelCompatibilityError';
  }
}

/** The SDE config as plain JSON data with defaults filled in; validated by building the SDE. */
function plainSdeConfig(sde: AnySDEConfig | DiffusionSDE<unknown>, where: string): AnySDEConfig {
  try {
    // The float32 backend keeps this free of tfjs; construction validates every field, and the
    // SDE's own config is the plain data with defaults filled in.
    return sdeConfigOf(createSDE(sdeConfigOf(sde), 'float32'));
  } catch (e) {
    throw new RangeError(`${where}: invalid SDE config (${(e as Error).message})`);
  }
}

/**
 * Serialises a network and the SDE it was trained with into one file.
 * @param network - the network (not modified).
 * @param sde - the SDE (or its config) that sampling with this network must use.
 * @param options - weight dtype and recommended sampling (see {@link SaveModelOptions}).
 * @returns the file's bytes (a `.safetensors` file), owned by the caller.
 * @throws RangeError for an invalid SDE config or sampling.
 *
 * @example
 * ```ts
 * import { saveModel } from 'irsde';
 * const bytes = saveModel(net, sde, { dtype: 'float16', sampling: { sampler: 'posterior', steps: 3 } });
 * // Node: writeFileSync('model.safetensors', bytes); browsers: modelBlob(net, sde) of 'irsde/advanced'
 * ```
 */
export function saveModel(network: TfjsNetwork, sde: AnySDEConfig | DiffusionSDE<unknown>, options: SaveModelOptions = {}): Uint8Array {
  const sdeConfig = plainSdeConfig(sde, 'saveModel');
  const info: SavedModelInfo = {
    format: IRSDE_MODEL_FORMAT,
    version: IRSDE_MODEL_VERSION,
    network: { ...network.config },
    sde: sdeConfig,
    ...(options.sampling !== undefined ? { sampling: checkSampling(options.sampling, sdeConfig.T, 'saveModel') } : {}),
    ...(options.task !== undefined ? { task: checkModelTask(options.task, 'saveModel') } : {}),
  };
  return writeSafetensors(network.stateDict(), { format: 'pt', [IRSDE_METADATA_KEY]: JSON.stringify(info) }, { dtype: options.dtype ?? 'float32' });
}

/**
 * Reads only the metadata of a model file (cheap: no weights are decoded).
 * @throws WeightFileError when the bytes are not an irsde model file (e.g. plain PyTorch weights:
 *   load those with `readSafetensors` + the network's `loadStateDict`), or of a newer version.
 */
export function readModelInfo(bytes: Uint8Array): SavedModelInfo {
  const meta = readSafetensorsMetadata(bytes);
  const raw = meta[IRSDE_METADATA_KEY];
  if (raw === undefined) {
    throw new WeightFileError(
      `irsde model: the safetensors metadata has no "${IRSDE_METADATA_KEY}" entry, so this is plain weights without configs; load it with readSafetensors() and the network's loadStateDict()`,
    );
  }
  let info: SavedModelInfo;
  try {
    info = JSON.parse(raw) as SavedModelInfo;
  } catch (e) {
    throw new WeightFileError(`irsde model: metadata "${IRSDE_METADATA_KEY}" is not valid JSON (${(e as Error).message})`);
  }
  if (info === null || typeof info !== 'object' || info.format !== IRSDE_MODEL_FORMAT) {
    throw new WeightFileError(`irsde model: metadata format must be "${IRSDE_MODEL_FORMAT}", got ${JSON.stringify((info as { format?: unknown } | null)?.format)}`);
  }
  if (!Number.isInteger(info.version) || info.version < 1 || info.version > IRSDE_MODEL_VERSION) {
    throw new WeightFileError(`irsde model: format version ${String(info.version)} is not supported (this library reads versions 1..${IRSDE_MODEL_VERSION})`);
  }
  try {
    const sde = plainSdeConfig(info.sde, 'irsde model');
    return {
      format: IRSDE_MODEL_FORMAT,
      version: info.version,
      network: checkNetworkConfig(info.network, 'irsde model'),
      sde,
      ...(info.sampling !== undefined ? { sampling: checkSampling(info.sampling, sde.T, 'irsde model') } : {}),
      ...(info.task !== undefined ? { task: checkModelTask(info.task, 'irsde model') } : {}),
    };
  } catch (e) {
    // The checks above already name 'irsde model'; prefix only messages that do not.
    const message = (e as Error).message;
    throw new WeightFileError(message.startsWith('irsde model') ? message : `irsde model: ${message}`, { cause: e });
  }
}

/**
 * Checks a network description against a safetensors header, before any network is built: every
 * parameter the network needs must be in the file with its exact shape, and the file must hold no
 * other tensor. Cheap: it reads the description's parameter table, no weights.
 * @param network - the (checked) network config.
 * @param header - the file's header ({@link readSafetensorsHeader}, which also checks the file's length).
 * @throws StateDictMismatchError whose message is one line: counts of the missing, unexpected and
 *   mis-shaped tensors, the first few named.
 */
export function checkWeightsFitNetwork(network: NetworkConfig, header: SafetensorsHeader): void {
  const specs = networkParamSpecs(network);
  const have = new Map(header.tensors.map((t) => [t.name, t.shape]));
  const known = new Set(specs.map((s) => s.name));
  const missing: string[] = [];
  const mismatched: ShapeMismatch[] = [];
  for (const spec of specs) {
    const shape = have.get(spec.name);
    if (shape === undefined) missing.push(spec.name);
    else if (shape.length !== spec.torchShape.length || shape.some((d, i) => d !== spec.torchShape[i])) {
      mismatched.push({ name: spec.name, expected: spec.torchShape.slice(), found: shape.slice() });
    }
  }
  const unexpected = header.tensors.map((t) => t.name).filter((n) => !known.has(n));
  if (missing.length + mismatched.length + unexpected.length === 0) return;
  const few = (xs: string[]): string => xs.slice(0, 3).join('; ') + (xs.length > 3 ? `; ... (${xs.length - 3} more)` : '');
  const parts: string[] = [];
  if (mismatched.length > 0) parts.push(`${mismatched.length} mis-shaped (${few(mismatched.map((m) => `${m.name} is [${m.found.join(', ')}] in the file, the network needs [${m.expected.join(', ')}]`))})`);
  if (missing.length > 0) parts.push(`${missing.length} missing (${few(missing)})`);
  if (unexpected.length > 0) parts.push(`${unexpected.length} unexpected (${few(unexpected)})`);
  throw new ModelWeightsMismatchError(
    missing,
    unexpected,
    mismatched,
    network,
    `irsde model: the network description ${JSON.stringify(network)} does not fit the file's ${header.tensors.length} tensors (it needs ${specs.length}): ${parts.join(', ')}; the file is corrupt or its metadata was edited`,
  );
}

/** A {@link StateDictMismatchError} found from a model file's header, before any network was built; its message is one line. */
class ModelWeightsMismatchError extends StateDictMismatchError {
  constructor(missing: string[], unexpected: string[], mismatched: ShapeMismatch[], network: NetworkConfig, message: string) {
    super(missing, unexpected, mismatched, network, '', 'irsde model');
    this.message = message;
  }
}

/**
 * Verifies a whole model file without building its network: the metadata ({@link readModelInfo}),
 * the header's tensors against the file's length (a truncated file fails), and the network
 * description against the tensors' names and shapes ({@link checkWeightsFitNetwork}).
 * @param bytes - the file, or only its first bytes (at least the header) when `fileLength` is given.
 * @param fileLength - the whole file's length (default `bytes.length`).
 * @returns the metadata and the header.
 * @throws WeightFileError of one line naming the first problem found; StateDictMismatchError (one
 *   line) when the tensors do not fit the network description.
 */
export function verifyModel(bytes: Uint8Array, fileLength = bytes.length): VerifiedModel {
  const header = readSafetensorsHeader(bytes, fileLength);
  const info = readModelInfo(bytes);
  checkWeightsFitNetwork(info.network, header);
  return { info, header };
}

/**
 * Reads a model file written by {@link saveModel}: builds the network from the stored config and
 * loads the weights strictly (bit-exact round trip).
 * @param bytes - the file's bytes (not retained).
 * @param expect - optional SDE / network fields the caller will use; checked with {@link assertCompatible}.
 * @param options - test-time network settings overriding the file's (see {@link LoadModelOptions}).
 * @returns the network (owned by the caller: `dispose()` it), the SDE config and the metadata.
 * @throws WeightFileError for a non-irsde, truncated or corrupt file; StateDictMismatchError when its
 *   tensors do not fit its network description (checked before the network is built: see
 *   {@link verifyModel}); ModelCompatibilityError for a mismatch with `expect`; RangeError for a
 *   bad `localStatistics` (or one for a network that is not a NAFNet).
 *
 * @example
 * ```ts
 * import { createSDE, loadModel } from 'irsde';
 * const { network, sdeConfig, info } = loadModel(bytes); // info.sampling: the recommended sampling, if any
 * const sde = createSDE(sdeConfig);
 * // network.noiseModelFor(sde) for the samplers; network.dispose() when done
 * ```
 */
export function loadModel(bytes: Uint8Array, expect: ModelExpectation = {}, options: LoadModelOptions = {}): LoadedModel {
  // The description is checked against the tensors (and the file's length) before anything is
  // decoded or built: a corrupt header must not allocate a network it does not hold.
  const { info } = verifyModel(bytes);
  if (expect.sde !== undefined || expect.network !== undefined) assertCompatible(expect.sde ?? info.sde, info, expect.network);
  const config = options.localStatistics === undefined ? info.network : withLocalStatistics(info.network, options.localStatistics, 'loadModel');
  const weights = readSafetensors(bytes);
  const network = createNetwork(config);
  try {
    network.loadStateDict(weights, { strict: true });
  } catch (e) {
    network.dispose();
    throw e;
  }
  return { network, sdeConfig: info.sde, info };
}

function close(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * Refuses to sample with an SDE or network the model was not made for.
 *
 * The SDE must agree on `T`, `maxSigma`, `eps` and the schedule (compared as theta tables, so
 * `'cosine'` and `{ type: 'cosine', s: 0.008 }` are the same); each given `network` field must
 * equal the model's.
 * @param sde - the SDE (or its config) about to drive sampling.
 * @param model - the model's metadata (`loadModel(...).info`), or `{ network, sde }`.
 * @param network - optional expected network fields, or a network whose config must match.
 * @throws ModelCompatibilityError listing every mismatch with both values.
 */
export function assertCompatible(
  sde: AnySDEConfig | DiffusionSDE<unknown>,
  model: { readonly network: NetworkConfig; readonly sde: AnySDEConfig },
  network?: Partial<Record<string, unknown>> | TfjsNetwork,
): void {
  const want = plainSdeConfig(sde, 'assertCompatible');
  const have = plainSdeConfig(model.sde, 'assertCompatible (model)');
  const problems: string[] = [];
  const className = { 'mean-reverting': 'a MeanRevertingSDE', denoising: 'a DenoisingSDE' } as const;
  const [kw, kh] = [sdeKindOf(want), sdeKindOf(have)];
  if (kw !== kh) problems.push(`SDE: the model was trained with ${className[kh]}, the SDE is ${className[kw]}`);
  if (want.T !== have.T) problems.push(`T: the model was trained with T = ${have.T}, the SDE has T = ${want.T}`);
  if (!close(want.maxSigma, have.maxSigma)) problems.push(`maxSigma: the model was trained with ${have.maxSigma}, the SDE has ${want.maxSigma}`);
  if (!close(want.eps as number, have.eps as number)) problems.push(`eps: the model was trained with ${have.eps}, the SDE has ${want.eps}`);
  if (want.T === have.T) {
    const a = thetaSchedule(want.schedule as ScheduleSpec, want.T);
    const b = thetaSchedule(have.schedule as ScheduleSpec, have.T);
    if (!a.every((v, i) => close(v, b[i]))) {
      problems.push(`schedule: the model was trained with ${JSON.stringify(have.schedule)}, the SDE has ${JSON.stringify(want.schedule)}`);
    }
  }
  const expected: Partial<Record<string, unknown>> | undefined = network instanceof TfjsNetwork ? { ...network.config } : network;
  if (expected !== undefined) {
    const have = { arch: 'unet', conditional: true, prediction: 'noise', ...model.network } as Record<string, unknown>;
    for (const [key, v] of Object.entries(expected)) {
      if (v !== undefined && JSON.stringify(v) !== JSON.stringify(have[key])) problems.push(`network ${key}: the model has ${JSON.stringify(have[key])}, expected ${JSON.stringify(v)}`);
    }
  }
  if (problems.length > 0) {
    throw new ModelCompatibilityError(`the model does not fit the requested set-up; refusing to sample:\n  ${problems.join('\n  ')}`);
  }
}
