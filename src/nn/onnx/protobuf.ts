/**
 * A minimal protocol-buffers wire-format encoder (write only): just what the ONNX messages need.
 *
 * Why hand-written rather than `protobufjs`: ONNX export needs six field kinds (varint, fixed32,
 * length-delimited bytes / strings / sub-messages) and no decoding, reflection or schema loading;
 * a ~100-line encoder has no dependency, nothing for bundlers to resolve, and can keep large weight
 * buffers as references until the final copy (the paper-size model has 550 MB of weights, which a
 * general encoder would copy once per nesting level).
 */

const textEncoder = new TextEncoder();

/** The host stores typed arrays little-endian (ONNX `raw_data` is little-endian). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// Wire types of the protobuf encoding.
const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

/**
 * One protobuf message under construction: a list of byte chunks plus its total length. Small
 * scalar fields gather in a pending byte list; large byte fields and sub-messages are kept as
 * references (not copied) until {@link ProtoMessage.toBytes}.
 */
export class ProtoMessage {
  readonly #chunks: Uint8Array[] = [];
  #pending: number[] = [];
  #length = 0;

  /** Encoded length in bytes so far. */
  get length(): number {
    return this.#length;
  }

  #byte(b: number): void {
    this.#pending.push(b);
    this.#length++;
  }

  #flush(): void {
    if (this.#pending.length > 0) {
      this.#chunks.push(Uint8Array.from(this.#pending));
      this.#pending = [];
    }
  }

  #rawVarint(value: number | bigint): void {
    // Negative int64 values are encoded as their 64-bit two's complement (10 bytes), as protobuf does.
    let v = typeof value === 'bigint' ? BigInt.asUintN(64, value) : value;
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new RangeError(`protobuf: varint value ${v} is not a safe integer`);
      if (v < 0) v = BigInt.asUintN(64, BigInt(v));
    }
    if (typeof v === 'number') {
      while (v >= 0x80) {
        this.#byte((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      this.#byte(v);
    } else {
      while (v >= 0x80n) {
        this.#byte(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      this.#byte(Number(v));
    }
  }

  #tag(field: number, wire: number): void {
    this.#rawVarint(field * 8 + wire);
  }

  /** A varint field (int32 / int64 / enum); negative values are sign-extended to 64 bits. */
  varint(field: number, value: number | bigint): this {
    this.#tag(field, WIRE_VARINT);
    this.#rawVarint(value);
    return this;
  }

  /** A `float` field (fixed32, little-endian). */
  float(field: number, value: number): this {
    this.#tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    b.forEach((x) => this.#byte(x));
    return this;
  }

  /** A length-delimited `bytes` field; `value` is referenced, not copied, until `toBytes`. */
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, WIRE_LEN);
    this.#rawVarint(value.length);
    this.#flush();
    this.#chunks.push(value);
    this.#length += value.length;
    return this;
  }

  /** A `string` field (UTF-8). */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** An embedded message field; `msg` must not change afterwards (its chunks are shared). */
  message(field: number, msg: ProtoMessage): this {
    this.#tag(field, WIRE_LEN);
    this.#rawVarint(msg.length);
    this.#flush();
    msg.#flush();
    for (const c of msg.#chunks) this.#chunks.push(c);
    this.#length += msg.length;
    return this;
  }

  /** The encoded message as one new buffer. */
  toBytes(): Uint8Array {
    this.#flush();
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
