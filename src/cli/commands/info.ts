import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { readSafetensors, readSafetensorsHeader } from '../../nn/io/safetensors.js';
import { readTorchStateDict } from '../../nn/io/torch.js';
import { verifyModel } from '../../nn/model/model-format.js';
import { countParameters, forwardFlops, inferNetworkConfig } from '../../nn/nets/network.js';
import { CHECKPOINT_FORMAT } from '../../train/checkpoint.js';
import { CliError } from '../errors.js';
import { readableFileOrFail } from '../shared.js';

/** `irsde info <file>`: what a model, checkpoint or plain weights file holds. */
export function registerInfo(program: Command): void {
  program
    .command('info')
    .description("show a model or checkpoint file's network and SDE configs and parameter count; verifies the file (exit 1 when truncated or inconsistent)")
    .argument('<file>', 'irsde model (.safetensors), training checkpoint, or plain safetensors weights')
    .option('--json', 'print JSON instead of text')
    .addHelpText('after', '\nExample:\n  irsde info runs/denoise/model.safetensors')
    .action(async (file: string, flags: { json?: boolean }) => {
      await readableFileOrFail(file);
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
      let tensors: number;
      try {
        // Checks every tensor's entry and that they tile the data area up to the file's end.
        const header = readSafetensorsHeader(bytes);
        meta = header.metadata;
        tensors = header.tensors.length;
      } catch (e) {
        throw new CliError(`'${file}' is not a valid safetensors file: ${(e as Error).message}`);
      }
      let report: Record<string, unknown>;
      let ckpt: Record<string, unknown> | null = null;
      try {
        ckpt = meta.irsde ? (JSON.parse(meta.irsde) as Record<string, unknown>) : null;
      } catch (e) {
        throw new CliError(`'${file}': metadata "irsde" is not valid JSON (${(e as Error).message})`);
      }
      if (ckpt?.format === CHECKPOINT_FORMAT) {
        report = { kind: 'checkpoint', step: ckpt.step, sde: ckpt.sde, trainer: ckpt.config, network: ckpt.network ?? null, tensors };
      } else if (ckpt) {
        let info;
        try {
          info = verifyModel(bytes).info;
        } catch (e) {
          throw new CliError(`'${file}': ${(e as Error).message}`, { cause: e });
        }
        report = {
          kind: 'model',
          network: info.network,
          sde: info.sde,
          sampling: info.sampling ?? null,
          task: info.task ?? null,
          parameters: countParameters(info.network),
          gflopsAt256: forwardFlops(info.network, 256, 256) / 1e9,
          tensors,
        };
      } else {
        let dict;
        try {
          dict = readSafetensors(bytes);
        } catch (e) {
          throw new CliError(`'${file}' is not a valid safetensors file: ${(e as Error).message}`);
        }
        const n = Object.values(dict).reduce((s, t) => s + t.data.length, 0);
        report = { kind: 'weights', tensors: Object.keys(dict).length, parameters: n, network: inferNetworkConfig(dict) ?? null, metadata: meta };
      }
      report = { file, bytes: bytes.length, ...report };
      if (flags.json) console.log(JSON.stringify(report, null, 2));
      else for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(12)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
    });
}
