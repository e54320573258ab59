import { decodeFloats, DTYPE_BYTES, numelOf, type FloatDtype } from './dtypes.js';
import { putTensor } from './dict.js';
import { WeightFileError } from './errors.js';
import { PickleDict, PickleTensor, readPickle, STORAGE_TYPES, type PickleValue } from './pickle.js';
import type { StateDict } from './types.js';
import { readZip, type ZipEntry } from './zip.js';

const WHERE = 'pth';

function fail(message: string): never {
  throw new WeightFileError(`${WHERE}: ${message}`);
}

/** Keys under which training scripts nest the actual state dict (IR-SDE saves `params`). */
const NESTING_KEYS = ['state_dict', 'params'];

const READABLE: Readonly<Record<string, FloatDtype>> = { float32: 'float32', float16: 'float16', bfloat16: 'bfloat16' };

function isLegacyPickle(bytes: Uint8Array): boolean {
  // Pre-1.6 torch.save: a bare pickle stream starting with PROTO 2 and a LONG1 magic number.
  return bytes.length > 2 && bytes[0] === 0x80 && bytes[1] <= 5 && bytes[2] === 0x8a;
}

/** Finds `<folder>/data.pkl` (any folder name) and returns the folder and a name lookup. */
function locateArchive(entries: ZipEntry[]): { prefix: string; byName: Map<string, Uint8Array> } {
  const byName = new Map(entries.map((e) => [e.name, e.data]));
  const pkls = entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pkls.length === 0) fail('no "<folder>/data.pkl" entry: this zip is not a torch.save archive');
  if (pkls.length > 1) fail(`several pickles (${pkls.map((e) => e.name).join(', ')}); expected exactly one "<folder>/data.pkl"`);
  const prefix = pkls[0].name.slice(0, -'data.pkl'.length);
  const order = byName.get(`${prefix}byteorder`);
  if (order !== undefined) {
    const s = new TextDecoder().decode(order).trim();
    if (s !== 'little') fail(`byteorder is "${s}"; only little-endian archives are supported`);
  }
  return { prefix, byName };
}

/** Descends through `state_dict` / `params` wrappers to the dict of tensors. */
function selectStateDict(root: PickleValue): PickleDict {
  if (!(root instanceof PickleDict)) fail('the pickle does not hold a dict; expected a state_dict (name -> tensor)');
  let d = root;
  for (let depth = 0; depth < 8; depth++) {
    const inner = NESTING_KEYS.map((k) => d.items.get(k)).find((v) => v instanceof PickleDict);
    if (inner === undefined) return d;
    d = inner as PickleDict;
  }
  return fail('state_dict/params nesting is deeper than 8 levels');
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    // Size-1 axes may carry any stride; an empty tensor has nothing to lay out.
    if (shape[i] === 0) return true;
    if (shape[i] !== 1 && stride[i] !== expect) return false;
    expect *= shape[i];
  }
  return true;
}

function materialise(name: string, t: PickleTensor, prefix: string, byName: Map<string, Uint8Array>) {
  const at = `tensor "${name}"`;
  const elem = STORAGE_TYPES[t.storage.storageType];
  const dtype = READABLE[elem];
  if (dtype === undefined) fail(`${at} has dtype ${elem} (torch.${t.storage.storageType}); only float32, float16 and bfloat16 are supported`);
  if (!isContiguous(t.shape, t.stride)) {
    fail(`${at} is a non-contiguous view (shape [${t.shape.join(', ')}], stride [${t.stride.join(', ')}]); save tensor.contiguous() instead`);
  }
  const numel = numelOf(t.shape, `${WHERE}: ${at}`);
  const path = `${prefix}data/${t.storage.key}`;
  const raw = byName.get(path);
  if (raw === undefined) fail(`${at}: storage "${path}" is missing from the archive`);
  const width = DTYPE_BYTES[dtype];
  if (raw.length !== t.storage.numel * width) {
    fail(`${at}: storage "${path}" holds ${raw.length} bytes but the pickle declares ${t.storage.numel} ${dtype} elements (${t.storage.numel * width} bytes)`);
  }
  if (t.offset + numel > t.storage.numel) {
    fail(`${at}: elements [${t.offset}, ${t.offset + numel}) run past its storage of ${t.storage.numel} elements`);
  }
  return { shape: t.shape.slice(), data: decodeFloats(raw, t.offset * width, numel, dtype), dtype };
}

/**
 * Reads a PyTorch `.pth` / `.pt` file in the zip format `torch.save` has written since 1.6: the
 * archive's `<folder>/data.pkl` is parsed by an allow-list pickle reader (nothing is executed) and
 * tensors are read from `<folder>/data/<key>`, honouring storage offsets (views that share a
 * storage). Accepts a plain `state_dict`, one nested under `state_dict` or `params` keys, and
 * strips DataParallel's leading `module.` from names.
 *
 * @param bytes - the whole file; not modified, not retained.
 * @returns name to `{ shape, data, dtype }` in the file's order, PyTorch layout, data widened
 *   exactly to float32. Plain JS memory: nothing to dispose.
 * @throws WeightFileError for the legacy non-zip format, a corrupt archive, a hostile pickle,
 *   non-contiguous views, other dtypes (int64 buffers included) or non-tensor entries.
 */
export function readTorchStateDict(bytes: Uint8Array): StateDict {
  if (isLegacyPickle(bytes)) {
    fail('this is the legacy (pre-1.6) torch.save format; re-save it with a current PyTorch (zip format) or as .safetensors');
  }
  if (bytes.length >= 4 && !(bytes[0] === 0x50 && bytes[1] === 0x4b)) {
    fail('not a zip archive (expected the "PK" signature that torch.save writes)');
  }
  const { prefix, byName } = locateArchive(readZip(bytes));
  const root = readPickle(byName.get(`${prefix}data.pkl`) as Uint8Array);
  const sd = selectStateDict(root);
  const dict: StateDict = {};
  for (const [key, value] of sd.items) {
    if (typeof key !== 'string') fail(`state_dict key ${String(key)} is not a string`);
    if (!(value instanceof PickleTensor)) {
      const keys = [...sd.items.keys()].slice(0, 12).map(String).join(', ');
      fail(`state_dict entry "${key}" is not a tensor; expected a dict of tensors, possibly nested under "state_dict" or "params" (keys found: ${keys})`);
    }
    const name = key.startsWith('module.') ? key.slice('module.'.length) : key;
    putTensor(dict, name, materialise(key, value, prefix, byName), WHERE);
  }
  return dict;
}
