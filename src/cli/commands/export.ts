import type { Command } from 'commander';
import { writeSafetensors } from '../../nn/io/safetensors.js';
import { exportOnnx } from '../../nn/onnx/export.js';
import { modelTaskFromName, saveModel, type ModelTask, type RecommendedSampling } from '../../nn/model/model-format.js';
import type { EnsembleSize } from '../../sampling/names.js';
import type { InpaintFill } from '../../data/mask.js';
import { CliError, choiceOption, ensembleOption, intOption, localStatsOption, numberOption } from '../errors.js';
import { loadModelOrDefault, writeOutputFile } from '../shared.js';

interface ExportFlags {
  onnx?: string;
  safetensors?: string;
  model?: string;
  dtype?: 'float32' | 'float16';
  sampler?: string;
  steps?: number;
  eta?: number;
  ensemble?: EnsembleSize;
  conv3x3?: 'direct' | 'winograd';
  task?: string;
  inpaintFill?: InpaintFill;
  /** Window side in pixels; 0: off. */
  localStats?: number;
}

/** `irsde export <model> --onnx F | --safetensors F | --model F`. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export a model: an ONNX graph (for ONNX Runtime) and/or PyTorch-named safetensors weights')
    .argument('[model]', 'irsde model file (default: the shipped model)')
    .option('--onnx <file>', 'write an ONNX model with inputs xt, cond, time (NCHW) and output noise')
    .option('--safetensors <file>', "write the weights in PyTorch's names and layout (loadable by the original code)")
    .option('--model <file>', 'write an irsde model file again (e.g. as float16, or with a recommended sampling)')
    .option('--conv3x3 <algo>', "3x3 convolutions in the ONNX graph: direct (default, as PyTorch) or winograd (faster in ONNX Runtime at 128+ channels, 4x those kernels' memory)", choiceOption('--conv3x3', ['direct', 'winograd'] as const))
    .option('--dtype <type>', 'weight type of --model and --safetensors: float32 (default) or float16', choiceOption('--dtype', ['float32', 'float16'] as const))
    .option('--sampler <name>', "recommended sampler stored in --model (used by restore when none is given)")
    .option('--steps <n>', 'recommended number of steps stored in --model', intOption('--steps', 1))
    .option('--eta <x>', 'recommended posterior / ddim eta stored in --model', numberOption('--eta', 0, 1))
    .option('--ensemble <n>', 'recommended geometric self-ensemble stored in --model with --sampler and --steps (1, 2, 4 or 8 flipped / transposed copies averaged; restore uses it when no --ensemble is given)', ensembleOption('--ensemble'))
    .option('--task <name>', 'what the model in --model restores: srN (xN super-resolution: restore upscales the input first), inpaint (restore takes --mask), or a plain name such as deblur (default: the input model\'s)')
    .option('--inpaint-fill <value>', "with --task inpaint: what missing pixels become before the network sees them, as the model was trained (the inpaint degradation's fill): a value in [0, 1] (default 0), smooth (filled from the known pixels) or harmonic (smooth, relaxed towards the harmonic interpolation)", (v: string) => {
      if (v === 'smooth' || v === 'harmonic') return v;
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new CliError(`--inpaint-fill must be a value in [0, 1], smooth or harmonic, got '${v}'`);
      return n;
    })
    .option('--local-stats <px>', "NAFNet models: store test-time local statistics in --model (and use them in --onnx): the channel attention averages over a window of this many input pixels instead of the whole tile (for a model trained on small crops restoring large tiles, e.g. 96 for 64 px crops); 0 or off removes them", localStatsOption('--local-stats'))
    .addHelpText(
      'after',
      '\nEvery file is written atomically (a temporary file, then renamed): a kill leaves the old file or the whole new one,\nso a model can be rewritten in place (--model m.safetensors from m.safetensors).\n\nExamples:\n  irsde export model.safetensors --onnx model.onnx\n  irsde export model.safetensors --safetensors torch-weights.safetensors\n  irsde export runs/denoise/model.safetensors --model small.safetensors --dtype float16 --sampler posterior --steps 5 --eta 0\n  irsde export model.safetensors --model model-tlc.safetensors --local-stats 96',
    )
    .action(async (modelPath: string | undefined, flags: ExportFlags) => {
      if (!flags.onnx && !flags.safetensors && !flags.model) throw new CliError('nothing to do: give --onnx FILE, --safetensors FILE and/or --model FILE');
      if ((flags.sampler !== undefined || flags.steps !== undefined || flags.eta !== undefined || flags.ensemble !== undefined) && !flags.model) throw new CliError('--sampler / --steps / --eta / --ensemble are stored in a model file: give --model FILE');
      if (flags.ensemble !== undefined && flags.sampler === undefined) throw new CliError('--ensemble is part of a recommended sampling: give it with --sampler and --steps');
      if ((flags.sampler === undefined) !== (flags.steps === undefined)) throw new CliError('a recommended sampling needs both --sampler and --steps');
      if (flags.task !== undefined && !flags.model) throw new CliError('--task is stored in a model file: give --model FILE');
      if (flags.inpaintFill !== undefined && flags.task !== 'inpaint') throw new CliError('--inpaint-fill goes with --task inpaint');
      let task: ModelTask | undefined;
      try {
        task = flags.task !== undefined ? modelTaskFromName(flags.task, flags.inpaintFill) : undefined;
      } catch (e) {
        throw new CliError(`--task: ${(e as Error).message.replace(/^modelTaskFromName: /, '')}`);
      }
      if (flags.localStats !== undefined && !flags.model && !flags.onnx) throw new CliError('--local-stats is stored in a model file or used in an ONNX graph: give --model FILE and/or --onnx FILE');
      const { network, path, sdeConfig, info } = await loadModelOrDefault(modelPath, flags.localStats !== undefined ? { localStatistics: flags.localStats, flag: '--local-stats' } : undefined);
      try {
        const dict = network.stateDict();
        if (flags.model) {
          const sampling: RecommendedSampling | undefined =
            flags.sampler !== undefined ? { sampler: flags.sampler, steps: flags.steps!, ...(flags.eta !== undefined ? { eta: flags.eta } : {}), ...(flags.ensemble !== undefined ? { ensemble: flags.ensemble } : {}) } : info.sampling;
          let bytes: Uint8Array;
          try {
            const keptTask = task ?? info.task;
            bytes = saveModel(network, sdeConfig, { dtype: flags.dtype ?? 'float32', ...(sampling ? { sampling } : {}), ...(keptTask ? { task: keptTask } : {}) });
          } catch (e) {
            throw new CliError((e as Error).message);
          }
          await writeOutputFile(flags.model, bytes);
          const kept = task ?? info.task;
          const local = network.config.arch === 'nafnet' && network.config.localStatistics !== undefined ? `, local statistics ${network.config.localStatistics} px` : '';
          console.error(`wrote ${flags.model} (${(bytes.length / 1e6).toFixed(1)} MB, ${flags.dtype ?? 'float32'}${sampling ? `, ${sampling.sampler} ${sampling.steps} steps${sampling.ensemble ? ` x${sampling.ensemble} ensemble` : ''}` : ''}${kept ? `, task ${kept.name}` : ''}${local}; from ${path})`);
        }
        if (flags.safetensors) {
          await writeOutputFile(flags.safetensors, writeSafetensors(dict, { format: 'pt' }, { dtype: flags.dtype ?? 'float32' }));
          console.error(`wrote ${flags.safetensors} (PyTorch state_dict of ${path})`);
        }
        if (flags.onnx) {
          await writeOutputFile(flags.onnx, exportOnnx(network.config, dict, { conv3x3: flags.conv3x3 ?? 'direct' }));
          console.error(`wrote ${flags.onnx} (ONNX graph of ${path}${flags.conv3x3 === 'winograd' ? ', Winograd 3x3 convolutions' : ''})`);
        }
      } finally {
        network.dispose();
      }
    });
}
