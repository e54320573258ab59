import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode as pngEncode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { folderSource, listImageFiles, readImage, writeImage } from '../src/io/index.js';
import { convertChannels, decodeImage, encodeJpeg, encodePng, createImage, psnr, type FloatImage } from '../src/image/index.js';
import { SHARED } from './helpers/goldens.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), 'fixtures/images');
const TMP = mkdtempSync(join(tmpdir(), 'irsde-io-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/** A smooth test image whose values are exact 8-bit levels. */
function levels(h: number, w: number, c: 1 | 3, max = 255): FloatImage {
  const d = new Float32Array(h * w * c);
  for (let i = 0; i < d.length; i++) d[i] = ((i * 37 + Math.floor(i / 7)) % (max + 1)) / max;
  return createImage(h, w, c, d);
}

function maxAbs(a: Float32Array, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('PNG and JPEG files', () => {
  it('8-bit PNG round trips exactly, RGB and grey', async () => {
    for (const c of [1, 3] as const) {
      const img = levels(13, 17, c);
      const p = join(TMP, `l${c}.png`);
      await writeImage(p, img);
      const back = await readImage(p);
      expect(back.channels).toBe(c);
      expect([back.height, back.width]).toEqual([13, 17]);
      expect(maxAbs(back.data, img.data)).toBeLessThan(1e-7);
    }
  });

  it('16-bit PNG keeps 16-bit precision', async () => {
    const img = levels(9, 11, 3, 65535);
    const p = join(TMP, 'sub/deeper/l16.png'); // parent folders are created
    await writeImage(p, img, { bitDepth: 16 });
    expect(readFileSync(p)[24]).toBe(16); // IHDR bit depth
    const back = await readImage(p);
    expect(maxAbs(back.data, img.data)).toBeLessThan(1e-7);
    // 8-bit would lose it: the values are not multiples of 1/255.
    const eight = decodeImage(encodePng(img));
    expect(maxAbs(eight.data, img.data)).toBeGreaterThan(1e-4);
  });

  it('JPEG round trip of a smooth photo crop is close (lossy) and grey converts', async () => {
    const photo = await readImage(join(resolve(FIXTURES, '../metrics'), 'coffee_gt.png'));
    for (const ext of ['.jpg', '.jpeg']) {
      const p = join(TMP, 'coffee' + ext);
      await writeImage(p, photo, { quality: 95 });
      const back = await readImage(p);
      expect(back.channels).toBe(3);
      expect(psnr(back, photo)).toBeGreaterThan(35);
    }
    const low = join(TMP, 'low.jpg');
    await writeImage(low, photo, { quality: 10 });
    expect(readFileSync(low).length).toBeLessThan(readFileSync(join(TMP, 'coffee.jpg')).length);
    const grey = await readImage(low, { channels: 1 });
    expect(grey.channels).toBe(1);
  });

  it('decodes formats Pillow wrote: RGBA, grey+alpha (alpha dropped), palette, 1-bit, grey/colour/progressive JPEG', async () => {
    const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<
      string,
      { channels: number; max: number; height: number; width: number; data: number[]; lossy?: boolean }
    >;
    expect(Object.keys(expected).length).toBe(7);
    for (const [name, e] of Object.entries(expected)) {
      const img = await readImage(join(FIXTURES, name));
      expect([img.height, img.width, img.channels], name).toEqual([e.height, e.width, e.channels]);
      const want = e.data.map((v) => v / e.max);
      if (e.lossy) {
        // jpeg-js and libjpeg differ in IDCT rounding and chroma upsampling (jpeg-js replicates
        // subsampled chroma; libjpeg interpolates), which on these steep colour ramps is worth a
        // few levels on average: close, not equal. Swapped channels or rows would be ~100 levels.
        const mean = img.data.reduce((s, v, i) => s + Math.abs(v - want[i]), 0) / want.length;
        expect(mean, name).toBeLessThan((e.channels === 1 ? 1.5 : 4.5) / 255);
        expect(maxAbs(img.data, want), name).toBeLessThan(12 / 255);
      } else {
        expect(maxAbs(img.data, want), name).toBeLessThan(1e-7);
      }
    }
  });

  it('decodes Adam7-interlaced PNGs', () => {
    const data = new Uint8Array(10 * 7 * 3).map((_, i) => (i * 11) % 256);
    const bytes = pngEncode({ width: 7, height: 10, data, depth: 8, channels: 3 }, { interlace: 'Adam7' });
    const img = decodeImage(bytes);
    expect(maxAbs(img.data, Array.from(data, (v) => v / 255))).toBeLessThan(1e-7);
  });

  it('reads the shared photos (PNG grey, JPEG colour) and converts channels on request', async () => {
    const clock = await readImage(join(SHARED, 'data/images/clock_motion.png'));
    expect([clock.height, clock.width, clock.channels]).toEqual([300, 400, 1]);
    const hubble = await readImage(join(SHARED, 'data/images/hubble_deep_field.jpg'));
    expect([hubble.height, hubble.width, hubble.channels]).toEqual([872, 1000, 3]);
    expect(hubble.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    const astro = await readImage(join(SHARED, 'data/images/astronaut.png'), { channels: 1 });
    const astroRgb = await readImage(join(SHARED, 'data/images/astronaut.png'));
    expect(astro.channels).toBe(1);
    const i = 1000;
    const want = 0.299 * astroRgb.data[3 * i] + 0.587 * astroRgb.data[3 * i + 1] + 0.114 * astroRgb.data[3 * i + 2];
    expect(astro.data[i]).toBeCloseTo(want, 6);
    const clock3 = await readImage(join(SHARED, 'data/images/clock_motion.png'), { channels: 3 });
    expect(clock3.data[30]).toBe(clock3.data[31]);
    expect(clock3.data[31]).toBe(clock3.data[32]);
    expect(convertChannels(clock3, 1).data[10]).toBeCloseTo(clock.data[10], 6);
  });

  it('browser-safe byte codec: encodePng / encodeJpeg / decodeImage without files', () => {
    const img = levels(8, 8, 3);
    const png = encodePng(img);
    expect(png).toBeInstanceOf(Uint8Array);
    expect(maxAbs(decodeImage(png).data, img.data)).toBeLessThan(1e-7);
    const copy = new ArrayBuffer(png.byteLength);
    new Uint8Array(copy).set(png);
    expect(maxAbs(decodeImage(copy).data, img.data)).toBeLessThan(1e-7);
    const jpg = encodeJpeg(img);
    expect(Object.getPrototypeOf(jpg)).toBe(Uint8Array.prototype);
    expect(decodeImage(jpg).channels).toBe(3);
    // Out-of-range values are clamped, not wrapped.
    const wild = createImage(1, 3, 1, Float32Array.from([-0.5, 1.5, NaN]));
    expect(Array.from(decodeImage(encodePng(wild)).data)).toEqual([0, 1, 0]);
  });
});

describe('clear errors', () => {
  it('missing files and folders', async () => {
    await expect(readImage(join(TMP, 'nope.png'))).rejects.toThrow(/no such file .*nope\.png/);
    await expect(readImage(TMP)).rejects.toThrow(/is a folder/);
    await expect(listImageFiles(join(TMP, 'nodir'))).rejects.toThrow(/no such folder/);
  });

  it('unsupported formats and corrupt data', async () => {
    const txt = join(TMP, 'text.png');
    writeFileSync(txt, 'hello, not an image');
    await expect(readImage(txt)).rejects.toThrow(/text\.png.*unsupported image format.*PNG, JPEG/);
    const gif = join(TMP, 'anim.png');
    writeFileSync(gif, Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'));
    await expect(readImage(gif)).rejects.toThrow(/\(GIF\)/);
    const good = encodePng(levels(16, 16, 3));
    const cut = join(TMP, 'cut.png');
    writeFileSync(cut, good.subarray(0, 60));
    await expect(readImage(cut)).rejects.toThrow(/cut\.png.*corrupt or unreadable PNG/);
    const badJpeg = join(TMP, 'bad.jpg');
    writeFileSync(badJpeg, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]));
    await expect(readImage(badJpeg)).rejects.toThrow(/corrupt or unreadable JPEG/);
    expect(() => decodeImage(new Uint8Array(0))).toThrow(/empty/);
    await expect(writeImage(join(TMP, 'x.bmp'), levels(2, 2, 1))).rejects.toThrow(/\.png, \.jpg or \.jpeg/);
    expect(() => encodePng(levels(2, 2, 1), { bitDepth: 12 as 8 })).toThrow(/bitDepth/);
  });
});

describe('image folders', () => {
  it('lists images sorted by name, skips other files, rejects ambiguous names', async () => {
    const dir = join(TMP, 'folder');
    await writeImage(join(dir, 'b.png'), levels(4, 4, 1));
    await writeImage(join(dir, 'a.jpg'), levels(4, 4, 3));
    writeFileSync(join(dir, 'notes.txt'), 'x');
    const files = await listImageFiles(dir);
    expect(files.map((f) => f.name)).toEqual(['a', 'b']);
    const src = await folderSource(dir);
    expect(src.names).toEqual(['a', 'b']);
    expect((await src.load('b')).channels).toBe(1);
    await writeImage(join(dir, 'a.png'), levels(4, 4, 3));
    await expect(listImageFiles(dir)).rejects.toThrow(/'a\.jpg' and 'a\.png' .* share the name 'a'/);
    const empty = join(TMP, 'empty');
    await writeImage(join(empty, 'x', 'deep.png'), levels(2, 2, 1));
    await expect(listImageFiles(empty)).rejects.toThrow(/no \.png\/\.jpg\/\.jpeg images/);
  });
});
