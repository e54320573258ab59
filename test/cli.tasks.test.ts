// Models that restore more than "degraded image in, restored image out", through the built command
// line (dist/cli.js): a super-resolution model upscales its input (and refuses one too small), an
// inpainting model takes --mask (required, same size, known pixels kept), and `export --task`
// stores the task in the model file.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, irsde } from './helpers/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/backend.js';
import { readImage, writeImage } from '../src/io/images.js';
import { saveModelFile, loadModelFile } from '../src/io/model-files.js';
import { createNetwork } from '../src/nn/tfjs/network.js';
import { Rng } from '../src/backend/rng.js';

let dir: string;
let plain: string;
const QUICK = ['--engine', 'cpu', '--quiet'];
const photo = (h: number, w: number, seed: number) => ({ data: Float32Array.from(new Rng(seed).uniform([h * w * 3]), (v) => Math.round(v * 255) / 255), height: h, width: w, channels: 3 as const });

beforeAll(async () => {
  expect(existsSync(CLI), 'dist/cli.js exists (npm run build)').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'irsde-cli-tasks-'));
  await selectBackend('cpu');
  const net = createNetwork({ inChannels: 3, outChannels: 3, nf: 4, depth: 1, prediction: 'residual' }, { seed: 3 });
  plain = join(dir, 'plain.safetensors');
  await saveModelFile(plain, net, { T: 10, maxSigma: 10 / 255 }, { sampling: { sampler: 'posterior', steps: 1, eta: 0 } });
  net.dispose();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('export --task, then restore', () => {
  it('restore --task alone lists the shipped tasks, one line each; an unknown task is one line', async () => {
    const list = await irsde(['restore', '--task']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(['denoise', 'derain', 'deblur', 'sr4', 'inpaint']);
    expect(lines.every((l) => l.length > 20)).toBe(true);
    const bad = await irsde(['restore', '--task', 'bogus', 'a.png', 'b.png']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect((await irsde(['restore', 'a.png'])).stderr).toMatch(/missing the output image or folder/);
  });

  it('sr4: the output is 4x the input; an input under 8x8 is refused in one line and nothing is written', async () => {
    const sr = join(dir, 'sr4.safetensors');
    const ex = await irsde(['export', plain, '--model', sr, '--task', 'sr4']);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stderr).toMatch(/task sr4/);
    const loaded = await loadModelFile(sr);
    expect(loaded.info.task).toEqual({ name: 'sr4', scale: 4 });
    loaded.network.dispose();
    await writeImage(join(dir, 'small.png'), photo(12, 10, 1));
    const ok = await irsde(['restore', join(dir, 'small.png'), join(dir, 'big.png'), '--weights', sr, ...QUICK]);
    expect(ok.code, ok.stderr).toBe(0);
    const big = await readImage(join(dir, 'big.png'));
    expect([big.width, big.height]).toEqual([40, 48]);
    await writeImage(join(dir, 'tiny.png'), photo(6, 6, 2));
    const bad = await irsde(['restore', join(dir, 'tiny.png'), join(dir, 'tiny-out.png'), '--weights', sr, ...QUICK]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/needs at least 8x8 pixels/);
    expect(existsSync(join(dir, 'tiny-out.png'))).toBe(false);
  });

  it("export --task inpaint --inpaint-fill smooth stores the fill the model was trained with; --inpaint-fill needs --task inpaint and a value in [0, 1] or smooth", async () => {
    const inp = join(dir, 'inpaint-smooth.safetensors');
    const ok = await irsde(['export', plain, '--model', inp, '--task', 'inpaint', '--inpaint-fill', 'smooth']);
    expect(ok.code, ok.stderr).toBe(0);
    const loaded = await loadModelFile(inp);
    expect(loaded.info.task).toEqual({ name: 'inpaint', inpaint: { fill: 'smooth' } });
    loaded.network.dispose();
    for (const [args, msg] of [
      [['--inpaint-fill', 'smooth'], /--inpaint-fill goes with --task inpaint/],
      [['--task', 'inpaint', '--inpaint-fill', '2'], /--inpaint-fill must be a value in \[0, 1\], smooth or harmonic, got '2'/],
    ] as const) {
      const r = await irsde(['export', plain, '--model', join(dir, 'never.safetensors'), ...args]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
      expect(existsSync(join(dir, 'never.safetensors'))).toBe(false);
    }
  });

  it('--ensemble: export stores it in the recommended sampling, restore uses it (or its own) and says so; bad values are one line and write nothing', async () => {
    const ens = join(dir, 'ensemble.safetensors');
    const ex = await irsde(['export', plain, '--model', ens, '--sampler', 'posterior', '--steps', '1', '--eta', '0', '--ensemble', '4']);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stderr).toMatch(/posterior 1 steps x4 ensemble/);
    const loaded = await loadModelFile(ens);
    expect(loaded.info.sampling).toEqual({ sampler: 'posterior', steps: 1, eta: 0, ensemble: 4 });
    loaded.network.dispose();
    await writeImage(join(dir, 'ens-in.png'), photo(12, 12, 5));
    const cpu = ['--engine', 'cpu'];
    const fromFile = await irsde(['restore', join(dir, 'ens-in.png'), join(dir, 'ens-a.png'), '--weights', ens, ...cpu]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stderr).toMatch(/1 steps x4 ensemble/);
    const given = await irsde(['restore', join(dir, 'ens-in.png'), join(dir, 'ens-b.png'), '--weights', plain, '--ensemble', '4', ...cpu]);
    expect(given.stderr).toMatch(/x4 ensemble/);
    expect((await readImage(join(dir, 'ens-a.png'))).data).toEqual((await readImage(join(dir, 'ens-b.png'))).data);
    const off = await irsde(['restore', join(dir, 'ens-in.png'), join(dir, 'ens-c.png'), '--weights', ens, '--ensemble', '1', ...cpu]);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stderr).not.toMatch(/x\d ensemble/);
    for (const args of [
      ['restore', join(dir, 'ens-in.png'), join(dir, 'ens-never.png'), '--weights', plain, '--ensemble', '3', ...QUICK],
      ['export', plain, '--model', join(dir, 'ens-never.safetensors'), '--ensemble', '8'],
    ]) {
      const r = await irsde(args);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(args[0] === 'restore' ? /--ensemble must be one of 1, 2, 4, 8, got '3'/ : /--ensemble is part of a recommended sampling: give it with --sampler and --steps/);
    }
    expect(existsSync(join(dir, 'ens-never.png')) || existsSync(join(dir, 'ens-never.safetensors'))).toBe(false);
  });

  it('inpaint: --mask is required and must match the input; masked pixels change, the others are kept exactly', async () => {
    const inp = join(dir, 'inpaint.safetensors');
    expect((await irsde(['export', plain, '--model', inp, '--task', 'inpaint'])).code).toBe(0);
    const img = photo(16, 16, 4);
    await writeImage(join(dir, 'photo.png'), img);
    const m = { data: Float32Array.from({ length: 256 }, (_, i) => ((i >> 4) >= 5 && (i >> 4) < 9 ? 1 : 0)), height: 16, width: 16, channels: 1 as const };
    await writeImage(join(dir, 'mask.png'), m);
    await writeImage(join(dir, 'mask-small.png'), { ...m, height: 8, data: m.data.subarray(0, 128) });
    const out = join(dir, 'filled.png');
    for (const [args, msg] of [
      [[], /fills missing pixels: give --mask FILE/],
      [['--mask', join(dir, 'mask-small.png')], /is 16x8 but the input is 16x16; they must be the same size/],
    ] as const) {
      const r = await irsde(['restore', join(dir, 'photo.png'), out, '--weights', inp, ...args, ...QUICK]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
      expect(existsSync(out)).toBe(false);
    }
    const notInpaint = await irsde(['restore', join(dir, 'photo.png'), out, '--weights', plain, '--mask', join(dir, 'mask.png'), ...QUICK]);
    expect(notInpaint.stderr).toMatch(/--mask is for inpainting models/);
    const r = await irsde(['restore', join(dir, 'photo.png'), out, '--weights', inp, '--mask', join(dir, 'mask.png'), ...QUICK]);
    expect(r.code, r.stderr).toBe(0);
    const filled = await readImage(out);
    let changed = 0;
    for (let p = 0; p < 256; p++) {
      for (let c = 0; c < 3; c++) {
        if (m.data[p] === 0) expect(filled.data[p * 3 + c]).toBe(img.data[p * 3 + c]);
        else if (filled.data[p * 3 + c] !== img.data[p * 3 + c]) changed++;
      }
    }
    expect(changed).toBeGreaterThan(0);

    // --samples 3: the mean at <output>, each completion and the uncertainty map beside it.
    const many = join(dir, 'many.png');
    const s = await irsde(['restore', join(dir, 'photo.png'), many, '--weights', inp, '--mask', join(dir, 'mask.png'), '--samples', '3', '--sampler', 'sde', '--steps', '3', ...QUICK]);
    expect(s.code, s.stderr).toBe(0);
    const samples = await Promise.all([1, 2, 3].map((j) => readImage(join(dir, `many-sample${j}.png`))));
    const std = await readImage(join(dir, 'many-std.png'));
    let spread = 0;
    for (let p = 0; p < 256; p++) {
      for (let c = 0; c < 3; c++) {
        if (m.data[p] === 0) {
          for (const x of samples) expect(x.data[p * 3 + c]).toBe(img.data[p * 3 + c]);
          expect(std.data[p * 3 + c]).toBe(0);
        } else spread += std.data[p * 3 + c];
      }
    }
    expect(spread).toBeGreaterThan(0);
    const folder = await irsde(['restore', dir, join(dir, 'out'), '--weights', inp, '--samples', '2', ...QUICK]);
    expect(folder.stderr.trim()).toMatch(/^irsde: --samples goes with a single image input, not a folder$/m);
  });
});
