import { decodeFloats, encodeFloat16, encodeFloat32, numelOf, DTYPE_BYTES, type FloatDtype } from './dtypes.js';
import { putTensor } from './dict.js';
import { WeightFileError } from './errors.js';
import type { StateDict } from './types.js';

// The safetensors layout: u64 little-endian header length N, N bytes of UTF-8 JSON (may be padded
// with trailing spaces), then the data area; `data_offsets` are relative to the data area.

/** Safetensors dtype tags this reader widens to float32, and their in-memory names. */
const READABLE: Readonly<Record<string, FloatDtype>> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/** Dtype tags defined by the format that this reader recognises but refuses. */
const KNOWN_UNSUPPORTED = new Set(['BOOL', 'U8', 'I8', 'U16', 'I16', 'U32', 'I32', 'U64', 'I64', 'F64', 'F8_E4M3', 'F8_E5M2']);

/** Same cap as the reference implementation: a larger header is refused rather than parsed. */
const MAX_HEADER_BYTES = 100_000_000;

const WHERE = 'safetensors';

interface Slot {
  name: string;
  dtype: FloatDtype;
  shape: number[];
  numel: number;
  begin: number;
  end: number;
}

function fail(message: string): never {
  throw new WeightFileError(`${WHERE}: ${message}`);
}

/**
 * Whether `bytes` start like a PyTorch `torch.save` file: a zip archive (`PK\x03\x04`, PyTorch
 * 1.6+) or a bare pickle stream (protocol 2..5, older PyTorch).
 */
export function isPyTorchFile(bytes: Uint8Array): boolean {
  // A safetensors header would start with "{" right after its 8-byte length.
  if (bytes.length > 8 && bytes[8] === 0x7b) return false;
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return true;
  // Pre-1.6 torch.save: PROTO 2..5 then the LONG1 magic number.
  return bytes.length >= 3 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5 && bytes[2] === 0x8a;
}

function parseHeader(bytes: Uint8Array, fileLength = bytes.length): { header: Record<string, unknown>; dataStart: number } {
  if (isPyTorchFile(bytes)) {
    fail('this is a PyTorch file (torch.save zip / pickle), not safetensors: read its weights with readTorchStateDict() (and save them with saveModel() / writeSafetensors()); `irsde info FILE` shows what it holds');
  }
  if (fileLength < 8) fail(`file is ${fileLength} bytes, shorter than the 8-byte header length field (truncated?)`);
  if (bytes.length < 8) fail(`only ${bytes.length} bytes given, shorter than the 8-byte header length field`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const lenBig = dv.getBigUint64(0, true);
  if (lenBig > BigInt(MAX_HEADER_BYTES)) fail(`header length ${lenBig} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  const n = Number(lenBig);
  if (8 + n > fileLength) {
    fail(`header length field says ${n} bytes but only ${fileLength - 8} follow it (file truncated or not safetensors)`);
  }
  if (8 + n > bytes.length) fail(`header length field says ${n} bytes but only ${bytes.length - 8} were given`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`header must be a JSON object starting with "{", found ${JSON.stringify(text.slice(0, 16))}`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header JSON must be an object');
  return { header: header as Record<string, unknown>, dataStart: 8 + n };
}

function checkMetadata(meta: unknown): Record<string, string> {
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) fail('"__metadata__" must be an object of strings');
  for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
    if (typeof v !== 'string') fail(`"__metadata__.${k}" must be a string, found ${typeof v}`);
  }
  return meta as Record<string, string>;
}

function parseSlot(name: string, info: unknown): Slot {
  const at = `tensor "${name}"`;
  if (info === null || typeof info !== 'object' || Array.isArray(info)) fail(`${at}: entry must be an object with dtype, shape, data_offsets`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string') fail(`${at}: "dtype" must be a string`);
  const mapped = READABLE[dtype];
  if (mapped === undefined) {
    const why = KNOWN_UNSUPPORTED.has(dtype) ? 'is not supported' : 'is not a safetensors dtype';
    fail(`${at}: dtype "${dtype}" ${why}; expected one of ${Object.keys(READABLE).join(', ')}`);
  }
  if (!Array.isArray(shape)) fail(`${at}: "shape" must be an array of integers`);
  const numel = numelOf(shape, `${WHERE}: ${at}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`${at}: "data_offsets" must be [begin, end] with non-negative integers`);
  }
  const [begin, end] = offsets as number[];
  if (end < begin) fail(`${at}: data_offsets [${begin}, ${end}] end before they begin`);
  const want = numel * DTYPE_BYTES[mapped];
  if (end - begin !== want) {
    fail(`${at}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${want}`);
  }
  return { name, dtype: mapped, shape: (shape as number[]).slice(), numel, begin, end };
}

/** One tensor's entry in a safetensors header (see {@link readSafetensorsHeader}). */
export interface SafetensorsEntry {
  /** The tensor's name. */
  readonly name: string;
  /** Its stored dtype, as this reader names it. */
  readonly dtype: FloatDtype;
  /** Its shape, in the file's layout. */
  readonly shape: readonly number[];
  /** Byte offsets `[begin, end)` of its data, relative to the data area. */
  readonly begin: number;
  /** See {@link SafetensorsEntry.begin}. */
  readonly end: number;
}

/** What {@link readSafetensorsHeader} returns. */
export interface SafetensorsHeader {
  /** `__metadata__`, or `{}` when absent. */
  readonly metadata: Record<string, string>;
  /** The tensors in header order. */
  readonly tensors: readonly SafetensorsEntry[];
  /** Where the data area starts, in bytes from the start of the file. */
  readonly dataStart: number;
}

/** Checks that the slots tile the data area `[0, dataLen)` exactly: sorted, no overlap, no gap, nothing past the end. */
function checkTiling(slots: readonly Slot[], dataLen: number): void {
  const sorted = slots.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const s of sorted) {
    if (s.end > dataLen) {
      fail(`tensor "${s.name}": data_offsets [${s.begin}, ${s.end}] point outside the ${dataLen}-byte data area (file truncated or header corrupt)`);
    }
    if (s.begin < cursor) fail(`tensor "${s.name}": data_offsets [${s.begin}, ${s.end}] overlap the previous tensor, which ends at ${cursor}`);
    if (s.begin > cursor) fail(`tensor "${s.name}": data_offsets begin at ${s.begin} but the previous tensor ends at ${cursor} (gap in the data area)`);
    cursor = s.end;
  }
  if (cursor !== dataLen) fail(`tensors cover ${cursor} bytes of the ${dataLen}-byte data area (trailing bytes: corrupt file)`);
}

function parseLayout(bytes: Uint8Array, fileLength: number): { header: Record<string, unknown>; dataStart: number; slots: Slot[]; metadata: Record<string, string> } {
  const { header, dataStart } = parseHeader(bytes, fileLength);
  const slots: Slot[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = { ...checkMetadata(info) };
      continue;
    }
    slots.push(parseSlot(name, info));
  }
  checkTiling(slots, fileLength - dataStart);
  return { header, dataStart, slots, metadata };
}

/**
 * Reads and checks a safetensors file's header without decoding any tensor: every entry's dtype,
 * shape and byte count, and that the tensors tile the data area exactly and end at the end of
 * the file (a truncated file fails here).
 * @param bytes - the file, or only its first bytes (at least the header) when `fileLength` is given.
 * @param fileLength - the whole file's length in bytes (default `bytes.length`).
 * @returns the metadata and the tensors' names, dtypes, shapes and offsets.
 * @throws WeightFileError naming what was wrong (a PyTorch file is named as one).
 */
export function readSafetensorsHeader(bytes: Uint8Array, fileLength = bytes.length): SafetensorsHeader {
  const { dataStart, slots, metadata } = parseLayout(bytes, fileLength);
  return { metadata, tensors: slots.map(({ name, dtype, shape, begin, end }) => ({ name, dtype, shape, begin, end })), dataStart };
}

/** Header metadata (`__metadata__`) of a safetensors file, or `{}` when absent. */
export function readSafetensorsMetadata(bytes: Uint8Array): Record<string, string> {
  const { header } = parseHeader(bytes);
  return '__metadata__' in header ? { ...checkMetadata(header.__metadata__) } : {};
}

/**
 * Reads a `.safetensors` file. F32, F16 and BF16 tensors are widened exactly to float32; every
 * other dtype is refused. Validation is strict: the header must be in bounds and valid JSON, and
 * the tensors must tile the data area exactly (no overlap, no gap, byte count = numel x dtype size).
 *
 * @param bytes - the whole file; not modified and not retained (the result holds copies).
 * @returns name to `{ shape, data, dtype }`, in header order, shapes in the file's layout
 *   (row-major, PyTorch's `[out, in, kh, kw]` for convs). Plain JS memory: nothing to dispose.
 * @throws WeightFileError naming what was wrong and what was expected.
 */
export function readSafetensors(bytes: Uint8Array): StateDict {
  const { dataStart, slots } = parseLayout(bytes, bytes.length);
  const dict: StateDict = {};
  for (const s of slots) {
    const data = decodeFloats(bytes, dataStart + s.begin, s.numel, s.dtype);
    putTensor(dict, s.name, { shape: s.shape, data, dtype: s.dtype }, WHERE);
  }
  return dict;
}

/** Options of {@link writeSafetensors}. */
export interface WriteSafetensorsOptions {
  /**
   * Stored element type: `'float32'` (default, exact) or `'float16'` (half the size; values are
   * rounded to nearest, ties to even; a value beyond +-65504 is refused).
   */
  readonly dtype?: 'float32' | 'float16';
}

/**
 * Writes a state dict as a `.safetensors` file, every tensor as F32 (default; float16/bfloat16
 * sources are written as their exact float32 widening) or F16 (`options.dtype`), in the dict's key order. The header is padded with
 * spaces so the data area starts 8-byte aligned, as the format allows.
 *
 * @param dict - name to `{ shape, data }`; `data.length` must equal `prod(shape)`. Not modified.
 * @param metadata - optional string-to-string `__metadata__` (e.g. `{ format: 'pt' }`).
 * @param options - stored dtype (see {@link WriteSafetensorsOptions}).
 * @returns the file's bytes (a new buffer owned by the caller).
 * @throws WeightFileError on a name that is empty or `__metadata__`, or a shape/data mismatch.
 */
export function writeSafetensors(dict: StateDict, metadata?: Record<string, string>, options: WriteSafetensorsOptions = {}): Uint8Array {
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16') fail(`dtype must be 'float32' or 'float16', got ${JSON.stringify(dtype)}`);
  const width = dtype === 'float16' ? 2 : 4;
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = checkMetadata(metadata);
  const names = Object.keys(dict);
  let offset = 0;
  for (const name of names) {
    if (name === '' || name === '__metadata__') fail(`cannot write a tensor named ${JSON.stringify(name)}`);
    const t = dict[name];
    const numel = numelOf(t.shape, `${WHERE}: tensor "${name}"`);
    if (!(t.data instanceof Float32Array) || t.data.length !== numel) {
      fail(`tensor "${name}": shape [${t.shape.join(', ')}] needs ${numel} float32 values, data has ${t.data?.length}`);
    }
    // defineProperty: a name such as "__proto__" must become a key, not a prototype.
    Object.defineProperty(header, name, {
      value: { dtype: dtype === 'float16' ? 'F16' : 'F32', shape: t.shape.slice(), data_offsets: [offset, offset + numel * width] },
      enumerable: true,
    });
    offset += numel * width;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const name of names) {
    if (dtype === 'float16') {
      const big = dict[name].data.find((v) => Math.abs(v) > 65504);
      if (big !== undefined) fail(`tensor "${name}": ${big} does not fit float16 (|x| <= 65504); write it as float32`);
      encodeFloat16(dict[name].data, out, at);
    } else encodeFloat32(dict[name].data, out, at);
    at += dict[name].data.length * width;
  }
  return out;
}
