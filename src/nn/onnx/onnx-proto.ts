/**
 * The subset of the ONNX protobuf schema (`onnx/onnx.proto`, IR version 8) that a plain inference
 * graph needs, as encoders over {@link ProtoMessage}. Field numbers are the schema's.
 */
import { HOST_LITTLE_ENDIAN, ProtoMessage } from './protobuf.js';

/** ONNX `TensorProto.DataType` codes used here. */
export const ONNX_DTYPE = { float32: 1, int64: 7 } as const;

/** Element types an exported tensor can have. */
export type OnnxDtype = keyof typeof ONNX_DTYPE;

/** A node attribute value: int, float, string or int list (the kinds irsde's graphs use). */
export type OnnxAttribute =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'ints'; readonly value: readonly number[] };

// AttributeProto.AttributeType codes.
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

/** Little-endian bytes of `data` (a view when the host is little-endian, else a converted copy). */
function littleEndianBytes(data: Float32Array | BigInt64Array): Uint8Array {
  if (HOST_LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(4 * i, v, true));
  else data.forEach((v, i) => view.setBigInt64(8 * i, v, true));
  return out;
}

/** `TensorProto` with `raw_data` (weights and constants). `data` is referenced until the model is serialised. */
export function tensorProto(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): ProtoMessage {
  const m = new ProtoMessage();
  for (const d of dims) m.varint(1, d);
  m.varint(2, data instanceof Float32Array ? ONNX_DTYPE.float32 : ONNX_DTYPE.int64);
  m.string(8, name);
  m.bytes(9, littleEndianBytes(data));
  return m;
}

/** `AttributeProto`. */
export function attributeProto(name: string, attr: OnnxAttribute): ProtoMessage {
  const m = new ProtoMessage().string(1, name);
  switch (attr.kind) {
    case 'float':
      m.float(2, attr.value).varint(20, ATTR_FLOAT);
      break;
    case 'int':
      m.varint(3, attr.value).varint(20, ATTR_INT);
      break;
    case 'string':
      m.string(4, attr.value).varint(20, ATTR_STRING);
      break;
    case 'ints':
      for (const v of attr.value) m.varint(8, v);
      m.varint(20, ATTR_INTS);
      break;
  }
  return m;
}

/** `NodeProto` of the default (`ai.onnx`) domain. An empty input name marks an omitted optional input. */
export function nodeProto(opType: string, name: string, inputs: readonly string[], outputs: readonly string[], attributes: Readonly<Record<string, OnnxAttribute>>): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of inputs) m.string(1, i);
  for (const o of outputs) m.string(2, o);
  m.string(3, name).string(4, opType);
  for (const [k, a] of Object.entries(attributes)) m.message(5, attributeProto(k, a));
  return m;
}

/**
 * `ValueInfoProto` of a tensor graph input/output; a string dimension is symbolic (`dim_param`),
 * a number is fixed (`dim_value`).
 */
export function valueInfoProto(name: string, dtype: OnnxDtype, shape: readonly (number | string)[]): ProtoMessage {
  const shapeMsg = new ProtoMessage();
  for (const d of shape) {
    const dim = new ProtoMessage();
    if (typeof d === 'number') dim.varint(1, d);
    else dim.string(2, d);
    shapeMsg.message(1, dim);
  }
  const tensorType = new ProtoMessage().varint(1, ONNX_DTYPE[dtype]).message(2, shapeMsg);
  const type = new ProtoMessage().message(1, tensorType);
  return new ProtoMessage().string(1, name).message(2, type);
}

/** The parts of a `GraphProto`. */
export interface GraphParts {
  /** Graph name. */
  readonly name: string;
  /** Human-readable description. */
  readonly docString?: string;
  /** Nodes in topological order. */
  readonly nodes: readonly ProtoMessage[];
  /** Weights and constants. */
  readonly initializers: readonly ProtoMessage[];
  /** Graph inputs (`ValueInfoProto`). */
  readonly inputs: readonly ProtoMessage[];
  /** Graph outputs (`ValueInfoProto`). */
  readonly outputs: readonly ProtoMessage[];
}

/** Metadata of a `ModelProto`. */
export interface ModelParts {
  /** `ai.onnx` opset version, e.g. 17. */
  readonly opset: number;
  /** IR version matching the opset (8 for opsets 17 and 18). */
  readonly irVersion: number;
  /** Producer name and version written into the model. */
  readonly producerName: string;
  /** Producer version. */
  readonly producerVersion: string;
  /** Model description. */
  readonly docString?: string;
  /** Free-form key/value metadata (`metadata_props`). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Serialises a whole `ModelProto` into one new buffer. */
export function modelProto(model: ModelParts, graph: GraphParts): Uint8Array {
  const g = new ProtoMessage();
  for (const n of graph.nodes) g.message(1, n);
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, t);
  if (graph.docString !== undefined) g.string(10, graph.docString);
  for (const i of graph.inputs) g.message(11, i);
  for (const o of graph.outputs) g.message(12, o);

  const m = new ProtoMessage().varint(1, model.irVersion).string(2, model.producerName).string(3, model.producerVersion);
  if (model.docString !== undefined) m.string(6, model.docString);
  m.message(7, g);
  m.message(8, new ProtoMessage().string(1, '').varint(2, model.opset));
  for (const [k, v] of Object.entries(model.metadata ?? {})) m.message(14, new ProtoMessage().string(1, k).string(2, v));
  return m.toBytes();
}
