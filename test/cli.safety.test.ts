// Issue 30 through the built command line (dist/cli.js; `npm test` builds it first): restore never
// replaces its input unasked, folders finish past bad files, outputs are checked before work,
// image and model files are bounded and verified, and kill -9 during export leaves a loadable file.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/backend.js';
import { readImage, writeImage } from '../src/io/images.js';
import { saveModelFile, verifyModelFile } from '../src/io/model-files.js';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../src/nn/io/safetensors.js';
import { createNetwork } from '../src/nn/tfjs/network.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/cli.js');

/** Runs the built CLI in a child process. */
function irsde(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
let model: string;
const QUICK = ['--engine', 'cpu', '--steps', '1', '--quiet'];
const image = (v: number) => ({ data: new Float32Array(16 * 16 * 3).fill(v), height: 16, width: 16, channels: 3 as const });

beforeAll(async () => {
  expect(existsSync(CLI), 'dist/cli.js exists (npm run build)').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'irsde-cli-safety-'));
  await selectBackend('cpu');
  const net = createNetwork({ inChannels: 3, outChannels: 3, nf: 4, depth: 2 }, { seed: 1 });
  model = join(dir, 'model.safetensors');
  await saveModelFile(model, net, { T: 10, maxSigma: 50 / 255 });
  net.dispose();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('irsde restore never replaces its input unasked', () => {
  it('refuses the same file, a symlink to it, and the same folder; --overwrite allows it', async () => {
    const a = join(dir, 'same', 'a.png');
    await writeImage(a, image(0.5));
    const before = readFileSync(a);
    const link = join(dir, 'same', 'link.png');
    symlinkSync(a, link);
    for (const out of [a, join(dir, 'same', '.', 'a.png'), link]) {
      const r = await irsde(['restore', a, out, '--weights', model, ...QUICK]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^irsde: output '.*' is the input '.*a\.png' \(the same file\): refusing to replace the input; give another output \(or --overwrite\)/);
    }
    const dirs = await irsde(['restore', join(dir, 'same'), join(dir, 'same') + '/', '--weights', model, ...QUICK]);
    expect(dirs.code).toBe(1);
    expect(dirs.stderr).toMatch(/output folder .* is the input folder/);
    expect(readFileSync(a).equals(before)).toBe(true);
    const ok = await irsde(['restore', a, a, '--weights', model, ...QUICK, '--overwrite']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(a).equals(before)).toBe(false);
    expect((await readImage(a)).width).toBe(16);
    expect(readdirSync(join(dir, 'same')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('folder restores', () => {
  it('go on past bad files, name each, count both, and exit 1', async () => {
    const input = join(dir, 'mixed');
    await writeImage(join(input, 'a-good.png'), image(0.3));
    writeFileSync(join(input, 'b-bad.png'), 'not an image at all');
    mkdirSync(join(input, 'c-folder.png'));
    await writeImage(join(input, 'd-good.png'), image(0.7));
    const out = join(dir, 'mixed-out');
    const r = await irsde(['restore', input, out, '--weights', model, ...QUICK]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^irsde: failed '.*b-bad\.png': .*unsupported image format/);
    expect(lines[1]).toMatch(/^irsde: failed '.*c-folder\.png': .*is a folder/);
    expect(lines[2]).toMatch(/^irsde: 2 of 4 images failed \(listed above\), 2 restored into/);
    expect(readdirSync(out).sort()).toEqual(['a-good.png', 'd-good.png']);
  });

  it('an empty input folder creates no output folder; an unwritable output fails before any work', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const out = join(dir, 'empty-out');
    const r = await irsde(['restore', empty, out, '--weights', model, ...QUICK]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no \.png\/\.jpg\/\.jpeg images in/);
    expect(existsSync(out)).toBe(false);
    // The output's parent is a file: refused before the model is loaded (no 'engine:' line, nothing restored).
    const input = join(dir, 'one');
    await writeImage(join(input, 'x.png'), image(0.5));
    const blocked = await irsde(['restore', input, join(model, 'out'), '--weights', model, '--engine', 'cpu', '--steps', '1']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr.trim().split('\n')).toHaveLength(1);
    expect(blocked.stderr).toMatch(/cannot write to folder '.*model\.safetensors\/out'/);
  });
});

describe('bounded inputs', () => {
  it('--max-pixels refuses a larger image from its header; a device is refused', async () => {
    const a = join(dir, 'px.png');
    await writeImage(a, image(0.5));
    const r = await irsde(['restore', a, join(dir, 'px-out.png'), '--weights', model, ...QUICK, '--max-pixels', '255']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^irsde: '.*px\.png': image too large: 16x16 .*limit of 255 pixels/);
    expect(existsSync(join(dir, 'px-out.png'))).toBe(false);
    expect((await irsde(['restore', a, join(dir, 'px-out.png'), '--weights', model, ...QUICK, '--max-pixels', '256'])).code).toBe(0);
    const zero = join(dir, 'zero.png');
    symlinkSync('/dev/zero', zero);
    const z = await irsde(['restore', zero, join(dir, 'z.png'), '--weights', model, ...QUICK]);
    expect(z.code).toBe(1);
    expect(z.stderr).toMatch(/is not a regular file/);
    const help = (await irsde(['restore', '--help'])).stdout;
    for (const f of ['--overwrite', '--max-pixels', '--bit-depth']) expect(help).toContain(f);
  });
});

describe('model files through the CLI', () => {
  it('info exits 1 on a truncated or inconsistent model, 0 on a good one', async () => {
    const bytes = readFileSync(model);
    expect((await irsde(['info', model, '--json'])).code).toBe(0);
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 64));
    const r = await irsde(['info', cut]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not a valid safetensors file: .*truncated/);
    const meta = readSafetensorsHeader(bytes).metadata;
    const info = JSON.parse(meta.irsde);
    const forged = join(dir, 'forged.safetensors');
    writeFileSync(forged, writeSafetensors(readSafetensors(bytes), { ...meta, irsde: JSON.stringify({ ...info, network: { ...info.network, nf: 256 } }) }));
    const f = await irsde(['info', forged]);
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(/^irsde: '.*forged\.safetensors': irsde model: the network description .* does not fit the file's/);
    const t0 = Date.now();
    const restore = await irsde(['restore', join(dir, 'px.png'), join(dir, 'forged-out.png'), '--weights', forged, ...QUICK]);
    expect(restore.code).toBe(1);
    expect(restore.stderr.trim().split('\n')).toHaveLength(1);
    expect(restore.stderr).toMatch(/does not fit the file's/);
    expect(Date.now() - t0).toBeLessThan(20_000);
    const pth = join(dir, 'w.pth');
    writeFileSync(pth, readFileSync(join(ROOT, 'test/fixtures/io/ckpt.pth')));
    const p = await irsde(['restore', join(dir, 'px.png'), join(dir, 'pth-out.png'), '--weights', pth, ...QUICK]);
    expect(p.stderr).toMatch(/PyTorch file/);
  });

  it('kill -9 during `export --model` over the model itself leaves a file that loads', async () => {
    const target = join(dir, 'rewrite.safetensors');
    writeFileSync(target, readFileSync(model));
    for (const delay of [300, 700, 1100, 1500]) {
      const p = spawn(process.execPath, [CLI, 'export', target, '--model', target, '--dtype', 'float16'], { cwd: ROOT, stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, delay));
      p.kill('SIGKILL');
      await new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.on('exit', () => r())));
      await expect(verifyModelFile(target)).resolves.toBeTruthy();
    }
  });
});
