import { WeightFileError } from './errors.js';

// A pickle *reader*, not an unpickler: it walks the opcode stream with an allow-list and builds
// inert JS values. Globals resolve only to the few names below, which map to data constructors
// written here (an OrderedDict, a tensor reference, a storage reference); nothing named by the
// file is ever looked up or called. Any other global, callable or opcode stops the read.
//
// Over 400 lines on purpose: the allow-list (the globals, the opcodes and their stack effects) is
// the security boundary of reading a PyTorch file, and it is audited best as one file read top to
// bottom; split, a reader would have to check that no part accepts what another refuses.

/** A storage reference from PyTorch's persistent id `('storage', type, key, location, numel)`. */
export class PickleStorage {
  /**
   * @param storageType - the storage class name, e.g. `FloatStorage` (refs to unsupported element
   *   types are kept inert so the caller can name them in its error).
   * @param key - the storage's file name under `<archive>/data/`.
   * @param location - device it was saved from (`cpu`, `cuda:0`); informational.
   * @param numel - number of elements in the storage.
   */
  constructor(
    readonly storageType: string,
    readonly key: string,
    readonly location: string,
    readonly numel: number,
  ) {}
}

/** A tensor as `torch._utils._rebuild_tensor_v2` describes it: a strided view of a storage. */
export class PickleTensor {
  /**
   * @param storage - the backing storage.
   * @param offset - first element's index in the storage (elements, not bytes).
   * @param shape - sizes per axis.
   * @param stride - element strides per axis.
   */
  constructor(
    readonly storage: PickleStorage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** A Python dict or `collections.OrderedDict`, keys in insertion order. */
export class PickleDict {
  /** The items; keys are strings, numbers, booleans, null or tuples (arrays). */
  readonly items = new Map<PickleValue, PickleValue>();
  /** Instance state set by BUILD (an OrderedDict's `_metadata`); kept, never interpreted. */
  state: PickleValue = null;
}

/** An allow-listed global; only these can appear as values. */
export class PickleGlobal {
  /** @param module - Python module. @param name - attribute name. */
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  /** `module.name`. */
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Any value the reader can produce. Lists and tuples are both JS arrays. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PickleDict
  | PickleTensor
  | PickleStorage
  | PickleGlobal;

const WHERE = 'pickle';

function fail(message: string): never {
  throw new WeightFileError(`${WHERE}: ${message}`);
}

/** Storage classes torch.save names, with the element type each holds. */
export const STORAGE_TYPES: Readonly<Record<string, string>> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** Callables that REDUCE may apply (all build inert data). */
const CALLABLES = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
]);

function isAllowedGlobal(module: string, name: string): boolean {
  return CALLABLES.has(`${module}.${name}`) || (module === 'torch' && Object.prototype.hasOwnProperty.call(STORAGE_TYPES, name));
}

/** The globals a pickle may name; everything else is refused. */
export const ALLOWED_GLOBALS: readonly string[] = [...CALLABLES, ...Object.keys(STORAGE_TYPES).map((s) => `torch.${s}`)];

const MARK = Symbol('mark');
type Slot = PickleValue | typeof MARK;

function describe(v: Slot): string {
  if (v === MARK) return 'a MARK';
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a tuple/list';
  if (v instanceof PickleGlobal) return v.qualified;
  if (v instanceof PickleDict) return 'a dict';
  if (v instanceof PickleTensor) return 'a tensor';
  if (v instanceof PickleStorage) return 'a storage';
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v;
}

function intArray(v: PickleValue, what: string): number[] {
  if (!Array.isArray(v) || !v.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    fail(`${what} must be a tuple of non-negative integers`);
  }
  return v as number[];
}

function rebuildTensor(args: PickleValue[]): PickleTensor {
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.length < 4 || args.length > 7) fail(`_rebuild_tensor_v2 expects 6 or 7 arguments, got ${args.length}`);
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof PickleStorage)) fail(`_rebuild_tensor_v2: first argument must be a storage, got ${describe(storage)}`);
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) fail('_rebuild_tensor_v2: storage offset must be a non-negative integer');
  const shape = intArray(size, '_rebuild_tensor_v2: size');
  const strides = intArray(stride, '_rebuild_tensor_v2: stride');
  if (shape.length !== strides.length) fail(`_rebuild_tensor_v2: size has ${shape.length} axes but stride has ${strides.length}`);
  return new PickleTensor(storage, offset, shape.slice(), strides.slice());
}

function applyCallable(fn: PickleGlobal, args: PickleValue[]): PickleValue {
  switch (fn.qualified) {
    case 'collections.OrderedDict': {
      const d = new PickleDict();
      if (args.length === 0) return d;
      const [pairs] = args;
      if (args.length !== 1 || !Array.isArray(pairs)) fail('OrderedDict expects no arguments or one list of pairs');
      for (const p of pairs) {
        if (!Array.isArray(p) || p.length !== 2) fail('OrderedDict: each item must be a (key, value) pair');
        d.items.set(p[0], p[1]);
      }
      return d;
    }
    case 'torch._utils._rebuild_tensor_v2':
      return rebuildTensor(args);
    case 'torch._utils._rebuild_parameter': {
      // (data, requires_grad, backward_hooks): a Parameter is its data for our purposes.
      if (args.length !== 3 || !(args[0] instanceof PickleTensor)) fail('_rebuild_parameter expects (tensor, requires_grad, hooks)');
      return args[0];
    }
    default:
      return fail(`${fn.qualified} is not callable here (storage classes are only valid inside persistent ids)`);
  }
}

function persistentLoad(pid: PickleValue): PickleStorage {
  if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') {
    fail(`persistent id must be ('storage', storage_type, key, location, numel), got ${describe(pid)}${Array.isArray(pid) ? ` of length ${pid.length}` : ''}`);
  }
  const [, type, key, location, numel] = pid;
  if (!(type instanceof PickleGlobal) || type.module !== 'torch' || !(type.name in STORAGE_TYPES)) {
    fail(`persistent id: storage type must be a torch storage class, got ${describe(type)}`);
  }
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(key)) fail(`persistent id: storage key must be a plain name, got ${JSON.stringify(key)}`);
  if (typeof location !== 'string') fail('persistent id: location must be a string');
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) fail('persistent id: numel must be a non-negative integer');
  return new PickleStorage(type.name, key, location, numel);
}

/** Names of opcodes that exist but are refused, for clearer messages. */
const REFUSED: Readonly<Record<number, string>> = {
  0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4',
  0x50: 'PERSID', 0x49: 'INT', 0x4c: 'LONG', 0x53: 'STRING', 0x56: 'UNICODE', 0x46: 'FLOAT',
  0x70: 'PUT', 0x67: 'GET', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
};

/** Limits that keep a hostile file from exhausting memory through the reader itself. */
const MAX_MEMO = 10_000_000;

/**
 * Reads a pickle (protocols 2 to 4, the subset PyTorch's `data.pkl` uses) into inert values.
 * Allowed globals: {@link ALLOWED_GLOBALS}; REDUCE only on `OrderedDict`, `_rebuild_tensor_v2`
 * and `_rebuild_parameter`; persistent ids only as storage references. Nothing is executed.
 *
 * @param bytes - the pickle stream (not modified, not retained).
 * @returns the value before STOP.
 * @throws WeightFileError for an unlisted global, a disallowed or unknown opcode, a malformed or
 *   truncated stream.
 */
export function readPickle(bytes: Uint8Array): PickleValue {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  const stack: Slot[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;

  const need = (n: number, what: string): void => {
    if (pos + n > bytes.length) fail(`truncated: ${what} at byte ${pos} needs ${n} bytes but only ${bytes.length - pos} remain`);
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined) fail(`stack underflow at byte ${pos}`);
    if (v === MARK) fail(`unexpected MARK at byte ${pos}`);
    return v;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail(`expected a value on the stack at byte ${pos}`);
    return v;
  };
  const popMark = (): PickleValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) fail(`no MARK on the stack at byte ${pos}`);
    const items = stack.splice(i) as PickleValue[];
    items.shift();
    return items;
  };
  const text = (n: number, decoder: TextDecoder, what: string): string => {
    need(n, what);
    let s: string;
    try {
      s = decoder.decode(bytes.subarray(pos, pos + n));
    } catch {
      fail(`${what} at byte ${pos} is not valid UTF-8`);
    }
    pos += n;
    return s;
  };
  const line = (what: string): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(`truncated: ${what} at byte ${pos} has no terminating newline`);
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pushGlobal = (module: string, name: string): void => {
    if (!isAllowedGlobal(module, name)) {
      fail(`global "${module}.${name}" is not on the allow-list (${ALLOWED_GLOBALS.join(', ')}); refusing the file, nothing was executed`);
    }
    stack.push(new PickleGlobal(module, name));
  };
  const setItems = (d: PickleValue, kv: PickleValue[]): void => {
    if (!(d instanceof PickleDict)) fail(`SETITEM(S) target must be a dict, got ${describe(d)}`);
    if (kv.length % 2 !== 0) fail('SETITEMS needs key/value pairs');
    for (let i = 0; i < kv.length; i += 2) d.items.set(kv[i], kv[i + 1]);
  };
  const appendItems = (l: PickleValue, items: PickleValue[]): void => {
    if (!Array.isArray(l)) fail(`APPEND(S) target must be a list, got ${describe(l)}`);
    l.push(...items);
  };
  const memoPut = (idx: number): void => {
    if (memo.size >= MAX_MEMO) fail('memo grows beyond the size limit');
    memo.set(idx, top());
  };
  const memoGet = (idx: number): void => {
    const v = memo.get(idx);
    if (v === undefined) fail(`memo key ${idx} read before it was written`);
    stack.push(v);
  };

  for (;;) {
    need(1, 'opcode');
    const op = bytes[pos++];
    switch (op) {
      case 0x80: // PROTO
        need(1, 'PROTO');
        if (bytes[pos] > 4) fail(`protocol ${bytes[pos]} is not supported (expected 2 to 4)`);
        pos += 1;
        break;
      case 0x95: // FRAME: a length prefix only
        need(8, 'FRAME');
        pos += 8;
        break;
      case 0x2e: {
        // STOP
        const v = pop();
        if (stack.length !== 0) fail(`STOP with ${stack.length} extra values on the stack`);
        return v;
      }
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        if (stack.pop() === undefined) fail('POP on an empty stack');
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        need(4, 'BININT');
        stack.push(dv.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        need(1, 'BININT1');
        stack.push(bytes[pos++]);
        break;
      case 0x4d: // BININT2
        need(2, 'BININT2');
        stack.push(dv.getUint16(pos, true));
        pos += 2;
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement of n bytes
        need(1, 'LONG1');
        const n = bytes[pos++];
        need(n, 'LONG1');
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[pos + i]);
        if (n > 0 && bytes[pos + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        pos += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8, 'BINFLOAT');
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: {
        // BINUNICODE
        need(4, 'BINUNICODE');
        const n = dv.getUint32(pos, true);
        pos += 4;
        stack.push(text(n, utf8, 'BINUNICODE'));
        break;
      }
      case 0x8c: {
        // SHORT_BINUNICODE
        need(1, 'SHORT_BINUNICODE');
        const n = bytes[pos++];
        stack.push(text(n, utf8, 'SHORT_BINUNICODE'));
        break;
      }
      case 0x55: {
        // SHORT_BINSTRING (Python 2 str)
        need(1, 'SHORT_BINSTRING');
        const n = bytes[pos++];
        stack.push(text(n, latin1, 'SHORT_BINSTRING'));
        break;
      }
      case 0x54: {
        // BINSTRING
        need(4, 'BINSTRING');
        const n = dv.getInt32(pos, true);
        if (n < 0) fail('BINSTRING with negative length');
        pos += 4;
        stack.push(text(n, latin1, 'BINSTRING'));
        break;
      }
      case 0x43: // SHORT_BINBYTES
      case 0x42: {
        // BINBYTES
        const short = op === 0x43;
        need(short ? 1 : 4, 'BINBYTES');
        const n = short ? bytes[pos] : dv.getUint32(pos, true);
        pos += short ? 1 : 4;
        need(n, 'BINBYTES');
        stack.push(bytes.slice(pos, pos + n));
        pos += n;
        break;
      }
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PickleDict());
        break;
      case 0x64: {
        // DICT
        const d = new PickleDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line('GLOBAL module');
        const name = line('GLOBAL name');
        pushGlobal(module, name);
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        pushGlobal(module, name);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PickleGlobal) || !CALLABLES.has(fn.qualified)) {
          fail(`REDUCE on ${describe(fn)} is not allowed (callables: ${[...CALLABLES].join(', ')}); nothing was executed`);
        }
        if (!Array.isArray(args)) fail(`REDUCE arguments must be a tuple, got ${describe(args)}`);
        stack.push(applyCallable(fn, args));
        break;
      }
      case 0x62: {
        // BUILD: only an OrderedDict's instance state (e.g. state_dict()._metadata) is accepted.
        const state = pop();
        const obj = top();
        if (!(obj instanceof PickleDict)) fail(`BUILD on ${describe(obj)} is not allowed (only dict state is accepted)`);
        obj.state = state;
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      case 0x71: // BINPUT
        need(1, 'BINPUT');
        memoPut(bytes[pos++]);
        break;
      case 0x72: // LONG_BINPUT
        need(4, 'LONG_BINPUT');
        memoPut(dv.getUint32(pos, true));
        pos += 4;
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x68: // BINGET
        need(1, 'BINGET');
        memoGet(bytes[pos++]);
        break;
      case 0x6a: // LONG_BINGET
        need(4, 'LONG_BINGET');
        memoGet(dv.getUint32(pos, true));
        pos += 4;
        break;
      default: {
        const name = REFUSED[op];
        const hex = `0x${op.toString(16).padStart(2, '0')}`;
        if (name !== undefined) fail(`opcode ${name} (${hex}) at byte ${pos - 1} is not allowed in a weights file; nothing was executed`);
        fail(`unknown opcode ${hex} at byte ${pos - 1} (not a pickle, or corrupt); nothing was executed`);
      }
    }
  }
}
