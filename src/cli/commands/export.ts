import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { writeSafetensors } from '../../nn/io/safetensors.js';
import { exportOnnx } from '../../nn/onnx/export.js';
import { CliError } from '../errors.js';
import { loadModelOrDefault } from '../shared.js';

/** `irsde export <model> --onnx F | --safetensors F`. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export a model: an ONNX graph (for ONNX Runtime) and/or PyTorch-named safetensors weights')
    .argument('[model]', 'irsde model file (default: the shipped model)')
    .option('--onnx <file>', 'write an ONNX model with inputs xt, cond, time (NCHW) and output noise')
    .option('--safetensors <file>', "write the weights in PyTorch's names and layout (loadable by the original code)")
    .addHelpText('after', '\nExamples:\n  irsde export model.safetensors --onnx model.onnx\n  irsde export model.safetensors --safetensors torch-weights.safetensors')
    .action(async (modelPath: string | undefined, flags: { onnx?: string; safetensors?: string }) => {
      if (!flags.onnx && !flags.safetensors) throw new CliError('nothing to do: give --onnx FILE and/or --safetensors FILE');
      const { unet, path } = await loadModelOrDefault(modelPath);
      try {
        const dict = unet.stateDict();
        if (flags.safetensors) {
          await writeFile(flags.safetensors, writeSafetensors(dict, { format: 'pt' }));
          console.error(`wrote ${flags.safetensors} (PyTorch state_dict of ${path})`);
        }
        if (flags.onnx) {
          await writeFile(flags.onnx, exportOnnx(unet.config, dict));
          console.error(`wrote ${flags.onnx} (ONNX graph of ${path})`);
        }
      } finally {
        unet.dispose();
      }
    });
}
