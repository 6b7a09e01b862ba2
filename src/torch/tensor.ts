/**
 * The Tensor class: a typed handle to a libtorch tensor with its shape, dtype and device, the
 * usual methods (arithmetic with broadcasting, reductions, views, indexing, in-place updates) and
 * autograd. Operators are ATen's, called through the dispatcher, so values, broadcasting and type
 * promotion are PyTorch's.
 */
import { type DType, dtypeCode, dtypeName } from './dtype.js';
import { checkDevice, type Device } from './device.js';
import { type Handle, native } from './native.js';
import { op, type Op } from './ops.js';
import { type ScopeOwner, type Scoped, track } from './scope.js';

/** A tensor or a plain number (broadcast as a scalar). */
export type TensorOrScalar = Tensor | number;

/**
 * The native handle of a tensor argument — the one place where arguments become handles. Anything
 * that is not a Tensor is passed on unchanged, and the addon, which knows every operator's schema,
 * rejects it with a TypeError naming the operator, the argument and what was passed instead:
 * `x.add('x')` → "aten::add.Tensor: argument 'other': expected a tensor, got a string";
 * `x.matmul(null)` → "aten::matmul: argument 'other': expected a tensor, got null". `null` and
 * `undefined` stay what they are, so optional tensor arguments (a bias) need no special case.
 */
export function handleOf(x: Tensor): Handle;
export function handleOf(x: Tensor | null | undefined): Handle | null;
export function handleOf(x: Tensor | null | undefined): Handle | null {
  return x instanceof Tensor ? x.handle : (x as unknown as Handle | null);
}
const H = handleOf;

/** "a string", "null", …: what a value is, for "expected a tensor, got …" messages (as the addon words them). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  if (t !== 'object') return `${/^[aeiou]/.test(t) ? 'an' : 'a'} ${t}`;
  const name = (v as object).constructor?.name;
  return name === undefined || name === 'Object' ? 'an object' : `an instance of ${name}`;
}

/**
 * For the few functions that use a tensor argument in JavaScript before any operator sees it
 * (its shape, its methods): `value` itself, or a TypeError in the addon's words,
 * "<where>: argument '<name>': expected a tensor, got …".
 */
export function expectTensor(value: unknown, where: string, name: string): Tensor {
  if (value instanceof Tensor) return value;
  throw new TypeError(`${where}: argument '${name}': expected a tensor, got ${describeValue(value)}`);
}

/** Calls an operator and wraps a single tensor result. */
export function callT(o: Op, ...args: unknown[]): Tensor {
  return new Tensor(native.call(o.id, ...args) as Handle);
}

/** Calls an operator returning several tensors. */
export function callTs(o: Op, ...args: unknown[]): Tensor[] {
  return (native.call(o.id, ...args) as Handle[]).map((h) => new Tensor(h));
}

/** Calls an in-place operator on `self` and returns `self`. */
function callInPlace(self: Tensor, o: Op, ...args: unknown[]): Tensor {
  native.dispose(native.call(o.id, self.handle, ...args) as Handle);
  return self;
}

const O = {
  add: op('aten::add', 'Tensor'),
  addS: op('aten::add', 'Scalar'),
  sub: op('aten::sub', 'Tensor'),
  subS: op('aten::sub', 'Scalar'),
  rsubS: op('aten::rsub', 'Scalar'),
  mul: op('aten::mul', 'Tensor'),
  mulS: op('aten::mul', 'Scalar'),
  div: op('aten::div', 'Tensor'),
  divS: op('aten::div', 'Scalar'),
  pow: op('aten::pow', 'Tensor_Tensor'),
  powS: op('aten::pow', 'Tensor_Scalar'),
  remainder: op('aten::remainder', 'Tensor'),
  remainderS: op('aten::remainder', 'Scalar'),
  maximum: op('aten::maximum'),
  minimum: op('aten::minimum'),
  clamp: op('aten::clamp'),
  clampT: op('aten::clamp', 'Tensor'),
  clampMin: op('aten::clamp_min'),
  clampMinT: op('aten::clamp_min', 'Tensor'),
  clampMax: op('aten::clamp_max'),
  clampMaxT: op('aten::clamp_max', 'Tensor'),
  eq: op('aten::eq', 'Tensor'),
  eqS: op('aten::eq', 'Scalar'),
  ne: op('aten::ne', 'Tensor'),
  neS: op('aten::ne', 'Scalar'),
  lt: op('aten::lt', 'Tensor'),
  ltS: op('aten::lt', 'Scalar'),
  le: op('aten::le', 'Tensor'),
  leS: op('aten::le', 'Scalar'),
  gt: op('aten::gt', 'Tensor'),
  gtS: op('aten::gt', 'Scalar'),
  ge: op('aten::ge', 'Tensor'),
  geS: op('aten::ge', 'Scalar'),
  logicalAnd: op('aten::logical_and'),
  logicalOr: op('aten::logical_or'),
  logicalNot: op('aten::logical_not'),
  sum: op('aten::sum'),
  sumDim: op('aten::sum', 'dim_IntList'),
  mean: op('aten::mean'),
  meanDim: op('aten::mean', 'dim'),
  maxAll: op('aten::max'),
  maxDim: op('aten::max', 'dim'),
  minAll: op('aten::min'),
  minDim: op('aten::min', 'dim'),
  amax: op('aten::amax'),
  amin: op('aten::amin'),
  argmax: op('aten::argmax'),
  argmin: op('aten::argmin'),
  prod: op('aten::prod'),
  varCorrection: op('aten::var', 'correction'),
  stdCorrection: op('aten::std', 'correction'),
  norm: op('aten::linalg_vector_norm'),
  logsumexp: op('aten::logsumexp'),
  cumsum: op('aten::cumsum'),
  all: op('aten::all'),
  any: op('aten::any'),
  matmul: op('aten::matmul'),
  mm: op('aten::mm'),
  bmm: op('aten::bmm'),
  dot: op('aten::dot'),
  diagonal: op('aten::diagonal'),
  tril: op('aten::tril'),
  triu: op('aten::triu'),
  view: op('aten::view'),
  reshape: op('aten::reshape'),
  permute: op('aten::permute'),
  transpose: op('aten::transpose', 'int'),
  flatten: op('aten::flatten', 'using_ints'),
  unsqueeze: op('aten::unsqueeze'),
  squeeze: op('aten::squeeze'),
  squeezeDim: op('aten::squeeze', 'dim'),
  expand: op('aten::expand'),
  repeat: op('aten::repeat'),
  contiguous: op('aten::contiguous'),
  clone: op('aten::clone'),
  detach: op('aten::detach'),
  narrow: op('aten::narrow'),
  select: op('aten::select', 'int'),
  slice: op('aten::slice', 'Tensor'),
  indexSelect: op('aten::index_select'),
  gather: op('aten::gather'),
  index: op('aten::index', 'Tensor'),
  maskedFill: op('aten::masked_fill', 'Scalar'),
  maskedFillT: op('aten::masked_fill', 'Tensor'),
  split: op('aten::split', 'Tensor'),
  splitSizes: op('aten::split_with_sizes'),
  chunk: op('aten::chunk'),
  flip: op('aten::flip'),
  toDtype: op('aten::to', 'dtype'),
  toDevice: op('aten::to', 'device'),
  item: op('aten::item'),
  setData: op('aten::set_data'),
  add_: op('aten::add_', 'Tensor'),
  addS_: op('aten::add_', 'Scalar'),
  sub_: op('aten::sub_', 'Tensor'),
  subS_: op('aten::sub_', 'Scalar'),
  mul_: op('aten::mul_', 'Tensor'),
  mulS_: op('aten::mul_', 'Scalar'),
  div_: op('aten::div_', 'Tensor'),
  divS_: op('aten::div_', 'Scalar'),
  addcmul_: op('aten::addcmul_'),
  addcdiv_: op('aten::addcdiv_'),
  lerpS_: op('aten::lerp_', 'Scalar'),
  copy_: op('aten::copy_'),
  zero_: op('aten::zero_'),
  fillS_: op('aten::fill_', 'Scalar'),
  clamp_: op('aten::clamp_'),
  clampT_: op('aten::clamp_', 'Tensor'),
  clampMin_: op('aten::clamp_min_'),
  clampMinT_: op('aten::clamp_min_', 'Tensor'),
  clampMax_: op('aten::clamp_max_'),
  clampMaxT_: op('aten::clamp_max_', 'Tensor'),
} as const;

const UNARY = {
  neg: op('aten::neg'),
  abs: op('aten::abs'),
  sqrt: op('aten::sqrt'),
  rsqrt: op('aten::rsqrt'),
  exp: op('aten::exp'),
  expm1: op('aten::expm1'),
  log: op('aten::log'),
  log1p: op('aten::log1p'),
  sin: op('aten::sin'),
  cos: op('aten::cos'),
  tan: op('aten::tan'),
  atan: op('aten::atan'),
  tanh: op('aten::tanh'),
  sigmoid: op('aten::sigmoid'),
  relu: op('aten::relu'),
  square: op('aten::square'),
  reciprocal: op('aten::reciprocal'),
  floor: op('aten::floor'),
  ceil: op('aten::ceil'),
  round: op('aten::round'),
  trunc: op('aten::trunc'),
  sign: op('aten::sign'),
  erf: op('aten::erf'),
  isnan: op('aten::isnan'),
  isfinite: op('aten::isfinite'),
} as const;

/**
 * A binary operator with a tensor or a number as `x` (`tensorOp` or its `.Scalar` overload), with
 * `alpha` where the operator has one. Fixed arguments rather than rest/spread: this is the hottest
 * path for small tensors.
 */
function scalarOrTensor(x: TensorOrScalar, tensorOp: Op, scalarOp: Op, self: Tensor, alpha?: number): Tensor {
  const numeric = typeof x === 'number';
  const id = numeric ? scalarOp.id : tensorOp.id;
  const other = numeric ? x : H(x);
  return new Tensor((alpha === undefined ? native.call(id, self.handle, other) : native.call(id, self.handle, other, alpha)) as Handle);
}

type Bound = TensorOrScalar | null;
const isScalarBound = (b: Bound): b is number | null => b === null || typeof b === 'number';

/**
 * clamp / clamp_ on a handle: one ATen call when both bounds are numbers (clamp.Scalar) or both
 * tensors (clamp.Tensor); a number with a tensor is clamp_min then clamp_max, which is the same
 * min(max(x, lo), hi). Returns the result handle (for in-place: a handle aliasing `self`).
 */
function clampHandle(self: Handle, lo: Bound, hi: Bound, inPlace: boolean): Handle {
  const call = (o: Op, ...args: unknown[]): Handle => native.call(o.id, ...args) as Handle;
  if (isScalarBound(lo) && isScalarBound(hi)) return call(inPlace ? O.clamp_ : O.clamp, self, lo, hi);
  if (typeof lo !== 'number' && typeof hi !== 'number') return call(inPlace ? O.clampT_ : O.clampT, self, H(lo), H(hi));
  // one number, one tensor
  const first =
    typeof lo === 'number'
      ? call(inPlace ? O.clampMin_ : O.clampMin, self, lo)
      : call(inPlace ? O.clampMinT_ : O.clampMinT, self, H(lo as Tensor));
  try {
    return typeof hi === 'number'
      ? call(inPlace ? O.clampMax_ : O.clampMax, first, hi)
      : call(inPlace ? O.clampMaxT_ : O.clampMaxT, first, H(hi as Tensor));
  } finally {
    native.dispose(first);
  }
}

function dims(dim: number | readonly number[] | undefined): number[] | undefined {
  return dim === undefined ? undefined : typeof dim === 'number' ? [dim] : [...dim];
}

/**
 * Releases the native tensor of a Tensor object that the garbage collector reclaimed without a
 * `dispose()`: the safety net for tensors that no scope owns (scopes and `dispose()` release
 * memory deterministically). A tensor registers only when it becomes unowned (`_unscoped`), so
 * tensors that a scope disposes never touch the registry; registering also reports the handle's
 * native bytes to V8 (`trackForGc`), since V8 only finalizes registry targets in full collections
 * and would otherwise schedule those by the (tiny) JavaScript heap alone (measured: 2,000 × 4 MB
 * tensors left to GC, at most ~65 alive at once with the report, ~1,200 without). `dispose()` does
 * not unregister: handle ids are generation-checked and never handed out twice, so the late call
 * for a disposed tensor is a no-op, and skipping unregister (a keyed lookup) halves the registry's
 * cost per tensor (measured: +0.8 µs with register+unregister, +0.4 µs with register alone).
 */
const finalizer = new FinalizationRegistry<Handle>((h) => {
  try {
    native.dispose(h);
  } catch {
    // never throw from a finalizer
  }
});

/** A libtorch tensor. Create tensors with the functions in `creation.ts` (`zeros`, `tensor`, …). */
export class Tensor implements Scoped {
  /** @internal */
  _owner: ScopeOwner | undefined = undefined;
  readonly #h: Handle;
  #meta: [number, string, ...number[]] | undefined;
  #shape: readonly number[] | undefined;

  /** Wraps a native handle (internal: use the creation functions). */
  constructor(handle: Handle) {
    this.#h = handle;
    track(this);
  }

  /** @internal no scope owns this tensor any more: the garbage collector releases it if dispose() is never called. */
  _unscoped(): void {
    finalizer.register(this, this.#h);
    // V8 collects FinalizationRegistry targets only in full collections, which it schedules by heap
    // growth: telling it the native bytes behind this handle keeps tensors left to GC bounded.
    native.trackForGc(this.#h);
  }

  /** The native handle (for src/torch internals and the IO readers). */
  get handle(): Handle {
    return this.#h;
  }

  #info(): [number, string, ...number[]] {
    this.#meta ??= native.meta(this.#h);
    return this.#meta;
  }

  /** Sizes of each dimension. */
  get shape(): readonly number[] {
    this.#shape ??= Object.freeze(this.#info().slice(2) as number[]);
    return this.#shape;
  }

  /** Element type. */
  get dtype(): DType {
    return dtypeName(this.#info()[0]);
  }

  /** Device the data lives on. */
  get device(): Device {
    return this.#info()[1] as Device;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Size of dimension `dim` (negative counts from the end). */
  size(dim: number): number {
    const d = dim < 0 ? dim + this.ndim : dim;
    if (d < 0 || d >= this.ndim) throw new RangeError(`dimension ${dim} out of range for a ${this.ndim}-d tensor`);
    return this.shape[d]!;
  }

  /** Element strides of each dimension. */
  get strides(): number[] {
    return native.strides(this.#h);
  }

  /** Releases this handle's reference to the native tensor now (idempotent). */
  dispose(): void {
    const owner = this._owner;
    this._owner = undefined;
    if (native.dispose(this.#h)) owner?.left();
  }

  /** True after `dispose()`. */
  get isDisposed(): boolean {
    return native.isDisposed(this.#h);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return this.isDisposed ? 'Tensor(disposed)' : `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device})`;
  }

  // ---------------------------------------------------------------------------------------------
  // Data out
  // ---------------------------------------------------------------------------------------------

  /** Contiguous little-endian copy of the data on the CPU. */
  toBytes(): Uint8Array {
    return new Uint8Array(native.toBytes(this.#h));
  }

  /** The data as the matching typed array (float16/bfloat16: raw bits as Uint16Array; bool: Uint8Array). */
  toTypedArray(): Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint8Array | Uint16Array {
    const buf = native.toBytes(this.#h);
    switch (this.dtype) {
      case 'float32':
        return new Float32Array(buf);
      case 'float64':
        return new Float64Array(buf);
      case 'int32':
        return new Int32Array(buf);
      case 'int64':
        return new BigInt64Array(buf);
      case 'int16':
        return new Int16Array(buf);
      case 'int8':
        return new Int8Array(buf);
      case 'float16':
      case 'bfloat16':
        return new Uint16Array(buf);
      default:
        return new Uint8Array(buf);
    }
  }

  /** The values as a flat array of numbers (row-major). */
  toArray(): number[] {
    const dtype = this.dtype;
    if (dtype === 'float16' || dtype === 'bfloat16') {
      const f = this.to('float32');
      try {
        return Array.from(f.toTypedArray() as Float32Array);
      } finally {
        f.dispose();
      }
    }
    const data = this.toTypedArray();
    return data instanceof BigInt64Array ? Array.from(data, Number) : Array.from(data as ArrayLike<number>);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.numel !== 1) throw new RangeError(`item() needs a one-element tensor, got shape [${this.shape.join(', ')}]`);
    const v = native.call(O.item.id, this.#h);
    return typeof v === 'boolean' ? Number(v) : (v as number);
  }

  // ---------------------------------------------------------------------------------------------
  // Type and device moves
  // ---------------------------------------------------------------------------------------------

  /** Converts to another dtype and/or device (returns this tensor's data unchanged when already there). */
  to(target: DType | Device | { dtype?: DType; device?: Device }): Tensor {
    if (typeof target !== 'string' && (typeof target !== 'object' || target === null)) {
      throw new TypeError(`to(): expected a dtype, a device or { dtype, device }, got ${describeValue(target)}`);
    }
    const spec =
      typeof target === 'string'
        ? target.startsWith('cuda') || target === 'cpu'
          ? { device: target as Device }
          : { dtype: target as DType }
        : target;
    const dtype = spec.dtype ?? this.dtype;
    if (spec.device !== undefined) return callT(O.toDevice, this.#h, checkDevice(spec.device), dtypeCode(dtype));
    return callT(O.toDtype, this.#h, dtypeCode(dtype));
  }

  /** Copy on the CPU. */
  cpu(): Tensor {
    return this.to({ device: 'cpu' });
  }

  /** float32 copy. */
  float(): Tensor {
    return this.to('float32');
  }

  /** float64 copy. */
  double(): Tensor {
    return this.to('float64');
  }

  /** int64 copy. */
  long(): Tensor {
    return this.to('int64');
  }

  /**
   * Makes this tensor object point at `source`'s data (dtype, device and shape may change), keeping
   * its identity and autograd leaf status — how modules move parameters between devices.
   */
  setData_(source: Tensor): Tensor {
    native.call(O.setData.id, this.#h, H(source));
    this.#meta = undefined;
    this.#shape = undefined;
    return this;
  }

  /** Contiguous version (a copy only when needed). */
  contiguous(): Tensor {
    return callT(O.contiguous, this.#h);
  }

  /** A copy that shares nothing with this tensor (gradients flow through it). */
  clone(): Tensor {
    return callT(O.clone, this.#h);
  }

  /** Same data, cut from the autograd graph. */
  detach(): Tensor {
    return callT(O.detach, this.#h);
  }

  // ---------------------------------------------------------------------------------------------
  // Arithmetic (broadcasting, PyTorch type promotion; JS integers are integer scalars)
  // ---------------------------------------------------------------------------------------------

  /** this + alpha·other */
  add(other: TensorOrScalar, alpha = 1): Tensor {
    return scalarOrTensor(other, O.add, O.addS, this, alpha);
  }

  /** this − alpha·other */
  sub(other: TensorOrScalar, alpha = 1): Tensor {
    return scalarOrTensor(other, O.sub, O.subS, this, alpha);
  }

  /** other − this (for a scalar other). */
  rsub(other: number): Tensor {
    return callT(O.rsubS, this.#h, other);
  }

  /** this · other */
  mul(other: TensorOrScalar): Tensor {
    return scalarOrTensor(other, O.mul, O.mulS, this);
  }

  /** this / other (true division) */
  div(other: TensorOrScalar): Tensor {
    return scalarOrTensor(other, O.div, O.divS, this);
  }

  /** this ^ exponent */
  pow(exponent: TensorOrScalar): Tensor {
    return scalarOrTensor(exponent, O.pow, O.powS, this);
  }

  /** Python-style remainder (sign of the divisor). */
  remainder(other: TensorOrScalar): Tensor {
    return scalarOrTensor(other, O.remainder, O.remainderS, this);
  }

  /** Elementwise maximum max(this, other) (broadcasting; NaN propagates). A number acts as `clamp(other)`. */
  maximum(other: TensorOrScalar): Tensor {
    return typeof other === 'number' ? callT(O.clampMin, this.#h, other) : callT(O.maximum, this.#h, H(other));
  }

  /** Elementwise minimum min(this, other) (broadcasting; NaN propagates). A number acts as `clamp(null, other)`. */
  minimum(other: TensorOrScalar): Tensor {
    return typeof other === 'number' ? callT(O.clampMax, this.#h, other) : callT(O.minimum, this.#h, H(other));
  }

  /**
   * min(max(this, min), max) elementwise. Either bound may be omitted (null/undefined); each is a
   * number or a tensor broadcast against this one, in any combination (PyTorch's clamp).
   */
  clamp(min?: TensorOrScalar | null, max?: TensorOrScalar | null): Tensor {
    return new Tensor(clampHandle(this.#h, min ?? null, max ?? null, false));
  }

  neg(): Tensor {
    return callT(UNARY.neg, this.#h);
  }
  abs(): Tensor {
    return callT(UNARY.abs, this.#h);
  }
  sqrt(): Tensor {
    return callT(UNARY.sqrt, this.#h);
  }
  /** 1/√x */
  rsqrt(): Tensor {
    return callT(UNARY.rsqrt, this.#h);
  }
  exp(): Tensor {
    return callT(UNARY.exp, this.#h);
  }
  /** eˣ − 1 */
  expm1(): Tensor {
    return callT(UNARY.expm1, this.#h);
  }
  log(): Tensor {
    return callT(UNARY.log, this.#h);
  }
  /** ln(1 + x) */
  log1p(): Tensor {
    return callT(UNARY.log1p, this.#h);
  }
  sin(): Tensor {
    return callT(UNARY.sin, this.#h);
  }
  cos(): Tensor {
    return callT(UNARY.cos, this.#h);
  }
  tan(): Tensor {
    return callT(UNARY.tan, this.#h);
  }
  atan(): Tensor {
    return callT(UNARY.atan, this.#h);
  }
  tanh(): Tensor {
    return callT(UNARY.tanh, this.#h);
  }
  /** 1 / (1 + e⁻ˣ) */
  sigmoid(): Tensor {
    return callT(UNARY.sigmoid, this.#h);
  }
  /** max(x, 0) */
  relu(): Tensor {
    return callT(UNARY.relu, this.#h);
  }
  square(): Tensor {
    return callT(UNARY.square, this.#h);
  }
  reciprocal(): Tensor {
    return callT(UNARY.reciprocal, this.#h);
  }
  floor(): Tensor {
    return callT(UNARY.floor, this.#h);
  }
  ceil(): Tensor {
    return callT(UNARY.ceil, this.#h);
  }
  /** Round half to even, as PyTorch. */
  round(): Tensor {
    return callT(UNARY.round, this.#h);
  }
  trunc(): Tensor {
    return callT(UNARY.trunc, this.#h);
  }
  sign(): Tensor {
    return callT(UNARY.sign, this.#h);
  }
  erf(): Tensor {
    return callT(UNARY.erf, this.#h);
  }
  isnan(): Tensor {
    return callT(UNARY.isnan, this.#h);
  }
  isfinite(): Tensor {
    return callT(UNARY.isfinite, this.#h);
  }

  // Comparisons and logic (bool results)
  eq(other: TensorOrScalar): Tensor {
    return scalarOrTensor(other, O.eq, O.eqS, this);
  }
  ne(other: TensorOrScalar): Tensor {
    return scalarOrTensor(other, O.ne, O.neS, this);
  }
  lt(other: TensorOrScalar): Tensor {
    return scalarOrTensor(other, O.lt, O.ltS, this);
  }
  le(other: TensorOrScalar): Tensor {
    return scalarOrTensor(other, O.le, O.leS, this);
  }
  gt(other: TensorOrScalar): Tensor {
    return scalarOrTensor(other, O.gt, O.gtS, this);
  }
  ge(other: TensorOrScalar): Tensor {
    return scalarOrTensor(other, O.ge, O.geS, this);
  }
  logicalAnd(other: Tensor): Tensor {
    return callT(O.logicalAnd, this.#h, H(other));
  }
  logicalOr(other: Tensor): Tensor {
    return callT(O.logicalOr, this.#h, H(other));
  }
  logicalNot(): Tensor {
    return callT(O.logicalNot, this.#h);
  }

  // ---------------------------------------------------------------------------------------------
  // Reductions
  // ---------------------------------------------------------------------------------------------

  /** Sum over `dim` (all elements when omitted). */
  sum(dim?: number | readonly number[], keepdim = false): Tensor {
    return dim === undefined ? callT(O.sum, this.#h) : callT(O.sumDim, this.#h, dims(dim), keepdim);
  }

  /** Mean over `dim` (all elements when omitted). */
  mean(dim?: number | readonly number[], keepdim = false): Tensor {
    return dim === undefined ? callT(O.mean, this.#h) : callT(O.meanDim, this.#h, dims(dim), keepdim);
  }

  /** Largest element. */
  max(): Tensor;
  /** Largest elements along `dim` and their indices. */
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return callT(O.maxAll, this.#h);
    const [values, indices] = callTs(O.maxDim, this.#h, dim, keepdim) as [Tensor, Tensor];
    return { values, indices };
  }

  /** Smallest element. */
  min(): Tensor;
  /** Smallest elements along `dim` and their indices. */
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return callT(O.minAll, this.#h);
    const [values, indices] = callTs(O.minDim, this.#h, dim, keepdim) as [Tensor, Tensor];
    return { values, indices };
  }

  /** Maximum over `dim` (all dims when omitted). */
  amax(dim: number | readonly number[] = [], keepdim = false): Tensor {
    return callT(O.amax, this.#h, dims(dim), keepdim);
  }
  /** Minimum over `dim` (all dims when omitted). */
  amin(dim: number | readonly number[] = [], keepdim = false): Tensor {
    return callT(O.amin, this.#h, dims(dim), keepdim);
  }
  /** Index of the maximum (over the flattened tensor when `dim` is omitted). */
  argmax(dim?: number, keepdim = false): Tensor {
    return callT(O.argmax, this.#h, dim ?? null, keepdim);
  }
  /** Index of the minimum (over the flattened tensor when `dim` is omitted). */
  argmin(dim?: number, keepdim = false): Tensor {
    return callT(O.argmin, this.#h, dim ?? null, keepdim);
  }
  /** Product of all elements. */
  prod(): Tensor {
    return callT(O.prod, this.#h);
  }

  /** Variance Σ(x−x̄)²/(N−correction) over `dim` (all when omitted). */
  var(dim?: number | readonly number[], { correction = 1, keepdim = false } = {}): Tensor {
    return callT(O.varCorrection, this.#h, dims(dim) ?? null, correction, keepdim);
  }

  /** Standard deviation √var over `dim` (all when omitted). */
  std(dim?: number | readonly number[], { correction = 1, keepdim = false } = {}): Tensor {
    return callT(O.stdCorrection, this.#h, dims(dim) ?? null, correction, keepdim);
  }

  /** Vector p-norm (Σ|x|ᵖ)^(1/p) over `dim` (all when omitted). */
  norm(p = 2, dim?: number | readonly number[], keepdim = false): Tensor {
    return callT(O.norm, this.#h, p, dims(dim) ?? null, keepdim);
  }

  /** log Σ exp(x) over `dim`, computed stably. */
  logsumexp(dim: number | readonly number[], keepdim = false): Tensor {
    return callT(O.logsumexp, this.#h, dims(dim), keepdim);
  }
  /** Running sum along `dim`. */
  cumsum(dim: number): Tensor {
    return callT(O.cumsum, this.#h, dim);
  }
  /** True when every element is non-zero. */
  all(): Tensor {
    return callT(O.all, this.#h);
  }
  /** True when some element is non-zero. */
  any(): Tensor {
    return callT(O.any, this.#h);
  }

  // ---------------------------------------------------------------------------------------------
  // Linear algebra
  // ---------------------------------------------------------------------------------------------

  /** Matrix product with NumPy broadcasting rules. */
  matmul(other: Tensor): Tensor {
    return callT(O.matmul, this.#h, H(other));
  }
  /** 2-D matrix product. */
  mm(other: Tensor): Tensor {
    return callT(O.mm, this.#h, H(other));
  }
  /** Batched matrix product (B,n,m)·(B,m,p). */
  bmm(other: Tensor): Tensor {
    return callT(O.bmm, this.#h, H(other));
  }
  /** Inner product of two 1-D tensors. */
  dot(other: Tensor): Tensor {
    return callT(O.dot, this.#h, H(other));
  }
  /** View of the diagonal (offset above the main one when positive) of dims dim1, dim2. */
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor {
    return callT(O.diagonal, this.#h, offset, dim1, dim2);
  }
  /** Lower triangle of the last two dims: elements with column − row ≤ `diagonal` kept, others 0. */
  tril(diagonal = 0): Tensor {
    return callT(O.tril, this.#h, diagonal);
  }
  /** Upper triangle of the last two dims: elements with column − row ≥ `diagonal` kept, others 0. */
  triu(diagonal = 0): Tensor {
    return callT(O.triu, this.#h, diagonal);
  }
  /** Transpose of a 2-D tensor. */
  t(): Tensor {
    return this.transpose(0, 1);
  }

  // ---------------------------------------------------------------------------------------------
  // Views and shape
  // ---------------------------------------------------------------------------------------------

  /** View with a new shape (one entry may be −1); the data must be compatible. */
  view(...shape: number[]): Tensor {
    return callT(O.view, this.#h, shape);
  }
  /** New shape, copying only when a view is impossible. */
  reshape(...shape: number[]): Tensor {
    return callT(O.reshape, this.#h, shape);
  }
  /** Reorders dimensions. */
  permute(...order: number[]): Tensor {
    return callT(O.permute, this.#h, order);
  }
  /** Swaps two dimensions. */
  transpose(dim0: number, dim1: number): Tensor {
    return callT(O.transpose, this.#h, dim0, dim1);
  }
  /** Merges dimensions start..end into one. */
  flatten(start = 0, end = -1): Tensor {
    return callT(O.flatten, this.#h, start, end);
  }
  /** Inserts a dimension of size 1. */
  unsqueeze(dim: number): Tensor {
    return callT(O.unsqueeze, this.#h, dim);
  }
  /** Removes size-1 dimensions (only `dim` when given). */
  squeeze(dim?: number): Tensor {
    return dim === undefined ? callT(O.squeeze, this.#h) : callT(O.squeezeDim, this.#h, dim);
  }
  /** Broadcasts size-1 dimensions to `shape` without copying (−1 keeps a size). */
  expand(...shape: number[]): Tensor {
    return callT(O.expand, this.#h, shape);
  }
  /** Tiles the tensor `repeats[i]` times along each dimension. */
  repeat(...repeats: number[]): Tensor {
    return callT(O.repeat, this.#h, repeats);
  }
  /** View of `length` elements from `start` along `dim`. */
  narrow(dim: number, start: number, length: number): Tensor {
    return callT(O.narrow, this.#h, dim, start, length);
  }
  /** View at `index` along `dim`, removing that dimension. */
  select(dim: number, index: number): Tensor {
    return callT(O.select, this.#h, dim, index);
  }
  /** View of start:end:step along `dim` (Python slice semantics, end exclusive). */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return callT(O.slice, this.#h, dim, start ?? null, end ?? null, step);
  }
  /** Reverses the order along the given dimensions. */
  flip(...dimsToFlip: number[]): Tensor {
    return callT(O.flip, this.#h, dimsToFlip);
  }
  /** Splits into pieces of `size` (a number) or of the given sizes along `dim`. */
  split(size: number | readonly number[], dim = 0): Tensor[] {
    return typeof size === 'number' ? callTs(O.split, this.#h, size, dim) : callTs(O.splitSizes, this.#h, [...size], dim);
  }
  /** Splits into `chunks` nearly equal pieces along `dim`. */
  chunk(chunks: number, dim = 0): Tensor[] {
    return callTs(O.chunk, this.#h, chunks, dim);
  }

  // ---------------------------------------------------------------------------------------------
  // Indexing
  // ---------------------------------------------------------------------------------------------

  /** Rows `index` (int64 1-D) along `dim`. */
  indexSelect(dim: number, index: Tensor): Tensor {
    return callT(O.indexSelect, this.#h, dim, H(index));
  }
  /** out[i][j] = this[index[i][j]][j] for dim 0 (and so on): PyTorch gather. */
  gather(dim: number, index: Tensor): Tensor {
    return callT(O.gather, this.#h, dim, H(index), false);
  }
  /** Advanced indexing: one optional index tensor per leading dimension (null keeps the dimension). */
  index(indices: readonly (Tensor | null)[]): Tensor {
    return callT(O.index, this.#h, Array.isArray(indices) ? indices.map((t: Tensor | null) => H(t)) : indices);
  }
  /** Copy with `value` where `mask` is true. */
  maskedFill(mask: Tensor, value: TensorOrScalar): Tensor {
    return typeof value === 'number' ? callT(O.maskedFill, this.#h, H(mask), value) : callT(O.maskedFillT, this.#h, H(mask), H(value));
  }

  // ---------------------------------------------------------------------------------------------
  // In-place updates (no autograd history on leaves that require grad: use inside noGrad)
  // ---------------------------------------------------------------------------------------------

  /** this += alpha·other */
  add_(other: TensorOrScalar, alpha = 1): Tensor {
    return typeof other === 'number' ? callInPlace(this, O.addS_, other, alpha) : callInPlace(this, O.add_, H(other), alpha);
  }
  /** this −= alpha·other */
  sub_(other: TensorOrScalar, alpha = 1): Tensor {
    return typeof other === 'number' ? callInPlace(this, O.subS_, other, alpha) : callInPlace(this, O.sub_, H(other), alpha);
  }
  /** this *= other */
  mul_(other: TensorOrScalar): Tensor {
    return typeof other === 'number' ? callInPlace(this, O.mulS_, other) : callInPlace(this, O.mul_, H(other));
  }
  /** this /= other */
  div_(other: TensorOrScalar): Tensor {
    return typeof other === 'number' ? callInPlace(this, O.divS_, other) : callInPlace(this, O.div_, H(other));
  }
  /** this += value·a·b */
  addcmul_(a: Tensor, b: Tensor, value = 1): Tensor {
    return callInPlace(this, O.addcmul_, H(a), H(b), value);
  }
  /** this += value·a/b */
  addcdiv_(a: Tensor, b: Tensor, value = 1): Tensor {
    return callInPlace(this, O.addcdiv_, H(a), H(b), value);
  }
  /** this += weight·(end − this) */
  lerp_(end: Tensor, weight: number): Tensor {
    return callInPlace(this, O.lerpS_, H(end), weight);
  }
  /** Copies `src` (broadcast, converted) into this tensor. */
  copy_(src: Tensor): Tensor {
    return callInPlace(this, O.copy_, H(src), false);
  }
  /** Sets every element to 0. */
  zero_(): Tensor {
    return callInPlace(this, O.zero_);
  }
  /** Sets every element to `value`. */
  fill_(value: number): Tensor {
    return callInPlace(this, O.fillS_, value);
  }
  /** Clamps in place; bounds as in {@link clamp}. */
  clamp_(min?: TensorOrScalar | null, max?: TensorOrScalar | null): Tensor {
    native.dispose(clampHandle(this.#h, min ?? null, max ?? null, true));
    return this;
  }

  // ---------------------------------------------------------------------------------------------
  // Autograd
  // ---------------------------------------------------------------------------------------------

  /** Whether operations on this tensor are recorded for differentiation. */
  get requiresGrad(): boolean {
    return native.requiresGrad(this.#h);
  }

  /** Turns gradient recording on or off for this leaf tensor; returns this. */
  requiresGrad_(on = true): Tensor {
    native.setRequiresGrad(this.#h, on);
    return this;
  }

  /** The accumulated gradient of a leaf (a new handle each access), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.#h);
    return g === null ? null : new Tensor(g);
  }

  /** Replaces (or with null clears) the accumulated gradient. */
  set grad(g: Tensor | null) {
    native.setGrad(this.#h, H(g));
  }

  /** True for tensors created by the user rather than by a recorded operation. */
  get isLeaf(): boolean {
    return native.isLeaf(this.#h);
  }

  /** Keeps `.grad` for this non-leaf tensor during backward. */
  retainGrad(): void {
    native.retainGrad(this.#h);
  }

  /** Backpropagates from this tensor (a scalar unless `gradient` is given). */
  backward(gradient?: Tensor, { retainGraph = false } = {}): void {
    native.backward(this.#h, H(gradient ?? null), retainGraph);
  }
}
