import { stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Command } from 'commander';
import { SAMPLER_NAMES, defaultSamplerFor, isSamplerName, type SamplerName } from '../../sampling/names.js';
import { listImageFiles } from '../../io/folder.js';
import { assertWritableFolder } from '../../io/atomic.js';
import { DEFAULT_MAX_PIXELS, imageFormatOfPath, readImage, writeImage } from '../../io/images.js';
import { loadRestorerFile, type NodeEngineName } from '../../io/restorer-files.js';
import { DEFAULT_RESTORE_STEPS, type Restorer } from '../../pipeline/restorer.js';
import { deblurImage, type DeblurResult } from '../../pipeline/deblur.js';
import type { RestoredImage } from '../../pipeline/types.js';
import type { FloatImage } from '../../image/image.js';
import { isDenoisingSDE } from '../../sde/kinds.js';
import type { EnsembleSize } from '../../sampling/names.js';
import { CliError, choiceOption, ensembleOption, intOption, localStatsOption, numberOption } from '../errors.js';
import { makeProgress } from '../progress.js';
import { isDir, modelPathOrFail, readableFileOrFail } from '../shared.js';
import { SHIPPED_TASKS, SHIPPED_TASK_DESCRIPTIONS, type ShippedTask } from '../../io/shipped-model.js';

interface RestoreFlags {
  weights?: string;
  task?: ShippedTask | true;
  sampler?: string;
  steps?: number;
  seed: number;
  tile?: number;
  overlap?: number;
  eta?: number;
  engine?: string;
  conv3x3: 'direct' | 'winograd';
  noiseLevel?: number;
  rtol?: number;
  atol?: number;
  quiet?: boolean;
  overwrite?: boolean;
  maxPixels: number;
  bitDepth?: '8' | '16';
  mask?: string;
  samples?: number;
  ensemble?: EnsembleSize;
  /** Window side in pixels; 0: off. */
  localStats?: number;
  /** `--no-deconvolve`: false (with --task deblur, the network's output alone). */
  deconvolve: boolean;
}

/** The file's identity (device and inode, after symlinks), or null when it does not exist. */
async function identity(path: string): Promise<string | null> {
  try {
    const s = await stat(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return null;
  }
}

/** `dir/stem.ext` -> `dir/stem<suffix>.ext`. */
function withSuffix(path: string, suffix: string): string {
  const ext = extname(path);
  return join(dirname(path), `${basename(path, ext)}${suffix}${ext}`);
}

/** With `--samples`: each restoration (`-sample1`...) and the uncertainty map (`-std`), beside the output. */
function extraOutputs(out: RestoredImage | DeblurResult): Array<[string, FloatImage]> {
  if ('method' in out || out.samples === undefined || out.uncertainty === undefined) return [];
  return [...out.samples.map((im, j): [string, FloatImage] => [`-sample${j + 1}`, im]), ['-std', out.uncertainty]];
}

/** `irsde restore <input> <output>`: restores one image file, or every image of a folder. */
export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description('restore an image (or every image of a folder) with a trained model')
    .argument('[input]', 'degraded image file (.png/.jpg), or a folder of them')
    .argument('[output]', 'output image file, or a folder (created; file names kept) when <input> is a folder')
    .option('-w, --weights <file>', 'irsde model file (.safetensors from `irsde train`); default: the shipped model of --task')
    .option('-t, --task [name]', `which model of irsde's models/ folder restores the input: ${SHIPPED_TASKS.join(' or ')} (default denoise, the one in the npm package; instead of --weights); --task alone lists them`, choiceOption('--task', SHIPPED_TASKS))
    .option('-s, --sampler <name>', `sampler: ${SAMPLER_NAMES.join(', ')} (default: the model's recommended one, else ${defaultSamplerFor('mean-reverting')}; ${defaultSamplerFor('denoising')} for a DenoisingSDE model)`)
    .option('-n, --steps <n>', "number of sampling steps (default: the model's recommended count, else 10)", intOption('--steps', 1))
    .option('--seed <n>', 'random seed (same seed, same output)', intOption('--seed', 0), 0)
    .option('--tile <px>', 'restore in overlapping tiles of this size (bounds memory on big images; default 512, 256 for a depth-3 network with full attention)', intOption('--tile', 8))
    .option('--overlap <px>', 'tile overlap in pixels (default 32, tile/4 for tiles under 128)', intOption('--overlap', 0))
    .option('--eta <x>', 'posterior sampler noise in [0, 1] (1 = exact posterior, 0 = deterministic)', numberOption('--eta', 0, 1))
    .option('-e, --engine <name>', 'network engine: auto (default: ONNX Runtime on every core when installed, else tfjs-wasm, else tfjs-cpu), ort, wasm or cpu', choiceOption('--engine', ['auto', 'ort', 'wasm', 'cpu'] as const), 'auto')
    .option('--conv3x3 <algo>', 'with --engine ort: winograd (default; faster at 128+ channels, 4x those kernels\' memory) or direct 3x3 convolutions', choiceOption('--conv3x3', ['direct', 'winograd'] as const), 'winograd')
    .option('--noise-level <sigma>', 'DenoisingSDE models: the Gaussian noise sigma of the input, 0-255 scale (default: estimated from each image and printed)', numberOption('--noise-level', 0))
    .option('--rtol <x>', 'with --sampler ode-adaptive: relative tolerance (default 1e-3)', numberOption('--rtol', 0))
    .option('--atol <x>', 'with --sampler ode-adaptive: absolute tolerance (default 1e-3)', numberOption('--atol', 0))
    .option('--overwrite', 'allow the output to be the input itself (the same file or folder, also through a symlink); it is replaced atomically')
    .option('--max-pixels <n>', `refuse images with more pixels than this, read from the file's header before decoding (default ${DEFAULT_MAX_PIXELS}, 100 MP)`, intOption('--max-pixels', 1), DEFAULT_MAX_PIXELS)
    .option('--bit-depth <bits>', 'PNG output: 8 (default) or 16 bits per sample', choiceOption('--bit-depth', ['8', '16'] as const))
    .option('--mask <file>', 'inpainting models: an image of the input\'s size, white where pixels are missing (they are filled; all others are kept as they are)')
    .option('--samples <n>', "draw n restorations with different sampler noise (e.g. several completions of an inpainting mask): <output> is their per-pixel mean, <stem>-sample1..n.<ext> the restorations, <stem>-std.<ext> their per-pixel standard deviation (0-1 scale: the uncertainty map); they differ by the prior's noise and a stochastic sampler's (sde, posterior/ddim with --eta above 0)", intOption('--samples', 2))
    .option('--ensemble <n>', "geometric self-ensemble: run the network on n flipped / transposed copies of each tile and average them back (1 off, 2 left-right flip, 4 both flips, 8 every rotation and reflection; n times the time; default: the model file's recommendation, else 1)", ensembleOption('--ensemble'))
    .option('--local-stats <px>', "NAFNet models: test-time local statistics for this restore, in place of the model file's: the channel attention averages over a window of this many input pixels instead of the whole tile (for a model trained on small crops restoring large tiles, e.g. 96 for 64 px crops); 0 or off: the global mean", localStatsOption('--local-stats'))
    .option('--no-deconvolve', 'with --task deblur: the blind network\'s output alone (by default a blur kernel is estimated from it and the input deconvolved with that kernel and the denoise model as the prior)')
    .option('-q, --quiet', 'no progress bar or summary')
    .addHelpText('after', '\nExamples:\n  irsde restore noisy.png clean.png --weights model.safetensors --sampler posterior --steps 20\n  irsde restore noisy/ restored/ --steps 10 --tile 256\n  irsde restore rainy.png clear.png --task derain\n\nA folder input goes on past files it cannot read or write (one line each) and exits 1 when any failed.\nOutputs are written atomically (a temporary file, then renamed): a kill leaves the old file or the whole new one.')
    .action(async (input: string | undefined, output: string | undefined, flags: RestoreFlags) => {
      if (flags.task === true) {
        // `--task` without a name: the tasks, one line each.
        for (const t of SHIPPED_TASKS) console.log(`${t.padEnd(8)} ${SHIPPED_TASK_DESCRIPTIONS[t]}`);
        return;
      }
      if (input === undefined || output === undefined) throw new CliError(`missing ${input === undefined ? 'the input image or folder' : 'the output image or folder'} (irsde restore <input> <output>)`);
      if (flags.sampler !== undefined && !isSamplerName(flags.sampler)) {
        throw new CliError(`unknown sampler '${flags.sampler}'; expected one of ${SAMPLER_NAMES.join(', ')}`);
      }
      if (flags.weights !== undefined && flags.task !== undefined) throw new CliError('give --task or --weights, not both (--task picks a shipped model file)');
      const jobs: Array<{ from: string; to: string }> = [];
      const folder = await isDir(input);
      if (folder) {
        let files;
        try {
          files = await listImageFiles(input);
        } catch (e) {
          throw new CliError((e as Error).message.replace(/^listImageFiles: /, ''));
        }
        if ((await identity(output)) !== null && !(await isDir(output))) throw new CliError(`output '${output}' is a file; a folder input needs an output folder`);
        for (const f of files) jobs.push({ from: f.path, to: join(output, basename(f.path)) });
      } else {
        if (imageFormatOfPath(input) === null) {
          await readableFileOrFail(input, 'input');
          throw new CliError(`input '${input}' is neither a folder nor a .png/.jpg/.jpeg image`);
        }
        await readableFileOrFail(input, 'input');
        if (imageFormatOfPath(output) === null) throw new CliError(`output '${output}' must end in .png, .jpg or .jpeg`);
        if (await isDir(output)) throw new CliError(`output '${output}' is a folder; give an image file name`);
        jobs.push({ from: input, to: output });
      }
      if (flags.mask !== undefined && folder) throw new CliError('--mask goes with a single image input, not a folder');
      if (flags.samples !== undefined && folder) throw new CliError('--samples goes with a single image input, not a folder');
      if (flags.bitDepth === '16' && jobs.some((j) => imageFormatOfPath(j.to) !== 'png')) throw new CliError('--bit-depth 16 needs a .png output (JPEG is 8-bit)');
      // Refuse to replace an input with its own restoration (same file, through any path or link).
      if (!flags.overwrite) {
        if (folder && (await identity(input)) === (await identity(output))) {
          throw new CliError(`output folder '${output}' is the input folder '${input}': refusing to replace the inputs; give another output folder (or --overwrite)`);
        }
        for (const job of jobs) {
          const to = await identity(job.to);
          if (to !== null && to === (await identity(job.from))) {
            throw new CliError(`output '${job.to}' is the input '${job.from}' (the same file): refusing to replace the input; give another output (or --overwrite)`);
          }
        }
      }
      const path = await modelPathOrFail(flags.weights, flags.task ?? 'denoise');
      // Fail before any work when the results could not be written (creates the output folder).
      try {
        await assertWritableFolder(folder ? output : dirname(output));
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      // A single image is read (and its size checked) before the model is loaded: a bad input fails at once.
      let first: FloatImage | undefined;
      if (!folder) {
        try {
          first = await readImage(input, { maxPixels: flags.maxPixels });
        } catch (e) {
          throw new CliError((e as Error).message.replace(/^readImage: /, ''));
        }
      }
      let mask: FloatImage | undefined;
      if (flags.mask !== undefined) {
        await readableFileOrFail(flags.mask, 'mask');
        try {
          mask = await readImage(flags.mask, { maxPixels: flags.maxPixels });
        } catch (e) {
          throw new CliError(`mask: ${(e as Error).message.replace(/^readImage: /, '')}`);
        }
        if (first !== undefined && (mask.width !== first.width || mask.height !== first.height)) {
          throw new CliError(`the mask '${flags.mask}' is ${mask.width}x${mask.height} but the input is ${first.width}x${first.height}; they must be the same size`);
        }
      }
      let restorer: Restorer;
      try {
        restorer = await loadRestorerFile(path, { engine: (flags.engine ?? 'auto') as NodeEngineName, conv3x3: flags.conv3x3, ...(flags.localStats !== undefined ? { localStatistics: flags.localStats } : {}) });
      } catch (e) {
        const message = (e as Error).message;
        // A local-statistics setting the model cannot take (not a NAFNet) is the flag's fault.
        if (flags.localStats !== undefined && message.startsWith('loadModel: ')) throw new CliError(`--local-stats: ${message.slice('loadModel: '.length)}`, { cause: e });
        throw new CliError(`cannot load model '${path}' on engine '${flags.engine ?? 'auto'}': ${message}`, { cause: e });
      }
      // SDE-family branch kept: --noise-level (the start time of the reverse process) is a DenoisingSDE option.
      const denoising = isDenoisingSDE(restorer.sde);
      if (flags.noiseLevel !== undefined && !denoising) {
        await restorer.dispose();
        throw new CliError('--noise-level applies to DenoisingSDE models only; this model is a mean-reverting (IR-SDE) one, which takes the degraded image as its condition');
      }
      if (flags.noiseLevel !== undefined && flags.noiseLevel / 255 > restorer.sde.maxSigma) {
        const max = restorer.sde.maxSigma * 255;
        await restorer.dispose();
        throw new CliError(`--noise-level ${flags.noiseLevel} exceeds the model's maximum noise level ${max.toFixed(1)} (0-255 scale)`);
      }
      if (flags.steps !== undefined && flags.steps > restorer.sde.T) {
        await restorer.dispose();
        throw new CliError(`--steps ${flags.steps} exceeds the model's T = ${restorer.sde.T}`);
      }
      const inpainting = restorer.task?.inpaint !== undefined;
      if (inpainting !== (mask !== undefined)) {
        await restorer.dispose();
        throw new CliError(inpainting ? `this model (${restorer.task?.name}) fills missing pixels: give --mask FILE (white = missing, the input's size)` : '--mask is for inpainting models; this model takes none');
      }
      // --task deblur: the network, a kernel estimated from its output, then the input
      // deconvolved with that kernel and the shipped denoiser as the prior (deblurImage).
      let denoiser: Restorer | undefined;
      let priorPath: string | undefined;
      if (flags.task === 'deblur' && flags.deconvolve) {
        if (flags.samples !== undefined) {
          await restorer.dispose();
          throw new CliError('--samples does not go with --task deblur\'s deconvolution (it is deterministic); add --no-deconvolve to draw samples from the network');
        }
        const denoisePath = await modelPathOrFail(undefined, 'denoise');
        priorPath = denoisePath;
        try {
          denoiser = await loadRestorerFile(denoisePath, { engine: (flags.engine ?? 'auto') as NodeEngineName, conv3x3: flags.conv3x3 });
        } catch (e) {
          await restorer.dispose();
          throw new CliError(`cannot load the denoise model '${denoisePath}' (the deconvolution's prior): ${(e as Error).message}`, { cause: e });
        }
      }
      if (!flags.quiet) console.error(`engine: ${restorer.engine}`);
      const progress = makeProgress(!!flags.quiet);
      const failed: string[] = [];
      let restored = 0;
      // A folder goes on past a file it cannot read or write (one line each); a single file fails at once.
      const fail = (file: string, e: unknown): void => {
        const message = (e as Error).message.replace(/^(readImage|writeImage): /, '');
        if (!folder) throw new CliError(message);
        progress.stop();
        failed.push(file);
        // The reader's message may already start with the file's name: say it once.
        const quoted = `'${file}': `;
        console.error(`irsde: failed ${quoted}${message.startsWith(quoted) ? message.slice(quoted.length) : message}`);
      };
      try {
        for (const job of jobs) {
          let image = first;
          first = undefined;
          try {
            image ??= await readImage(job.from, { maxPixels: flags.maxPixels });
          } catch (e) {
            fail(job.from, e);
            continue;
          }
          progress.start(flags.steps ?? restorer.sampling?.steps ?? Math.min(DEFAULT_RESTORE_STEPS, restorer.sde.T), basename(job.from, extname(job.from)));
          let out: RestoredImage | DeblurResult;
          try {
            const options = {
              ...(flags.sampler !== undefined ? { sampler: flags.sampler as SamplerName } : {}),
              ...(flags.steps !== undefined ? { steps: flags.steps } : {}),
              ...(mask !== undefined ? { mask } : {}),
              ...(flags.eta !== undefined ? { eta: flags.eta } : {}),
              ...(flags.noiseLevel !== undefined ? { noiseLevel: flags.noiseLevel / 255 } : {}),
              ...(flags.rtol !== undefined ? { rtol: flags.rtol } : {}),
              ...(flags.atol !== undefined ? { atol: flags.atol } : {}),
              seed: flags.seed,
              ...(flags.tile !== undefined ? { tile: flags.tile } : {}),
              ...(flags.overlap !== undefined ? { overlap: flags.overlap } : {}),
              ...(flags.samples !== undefined ? { samples: flags.samples } : {}),
              ...(flags.ensemble !== undefined ? { ensemble: flags.ensemble } : {}),
              onProgress: (done: number, total: number) => progress.update(done, total),
            };
            if (denoiser !== undefined) {
              const { onProgress, mask: _mask, samples: _samples, ...network } = options;
              out = await deblurImage(image, { network: restorer, denoiser }, { network, onProgress });
            } else out = await restorer.restore(image, options);
          } catch (e) {
            throw e instanceof RangeError || e instanceof TypeError ? new CliError(e.message) : e;
          }
          progress.stop();
          try {
            const bits = flags.bitDepth === '16' ? { bitDepth: 16 as const } : {};
            await writeImage(job.to, out.image, bits);
            for (const [suffix, im] of extraOutputs(out)) await writeImage(withSuffix(job.to, suffix), im, bits);
          } catch (e) {
            fail(job.to, e);
            continue;
          }
          restored++;
          if (!flags.quiet) {
            if ('method' in out) {
              const { kernel } = out;
              const how = kernel === null ? 'no confident blur kernel found: the network\'s output' : `deconvolved with the estimated ${kernel.kind === 'gaussian' ? `Gaussian blur, sigma ${kernel.sigma.toFixed(2)} px` : `motion blur, ${kernel.length.toFixed(2)} px at ${kernel.angle.toFixed(0)} degrees`}`;
              console.error(`${job.from} -> ${job.to} (${image.width}x${image.height}, ${how}, ${restorer.engine}, ${(out.ms / 1000).toFixed(1)} s)`);
            } else {
              const noise = out.noise ? `, noise sigma ${(out.noise.sigma * 255).toFixed(1)} (${out.noise.estimated ? 'estimated' : 'given'}; start t = ${out.noise.start})` : '';
              const nfe = out.nfe !== undefined ? `, ${out.nfe} network evaluations` : '';
              console.error(`${job.from} -> ${job.to} (${image.width}x${image.height}, ${out.sampler}, ${out.steps ?? 'all'} steps${out.ensemble > 1 ? ` x${out.ensemble} ensemble` : ''}${nfe}${noise}, ${restorer.engine}, ${(out.ms / 1000).toFixed(1)} s)`);
            }
          }
        }
      } finally {
        progress.stop();
        await restorer.dispose();
        await denoiser?.dispose();
      }
      if (failed.length > 0) {
        throw new CliError(`${failed.length} of ${jobs.length} images failed (listed above), ${restored} restored into '${output}'`);
      }
      if (folder && !flags.quiet) console.error(`restored ${restored} of ${jobs.length} images into '${output}'`);
      if (!flags.quiet) console.error(`model: ${path}${priorPath !== undefined ? ` (prior: ${priorPath})` : ''}`);
    });
}
