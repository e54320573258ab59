// Issue 30, library side: atomic writes (kill -9 leaves the old or the whole new file), bounded
// image reads (decompression bombs, devices, FIFOs), and model files checked before they are trusted.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode as pngEncode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/backend.js';
import { writeFileAtomic, assertWritableFolder } from '../src/io/atomic.js';
import { DEFAULT_MAX_PIXELS, ImageTooLargeError, imageDimensions, readImage, writeImage } from '../src/io/images.js';
import { loadModelFile, saveModelFile, verifyModelFile } from '../src/io/model-files.js';
import { WeightFileError } from '../src/nn/io/errors.js';
import { isPyTorchFile, readSafetensors, readSafetensorsHeader, writeSafetensors } from '../src/nn/io/safetensors.js';
import { loadModel, saveModel, verifyModel } from '../src/nn/model/model-format.js';
import { createNetwork } from '../src/nn/tfjs/network.js';
import { StateDictMismatchError } from '../src/nn/tfjs/state-dict.js';
import { encodeImage } from '../src/image/codec.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TSX = join(ROOT, 'node_modules/tsx/dist/loader.mjs');
const SDE = { T: 10, maxSigma: 50 / 255 };
const TINY_NAF = { arch: 'nafnet' as const, imgChannels: 3, width: 8, encBlocks: [1], middleBlocks: 1, decBlocks: [1], conditional: false, prediction: 'residual' as const };

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'irsde-io-safety-'));
  await selectBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Files left in `d` whose names look like the helper's temporary files. */
const temps = (d: string): string[] => readdirSync(d).filter((n) => n.endsWith('.tmp'));

function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A valid 8x8 PNG whose IHDR (with a correct CRC) then claims `width x height`. */
function pngClaiming(width: number, height: number): Uint8Array {
  const b = new Uint8Array(pngEncode({ width: 8, height: 8, data: new Uint8Array(64 * 3).fill(7), channels: 3, depth: 8 }));
  const dv = new DataView(b.buffer);
  dv.setUint32(16, width);
  dv.setUint32(20, height);
  dv.setUint32(29, crc32(b.subarray(12, 29)));
  return b;
}

/** Runs a TypeScript snippet in a child Node process (through tsx) and returns it running. */
function child(code: string) {
  const script = join(dir, `child-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(script, code);
  return spawn(process.execPath, ['--import', TSX, script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves with the first stdout line of a child that contains `word`. */
function waitFor(p: ReturnType<typeof child>, word: string): Promise<void> {
  return new Promise((res, rej) => {
    let out = '';
    let err = '';
    p.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes(word)) res();
    });
    p.stderr!.on('data', (d) => (err += String(d)));
    p.on('exit', () => rej(new Error(`child exited before '${word}': ${err}`)));
  });
}

const exited = (p: ReturnType<typeof child>): Promise<void> => new Promise((res) => (p.exitCode !== null || p.signalCode !== null ? res() : p.on('exit', () => res())));

describe('writeFileAtomic', () => {
  it('writes, replaces, keeps the old file\'s permissions, and follows a symlink to its file', async () => {
    const f = join(dir, 'a.bin');
    await writeFileAtomic(f, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(f)]).toEqual([1, 2, 3]);
    chmodSync(f, 0o640);
    await writeFileAtomic(f, 'text');
    expect(readFileSync(f, 'utf8')).toBe('text');
    expect(statSync(f).mode & 0o777).toBe(0o640);
    const link = join(dir, 'link.bin');
    symlinkSync(f, link);
    await writeFileAtomic(link, 'through the link');
    expect(readFileSync(f, 'utf8')).toBe('through the link');
    expect(temps(dir)).toEqual([]);
  });

  it('fails in one line, leaving the old file and no temporary file', async () => {
    const f = join(dir, 'keep.txt');
    writeFileSync(f, 'old');
    // Fault injection: the write fails after the temporary file is complete, before the rename.
    await expect(writeFileAtomic(f, 'new', { beforeRename: () => Promise.reject(new Error('injected fault')) })).rejects.toThrow(/^cannot write '.*keep\.txt': injected fault$/);
    expect(readFileSync(f, 'utf8')).toBe('old');
    expect(temps(dir)).toEqual([]);
    await expect(writeFileAtomic(join(dir, 'missing', 'x.txt'), 'x')).rejects.toThrow(/^cannot write .*no such folder \(ENOENT\)$/);
    await expect(writeFileAtomic(dir, 'x')).rejects.toThrow(/it is a folder/);
    // A regular file where a folder should be: no folder can be made there (even as root).
    await expect(assertWritableFolder(join(f, 'out'))).rejects.toThrow(/^cannot write to folder '.*keep\.txt\/out'/);
  });

  it('kill -9 at any moment of a write leaves the old file or the whole new one', async () => {
    const f = join(dir, 'big.bin');
    const MB = 1 << 20;
    writeFileSync(f, new Uint8Array(4 * MB).fill(0x41));
    // A child rewrites the file (4 MiB) in a loop, alternating its contents; it is killed mid-loop.
    const p = child(`
      import { writeFileAtomic } from ${JSON.stringify(join(ROOT, 'src/io/atomic.ts'))};
      const a = new Uint8Array(${4 * MB}).fill(0x42), b = new Uint8Array(${6 * MB}).fill(0x43);
      for (let i = 0; ; i++) { await writeFileAtomic(${JSON.stringify(f)}, i % 2 ? a : b); if (i === 2) console.log('looping'); }
    `);
    await waitFor(p, 'looping');
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 200));
    p.kill('SIGKILL');
    await exited(p);
    const got = readFileSync(f);
    const whole = (got.length === 4 * MB && got.every((x) => x === 0x42)) || (got.length === 6 * MB && got.every((x) => x === 0x43));
    expect(whole, `a whole file, got ${got.length} bytes`).toBe(true);

    // Killed deterministically between the flushed temporary file and the rename: the old file stays.
    writeFileSync(f, 'old contents');
    const q = child(`
      import { writeFileAtomic } from ${JSON.stringify(join(ROOT, 'src/io/atomic.ts'))};
      await writeFileAtomic(${JSON.stringify(f)}, new Uint8Array(${2 * MB}).fill(0x44), { beforeRename: () => { console.log('flushed'); return new Promise(() => {}); } });
    `);
    await waitFor(q, 'flushed');
    q.kill('SIGKILL');
    await exited(q);
    expect(readFileSync(f, 'utf8')).toBe('old contents');
  });
});

describe('readImage bounds', () => {
  it('refuses a PNG whose header claims a huge size, from the header, at once', async () => {
    for (const [w, h] of [
      [16000, 16000],
      [60000, 60000],
    ]) {
      const path = join(dir, `bomb-${w}.png`);
      writeFileSync(path, pngClaiming(w, h));
      const t0 = Date.now();
      const err = await readImage(path).catch((e: Error) => e);
      expect(err).toBeInstanceOf(ImageTooLargeError);
      expect((err as Error).message).toMatch(new RegExp(`image too large: ${w}x${h}`));
      expect((err as Error).message).not.toMatch(/typed array/);
      expect((err as Error).message.split('\n')).toHaveLength(1);
      expect(Date.now() - t0).toBeLessThan(1000);
    }
    expect(imageDimensions(pngClaiming(123, 45))).toEqual({ width: 123, height: 45 });
  });

  it('checks a JPEG frame header and honours maxPixels', async () => {
    const img = { data: new Float32Array(16 * 12 * 3).fill(0.5), height: 12, width: 16, channels: 3 as const };
    const jpg = encodeImage(img, 'jpeg');
    expect(imageDimensions(jpg)).toEqual({ width: 16, height: 12 });
    const path = join(dir, 'small.jpg');
    writeFileSync(path, jpg);
    await expect(readImage(path, { maxPixels: 100 })).rejects.toThrow(/image too large: 16x12 .*limit of 100 pixels/);
    expect((await readImage(path, { maxPixels: 192 })).width).toBe(16);
    const png = join(dir, 'small.png');
    await writeImage(png, img);
    await expect(readImage(png, { maxPixels: 191 })).rejects.toThrow(ImageTooLargeError);
    expect((await readImage(png)).height).toBe(12);
    expect(DEFAULT_MAX_PIXELS).toBe(100_000_000);
  });

  it('refuses devices and FIFOs instead of reading them', async () => {
    const zero = join(dir, 'zero.png');
    symlinkSync('/dev/zero', zero);
    const t0 = Date.now();
    await expect(readImage(zero)).rejects.toThrow(/not a regular file/);
    const fifo = join(dir, 'fifo.png');
    execFileSync('mkfifo', [fifo]);
    await expect(readImage(fifo)).rejects.toThrow(/not a regular file/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('model files are checked before they are trusted', () => {
  const model = (): Uint8Array => {
    const net = createNetwork(TINY_NAF, { seed: 1 });
    try {
      return saveModel(net, SDE);
    } finally {
      net.dispose();
    }
  };

  it('a truncated model file fails at once in loadModel, verifyModel and verifyModelFile', async () => {
    const bytes = model();
    expect(verifyModel(bytes).header.tensors.length).toBeGreaterThan(0);
    const cut = bytes.slice(0, bytes.length - 1000);
    expect(() => loadModel(cut)).toThrow(WeightFileError);
    expect(() => verifyModel(cut)).toThrow(/outside the .*data area \(file truncated or header corrupt\)/);
    const path = join(dir, 'cut.safetensors');
    writeFileSync(path, cut);
    await expect(verifyModelFile(path)).rejects.toThrow(/file truncated/);
    await expect(loadModelFile(path)).rejects.toThrow(WeightFileError);
    // The header alone, with the file's true length, is enough to tell.
    const { dataStart } = readSafetensorsHeader(bytes);
    expect(() => readSafetensorsHeader(bytes.subarray(0, dataStart), bytes.length - 1)).toThrow(/truncated/);
    expect(readSafetensorsHeader(bytes.subarray(0, dataStart), bytes.length).dataStart).toBe(dataStart);
  });

  it('a network description that does not fit the tensors fails before any network is built', () => {
    const bytes = model();
    const meta = readSafetensorsHeader(bytes).metadata;
    const info = JSON.parse(meta.irsde);
    const forged = writeSafetensors(readSafetensors(bytes), { ...meta, irsde: JSON.stringify({ ...info, network: { ...info.network, width: 256, middleBlocks: 12 } }) });
    const t0 = Date.now();
    let err: Error | undefined;
    try {
      loadModel(forged);
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(StateDictMismatchError);
    // The header check's message (one line), not loadStateDict's: the network was never built.
    expect(err!.message).toMatch(/^irsde model: the network description .* does not fit the file's \d+ tensors .*mis-shaped .*missing/);
    expect(err!.message).not.toContain('\n');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(() => verifyModel(forged)).toThrow(StateDictMismatchError);
  });

  it('a PyTorch file given where safetensors is read says what it is', async () => {
    const pth = readFileSync(join(ROOT, 'test/fixtures/io/ckpt.pth'));
    expect(isPyTorchFile(pth)).toBe(true);
    expect(isPyTorchFile(model())).toBe(false);
    expect(() => readSafetensors(pth)).toThrow(/PyTorch file .*readTorchStateDict\(\)/);
    const path = join(dir, 'weights.pth');
    writeFileSync(path, pth);
    await expect(loadModelFile(path)).rejects.toThrow(/PyTorch file/);
    await expect(verifyModelFile(path)).rejects.toThrow(/PyTorch file/);
  });

  it('saveModelFile writes atomically (a good file round-trips, nothing temporary is left)', async () => {
    const sub = join(dir, 'models');
    mkdirSync(sub);
    const net = createNetwork(TINY_NAF, { seed: 2 });
    try {
      const path = join(sub, 'm.safetensors');
      const n = await saveModelFile(path, net, SDE);
      expect(statSync(path).size).toBe(n);
      expect((await verifyModelFile(path)).bytes).toBe(n);
      expect(temps(sub)).toEqual([]);
      expect(existsSync(path)).toBe(true);
    } finally {
      net.dispose();
    }
  });
});
