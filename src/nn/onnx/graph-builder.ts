/**
 * A small ONNX graph builder: adds nodes with unique value names, holds initializers, and
 * de-duplicates small constants. Produces the parts of a `GraphProto` (see `onnx-proto.ts`).
 */
import type { ProtoMessage } from './protobuf.js';
import { nodeProto, tensorProto, type OnnxAttribute } from './onnx-proto.js';

/** Attribute shorthands: a number is an int, a number array an int list, a string a string. */
export type AttrInput = number | readonly number[] | string | { readonly float: number };

function toAttribute(v: AttrInput): OnnxAttribute {
  if (typeof v === 'number') return { kind: 'int', value: v };
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (Array.isArray(v)) return { kind: 'ints', value: v as readonly number[] };
  return { kind: 'float', value: (v as { float: number }).float };
}

/** Builds the node and initializer lists of one graph. */
export class GraphBuilder {
  /** Encoded nodes, in insertion (topological) order. */
  readonly nodes: ProtoMessage[] = [];
  /** Encoded initializers. */
  readonly initializers: ProtoMessage[] = [];
  readonly #names = new Set<string>();
  readonly #constants = new Map<string, string>();
  #counter = 0;

  /** A fresh value name `${hint}_${n}`. */
  #fresh(hint: string): string {
    let name: string;
    do name = `${hint}_${this.#counter++}`;
    while (this.#names.has(name));
    this.#names.add(name);
    return name;
  }

  /** Reserves a name used by a graph input (so no node output collides with it). */
  reserve(name: string): string {
    if (this.#names.has(name)) throw new Error(`GraphBuilder: value name ${name} is already used`);
    this.#names.add(name);
    return name;
  }

  /**
   * Adds a node and returns its output names.
   * @param scope - a readable prefix for the node and value names (e.g. the PyTorch module path).
   * @param outputs - number of outputs, or explicit output names (e.g. a graph output).
   */
  ops(opType: string, scope: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrInput>> = {}, outputs: number | readonly string[] = 1): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.#fresh(`${scope}/${opType}`)) : outputs.map((o) => this.reserve(o));
    const attributes: Record<string, OnnxAttribute> = {};
    for (const [k, v] of Object.entries(attrs)) attributes[k] = toAttribute(v);
    this.nodes.push(nodeProto(opType, outs[0], inputs, outs, attributes));
    return outs;
  }

  /** Adds a single-output node and returns its output name. */
  op(opType: string, scope: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrInput>> = {}, output?: string): string {
    return this.ops(opType, scope, inputs, attrs, output === undefined ? 1 : [output])[0];
  }

  /** Adds a float32 initializer under `name` (e.g. a PyTorch parameter name); `data` is referenced, not copied. */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    this.reserve(name);
    this.initializers.push(tensorProto(name, dims, data));
    return name;
  }

  /** A float32 constant (shared between uses of the same values). */
  constFloat(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.#constant('f', values, dims, () => Float32Array.from(values));
  }

  /** An int64 constant (shared between uses of the same values). */
  constInt64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.#constant('i', values, dims, () => BigInt64Array.from(values, (v) => BigInt(v)));
  }

  /**
   * A float32 constant identified by `key` (shared between uses of the same key): for constants too
   * large to key by their values; `make` runs once per graph.
   */
  constFloatKeyed(key: string, dims: readonly number[], make: () => Float32Array): string {
    return this.#keyed(`k[${dims.join(',')}]${key}`, 'f', dims, make);
  }

  #constant(kind: string, values: readonly number[], dims: readonly number[], make: () => Float32Array | BigInt64Array): string {
    return this.#keyed(`${kind}[${dims.join(',')}]${values.join(',')}`, kind, dims, make);
  }

  #keyed(key: string, kind: string, dims: readonly number[], make: () => Float32Array | BigInt64Array): string {
    const hit = this.#constants.get(key);
    if (hit !== undefined) return hit;
    const name = this.#fresh(`const_${kind === 'f' ? 'f32' : 'i64'}`);
    this.initializers.push(tensorProto(name, dims, make()));
    this.#constants.set(key, name);
    return name;
  }
}
