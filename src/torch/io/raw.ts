/**
 * RawTensor: the dtype + shape + little-endian bytes record that the readers and writers in this folder
 * work with. It needs no native code, so serialization can be used (and tested) without libtorch; see
 * `tensors.ts` for the conversion to and from the `Tensor` API.
 */

import { ITEM_SIZE, type DType } from '../dtype.js';

/** Element types understood by the serializers: the Tensor API's `DType` (dtype.ts needs no native code). */
export type RawDType = DType;

/** Bytes per element of each dtype. */
export { ITEM_SIZE };

/**
 * A dense, C-contiguous tensor as bytes: `data.byteLength == numel(shape) * itemSize(dtype)`, elements in
 * row-major order, little-endian. `data` may be a view into a larger buffer; treat it as read-only.
 */
export interface RawTensor {
  /** Element type. */
  readonly dtype: RawDType;
  /** Sizes, outermost first; `[]` is a scalar (one element). */
  readonly shape: readonly number[];
  /** Contiguous little-endian element bytes. */
  readonly data: Uint8Array;
  /** True when the source marked the tensor as requiring gradients (a `torch.nn.Parameter`). */
  readonly requiresGrad?: boolean;
}

/** True when `s` is one of the {@link RawDType} strings. */
export function isRawDType(s: unknown): s is RawDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(ITEM_SIZE, s);
}

/**
 * Number of elements of a shape: ∏ shape[i] (1 for a scalar). Throws a RangeError for a dimension that is
 * not a non-negative safe integer or a product that is not a safe integer.
 */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`invalid dimension ${String(d)} in shape [${shape.join(', ')}]`);
    n *= d;
    if (!Number.isSafeInteger(n)) throw new RangeError(`shape [${shape.join(', ')}] has too many elements`);
  }
  return n;
}

/**
 * Byte length of a dense tensor: numel(shape) · ITEM_SIZE[dtype]. Throws a RangeError when not a safe integer.
 */
export function byteLengthOf(dtype: RawDType, shape: readonly number[]): number {
  const n = numel(shape) * ITEM_SIZE[dtype];
  if (!Number.isSafeInteger(n)) throw new RangeError(`shape [${shape.join(', ')}] of ${dtype} is too large`);
  return n;
}

/**
 * Make a RawTensor after checking that `data` has exactly the byte length that `dtype` and `shape` need.
 * The bytes are not copied.
 */
export function rawTensor(dtype: RawDType, shape: readonly number[], data: Uint8Array, requiresGrad?: boolean): RawTensor {
  if (!isRawDType(dtype)) throw new TypeError(`unknown dtype ${String(dtype)}`);
  const want = byteLengthOf(dtype, shape);
  if (data.byteLength !== want) {
    throw new RangeError(`${dtype}[${shape.join(', ')}] needs ${want} bytes, got ${data.byteLength}`);
  }
  const t: RawTensor = { dtype, shape: Object.freeze([...shape]), data };
  return requiresGrad === undefined ? t : { ...t, requiresGrad };
}

/** True when `v` looks like a {@link RawTensor} (has a known dtype, a shape array and a Uint8Array). */
export function isRawTensor(v: unknown): v is RawTensor {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<RawTensor>;
  return isRawDType(r.dtype) && Array.isArray(r.shape) && r.data instanceof Uint8Array;
}

/** Strides (in elements) of a C-contiguous tensor of this shape: stride[i] = ∏_{j>i} shape[j]. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i] as number;
  }
  return s;
}

/**
 * Copy the elements of a strided view out of `storage` into a new contiguous buffer:
 * element (i₀,…,iₖ) is read from byte `(offset + Σ iⱼ·stride[j]) · itemSize`. All sizes/strides are in
 * elements. The caller checks bounds (see `viewExtent`). Runs of stride 1 in the innermost dimension
 * are copied as blocks.
 */
export function gatherStrided(
  storage: Uint8Array,
  itemSize: number,
  offset: number,
  shape: readonly number[],
  stride: readonly number[],
): Uint8Array {
  const total = numel(shape);
  const out = new Uint8Array(total * itemSize);
  if (total === 0) return out;
  const nd = shape.length;
  if (nd === 0) {
    out.set(storage.subarray(offset * itemSize, (offset + 1) * itemSize));
    return out;
  }
  const inner = shape[nd - 1] as number;
  const innerStride = stride[nd - 1] as number;
  const index = new Array<number>(nd - 1).fill(0);
  let base = offset; // element offset of the start of the current innermost row
  let o = 0;
  const rows = total / inner;
  for (let r = 0; r < rows; r++) {
    if (innerStride === 1) {
      out.set(storage.subarray(base * itemSize, (base + inner) * itemSize), o);
      o += inner * itemSize;
    } else {
      for (let i = 0, e = base; i < inner; i++, e += innerStride) {
        const b = e * itemSize;
        for (let k = 0; k < itemSize; k++) out[o++] = storage[b + k] as number;
      }
    }
    // advance the outer multi-index (odometer), keeping `base` in sync
    for (let d = nd - 2; d >= 0; d--) {
      const i = (index[d] as number) + 1;
      if (i < (shape[d] as number)) {
        index[d] = i;
        base += stride[d] as number;
        break;
      }
      index[d] = 0;
      base -= (i - 1) * (stride[d] as number);
    }
  }
  return out;
}

/**
 * The range of storage elements a strided view touches: `[offset, offset + Σ (shape[i]−1)·stride[i] + 1)`,
 * or null for an empty view. Throws RangeError on negative or non-integer sizes/strides/offset.
 */
export function viewExtent(offset: number, shape: readonly number[], stride: readonly number[]): { begin: number; end: number } | null {
  if (shape.length !== stride.length) throw new RangeError(`size [${shape.join(', ')}] and stride [${stride.join(', ')}] differ in length`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`invalid storage offset ${String(offset)}`);
  let last = offset;
  for (let i = 0; i < shape.length; i++) {
    const n = shape[i] as number;
    const s = stride[i] as number;
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`invalid size ${String(n)}`);
    if (!Number.isSafeInteger(s) || s < 0) throw new RangeError(`invalid stride ${String(s)}`);
    if (n === 0) return null;
    last += (n - 1) * s;
  }
  if (!Number.isSafeInteger(last)) throw new RangeError('view extent is too large');
  return { begin: offset, end: last + 1 };
}

/** True when `stride` is the C-contiguous stride of `shape` (dimensions of size 1 may have any stride). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const n = shape[i] as number;
    if (n !== 1 && stride[i] !== acc) return false;
    acc *= n;
  }
  return true;
}
