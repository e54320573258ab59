import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor } from '../../backend/host.js';
import { tfjsBackend } from '../../backend/tfjs.js';
import { MeanRevertingSDE } from '../../sde/mean-reverting-sde.js';
import { restore } from '../../sampling/restore.js';
import { samplers, type SamplerName } from '../../sampling/samplers.js';
import { tiledNoiseModel } from '../../sampling/tiled.js';
import { listImageFiles } from '../../io/folder.js';
import { imageFormatOfPath, readImage, writeImage } from '../../io/images.js';
import { convertChannels } from '../../train/image.js';
import { exportOnnx } from '../../nn/onnx/export.js';
import { createNodeOrtNoiseModel } from '../../nn/onnx/node.js';
import { asNoiseModel, type NoiseModel } from '../../sampling/model.js';
import { CliError, choiceOption, intOption, numberOption } from '../errors.js';
import { makeProgress } from '../progress.js';
import { hostToImage, imageToHost, isDir, loadModelOrDefault, ortInstalled, ortOrFail, startEngine } from '../shared.js';

interface RestoreFlags {
  weights?: string;
  sampler?: string;
  steps?: number;
  seed: number;
  tile: number;
  overlap?: number;
  eta?: number;
  engine?: string;
  conv3x3: 'direct' | 'winograd';
  quiet?: boolean;
}

/** `irsde restore <input> <output>`: restores one image file, or every image of a folder. */
export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description('restore an image (or every image of a folder) with a trained model')
    .argument('<input>', 'degraded image file (.png/.jpg), or a folder of them')
    .argument('<output>', 'output image file, or a folder (created; file names kept) when <input> is a folder')
    .option('-w, --weights <file>', 'irsde model file (.safetensors from `irsde train`); default: the shipped model')
    .option('-s, --sampler <name>', `sampler: ${Object.keys(samplers).join(', ')} (default: the model's recommended one, else posterior)`)
    .option('-n, --steps <n>', "number of sampling steps (default: the model's recommended count, else all T)", intOption('--steps', 1))
    .option('--seed <n>', 'random seed (same seed, same output)', intOption('--seed', 0), 0)
    .option('--tile <px>', 'restore in overlapping tiles of this size (bounds memory on big images)', intOption('--tile', 8), 512)
    .option('--overlap <px>', 'tile overlap in pixels (default tile/4)', intOption('--overlap', 0))
    .option('--eta <x>', 'posterior sampler noise in [0, 1] (1 = exact posterior, 0 = deterministic)', numberOption('--eta', 0, 1))
    .option('-e, --engine <name>', 'network engine: auto (ONNX Runtime on every core when onnxruntime-node is installed, else tfjs-wasm), ort, or a tfjs backend: wasm, cpu', 'auto')
    .option('--conv3x3 <algo>', 'with --engine ort: winograd (default; faster at 128+ channels, 4x those kernels\' memory) or direct 3x3 convolutions', choiceOption('--conv3x3', ['direct', 'winograd'] as const), 'winograd')
    .option('-q, --quiet', 'no progress bar or summary')
    .addHelpText('after', '\nExamples:\n  irsde restore noisy.png clean.png --weights model.safetensors --sampler posterior --steps 20\n  irsde restore noisy/ restored/ --steps 10 --tile 256')
    .action(async (input: string, output: string, flags: RestoreFlags) => {
      if (flags.sampler !== undefined && !Object.prototype.hasOwnProperty.call(samplers, flags.sampler)) {
        throw new CliError(`unknown sampler '${flags.sampler}'; expected one of ${Object.keys(samplers).join(', ')}`);
      }
      const jobs: Array<{ from: string; to: string }> = [];
      if (await isDir(input)) {
        await mkdir(output, { recursive: true });
        for (const f of await listImageFiles(input)) jobs.push({ from: f.path, to: join(output, basename(f.path)) });
      } else {
        if (imageFormatOfPath(input) === null) throw new CliError(`input '${input}' is neither a folder nor a .png/.jpg/.jpeg image`);
        if (imageFormatOfPath(output) === null) throw new CliError(`output '${output}' must end in .png, .jpg or .jpeg`);
        jobs.push({ from: input, to: output });
      }
      // auto: ONNX Runtime on every core when onnxruntime-node is installed, else the fastest tfjs
      // backend (wasm). With ORT, tfjs only moves tiles between host memory and the ONNX session:
      // its cpu backend is enough.
      const useOrt = flags.engine === 'ort' || ((flags.engine ?? 'auto') === 'auto' && ortInstalled());
      if (useOrt) ortOrFail('--engine ort');
      const threads = availableParallelism();
      const engine = useOrt ? (await startEngine('cpu'), `ort, ${threads} threads`) : `tfjs-${await startEngine(flags.engine)}`;
      const { unet, sdeConfig, path, info } = await loadModelOrDefault(flags.weights);
      const sde = new MeanRevertingSDE<HostTensor>(sdeConfig, 'float32');
      // The model's recommended sampling fills what the flags leave open (same sampler only).
      const rec = info.sampling !== undefined && (flags.sampler === undefined || flags.sampler === info.sampling.sampler) ? info.sampling : undefined;
      const sampler = (flags.sampler ?? rec?.sampler ?? 'posterior') as SamplerName;
      const steps = flags.steps ?? rec?.steps;
      const eta = flags.eta ?? rec?.eta;
      if (steps !== undefined && steps > sde.T) throw new CliError(`--steps ${steps} exceeds the model's T = ${sde.T}`);
      let raw = (xt: tf.Tensor, mu: tf.Tensor, t: number): tf.Tensor | Promise<tf.Tensor> => unet.predict(xt, mu, t);
      let release = async () => {};
      if (useOrt) {
        const ort = await createNodeOrtNoiseModel(exportOnnx(unet.config, unet.stateDict(), { conv3x3: flags.conv3x3 }), { threads });
        raw = ort.noiseModel;
        release = () => ort.release();
      }
      // A residual network's output becomes noise under the model's SDE (pixel-wise, so per tile).
      const net: NoiseModel<tf.Tensor> = asNoiseModel(new MeanRevertingSDE<tf.Tensor>(sdeConfig), unet.prediction, raw);
      const model = tiledNoiseModel(net, tfjsBackend, {
        tile: flags.tile,
        ...(flags.overlap !== undefined ? { overlap: flags.overlap } : {}),
      });
      const progress = makeProgress(!!flags.quiet);
      try {
        for (const job of jobs) {
          // A grey photo given to an RGB model is restored as three equal channels and written grey.
          const native = await readImage(job.from);
          const img = convertChannels(native, unet.config.inChannels as 1 | 3);
          const started = performance.now();
          progress.start(steps ?? sde.T, basename(job.from, extname(job.from)));
          const out = await restore({
            sde,
            model,
            lq: imageToHost(img),
            sampler,
            ...(steps !== undefined ? { steps } : {}),
            ...(eta !== undefined ? { eta } : {}),
            seed: flags.seed,
            onProgress: (done) => progress.update(done),
          });
          progress.stop();
          const restored = hostToImage(out);
          await writeImage(job.to, native.channels < restored.channels ? convertChannels(restored, native.channels) : restored);
          if (!flags.quiet) {
            const s = ((performance.now() - started) / 1000).toFixed(1);
            console.error(`${job.from} -> ${job.to} (${img.width}x${img.height}, ${sampler}, ${steps ?? sde.T} steps, ${engine}, ${s} s)`);
          }
        }
      } finally {
        progress.stop();
        unet.dispose();
        await release();
      }
      if (!flags.quiet) console.error(`model: ${path}`);
    });
}
