import { WeightFileError } from './errors.js';

// A strict reader for zip archives whose entries are stored uncompressed, as PyTorch's
// `torch.save` writes them. Every size, offset and signature is cross-checked (central directory
// against local headers against CRC-32) so a truncated or tampered archive fails loudly instead of
// yielding shifted tensor bytes.

/** One file inside a zip archive. */
export interface ZipEntry {
  /** Path inside the archive, `/`-separated. */
  readonly name: string;
  /** The entry's bytes: a view into the archive buffer (not a copy; do not modify). */
  readonly data: Uint8Array;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_DATA_DESCRIPTOR = 0x08074b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

const WHERE = 'zip';

function fail(message: string): never {
  throw new WeightFileError(`${WHERE}: ${message}`);
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE, as zip uses) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = U32_MAX;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ U32_MAX) >>> 0;
}

/** Bounds-checked little-endian reads over the archive. */
class Reader {
  private readonly dv: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(at: number, n: number, what: string): void {
    if (at < 0 || at + n > this.bytes.length) {
      fail(`${what} at byte ${at} (${n} bytes) runs past the end of the ${this.bytes.length}-byte archive (truncated?)`);
    }
  }
  u16(at: number): number {
    return this.dv.getUint16(at, true);
  }
  u32(at: number): number {
    return this.dv.getUint32(at, true);
  }
  u64(at: number, what: string): number {
    const v = this.dv.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${v} is too large`);
    return Number(v);
  }
}

interface Directory {
  count: number;
  offset: number;
  size: number;
  /** Where the central directory must end (start of the zip64 or classic end record). */
  end: number;
}

function findDirectory(r: Reader): Directory {
  const n = r.bytes.length;
  if (n < 22) fail(`file is ${n} bytes, too short for a zip archive (truncated or not a zip)`);
  // The end record sits in the last 22 + up to 65535 comment bytes; scan backwards for it.
  let eocd = -1;
  for (let at = n - 22; at >= Math.max(0, n - 22 - U16_MAX); at--) {
    if (r.u32(at) === SIG_EOCD && at + 22 + r.u16(at + 20) === n) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) fail('no end-of-central-directory record found: the file is truncated or not a zip archive');
  if (r.u16(eocd + 4) !== 0 || r.u16(eocd + 6) !== 0) fail('multi-disk (split) archives are not supported');
  let count = r.u16(eocd + 10);
  let size = r.u32(eocd + 12);
  let offset = r.u32(eocd + 16);
  let end = eocd;
  const loc = eocd - 20;
  const hasLocator = loc >= 0 && r.u32(loc) === SIG_EOCD64_LOCATOR;
  // torch.save writes zip64 records even for small archives; they then take precedence.
  if (hasLocator) {
    const rec = r.u64(loc + 8, 'zip64 end record offset');
    r.need(rec, 56, 'zip64 end-of-central-directory record');
    if (r.u32(rec) !== SIG_EOCD64) fail(`bad signature 0x${r.u32(rec).toString(16)} for the zip64 end record at byte ${rec}`);
    if (rec + 12 + r.u64(rec + 4, 'zip64 end record size') !== loc) fail(`zip64 end record at byte ${rec} does not end where its locator starts (byte ${loc})`);
    count = r.u64(rec + 32, 'zip64 entry count');
    size = r.u64(rec + 40, 'zip64 directory size');
    offset = r.u64(rec + 48, 'zip64 directory offset');
    end = rec;
  } else if (count === U16_MAX || size === U32_MAX || offset === U32_MAX) {
    fail('zip64 sizes are flagged but the zip64 end-of-directory locator is missing (truncated or corrupt)');
  }
  if (offset + size !== end) {
    fail(`central directory claims bytes [${offset}, ${offset + size}) but must end at byte ${end} where the end record starts (truncated or corrupt)`);
  }
  return { count, offset, size, end };
}

/** Values from a zip64 extended-information extra field, for the fields flagged as 0xFFFFFFFF. */
function zip64Extra(r: Reader, at: number, len: number, want: { usize: boolean; csize: boolean; offset: boolean }, name: string) {
  const out: { usize?: number; csize?: number; offset?: number } = {};
  const stop = at + len;
  while (at + 4 <= stop) {
    const id = r.u16(at);
    const sz = r.u16(at + 2);
    if (at + 4 + sz > stop) fail(`entry "${name}": extra field overruns its ${len}-byte area`);
    if (id === 0x0001) {
      let p = at + 4;
      const take = (what: string): number => {
        if (p + 8 > at + 4 + sz) fail(`entry "${name}": zip64 extra field is too short for ${what}`);
        const v = r.u64(p, `entry "${name}" ${what}`);
        p += 8;
        return v;
      };
      if (want.usize) out.usize = take('size');
      if (want.csize) out.csize = take('compressed size');
      if (want.offset) out.offset = take('header offset');
    }
    at += 4 + sz;
  }
  return out;
}

/**
 * With flag bit 3 (as torch.save writes) CRC and sizes follow the data in a descriptor: it must
 * sit exactly where the central directory's size says the data ends, and agree with it.
 * Returns the byte after the descriptor.
 */
function checkDescriptor(r: Reader, at: number, limit: number, name: string, crc: number, size: number): number {
  const where = `entry "${name}": no data descriptor matching the central directory (CRC 0x${crc.toString(16)}, size ${size}) where the recorded size says the data ends (byte ${at}): wrong recorded size or corrupt archive`;
  let p = at;
  if (p + 4 <= limit && r.u32(p) === SIG_DATA_DESCRIPTOR) p += 4;
  if (p + 12 > limit || r.u32(p) !== crc) fail(where);
  if (r.u32(p + 4) === size && r.u32(p + 8) === size) return p + 12;
  if (p + 20 <= limit && r.u64(p + 4, 'descriptor size') === size && r.u64(p + 12, 'descriptor size') === size) return p + 20;
  return fail(where);
}

/**
 * Lists the entries of a zip archive whose entries are stored (method 0), checking everything
 * that can disagree: signatures, every offset and size against the file, central directory
 * against local headers, entries not overlapping, and each entry's CRC-32 against its bytes.
 *
 * @param bytes - the whole archive; entries are returned as views into it (no copies).
 * @returns the entries in central-directory order.
 * @throws WeightFileError for a truncated archive, a bad signature, compressed or encrypted
 *   entries, duplicate names, or an entry whose recorded size or CRC disagrees with its data.
 */
export function readZip(bytes: Uint8Array): ZipEntry[] {
  const r = new Reader(bytes);
  const dir = findDirectory(r);
  const entries: ZipEntry[] = [];
  const spans: Array<{ name: string; start: number; end: number }> = [];
  const seen = new Set<string>();
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  let at = dir.offset;
  for (let i = 0; i < dir.count; i++) {
    r.need(at, 46, `central directory header #${i}`);
    if (r.u32(at) !== SIG_CENTRAL) fail(`bad signature 0x${r.u32(at).toString(16)} for central directory header #${i} at byte ${at} (expected 0x${SIG_CENTRAL.toString(16)})`);
    const flags = r.u16(at + 8);
    const method = r.u16(at + 10);
    const crc = r.u32(at + 16);
    let csize = r.u32(at + 20);
    let usize = r.u32(at + 24);
    const nameLen = r.u16(at + 28);
    const extraLen = r.u16(at + 30);
    const commentLen = r.u16(at + 32);
    let local = r.u32(at + 42);
    r.need(at + 46, nameLen + extraLen + commentLen, `central directory header #${i} name/extra/comment`);
    const name = utf8.decode(bytes.subarray(at + 46, at + 46 + nameLen));
    if (csize === U32_MAX || usize === U32_MAX || local === U32_MAX) {
      const z = zip64Extra(r, at + 46 + nameLen, extraLen, { usize: usize === U32_MAX, csize: csize === U32_MAX, offset: local === U32_MAX }, name);
      usize = z.usize ?? usize;
      csize = z.csize ?? csize;
      local = z.offset ?? local;
    }
    if (flags & 0x1) fail(`entry "${name}" is encrypted; encrypted archives are not supported`);
    if (method !== 0) fail(`entry "${name}" uses compression method ${method}; only stored (uncompressed) entries, as torch.save writes, are supported`);
    if (csize !== usize) fail(`entry "${name}" is stored but records ${csize} stored bytes vs ${usize} uncompressed bytes`);
    if (seen.has(name)) fail(`entry name "${name}" appears twice`);
    seen.add(name);

    r.need(local, 30, `local header of "${name}"`);
    if (r.u32(local) !== SIG_LOCAL) fail(`bad signature 0x${r.u32(local).toString(16)} for the local header of "${name}" at byte ${local} (expected 0x${SIG_LOCAL.toString(16)})`);
    const lNameLen = r.u16(local + 26);
    const lExtraLen = r.u16(local + 28);
    r.need(local + 30, lNameLen + lExtraLen, `local header name/extra of "${name}"`);
    const lName = utf8.decode(bytes.subarray(local + 30, local + 30 + lNameLen));
    if (lName !== name) fail(`local header at byte ${local} names "${lName}" but the central directory says "${name}"`);
    // Without a data descriptor (flag bit 3) the local header repeats CRC and sizes; they must agree.
    if (!(flags & 0x8) || r.u32(local + 22) !== 0) {
      const lcrc = r.u32(local + 14);
      let lc = r.u32(local + 18);
      let lu = r.u32(local + 22);
      if (lc === U32_MAX || lu === U32_MAX) {
        const z = zip64Extra(r, local + 30 + lNameLen, lExtraLen, { usize: lu === U32_MAX, csize: lc === U32_MAX, offset: false }, name);
        lu = z.usize ?? lu;
        lc = z.csize ?? lc;
      }
      if (lc !== csize || lu !== usize) fail(`entry "${name}": local header records size ${lu} but the central directory records ${usize}`);
      if (lcrc !== crc && !(flags & 0x8 && lcrc === 0)) fail(`entry "${name}": local header CRC differs from the central directory's`);
    }
    const start = local + 30 + lNameLen + lExtraLen;
    let end = start + usize;
    if (end > dir.offset) fail(`entry "${name}": its recorded size ${usize} runs to byte ${end}, past the central directory at byte ${dir.offset} (truncated or wrong size)`);
    const dataEnd = end;
    if (flags & 0x8) end = checkDescriptor(r, end, dir.offset, name, crc, usize);
    const data = bytes.subarray(start, dataEnd);
    const actual = crc32(data);
    if (actual !== crc) {
      fail(`entry "${name}": CRC-32 of its ${usize} bytes is 0x${actual.toString(16)} but 0x${crc.toString(16)} is recorded (corrupt data or wrong recorded size)`);
    }
    spans.push({ name, start: local, end });
    entries.push({ name, data });
    at += 46 + nameLen + extraLen + commentLen;
  }
  if (at !== dir.offset + dir.size) fail(`central directory holds ${at - dir.offset} bytes of headers but records its size as ${dir.size}`);
  spans.sort((a, b) => a.start - b.start);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].start < spans[i - 1].end) fail(`entries "${spans[i - 1].name}" and "${spans[i].name}" overlap (wrong recorded size?)`);
  }
  return entries;
}

/**
 * Builds a zip archive of stored (uncompressed) entries, without zip64 (archives under 4 GiB).
 * Used to produce test fixtures and small `.pth` files.
 *
 * @param entries - names and bytes, in order; the bytes are copied.
 * @returns the archive's bytes.
 */
export function writeZip(entries: ReadonlyArray<{ name: string; data: Uint8Array }>): Uint8Array {
  const enc = new TextEncoder();
  const parts: Array<{ name: Uint8Array; data: Uint8Array; crc: number; offset: number }> = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    parts.push({ name, data: e.data, crc: crc32(e.data), offset });
    offset += 30 + name.length + e.data.length;
  }
  const cdStart = offset;
  const cdSize = parts.reduce((s, p) => s + 46 + p.name.length, 0);
  const total = cdStart + cdSize + 22;
  if (total > U32_MAX || parts.length >= U16_MAX) fail('writeZip: archive too large for a non-zip64 archive');
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  for (const p of parts) {
    const o = p.offset;
    dv.setUint32(o, SIG_LOCAL, true);
    dv.setUint16(o + 4, 20, true);
    dv.setUint16(o + 6, 0x800, true); // names are UTF-8
    dv.setUint32(o + 14, p.crc, true);
    dv.setUint32(o + 18, p.data.length, true);
    dv.setUint32(o + 22, p.data.length, true);
    dv.setUint16(o + 26, p.name.length, true);
    out.set(p.name, o + 30);
    out.set(p.data, o + 30 + p.name.length);
  }
  let c = cdStart;
  for (const p of parts) {
    dv.setUint32(c, SIG_CENTRAL, true);
    dv.setUint16(c + 4, 20, true);
    dv.setUint16(c + 6, 20, true);
    dv.setUint16(c + 8, 0x800, true);
    dv.setUint32(c + 16, p.crc, true);
    dv.setUint32(c + 20, p.data.length, true);
    dv.setUint32(c + 24, p.data.length, true);
    dv.setUint16(c + 28, p.name.length, true);
    dv.setUint32(c + 42, p.offset, true);
    out.set(p.name, c + 46);
    c += 46 + p.name.length;
  }
  dv.setUint32(c, SIG_EOCD, true);
  dv.setUint16(c + 8, parts.length, true);
  dv.setUint16(c + 10, parts.length, true);
  dv.setUint32(c + 12, cdSize, true);
  dv.setUint32(c + 16, cdStart, true);
  return out;
}
