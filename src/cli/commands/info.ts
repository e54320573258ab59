import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { readSafetensors, readSafetensorsMetadata } from '../../nn/io/safetensors.js';
import { readTorchStateDict } from '../../nn/io/torch.js';
import { readModelInfo } from '../../nn/model/model-format.js';
import { countParameters, forwardFlops, inferNetworkConfig } from '../../nn/nets/network.js';
import { CHECKPOINT_FORMAT } from '../../train/checkpoint.js';
import { CliError } from '../errors.js';
import { isFile } from '../shared.js';

/** `irsde info <file>`: what a model, checkpoint or plain weights file holds. */
export function registerInfo(program: Command): void {
  program
    .command('info')
    .description("show a model or checkpoint file's network and SDE configs and parameter count")
    .argument('<file>', 'irsde model (.safetensors), training checkpoint, or plain safetensors weights')
    .option('--json', 'print JSON instead of text')
    .addHelpText('after', '\nExample:\n  irsde info runs/denoise/model.safetensors')
    .action(async (file: string, flags: { json?: boolean }) => {
      if (!(await isFile(file))) throw new CliError(`file not found: '${file}'`);
      const bytes = new Uint8Array(await readFile(file));
      if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
        // A PyTorch zip checkpoint (.pth): report its tensors and the network they fit, if any.
        let dict;
        try {
          dict = readTorchStateDict(bytes);
        } catch (e) {
          throw new CliError(`'${file}' is not a readable PyTorch state_dict: ${(e as Error).message}`);
        }
        const n = Object.values(dict).reduce((s, t) => s + t.data.length, 0);
        const report = { file, bytes: bytes.length, kind: 'pytorch state_dict', tensors: Object.keys(dict).length, parameters: n, network: inferNetworkConfig(dict) ?? null };
        if (flags.json) console.log(JSON.stringify(report, null, 2));
        else for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(12)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
        return;
      }
      let meta: Record<string, string>;
      try {
        meta = readSafetensorsMetadata(bytes);
      } catch (e) {
        throw new CliError(`'${file}' is not a readable safetensors file: ${(e as Error).message}`);
      }
      let report: Record<string, unknown>;
      const ckpt = meta.irsde ? (JSON.parse(meta.irsde) as Record<string, unknown>) : null;
      if (ckpt?.format === CHECKPOINT_FORMAT) {
        report = { kind: 'checkpoint', step: ckpt.step, sde: ckpt.sde, trainer: ckpt.config, network: ckpt.network ?? null };
      } else if (ckpt) {
        const info = readModelInfo(bytes);
        report = {
          kind: 'model',
          network: info.network,
          sde: info.sde,
          sampling: info.sampling ?? null,
          parameters: countParameters(info.network),
          gflopsAt256: forwardFlops(info.network, 256, 256) / 1e9,
        };
      } else {
        const dict = readSafetensors(bytes);
        const n = Object.values(dict).reduce((s, t) => s + t.data.length, 0);
        report = { kind: 'weights', tensors: Object.keys(dict).length, parameters: n, network: inferNetworkConfig(dict) ?? null, metadata: meta };
      }
      report = { file, bytes: bytes.length, ...report };
      if (flags.json) console.log(JSON.stringify(report, null, 2));
      else for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(12)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
    });
}
