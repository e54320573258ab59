import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImage, writeImage } from '../src/io/images.js';
import { psnr, ssim } from '../src/image/metrics.js';
import { gaussianNoise, rainStreaks } from '../src/data/noise.js';
import { Rng } from '../src/index.js';
import { SHARED } from './helpers/goldens.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/cli.js');
const FIX = join(ROOT, 'test/fixtures/metrics');

/** Runs the built CLI in a child process. */
function irsde(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, IRSDE_BACKEND: 'wasm' }, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
const TINY = ['--nf', '4', '--depth', '2', '--T', '10', '--max-sigma', '50', '--batch', '2', '--patch', '32', '--engine', 'wasm', '--quiet'];

beforeAll(async () => {
  expect(existsSync(CLI), 'dist/cli.js exists (npm run build)').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'irsde-e2e-'));
  for (const d of ['gt', 'noisy', 'clean']) mkdirSync(join(dir, d));
  // Three real-photo crops (80x64) as clean images, and sigma-25 noisy copies to restore.
  for (const name of ['camera', 'coffee', 'astronaut']) {
    copyFileSync(join(FIX, `${name}_gt.png`), join(dir, 'gt', `${name}.png`));
    const clean = await readImage(join(FIX, `${name}_gt.png`), { channels: 3 });
    await writeImage(join(dir, 'clean', `${name}.png`), clean);
    await writeImage(join(dir, 'noisy', `${name}.png`), gaussianNoise(clean, { sigma: 25, clip: true }, new Rng(1)));
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the irsde command line, end to end', () => {
  it('--help lists every subcommand, and each has complete help', async () => {
    const top = await irsde(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['train', 'restore', 'eval', 'export', 'info']) expect(top.stdout).toContain(c);
    const restoreHelp = await irsde(['restore', '--help']);
    for (const f of ['--weights', '--sampler', '--steps', '--seed', '--tile', '--engine', 'Examples']) expect(restoreHelp.stdout).toContain(f);
    const trainHelp = await irsde(['train', '--help']);
    for (const f of ['--gt', '--lq', '--degradation', '--resume', '--checkpoint-every', '--val-every', '--config', '--workers']) expect(trainHelp.stdout).toContain(f);
    expect((await irsde(['eval', '--help'])).stdout).toContain('--json');
  });

  it('trains, checkpoints and resumes exactly where an uninterrupted run would be', async () => {
    const a = join(dir, 'run-a');
    const b = join(dir, 'run-b');
    const common = ['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...TINY, '--seed', '3', '--checkpoint-every', '2', '--val-count', '1', '--val-every', '2', '--val-steps', '2', '--val-crop', '32'];
    const full = await irsde([...common, '--steps', '4', '--out', a]);
    expect(full.stderr).toBe('');
    expect(full.code).toBe(0);
    for (const f of ['checkpoint.safetensors', 'model.safetensors', 'log.jsonl', 'config.json']) expect(existsSync(join(a, f))).toBe(true);
    const steps = readFileSync(join(a, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.event === 'step');
    expect(steps.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(steps.every((r) => Number.isFinite(r.loss) && r.loss > 0)).toBe(true);
    // Periodic validation: PSNR / SSIM of restored crops of the held-out image, with the EMA weights.
    const vals = readFileSync(join(a, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.event === 'validation');
    expect(vals.map((r) => r.step)).toEqual([2, 4]);
    expect(vals.every((r) => Number.isFinite(r.psnr) && r.ssim > -1 && r.ssim <= 1)).toBe(true);

    expect((await irsde([...common, '--steps', '2', '--out', b])).code).toBe(0);
    // --out defaults to the checkpoint's folder on resume; everything else comes from the checkpoint.
    const resumed = await irsde(['train', '--resume', join(b, 'checkpoint.safetensors'), '--steps', '4', '--quiet', '--engine', 'wasm']);
    expect(resumed.code).toBe(0);
    const log = readFileSync(join(b, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.filter((r) => r.event === 'resume').map((r) => r.step)).toEqual([2]);
    // Same weights, EMA, optimiser and RNG: the final model file is byte-identical.
    expect(Buffer.compare(readFileSync(join(a, 'model.safetensors')), readFileSync(join(b, 'model.safetensors')))).toBe(0);
    // (The checkpoints differ only in the recorded --out folder.)

    // Both cores: 2 gradient workers give the same training up to float rounding.
    const w = join(dir, 'run-w');
    expect((await irsde([...common, '--steps', '4', '--workers', '2', '--out', w])).code).toBe(0);
    const wSteps = readFileSync(join(w, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.event === 'step');
    wSteps.forEach((r, i) => expect(Math.abs(r.loss - steps[i].loss) / steps[i].loss).toBeLessThan(1e-5));

    const info = await irsde(['info', join(a, 'model.safetensors'), '--json']);
    const rep = JSON.parse(info.stdout);
    expect(rep.kind).toBe('model');
    // The CLI's default network predicts the residual x0 - mu (trained with the x0 objective).
    expect(rep.network).toEqual({ inChannels: 3, outChannels: 3, nf: 4, depth: 2, prediction: 'residual' });
    expect(rep.sde.T).toBe(10);
    expect(rep.parameters).toBeGreaterThan(1000);
    expect(JSON.parse((await irsde(['info', join(a, 'checkpoint.safetensors'), '--json'])).stdout).step).toBe(4);
    // Original PyTorch weights: both formats report the same tensors and the U-Net size they fit.
    const golden = join(SHARED, 'goldens/unet_public');
    const pth = JSON.parse((await irsde(['info', join(golden, 'weights.pth'), '--json'])).stdout);
    const st = JSON.parse((await irsde(['info', join(golden, 'weights.safetensors'), '--json'])).stdout);
    expect(pth.parameters).toBe(195_859);
    expect(st.parameters).toBe(195_859);
    expect(pth.network).toEqual({ inChannels: 3, outChannels: 3, nf: 8, depth: 2 });
    expect(st.network).toEqual(pth.network);
  });

  it('restores a folder with every sampler, then eval scores it (table and JSON)', async () => {
    const model = join(dir, 'run-a', 'model.safetensors');
    for (const sampler of ['sde', 'ode', 'heun', 'posterior', 'ddim']) {
      const out = join(dir, `out-${sampler}`);
      const r = await irsde(['restore', join(dir, 'noisy'), out, '--weights', model, '--sampler', sampler, '--steps', '3', '--seed', '1', '--quiet', '--engine', 'wasm']);
      expect(r.stderr, sampler).toBe('');
      expect(r.code, sampler).toBe(0);
      expect(readdirSync(out).sort()).toEqual(['astronaut.png', 'camera.png', 'coffee.png']);
      const img = await readImage(join(out, 'coffee.png'));
      expect([img.width, img.height, img.channels]).toEqual([80, 64, 3]);
    }
    const jsonPath = join(dir, 'scores.json');
    const ev = await irsde(['eval', join(dir, 'out-posterior'), join(dir, 'clean'), '--json', jsonPath]);
    expect(ev.code).toBe(0);
    expect(ev.stdout).toMatch(/mean\s+\d+\.\d+\s+\d\.\d{4}/);
    const scores = JSON.parse(readFileSync(jsonPath, 'utf8'));
    expect(scores.images.map((r: { name: string }) => r.name)).toEqual(['astronaut', 'camera', 'coffee']);
    const a = await readImage(join(dir, 'out-posterior', 'camera.png'));
    const b = await readImage(join(dir, 'clean', 'camera.png'), { channels: 3 });
    const cam = scores.images.find((r: { name: string }) => r.name === 'camera');
    expect(cam.psnr).toBeCloseTo(psnr(a, b), 6);
    expect(cam.ssim).toBeCloseTo(ssim(a, b), 6);
    expect(scores.mean.psnr).toBeCloseTo(scores.images.reduce((s: number, r: { psnr: number }) => s + r.psnr, 0) / 3, 6);

    // Same seed, same output; single file to file works too.
    const f1 = join(dir, 'one.png');
    const f2 = join(dir, 'two.png');
    for (const f of [f1, f2]) expect((await irsde(['restore', join(dir, 'noisy', 'camera.png'), f, '--weights', model, '--steps', '2', '--seed', '9', '--quiet'])).code).toBe(0);
    expect(Buffer.compare(readFileSync(f1), readFileSync(f2))).toBe(0);
    // ONNX Runtime runs the same network: the same restoration up to 8-bit rounding.
    const f3 = join(dir, 'ort.png');
    const viaOrt = await irsde(['restore', join(dir, 'noisy', 'camera.png'), f3, '--weights', model, '--steps', '2', '--seed', '9', '--quiet', '--engine', 'ort']);
    expect(viaOrt.stderr).toBe('');
    const [w, o] = [await readImage(f1), await readImage(f3)];
    let maxDiff = 0;
    for (let i = 0; i < w.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(w.data[i] - o.data[i]));
    expect(maxDiff).toBeLessThanOrEqual(1 / 255 + 1e-6);
  });

  it('residual networks: train with --prediction/--objective/--val-names/--timesteps, export a float16 model with a recommended sampling, restore with it', async () => {
    const run = join(dir, 'run-res');
    const tr = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...TINY, '--prediction', 'residual', '--objective', 'x0', '--norm', 'l2', '--timesteps', '6:10',
      '--val-names', 'coffee', '--val-every', '2', '--val-steps', '2', '--val-crop', '32', '--steps', '2', '--out', run]);
    expect(tr.stderr).toBe('');
    expect(tr.code).toBe(0);
    const log = readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log[0]).toMatchObject({ event: 'start', images: 2, validation: 1, network: { prediction: 'residual' }, timesteps: [6, 10] });
    expect(log.some((r) => r.event === 'validation' && Number.isFinite(r.psnr))).toBe(true);
    const small = join(dir, 'small.safetensors');
    const ex = await irsde(['export', join(run, 'model.safetensors'), '--model', small, '--dtype', 'float16', '--sampler', 'posterior', '--steps', '3', '--eta', '0']);
    expect(ex.code).toBe(0);
    expect(ex.stderr).toMatch(/float16, posterior 3 steps/);
    const info = JSON.parse((await irsde(['info', small, '--json'])).stdout);
    expect(info.network.prediction).toBe('residual');
    expect(info.sampling).toEqual({ sampler: 'posterior', steps: 3, eta: 0 });
    // restore without --sampler / --steps uses the stored recommendation; ORT and tfjs agree.
    const out = join(dir, 'res.png');
    const r = await irsde(['restore', join(dir, 'noisy', 'camera.png'), out, '--weights', small, '--engine', 'wasm']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/posterior, 3 steps/);
    const viaOrt = join(dir, 'res-ort.png');
    expect((await irsde(['restore', join(dir, 'noisy', 'camera.png'), viaOrt, '--weights', small, '--engine', 'ort', '--quiet'])).code).toBe(0);
    const [w, o] = [await readImage(out), await readImage(viaOrt)];
    let maxDiff = 0;
    for (let i = 0; i < w.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(w.data[i] - o.data[i]));
    expect(maxDiff).toBeLessThanOrEqual(1 / 255 + 1e-6);
    // A grey photo through the RGB model comes back grey.
    const greyIn = join(dir, 'grey-in.png');
    const g = await readImage(join(dir, 'noisy', 'camera.png'), { channels: 1 });
    await writeImage(greyIn, g);
    const greyOut = join(dir, 'grey-out.png');
    expect((await irsde(['restore', greyIn, greyOut, '--weights', small, '--quiet'])).code).toBe(0);
    expect((await readImage(greyOut)).channels).toBe(1);
    const bad = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...TINY, '--val-names', 'nope', '--steps', '1', '--out', join(dir, 'run-bad')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--val-names: not in .*: nope/);
    const badPred = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', '--prediction', 'x0', '--out', join(dir, 'run-bad')]);
    expect(badPred.stderr).toMatch(/--prediction must be one of noise, residual, got 'x0'/);
  });

  it('--val-gt validates on a separate folder; blind noise noise:0:50:clip; overlapping names refused', async () => {
    const valDir = join(dir, 'val-gt');
    mkdirSync(valDir, { recursive: true });
    copyFileSync(join(FIX, 'brick_gt.png'), join(valDir, 'brick.png'));
    const run = join(dir, 'run-valgt');
    const tr = await irsde(['train', '--gt', join(dir, 'gt'), '--val-gt', valDir, '--degradation', 'noise:0:50:clip', ...TINY, '--prediction', 'residual', '--objective', 'x0',
      '--val-degradation', 'noise:15:clip', '--val-degradation', 'noise:50:clip', '--val-every', '1', '--val-steps', '1', '--val-crop', '32', '--steps', '1', '--out', run]);
    expect(tr.stderr).toBe('');
    expect(tr.code).toBe(0);
    const log = readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log[0]).toMatchObject({ event: 'start', images: 3, validation: 1, validationDegradations: ['noise:15:clip', 'noise:50:clip'] });
    // One validation per degradation, and their mean; sigma 15 scores above sigma 50.
    const v = log.find((r) => r.event === 'validation');
    expect(v['psnr:noise:15:clip']).toBeGreaterThan(v['psnr:noise:50:clip'] + 3);
    expect(v.psnr).toBeCloseTo((v['psnr:noise:15:clip'] + v['psnr:noise:50:clip']) / 2, 10);
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'))).toMatchObject({ valGt: valDir, degradation: 'noise:0:50:clip', valDegradations: ['noise:15:clip', 'noise:50:clip'] });
    const paired = await irsde(['train', '--gt', join(dir, 'gt'), '--lq', join(dir, 'gt'), '--val-count', '1', '--val-degradation', 'noise:15', ...TINY, '--steps', '1', '--out', join(dir, 'run-bad')]);
    expect(paired.stderr).toMatch(/--val-degradation applies to synthetic data/);
    copyFileSync(join(FIX, 'coffee_gt.png'), join(valDir, 'coffee.png'));
    const overlap = await irsde(['train', '--gt', join(dir, 'gt'), '--val-gt', valDir, '--degradation', 'noise:0:50', ...TINY, '--steps', '1', '--out', join(dir, 'run-bad')]);
    expect(overlap.code).not.toBe(0);
    expect(overlap.stderr).toMatch(/--val-gt: coffee also in --gt/);
    // --gt twice: both folders' images train together; a name in both is refused.
    const extra = join(dir, 'gt-extra');
    mkdirSync(extra, { recursive: true });
    copyFileSync(join(FIX, 'brick_gt.png'), join(extra, 'wall.png'));
    rmSync(join(valDir, 'coffee.png'));
    const two = await irsde(['train', '--gt', join(dir, 'gt'), '--gt', extra, '--val-gt', valDir, '--degradation', 'noise:25', ...TINY, '--steps', '1', '--val-every', '1000', '--out', join(dir, 'run-two')]);
    expect(two.stderr).toBe('');
    expect(JSON.parse(readFileSync(join(dir, 'run-two', 'log.jsonl'), 'utf8').split('\n')[0])).toMatchObject({ event: 'start', images: 4 });
    const twice = await irsde(['train', '--gt', join(dir, 'gt'), '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...TINY, '--steps', '1', '--out', join(dir, 'run-bad')]);
    expect(twice.code).not.toBe(0);
    expect(twice.stderr).toMatch(/^irsde: --gt: the name '\w+' is in two sources/m);
    const both = await irsde(['train', '--gt', join(dir, 'gt'), '--val-gt', valDir, '--val-count', '1', '--degradation', 'noise:25', ...TINY, '--steps', '1', '--out', join(dir, 'run-bad')]);
    expect(both.stderr).toMatch(/--val-gt replaces --val-names \/ --val-count/);
    const badRange = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:50:0', ...TINY, '--steps', '1', '--out', join(dir, 'run-bad')]);
    expect(badRange.code).not.toBe(0);
    expect(badRange.stderr).toMatch(/0 <= MIN <= MAX/);
  });

  it('training defaults to ONNX Runtime gradients, the same run as --gradients tfjs (same losses); clear errors for --workers and odd patches with ort', async () => {
    const losses = async (extra: string[], out: string) => {
      const r = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...TINY, '--seed', '5', '--steps', '3', '--val-count', '1', '--val-every', '3', '--val-steps', '2', '--val-crop', '32', ...extra, '--out', out]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'step').map((e) => e.loss as number);
    };
    const viaTfjs = await losses(['--gradients', 'tfjs'], join(dir, 'run-tfjs'));
    const viaOrt = await losses([], join(dir, 'run-ort'));
    const start = JSON.parse(readFileSync(join(dir, 'run-ort', 'log.jsonl'), 'utf8').split('\n')[0]);
    expect(start.gradients).toBe('ort');
    expect(start.conv3x3).toBe('winograd');
    expect(viaOrt).toHaveLength(3);
    viaOrt.forEach((l, i) => expect(Math.abs(l - viaTfjs[i])).toBeLessThan(1e-3 * viaTfjs[i]));
    // Validation runs on ONNX Runtime too with ort gradients: the same scores as on tfjs.
    const valOf = (run: string) => JSON.parse(readFileSync(join(dir, run, 'log.jsonl'), 'utf8').trim().split('\n').find((l) => l.includes('"event":"validation"'))!);
    expect(Math.abs(valOf('run-ort').psnr - valOf('run-tfjs').psnr)).toBeLessThan(0.02);
    const bad = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...TINY, '--gradients', 'ort', '--workers', '2', '--out', join(dir, 'run-bad')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--gradients ort uses every core itself; drop --workers/);
    const odd = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...TINY, '--patch', '30', '--out', join(dir, 'run-bad')]);
    expect(odd.code).not.toBe(0);
    expect(odd.stderr).toMatch(/--patch to be a multiple of 2\^depth = 4, got 30/);
    const badConv = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...TINY, '--conv3x3', 'fft', '--out', join(dir, 'run-bad')]);
    expect(badConv.code).not.toBe(0);
    expect(badConv.stderr).toMatch(/--conv3x3/);
  });

  it('Ctrl-C during training leaves a usable checkpoint', async () => {
    const out = join(dir, 'run-int');
    const child = spawn(process.execPath, [CLI, 'train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...TINY, '--steps', '100000', '--checkpoint-every', '100000', '--out', out], {
      cwd: ROOT,
      env: { ...process.env, IRSDE_BACKEND: 'wasm' },
    });
    // Interrupt once the first step has been logged.
    await new Promise<void>((res) => {
      const poll = setInterval(() => {
        if (existsSync(join(out, 'log.jsonl')) && readFileSync(join(out, 'log.jsonl'), 'utf8').includes('"event":"step"')) {
          clearInterval(poll);
          child.kill('SIGINT');
          res();
        }
      }, 100);
    });
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    expect(code).toBe(0);
    const steps = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const last = steps.filter((r) => r.event === 'checkpoint').pop();
    expect(last.step).toBeGreaterThanOrEqual(1);
    const resumed = await irsde(['train', '--resume', join(out, 'checkpoint.safetensors'), '--steps', String(last.step + 1), '--out', out, '--quiet']);
    expect(resumed.code).toBe(0);
    expect(readFileSync(join(out, 'log.jsonl'), 'utf8')).toContain(`"event":"resume","step":${last.step}`);
  });

  it('--arch nafnet: trains on ONNX Runtime, restores, info and export report it; options of another architecture fail in one line', async () => {
    const run = join(dir, 'run-naf');
    const naf = ['--arch', 'nafnet', '--width', '4', '--enc-blocks', '1,1', '--middle-blocks', '1', '--dec-blocks', '1,1', '--T', '10', '--max-sigma', '50', '--batch', '2', '--patch', '32', '--engine', 'wasm', '--quiet'];
    const trained = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...naf, '--steps', '2', '--prediction', 'residual', '--objective', 'x0', '--out', run]);
    expect(trained.code, trained.stderr).toBe(0);
    const start = JSON.parse(readFileSync(join(run, 'log.jsonl'), 'utf8').split('\n')[0]);
    expect(start.gradients).toBe('ort');
    expect(start.network).toEqual({ arch: 'nafnet', imgChannels: 3, width: 4, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1], prediction: 'residual' });
    const model = join(run, 'model.safetensors');
    const info = await irsde(['info', model, '--json']);
    expect(JSON.parse(info.stdout).network.arch).toBe('nafnet');
    const restored = await irsde(['restore', join(dir, 'noisy', 'camera.png'), join(dir, 'naf-camera.png'), '--weights', model, '--steps', '1', '--quiet']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(existsSync(join(dir, 'naf-camera.png'))).toBe(true);
    const exported = await irsde(['export', model, '--safetensors', join(dir, 'naf.safetensors')]);
    expect(exported.code, exported.stderr).toBe(0);
    const plain = await irsde(['info', join(dir, 'naf.safetensors'), '--json']);
    expect(JSON.parse(plain.stdout).network).toEqual({ arch: 'nafnet', imgChannels: 3, width: 4, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1] });
    const foreign = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...naf, '--nf', '8', '--out', join(dir, 'r2')]);
    expect(foreign.code).not.toBe(0);
    expect(foreign.stderr.trim().split('\n')).toHaveLength(1);
    expect(foreign.stderr).toMatch(/--nf is not an option of --arch nafnet \(its options: --width, --enc-blocks, --middle-blocks, --dec-blocks\)/);
    const foreign2 = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...TINY, '--width', '8', '--out', join(dir, 'r3')]);
    expect(foreign2.stderr).toMatch(/--width is not an option of --arch unet/);
    const badArch = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...TINY, '--arch', 'resnet', '--out', join(dir, 'r4')]);
    expect(badArch.code).not.toBe(0);
    expect(badArch.stderr).toMatch(/--arch/);
    const badLevels = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...naf, '--dec-blocks', '1', '--out', join(dir, 'r5')]);
    expect(badLevels.stderr).toMatch(/encBlocks and decBlocks must have one entry per level/);
  });

  it('--sde denoising: trains a tiny unconditional model for noise levels 0:50, restores with and without --noise-level (estimated, printed); bad levels fail in one line', async () => {
    const run = join(dir, 'run-dn');
    const trained = await irsde(['train', '--gt', join(dir, 'gt'), '--sde', 'denoising', '--noise-levels', '0:50:clip', ...TINY, '--steps', '2', '--val-count', '1', '--val-every', '2', '--val-steps', '2', '--val-crop', '32', '--out', run]);
    expect(trained.code, trained.stderr).toBe(0);
    const log = readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log[0].sde.kind).toBe('denoising');
    expect(log[0].sde.maxSigma).toBeCloseTo(50 / 255, 12);
    expect(log[0].network.conditional).toBe(false);
    expect(log[0].timesteps).toEqual([1, 10]);
    expect(log[0].clipState).toBe(true);
    expect(log.some((r) => r.event === 'validation' && Number.isFinite(r.psnr))).toBe(true);
    const model = join(run, 'model.safetensors');
    const info = JSON.parse((await irsde(['info', model, '--json'])).stdout);
    expect(info.sde.kind).toBe('denoising');
    const given = await irsde(['restore', join(dir, 'noisy', 'camera.png'), join(dir, 'dn-given.png'), '--weights', model, '--noise-level', '25']);
    expect(given.code, given.stderr).toBe(0);
    expect(given.stderr).toMatch(/noise sigma 25\.0 \(given; start t = \d+\)/);
    const blind = await irsde(['restore', join(dir, 'noisy', 'camera.png'), join(dir, 'dn-blind.png'), '--weights', model, '--sampler', 'ode-adaptive']);
    expect(blind.code, blind.stderr).toBe(0);
    expect(blind.stderr).toMatch(/noise sigma [0-9.]+ \(estimated; start t = \d+\)/);
    expect(blind.stderr).toMatch(/\d+ network evaluations/);
    for (const [args, re] of [
      [['--noise-level', '80'], /--noise-level 80 exceeds the model's maximum noise level 50\.0/],
      [['--noise-level', '-3'], /--noise-level must be/],
      [['--noise-level', 'NaN'], /--noise-level must be/],
    ] as const) {
      const bad = await irsde(['restore', join(dir, 'noisy', 'camera.png'), join(dir, 'dn-bad.png'), '--weights', model, ...args]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toMatch(re);
    }
    // An IR-SDE model (run-a, trained by the first test) takes no noise level.
    const mr = await irsde(['restore', join(dir, 'noisy', 'camera.png'), join(dir, 'mr.png'), '--weights', join(dir, 'run-a', 'model.safetensors'), '--noise-level', '25']);
    expect(mr.code).not.toBe(0);
    expect(mr.stderr.trim().split('\n')).toHaveLength(1);
    expect(mr.stderr).toMatch(/--noise-level applies to DenoisingSDE models only/);
    const irLevels = await irsde(['train', '--gt', join(dir, 'gt'), '--degradation', 'noise:25', ...TINY, '--noise-levels', '0:50', '--out', join(dir, 'r6')]);
    expect(irLevels.stderr).toMatch(/--noise-levels is a DenoisingSDE option/);
    const badSpec = await irsde(['train', '--gt', join(dir, 'gt'), '--sde', 'denoising', ...TINY, '--noise-levels', '0:50:blur', '--out', join(dir, 'r7')]);
    expect(badSpec.code).not.toBe(0);
    expect(badSpec.stderr.trim().split('\n')).toHaveLength(1);
    expect(badSpec.stderr).toMatch(/--noise-levels must be MIN:MAX\[:clip\]/);
  });

  it('--task derain restores with the repository\'s deraining model (models/derain.safetensors)', async () => {
    const clean = await readImage(join(FIX, 'astronaut_gt.png'), { channels: 3 });
    await writeImage(join(dir, 'rainy.png'), rainStreaks(clean, {}, new Rng(4)));
    const rainy = await readImage(join(dir, 'rainy.png'));
    const r = await irsde(['restore', join(dir, 'rainy.png'), join(dir, 'derained.png'), '--task', 'derain']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/models\/derain\.safetensors/);
    const out = await readImage(join(dir, 'derained.png'));
    expect(psnr(out, clean) - psnr(rainy, clean)).toBeGreaterThan(3);
  });

  it('fails clearly, with a non-zero exit code, on bad input', async () => {
    const model = join(dir, 'run-a', 'model.safetensors');
    const missing = await irsde(['restore', join(dir, 'nope.png'), join(dir, 'x.png'), '--weights', model]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/irsde: .*nope\.png/);
    const noWeights = await irsde(['restore', join(dir, 'noisy', 'camera.png'), join(dir, 'x.png'), '--weights', join(dir, 'missing.safetensors')]);
    expect(noWeights.code).not.toBe(0);
    expect(noWeights.stderr).toMatch(/weights file not found/);
    const badTask = await irsde(['restore', join(dir, 'noisy', 'camera.png'), join(dir, 'x.png'), '--task', 'dehaze']);
    expect(badTask.code).not.toBe(0);
    expect(badTask.stderr.trim().split('\n')).toHaveLength(1);
    expect(badTask.stderr).toMatch(/--task must be one of denoise, derain, deblur, sr4, inpaint, got 'dehaze'/);
    const both = await irsde(['restore', join(dir, 'noisy', 'camera.png'), join(dir, 'x.png'), '--task', 'denoise', '--weights', model]);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/give --task or --weights, not both/);
    const badSampler = await irsde(['restore', join(dir, 'noisy'), join(dir, 'o'), '--weights', model, '--sampler', 'magic']);
    expect(badSampler.stderr).toMatch(/unknown sampler 'magic'/);
    const badSteps = await irsde(['restore', join(dir, 'noisy'), join(dir, 'o'), '--weights', model, '--steps', 'ten']);
    expect(badSteps.code).not.toBe(0);
    expect(badSteps.stderr).toMatch(/--steps must be an integer/);
    mkdirSync(join(dir, 'small'));
    await writeImage(join(dir, 'small', 'camera.png'), { data: new Float32Array(16 * 16 * 3), height: 16, width: 16, channels: 3 });
    const sizes = await irsde(['eval', join(dir, 'small'), join(dir, 'clean')]);
    expect(sizes.code).not.toBe(0);
    expect(sizes.stderr).toMatch(/'camera': restored image is 16x16 but the reference is 80x64/);
    const noData = await irsde(['train', '--gt', join(dir, 'gt'), '--out', join(dir, 'r'), ...TINY]);
    expect(noData.stderr).toMatch(/give --lq DIR .* or --degradation SPEC/);
    for (const [args, msg] of [
      [['--degradation', 'noise:25', '--timesteps', '0:10'], /--timesteps must be MIN:MAX with integers 1 <= MIN <= MAX <= T = 10, got '0:10'/],
      [['--degradation', 'noise:25', '--timesteps', '5:11'], /--timesteps must be MIN:MAX .* got '5:11'/],
      [['--sde', 'denoising', '--timesteps', '5:10'], /--timesteps is an IR-SDE option/],
    ] as const) {
      const bad = await irsde(['train', '--gt', join(dir, 'gt'), ...args, ...TINY, '--out', join(dir, 'r-ts')]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toMatch(msg);
    }
    const notCkpt = await irsde(['train', '--resume', model, '--out', join(dir, 'r'), '--quiet']);
    expect(notCkpt.stderr).toMatch(/not an irsde checkpoint/);
  });
});
