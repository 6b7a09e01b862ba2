/**
 * Creating tensors: constants, ranges, random values (optionally from a seeded Generator),
 * JavaScript data and raw bytes; and joining tensors (cat, stack, where).
 */
import { type DType, dtypeCode, ITEM_SIZE } from './dtype.js';
import { checkDevice, type Device } from './device.js';
import { native } from './native.js';
import { op } from './ops.js';
import type { Generator } from './random.js';
import { callT, describeValue, expectTensor, handleOf as H, Tensor, type TensorOrScalar } from './tensor.js';

/** Where and how to create a tensor. */
export interface TensorOptions {
  /** Element type (default float32). */
  dtype?: DType;
  /** Device (default 'cpu'). */
  device?: Device;
  /** Record operations for autograd (leaf tensor). */
  requiresGrad?: boolean;
}

/** Options of the random creation functions. */
export interface RandomOptions extends TensorOptions {
  /** Stream to draw from (default: the device's global generator). */
  generator?: Generator;
}

const O = {
  empty: op('aten::empty', 'memory_format'),
  zeros: op('aten::zeros'),
  ones: op('aten::ones'),
  full: op('aten::full'),
  arange: op('aten::arange', 'start_step'),
  linspace: op('aten::linspace'),
  randn: op('aten::randn', 'generator'),
  rand: op('aten::rand', 'generator'),
  randint: op('aten::randint', 'low_generator'),
  randperm: op('aten::randperm', 'generator'),
  zerosLike: op('aten::zeros_like'),
  onesLike: op('aten::ones_like'),
  fullLike: op('aten::full_like'),
  eye: op('aten::eye'),
  cat: op('aten::cat'),
  stack: op('aten::stack'),
  where: op('aten::where', 'self'),
  whereScalarOther: op('aten::where', 'ScalarOther'),
  whereScalarSelf: op('aten::where', 'ScalarSelf'),
};

function checkShape(shape: readonly number[]): number[] {
  if (!Array.isArray(shape)) throw new TypeError('shape must be an array of non-negative integers');
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid shape [${shape.join(', ')}]: sizes must be non-negative integers`);
  }
  return [...shape];
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

function dev(opts: TensorOptions): string | undefined {
  return opts.device === undefined ? undefined : checkDevice(opts.device);
}

/**
 * Tensor with uninitialised values (torch.empty): for tensors that are overwritten before they are
 * read. Large ones cost only address space until written.
 */
export function empty(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return finish(callT(O.empty, checkShape(shape), dtypeCode(opts.dtype ?? 'float32'), undefined, dev(opts)), opts);
}

/** Tensor of zeros. */
export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return finish(callT(O.zeros, checkShape(shape), dtypeCode(opts.dtype ?? 'float32'), undefined, dev(opts)), opts);
}

/** Tensor of ones. */
export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return finish(callT(O.ones, checkShape(shape), dtypeCode(opts.dtype ?? 'float32'), undefined, dev(opts)), opts);
}

/** Tensor filled with `value`. */
export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  return finish(callT(O.full, checkShape(shape), value, dtypeCode(opts.dtype ?? 'float32'), undefined, dev(opts)), opts);
}

/** Zeros shaped like `t` (same dtype and device unless given). */
export function zerosLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return finish(callT(O.zerosLike, H(t), opts.dtype && dtypeCode(opts.dtype), undefined, dev(opts)), opts);
}

/** Ones shaped like `t`. */
export function onesLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return finish(callT(O.onesLike, H(t), opts.dtype && dtypeCode(opts.dtype), undefined, dev(opts)), opts);
}

/** `value` shaped like `t`. */
export function fullLike(t: Tensor, value: number, opts: TensorOptions = {}): Tensor {
  return finish(callT(O.fullLike, H(t), value, opts.dtype && dtypeCode(opts.dtype), undefined, dev(opts)), opts);
}

/** Identity matrix n×n. */
export function eye(n: number, opts: TensorOptions = {}): Tensor {
  return finish(callT(O.eye, n, dtypeCode(opts.dtype ?? 'float32'), undefined, dev(opts)), opts);
}

/**
 * Values start, start+step, … below end. With only integers and no dtype the result is int64
 * (as in PyTorch); otherwise float32 unless `dtype` is given.
 */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  const [from, to] = end === undefined ? [0, start] : [start, end];
  if (step === 0) throw new RangeError('arange: step must be non-zero');
  const integral = Number.isInteger(from) && Number.isInteger(to) && Number.isInteger(step);
  const dtype = opts.dtype ?? (integral ? 'int64' : 'float32');
  return finish(callT(O.arange, from, to, step, dtypeCode(dtype), undefined, dev(opts)), opts);
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError('linspace: steps must be a non-negative integer');
  return finish(callT(O.linspace, start, end, steps, dtypeCode(opts.dtype ?? 'float32'), undefined, dev(opts)), opts);
}

/** Standard normal samples N(0, 1). */
export function randn(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  return finish(
    callT(O.randn, checkShape(shape), opts.generator?.handle ?? null, dtypeCode(opts.dtype ?? 'float32'), undefined, dev(opts)),
    opts,
  );
}

/** Uniform samples in [0, 1). */
export function rand(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  return finish(
    callT(O.rand, checkShape(shape), opts.generator?.handle ?? null, dtypeCode(opts.dtype ?? 'float32'), undefined, dev(opts)),
    opts,
  );
}

/** Uniform integers in [low, high) (int64 unless `dtype` is given). */
export function randint(low: number, high: number, shape: readonly number[], opts: RandomOptions = {}): Tensor {
  if (!(high > low)) throw new RangeError(`randint: high (${high}) must be greater than low (${low})`);
  return callT(
    O.randint,
    low,
    high,
    checkShape(shape),
    opts.generator?.handle ?? null,
    dtypeCode(opts.dtype ?? 'int64'),
    undefined,
    dev(opts),
  );
}

/** A random permutation of 0..n−1 (int64). */
export function randperm(n: number, opts: RandomOptions = {}): Tensor {
  return callT(O.randperm, n, opts.generator?.handle ?? null, dtypeCode(opts.dtype ?? 'int64'), undefined, dev(opts));
}

/** Normal samples shaped like `t` (same dtype and device). */
export function randnLike(t: Tensor, generator?: Generator): Tensor {
  expectTensor(t, 'randnLike', 't');
  return randn(t.shape, { dtype: t.dtype, device: t.device, generator });
}

/** Copies raw little-endian bytes (a typed array, DataView or ArrayBuffer) into a new CPU tensor. */
export function fromBytes(bytes: Uint8Array | ArrayBufferView | ArrayBuffer, dtype: DType, shape: readonly number[]): Tensor {
  if (!ArrayBuffer.isView(bytes) && !(bytes instanceof ArrayBuffer)) {
    const hint = Array.isArray(bytes) ? ' (use tensor() for JavaScript numbers)' : '';
    throw new TypeError(`fromBytes: expected a typed array, DataView or ArrayBuffer, got ${describeValue(bytes)}${hint}`);
  }
  const need = checkShape(shape).reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
  if (bytes.byteLength !== need) {
    throw new RangeError(`fromBytes: shape [${shape.join(', ')}] of ${dtype} needs ${need} bytes, got ${bytes.byteLength}`);
  }
  const view = bytes instanceof DataView ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
  return new Tensor(native.fromBytes(view, dtypeCode(dtype), shape));
}

/** Nested arrays of numbers or booleans. */
export type NestedArray = number | boolean | readonly NestedArray[];

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] as NestedArray;
  }
  return shape;
}

function flattenInto(data: NestedArray, shape: readonly number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (typeof data !== 'number' && typeof data !== 'boolean') throw new TypeError('tensor(): ragged or non-numeric nested array');
    out.push(Number(data));
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) throw new TypeError('tensor(): nested arrays must be rectangular');
  for (const item of data) flattenInto(item as NestedArray, shape, depth + 1, out);
}

function typedArrayFor(dtype: DType, values: ArrayLike<number>): ArrayBufferView {
  switch (dtype) {
    case 'float64':
      return Float64Array.from(values);
    case 'int64':
      return BigInt64Array.from(Array.from(values), (v) => BigInt(Math.trunc(v)));
    case 'int32':
      return Int32Array.from(values);
    case 'int16':
      return Int16Array.from(values);
    case 'int8':
      return Int8Array.from(values);
    case 'uint8':
      return Uint8Array.from(values);
    case 'bool':
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
    default:
      return Float32Array.from(values);
  }
}

/**
 * A tensor from JavaScript data: a number, (nested) arrays or a typed array (flat; pass `shape`).
 * Default dtype: float32 (bool for booleans, the natural one for typed arrays).
 */
export function tensor(
  data: NestedArray | Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array,
  opts: TensorOptions & { shape?: readonly number[] } = {},
): Tensor {
  let values: ArrayLike<number>;
  let shape: number[];
  let natural: DType = 'float32';
  if (ArrayBuffer.isView(data)) {
    values = data instanceof BigInt64Array ? Array.from(data, Number) : (data as ArrayLike<number>);
    shape = opts.shape ? checkShape(opts.shape) : [data.length];
    natural =
      data instanceof Float64Array
        ? 'float64'
        : data instanceof Int32Array
          ? 'int32'
          : data instanceof BigInt64Array
            ? 'int64'
            : data instanceof Uint8Array
              ? 'uint8'
              : data instanceof Int8Array
                ? 'int8'
                : data instanceof Int16Array
                  ? 'int16'
                  : 'float32';
  } else {
    shape = inferShape(data);
    const flat: number[] = [];
    flattenInto(data, shape, 0, flat);
    values = flat;
    let leaf: NestedArray = data;
    while (Array.isArray(leaf)) leaf = leaf[0] as NestedArray;
    if (typeof leaf === 'boolean') natural = 'bool';
    if (opts.shape) shape = checkShape(opts.shape);
  }
  const dtype = opts.dtype ?? natural;
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== values.length) throw new RangeError(`tensor(): ${values.length} values do not fill shape [${shape.join(', ')}]`);
  const storage: DType = dtype === 'float16' || dtype === 'bfloat16' ? 'float32' : dtype;
  // A typed array of the requested dtype is copied as is (exact for int64 beyond 2^53).
  let t =
    ArrayBuffer.isView(data) && dtype === natural
      ? fromBytes(data, dtype, shape)
      : fromBytes(typedArrayFor(storage, values), storage, shape);
  if (storage !== dtype) {
    const converted = t.to(dtype);
    t.dispose();
    t = converted;
  }
  if (opts.device && opts.device !== 'cpu') {
    const moved = t.to({ device: opts.device });
    t.dispose();
    t = moved;
  }
  return finish(t, opts);
}

/** Handles of a tensor list; a non-array goes on unchanged for the addon to reject ("expects an array"). */
const handles = (tensors: readonly Tensor[]): unknown => (Array.isArray(tensors) ? tensors.map((t: Tensor) => H(t)) : tensors);

/** Concatenates along an existing dimension. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return callT(O.cat, handles(tensors), dim);
}

/** Stacks along a new dimension. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return callT(O.stack, handles(tensors), dim);
}

/** Elementwise `condition ? a : b` with broadcasting. */
export function where(condition: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  if (typeof a === 'number' && typeof b === 'number') {
    throw new TypeError('where(): at least one of a and b must be a tensor');
  }
  if (typeof b === 'number') return callT(O.whereScalarOther, H(condition), H(a as Tensor), b);
  if (typeof a === 'number') return callT(O.whereScalarSelf, H(condition), a, H(b));
  return callT(O.where, H(condition), H(a), H(b));
}
