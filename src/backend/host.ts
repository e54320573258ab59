import type { Coef, Term, TensorBackend } from './types.js';
import type { Rng } from './rng.js';

/**
 * A dense float32 tensor in plain JS memory: row-major `data` of length `prod(shape)`.
 * Immutable by convention: no irsde function writes into a `HostTensor` it did not create.
 */
export class HostTensor {
  /**
   * @param data - row-major values; kept by reference (not copied).
   * @param shape - sizes per axis; `prod(shape)` must equal `data.length`.
   */
  constructor(
    readonly data: Float32Array,
    readonly shape: readonly number[],
  ) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (!shape.every((d) => Number.isInteger(d) && d >= 0) || n !== data.length) {
      throw new RangeError(`HostTensor: shape [${shape}] holds ${n} values but data has ${data.length}`);
    }
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Per-element coefficient lookup: scalar, or entry `floor(j / per)` of a per-item array. */
function coefAt(c: Coef, item: number): number {
  return typeof c === 'number' ? c : c[item];
}

function checkCoef(c: Coef | undefined, batch: number, where: string): void {
  if (c !== undefined && typeof c !== 'number' && c.length !== batch) {
    throw new RangeError(`${where}: per-item coefficient has length ${c.length} but the batch axis has size ${batch}`);
  }
}

/**
 * The dependency-free implementation of {@link TensorBackend} over {@link HostTensor}. Each
 * element of a {@link TensorBackend.linear} combination is accumulated in float64 and rounded to
 * float32 once. Not differentiable; `dispose` and `tidy` are no-ops (garbage collected).
 */
export class HostBackend implements TensorBackend<HostTensor> {
  readonly name = 'float32';

  shape(x: HostTensor): number[] {
    return x.shape.slice();
  }

  linear(terms: ReadonlyArray<Term<HostTensor>>, bias?: Coef): HostTensor {
    if (terms.length === 0) throw new RangeError('HostBackend.linear: at least one term is required');
    const shape = terms[0][0].shape;
    if (shape.length === 0) throw new RangeError('HostBackend.linear: tensors need rank >= 1');
    for (const [x, c] of terms) {
      if (!sameShape(x.shape, shape)) throw new RangeError(`HostBackend.linear: shape mismatch [${x.shape}] vs [${shape}]`);
      checkCoef(c, shape[0], 'HostBackend.linear');
    }
    checkCoef(bias, shape[0], 'HostBackend.linear');
    const n = terms[0][0].data.length;
    const batch = shape[0];
    const per = batch === 0 ? 0 : n / batch;
    const res = new Float32Array(n);
    const k = terms.length;
    const coefs = new Float64Array(k);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < k; i++) coefs[i] = coefAt(terms[i][1], b);
      const b0 = bias === undefined ? 0 : coefAt(bias, b);
      for (let j = b * per, end = j + per; j < end; j++) {
        let acc = b0;
        for (let i = 0; i < k; i++) acc += coefs[i] * terms[i][0].data[j];
        res[j] = acc;
      }
    }
    return new HostTensor(res, shape.slice());
  }

  mul(a: HostTensor, b: HostTensor): HostTensor {
    if (!sameShape(a.shape, b.shape)) throw new RangeError(`HostBackend.mul: shape mismatch [${a.shape}] vs [${b.shape}]`);
    const res = new Float32Array(a.size);
    for (let j = 0; j < res.length; j++) res[j] = a.data[j] * b.data[j];
    return new HostTensor(res, a.shape.slice());
  }

  abs(x: HostTensor): HostTensor {
    return new HostTensor(x.data.map(Math.abs), x.shape.slice());
  }

  square(x: HostTensor): HostTensor {
    return new HostTensor(x.data.map((v) => v * v), x.shape.slice());
  }

  meanPerItem(x: HostTensor): HostTensor {
    if (x.shape.length === 0) throw new RangeError('HostBackend.meanPerItem: needs a tensor of rank >= 1');
    const batch = x.shape[0];
    const per = batch === 0 ? 0 : x.size / batch;
    const res = new Float32Array(batch);
    for (let b = 0; b < batch; b++) {
      let s = 0;
      for (let j = b * per; j < (b + 1) * per; j++) s += x.data[j];
      res[b] = s / per;
    }
    return new HostTensor(res, [batch]);
  }

  mean(x: HostTensor): HostTensor {
    let s = 0;
    for (let j = 0; j < x.size; j++) s += x.data[j];
    return new HostTensor(Float32Array.of(s / x.size), []);
  }

  randomNormal(shape: readonly number[], rng: Rng): HostTensor {
    return new HostTensor(rng.normal(shape), shape.slice());
  }

  fromArray(data: Float32Array | ArrayLike<number>, shape: readonly number[]): HostTensor {
    return new HostTensor(Float32Array.from(data), shape.slice());
  }

  toArray(x: HostTensor): Float32Array {
    return x.data.slice();
  }

  dispose(_x: HostTensor | readonly HostTensor[]): void {
    // Garbage collected.
  }

  tidy<R extends HostTensor | number | void>(fn: () => R): R {
    return fn();
  }
}

/** The shared `Float32Array` backend instance. */
export const hostBackend: HostBackend = new HostBackend();
