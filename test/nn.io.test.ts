import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors, readSafetensorsMetadata, readTorchStateDict, writeSafetensors, type StateDict } from '../src/advanced.js';
import { bfloat16BitsToFloatBits, halfBitsToFloatBits } from '../src/nn/io/dtypes.js';
import { readPickle } from '../src/nn/io/pickle.js';
import { WeightFileError } from '../src/nn/io/errors.js';
import { readZip, writeZip, crc32 } from '../src/nn/io/zip.js';
import { SHARED, loadJson } from './helpers/goldens.js';

const FIX = resolve(__dirname, 'fixtures/io');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(resolve(FIX, name)));
const golden = (name: string): Uint8Array => new Uint8Array(readFileSync(resolve(SHARED, 'goldens', 'unet_public', name)));
const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const ascii = (s: string): number[] => Array.from(new TextEncoder().encode(s));

interface Expected {
  [file: string]: Record<string, { shape: number[]; bits: number[] }>;
}
const expected = JSON.parse(readFileSync(resolve(FIX, 'expected.json'), 'utf8')) as Expected;

/** Asserts `fn` throws a WeightFileError whose message matches `re`. */
function expectRefusal(fn: () => unknown, re: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected a WeightFileError matching ${re}`).toBeInstanceOf(WeightFileError);
  expect((err as Error).message).toMatch(re);
}

/** Builds a safetensors file from a raw header object and a data area (no validation). */
function rawSafetensors(header: unknown, data: Uint8Array, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function checkAgainst(dict: StateDict, want: Expected[string]): void {
  expect(Object.keys(dict).sort()).toEqual(Object.keys(want).sort());
  for (const [name, w] of Object.entries(want)) {
    expect(dict[name].shape, name).toEqual(w.shape);
    expect(bitsOf(dict[name].data), name).toEqual(w.bits);
  }
}

describe('golden U-Net weights (unet_public)', () => {
  const io = loadJson<{ params: Array<{ name: string; shape: number[] }>; param_count: string }>('goldens/unet_public/io.json');
  const st = readSafetensors(golden('weights.safetensors'));
  const pth = readTorchStateDict(golden('weights.pth'));

  it('both files list exactly io.json parameters, in order, with its shapes', () => {
    const names = io.params.map((p) => p.name);
    expect(Object.keys(st)).toEqual(names);
    expect(Object.keys(pth)).toEqual(names);
    let count = 0;
    for (const p of io.params) {
      expect(st[p.name].shape, p.name).toEqual(p.shape);
      expect(pth[p.name].shape, p.name).toEqual(p.shape);
      expect(st[p.name].data.length).toBe(p.shape.reduce((a, b) => a * b, 1));
      count += st[p.name].data.length;
    }
    expect(count).toBe(Number(io.param_count));
  });

  it('the .pth and .safetensors give bit-identical data', () => {
    for (const name of Object.keys(st)) {
      expect(pth[name].dtype).toBe('float32');
      expect(bitsOf(pth[name].data), name).toEqual(bitsOf(st[name].data));
    }
  });

  it('re-writing the reference safetensors reproduces it byte for byte', () => {
    const bytes = golden('weights.safetensors');
    expect(readSafetensorsMetadata(bytes)).toEqual({ format: 'pt' });
    expect(Buffer.from(writeSafetensors(st, { format: 'pt' })).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('float16 / bfloat16 widening', () => {
  it('maps known half bit patterns to the exact float32 bits', () => {
    const cases: Array<[number, number]> = [
      [0x3c00, 0x3f800000], // 1
      [0xc000, 0xc0000000], // -2
      [0x7bff, 0x477fe000], // 65504, largest half
      [0x0400, 0x38800000], // 2^-14, smallest normal
      [0x0001, 0x33800000], // 2^-24, smallest subnormal
      [0x03ff, 0x387fc000], // largest subnormal 1023 * 2^-24
      [0x8000, 0x80000000], // -0
      [0x7c00, 0x7f800000], // +inf
      [0xfc00, 0xff800000], // -inf
      [0x7e00, 0x7fc00000], // quiet NaN
      [0x7c01, 0x7f802000], // signalling NaN payload kept
      [0x3555, 0x3eaaa000], // 0.333251953125
    ];
    for (const [h, f] of cases) expect(halfBitsToFloatBits(h).toString(16), h.toString(16)).toBe(f.toString(16));
  });

  it('agrees with the IEEE formula on all 65536 half patterns', () => {
    const out = new Float32Array(1);
    const bits = new Uint32Array(out.buffer);
    for (let h = 0; h < 0x10000; h++) {
      const s = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const want = e === 0x1f ? (m ? NaN : s * Infinity) : e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
      bits[0] = halfBitsToFloatBits(h);
      if (Number.isNaN(want)) expect(Number.isNaN(out[0])).toBe(true);
      else if (out[0] !== want || Object.is(out[0], -0) !== Object.is(want, -0)) throw new Error(`half 0x${h.toString(16)} -> ${out[0]}, want ${want}`);
    }
  });

  it('maps known bfloat16 bit patterns to the exact float32 bits', () => {
    expect(bfloat16BitsToFloatBits(0x3f80)).toBe(0x3f800000);
    expect(bfloat16BitsToFloatBits(0xc049)).toBe(0xc0490000); // -3.140625
    expect(bfloat16BitsToFloatBits(0x0001)).toBe(0x00010000); // float32 subnormal
    expect(bfloat16BitsToFloatBits(0xff80)).toBe(0xff800000); // -inf
  });

  it('float16 and bfloat16 files read to the same bits PyTorch widens them to', () => {
    const half = readTorchStateDict(fixture('f16_module.pth'));
    checkAgainst(half, expected['f16_module.pth']);
    expect(half['conv.weight'].dtype).toBe('float16');
    const mixed = readSafetensors(fixture('ref_mixed.safetensors'));
    checkAgainst(mixed, expected['ref_mixed.safetensors']);
    expect(mixed.bf.dtype).toBe('bfloat16');
    expect(mixed.half.dtype).toBe('float16');
    expect(readSafetensorsMetadata(fixture('ref_mixed.safetensors'))).toEqual({ format: 'pt', note: 'fixture' });
  });
});

describe('.pth layouts', () => {
  it('strips DataParallel "module." prefixes', () => {
    expect(Object.keys(readTorchStateDict(fixture('f16_module.pth')))).toEqual(['conv.weight', 'conv.bias']);
  });

  it('unwraps "params" (with storage offsets, shared storages, bfloat16, a Parameter) and "state_dict"', () => {
    const nested = readTorchStateDict(fixture('nested_params.pth'));
    checkAgainst(nested, expected['nested_params.pth']);
    const raw = fixture('nested_params.pth');
    const odd = new Uint8Array(raw.length + 3);
    odd.set(raw, 3);
    checkAgainst(readTorchStateDict(odd.subarray(3)), expected['nested_params.pth']);
    expect(Array.from(nested.a.data)).toEqual([-1, -0.5, 0, 0.5, 1, 1.5]); // big[4:10]
    checkAgainst(readTorchStateDict(fixture('ckpt.pth')), expected['ckpt.pth']);
  });

  it('refuses non-contiguous views, int64 buffers and the legacy format, naming the problem', () => {
    expectRefusal(() => readTorchStateDict(fixture('noncontig.pth')), /tensor "t" is a non-contiguous view \(shape \[3, 2\], stride \[1, 3\]\)/);
    expectRefusal(() => readTorchStateDict(fixture('int64_buffer.pth')), /"num_batches_tracked" has dtype int64/);
    expectRefusal(() => readTorchStateDict(fixture('legacy.pth')), /legacy \(pre-1\.6\) torch\.save format/);
    expectRefusal(() => readTorchStateDict(golden('weights.safetensors')), /not a zip archive/);
    const entries = readZip(fixture('nested_params.pth'));
    const renamed = new TextDecoder('latin1').decode(entries[0].data).replace('params', 'model_');
    const pkl = Uint8Array.from(renamed, (c) => c.charCodeAt(0));
    const archive = writeZip(entries.map((e, i) => (i === 0 ? { name: e.name, data: pkl } : e)));
    expectRefusal(() => readTorchStateDict(archive), /entry "epoch" is not a tensor; .*keys found: epoch, lr, names, model_/);
  });

  it('refuses a storage whose size disagrees with the pickle, and a missing storage', () => {
    const entries = readZip(fixture('f16_module.pth'));
    const shrunk = entries.map((e) => (e.name.endsWith('/data/0') ? { name: e.name, data: e.data.subarray(2) } : e));
    expectRefusal(() => readTorchStateDict(writeZip(shrunk)), /storage "f16_module\/data\/0" holds 22 bytes but the pickle declares 12 float16 elements \(24 bytes\)/);
    const missing = entries.filter((e) => !e.name.endsWith('/data/1'));
    expectRefusal(() => readTorchStateDict(writeZip(missing)), /storage "f16_module\/data\/1" is missing/);
    expectRefusal(() => readTorchStateDict(writeZip([{ name: 'x/other.txt', data: new Uint8Array(3) }])), /no "<folder>\/data\.pkl"/);
  });
});

describe('safetensors writer', () => {
  it('round-trips bit exactly, including NaN payloads, -0, infinities, subnormals, scalars and empty tensors', () => {
    const n = 1000;
    const bits = new Uint32Array(n);
    let s = 12345;
    for (let i = 0; i < n; i++) bits[i] = s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    bits.set([0x7fc00001, 0xffbfffff, 0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x807fffff], 0);
    const dict: StateDict = {
      'a.weight': { shape: [10, 4, 5, 5], data: new Float32Array(bits.buffer) },
      scalar: { shape: [], data: new Float32Array([Math.PI]) },
      empty: { shape: [0, 3], data: new Float32Array(0) },
      __proto__x: { shape: [1], data: new Float32Array([1]) },
    };
    const bytes = writeSafetensors(dict, { format: 'pt' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    // Read once from an odd byte offset too (unaligned views take the DataView path).
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const back = readSafetensors(shifted.subarray(1));
    expect(bitsOf(readSafetensors(bytes)['a.weight'].data)).toEqual(bitsOf(back['a.weight'].data));
    expect(Object.keys(back)).toEqual(Object.keys(dict));
    for (const [k, t] of Object.entries(dict)) {
      expect(back[k].shape).toEqual(t.shape);
      expect(bitsOf(back[k].data)).toEqual(bitsOf(t.data));
    }
  });

  it('keeps a "__proto__" tensor name as a plain key', () => {
    const dict: StateDict = {};
    Object.defineProperty(dict, '__proto__', { value: { shape: [2], data: new Float32Array([1, 2]) }, enumerable: true });
    const back = readSafetensors(writeSafetensors(dict));
    expect(Object.keys(back)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('refuses shape/data mismatches and reserved names', () => {
    expectRefusal(() => writeSafetensors({ w: { shape: [2, 3], data: new Float32Array(5) } }), /"w": shape \[2, 3\] needs 6 float32 values, data has 5/);
    expectRefusal(() => writeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } }), /cannot write a tensor named "__metadata__"/);
  });
});

describe('corrupt and hostile safetensors', () => {
  const good = writeSafetensors({ a: { shape: [2], data: new Float32Array([1, 2]) }, b: { shape: [3], data: new Float32Array([3, 4, 5]) } });
  const data20 = new Uint8Array(20);

  it('refuses truncated files', () => {
    expectRefusal(() => readSafetensors(good.subarray(0, 5)), /shorter than the 8-byte header length field/);
    expectRefusal(() => readSafetensors(good.subarray(0, 30)), /header length field says \d+ bytes but only 22 follow/);
    expectRefusal(() => readSafetensors(good.subarray(0, good.length - 4)), /tensor "b": data_offsets \[8, 20\] point outside the 16-byte data area/);
  });

  it('refuses a header that points outside the file', () => {
    const hdr = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [3], data_offsets: [1000, 1012] } };
    expectRefusal(() => readSafetensors(rawSafetensors(hdr, data20)), /"b": data_offsets \[1000, 1012\] point outside the 20-byte data area/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 1n << 62n, true);
    expectRefusal(() => readSafetensors(huge), /header length \d+ exceeds/);
  });

  it('refuses non-JSON headers, bad offsets, overlaps, gaps, wrong byte counts and unknown dtypes', () => {
    expectRefusal(() => readSafetensors(rawSafetensors(null, data20, '{"a": {"dtype": "F32",')), /header is not valid JSON/);
    expectRefusal(() => readSafetensors(rawSafetensors(null, data20, '[1,2]')), /must be a JSON object/);
    const t = (dtype: string, shape: number[], data_offsets: number[]) => ({ dtype, shape, data_offsets });
    const cases: Array<[unknown, RegExp]> = [
      [{ a: t('F32', [2], [0, 8]), b: t('F32', [3], [4, 16]) }, /"b": data_offsets \[4, 16\] overlap the previous tensor/],
      [{ a: t('F32', [2], [0, 8]), b: t('F32', [2], [12, 20]) }, /gap in the data area/],
      [{ a: t('F32', [5], [0, 16]) }, /"a": data_offsets \[0, 16\] span 16 bytes but shape \[5\] of F32 needs 20/],
      [{ a: t('F7', [5], [0, 20]) }, /dtype "F7" is not a safetensors dtype; expected one of F32, F16, BF16/],
      [{ a: t('I64', [2], [0, 16]) }, /dtype "I64" is not supported/],
      [{ a: t('F32', [5], [20, 0]) }, /end before they begin/],
      [{ a: t('F32', [-5], [0, 20]) }, /must hold non-negative integers/],
      [{ a: t('F32', [4], [0, 16]) }, /cover 16 bytes of the 20-byte data area/],
      [{ __metadata__: { v: 1 }, a: t('F32', [5], [0, 20]) }, /"__metadata__.v" must be a string/],
    ];
    for (const [hdr, re] of cases) expectRefusal(() => readSafetensors(rawSafetensors(hdr, data20)), re);
  });
});

describe('corrupt zip archives', () => {
  const archive = writeZip([
    { name: 'archive/data.pkl', data: new Uint8Array([0x80, 0x02, 0x7d, 0x2e]) },
    { name: 'archive/data/0', data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
  ]);
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  // Offsets of the second entry's headers in writeZip's layout.
  const local1 = 30 + 'archive/data.pkl'.length + 4;
  const cdStart = local1 + 30 + 'archive/data/0'.length + 8;
  const central1 = cdStart + 46 + 'archive/data.pkl'.length;

  it('lists entries and their bytes', () => {
    const entries = readZip(archive);
    expect(entries.map((e) => e.name)).toEqual(['archive/data.pkl', 'archive/data/0']);
    expect(Array.from(entries[1].data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(Object.keys(readTorchStateDict(archive))).toEqual([]);
  });

  it('detects truncated archives', () => {
    expectRefusal(() => readZip(archive.subarray(0, archive.length - 10)), /no end-of-central-directory record/);
    expectRefusal(() => readZip(archive.subarray(0, 10)), /too short for a zip archive/);
    const pth = golden('weights.pth');
    expectRefusal(() => readTorchStateDict(pth.subarray(0, pth.length >> 1)), /no end-of-central-directory record found: the file is truncated/);
  });

  it('detects an entry whose recorded size disagrees with the data', () => {
    const cdOnly = archive.slice();
    dv(cdOnly).setUint32(central1 + 20, 12, true);
    dv(cdOnly).setUint32(central1 + 24, 12, true);
    expectRefusal(() => readZip(cdOnly), /entry "archive\/data\/0": local header records size 8 but the central directory records 12/);
    const both = cdOnly.slice();
    dv(both).setUint32(local1 + 18, 12, true);
    dv(both).setUint32(local1 + 22, 12, true);
    expectRefusal(() => readZip(both), /entry "archive\/data\/0": its recorded size 12 runs to byte \d+, past the central directory/);
    const pth = golden('weights.pth').slice();
    const cd = Buffer.from(pth).lastIndexOf('weights/data/0') - 46;
    expect(dv(pth).getUint32(cd, true)).toBe(0x02014b50);
    dv(pth).setUint32(cd + 20, 9412, true);
    dv(pth).setUint32(cd + 24, 9412, true);
    expectRefusal(() => readTorchStateDict(pth), /"weights\/data\/0": no data descriptor matching the central directory \(CRC 0x[0-9a-f]+, size 9412\) where the recorded size says the data ends .*wrong recorded size/);
    const smaller = archive.slice();
    for (const at of [central1 + 20, central1 + 24, local1 + 18, local1 + 22]) dv(smaller).setUint32(at, 6, true);
    expectRefusal(() => readZip(smaller), /entry "archive\/data\/0": CRC-32 of its 6 bytes is 0x[0-9a-f]+ but 0x[0-9a-f]+ is recorded/);
  });

  it('detects bad signatures, corrupt data and compressed entries', () => {
    const sig = archive.slice();
    dv(sig).setUint32(local1, 0x04034b51, true);
    expectRefusal(() => readZip(sig), /bad signature 0x4034b51 for the local header of "archive\/data\/0"/);
    const flipped = archive.slice();
    flipped[local1 + 30 + 'archive/data/0'.length] ^= 1;
    expectRefusal(() => readZip(flipped), /CRC-32 of its 8 bytes/);
    const deflated = archive.slice();
    dv(deflated).setUint16(central1 + 10, 8, true);
    expectRefusal(() => readZip(deflated), /compression method 8; only stored/);
  });
});

describe('hostile pickles', () => {
  const marker = resolve(FIX, `..`, `.pwned-${process.pid}`);
  const cmd = `touch ${marker}`;
  const shortStr = (s: string) => [0x8c, s.length, ...ascii(s)];
  const binUnicode = (s: string) => [0x58, s.length, 0, 0, 0, ...ascii(s)];
  // GLOBAL os.system, ("touch ...",), REDUCE: pickle.loads would run the command.
  const osSystem = new Uint8Array([0x80, 0x02, 0x63, ...ascii('os\nsystem\n'), ...binUnicode(cmd), 0x85, 0x52, 0x2e]);
  // protocol 4 STACK_GLOBAL builtins.eval
  const evalP4 = new Uint8Array([0x80, 0x04, ...shortStr('builtins'), ...shortStr('eval'), 0x93, ...shortStr('1+1'), 0x85, 0x52, 0x2e]);

  it('refuses an unlisted global before anything can be called', () => {
    expectRefusal(() => readPickle(osSystem), /global "os\.system" is not on the allow-list .*nothing was executed/);
    expectRefusal(() => readPickle(evalP4), /global "builtins\.eval" is not on the allow-list/);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses the same pickle inside a .pth', () => {
    const pth = writeZip([{ name: 'evil/data.pkl', data: osSystem }]);
    expectRefusal(() => readTorchStateDict(pth), /global "os\.system" is not on the allow-list/);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses REDUCE on allowed but non-callable globals and non-globals', () => {
    const storageCall = new Uint8Array([0x80, 0x02, 0x63, ...ascii('torch\nFloatStorage\n'), 0x29, 0x52, 0x2e]);
    expectRefusal(() => readPickle(storageCall), /REDUCE on torch\.FloatStorage is not allowed/);
    const strCall = new Uint8Array([0x80, 0x02, ...binUnicode('x'), 0x29, 0x52, 0x2e]);
    expectRefusal(() => readPickle(strCall), /REDUCE on string is not allowed/);
  });

  it('refuses unknown and disallowed opcodes, bad persistent ids and BUILD on non-dicts', () => {
    expectRefusal(() => readPickle(new Uint8Array([0x80, 0x02, 0xff, 0x2e])), /unknown opcode 0xff at byte 2/);
    expectRefusal(() => readPickle(new Uint8Array([0x80, 0x02, 0x69, ...ascii('os\nsystem\n'), 0x2e])), /opcode INST \(0x69\) at byte 2 is not allowed/);
    expectRefusal(() => readPickle(new Uint8Array([0x80, 0x02, 0x29, 0x81, 0x2e])), /opcode NEWOBJ/);
    expectRefusal(() => readPickle(new Uint8Array([0x80, 0x02, ...binUnicode('x'), 0x51, 0x2e])), /persistent id must be \('storage'/);
    expectRefusal(() => readPickle(new Uint8Array([0x80, 0x02, 0x5d, 0x4e, 0x62, 0x2e])), /BUILD on a tuple\/list is not allowed/);
  });

  it('refuses truncated pickles', () => {
    const pkl = readZip(golden('weights.pth')).find((e) => e.name.endsWith('/data.pkl'))!.data;
    for (const cut of [1, 40, 1000, pkl.length - 1]) expectRefusal(() => readPickle(pkl.subarray(0, cut)), /truncated/);
  });

  it('reads the plain data types a checkpoint may carry', () => {
    // {'a': [1, -2, 3.5, None, True, 2**40, b'xy'], 'b': (u'é',)}
    const v = readPickle(
      new Uint8Array([
        0x80, 0x02, 0x7d, 0x28, ...binUnicode('a'), 0x5d, 0x28, 0x4b, 1, 0x4a, 0xfe, 0xff, 0xff, 0xff, 0x47, 0x40, 0x0c, 0, 0, 0, 0, 0, 0,
        0x4e, 0x88, 0x8a, 6, 0, 0, 0, 0, 0, 1, 0x43, 2, ...ascii('xy'), 0x65, ...binUnicode('b'), 0x58, 2, 0, 0, 0, 0xc3, 0xa9, 0x85, 0x75, 0x2e,
      ]),
    ) as import('../src/nn/io/pickle.js').PickleDict;
    expect(v.items.get('a')).toEqual([1, -2, 3.5, null, true, 2 ** 40, new Uint8Array([120, 121])]);
    expect(v.items.get('b')).toEqual(['é']);
  });
});
