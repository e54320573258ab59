import type { Command } from 'commander';
import { listImageFiles } from '../../io/folder.js';
import { readImage } from '../../io/images.js';
import { psnr, psnrY, ssim, ssimY } from '../../image/metrics.js';
import { CliError, intOption } from '../errors.js';
import { writeOutputFile } from '../shared.js';

/** One row of `irsde eval`'s JSON. */
export interface EvalRow {
  /** File name without extension. */
  name: string;
  /** PSNR in dB. */
  psnr: number;
  /** SSIM in [-1, 1]. */
  ssim: number;
}

/** `irsde eval <restoredDir> <referenceDir>`: PSNR / SSIM per image and their means. */
export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('score restored images against references (PSNR, SSIM), matching file names without extension')
    .argument('<restoredDir>', 'folder of restored images')
    .argument('<referenceDir>', 'folder of reference (clean) images with the same names')
    .option('--json <file>', 'also write { images: [{ name, psnr, ssim }], mean: { psnr, ssim } } to this file')
    .option('-y, --y-channel', 'score the luma (Y of YCbCr) of RGB images, as the paper reports')
    .option('--crop <px>', 'pixels to ignore at each border', intOption('--crop', 0), 0)
    .addHelpText('after', '\nExample:\n  irsde eval restored/ clean/ --json scores.json')
    .action(async (restoredDir: string, referenceDir: string, flags: { json?: string; yChannel?: boolean; crop: number }) => {
      const restored = await listImageFiles(restoredDir);
      const refs = new Map((await listImageFiles(referenceDir)).map((f) => [f.name, f.path]));
      const missing = restored.filter((f) => !refs.has(f.name)).map((f) => f.name);
      if (missing.length) throw new CliError(`no reference image in '${referenceDir}' for: ${missing.join(', ')}`);
      const rows: EvalRow[] = [];
      for (const f of restored) {
        const a = await readImage(f.path);
        const b = await readImage(refs.get(f.name)!, { channels: a.channels });
        if (a.height !== b.height || a.width !== b.width) {
          throw new CliError(`'${f.name}': restored image is ${a.width}x${a.height} but the reference is ${b.width}x${b.height}`);
        }
        const opts = { crop: flags.crop };
        const useY = flags.yChannel && a.channels === 3;
        rows.push({ name: f.name, psnr: useY ? psnrY(a, b, opts) : psnr(a, b, opts), ssim: useY ? ssimY(a, b, opts) : ssim(a, b, opts) });
      }
      const mean = {
        psnr: rows.reduce((s, r) => s + r.psnr, 0) / rows.length,
        ssim: rows.reduce((s, r) => s + r.ssim, 0) / rows.length,
      };
      const width = Math.max(5, ...rows.map((r) => r.name.length));
      console.log(`${'image'.padEnd(width)}  PSNR (dB)   SSIM`);
      for (const r of rows) console.log(`${r.name.padEnd(width)}  ${r.psnr.toFixed(2).padStart(9)}  ${r.ssim.toFixed(4)}`);
      console.log(`${'mean'.padEnd(width)}  ${mean.psnr.toFixed(2).padStart(9)}  ${mean.ssim.toFixed(4)}`);
      if (flags.json) await writeOutputFile(flags.json, JSON.stringify({ images: rows, mean }, null, 2) + '\n');
    });
}
