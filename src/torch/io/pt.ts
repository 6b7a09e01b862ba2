/**
 * Reader for PyTorch `.pt`/`.pth` files written by `torch.save` (the zip format, PyTorch ≥ 1.6):
 * `<root>/data.pkl` is a pickle whose tensors refer, through persistent ids
 * `('storage', torch.FloatStorage, key, location, numel)`, to raw little-endian storages stored in
 * `<root>/data/<key>`. Tensors are rebuilt from (storage, offset, size, stride) as contiguous
 * {@link RawTensor}s; every storage location (`cuda:0`, `mps`, …) is read onto the CPU.
 *
 * The legacy pre-1.6 (non-zip) format is read when asked for (`{ legacy: true }`, {@link readLegacyPt}).
 * Not supported: TorchScript archives, quantized/sparse/nested tensors (they come back as {@link PyObject}s naming their rebuild function), complex dtypes.
 */
import { SerializationError } from './errors.js';
import { unpickleAt, type GlobalHandler } from './pickle.js';
import { PyGlobal, type PyValue } from './pyvalue.js';
import { gatherStrided, isContiguous, ITEM_SIZE, numel, rawTensor, viewExtent, type RawDType, type RawTensor } from './raw.js';
import { MemorySource, openSource, type ByteSource } from './source.js';
import { replaceLeaves } from './tree.js';
import { ZipReader } from './zip.js';

/** Element type of each `torch.*Storage` class name. */
export const STORAGE_DTYPES: ReadonlyMap<string, RawDType> = new Map<string, RawDType>([
  ['DoubleStorage', 'float64'],
  ['FloatStorage', 'float32'],
  ['HalfStorage', 'float16'],
  ['BFloat16Storage', 'bfloat16'],
  ['LongStorage', 'int64'],
  ['IntStorage', 'int32'],
  ['ShortStorage', 'int16'],
  ['CharStorage', 'int8'],
  ['ByteStorage', 'uint8'],
  ['BoolStorage', 'bool'],
  ['UntypedStorage', 'uint8'],
]);

/** Element type of each `torch.<dtype>` name (for `_rebuild_tensor_v3`). */
export const TORCH_DTYPES: ReadonlyMap<string, RawDType> = new Map<string, RawDType>([
  ['float64', 'float64'],
  ['double', 'float64'],
  ['float32', 'float32'],
  ['float', 'float32'],
  ['float16', 'float16'],
  ['half', 'float16'],
  ['bfloat16', 'bfloat16'],
  ['int64', 'int64'],
  ['long', 'int64'],
  ['int32', 'int32'],
  ['int', 'int32'],
  ['int16', 'int16'],
  ['short', 'int16'],
  ['int8', 'int8'],
  ['uint8', 'uint8'],
  ['bool', 'bool'],
]);

/** A storage named by a persistent id; its bytes are read from the archive when first needed. */
export class StorageRef {
  /** Number of tensor views built on this storage (known once unpickling is done). */
  views = 0;

  constructor(
    readonly key: string,
    readonly dtype: RawDType,
    readonly numel: number,
    readonly location: string,
    readonly bytes: () => Uint8Array,
  ) {}
}

/** A tensor view of a storage, materialised after unpickling. */
class PendingTensor {
  constructor(
    readonly storage: StorageRef,
    readonly dtype: RawDType,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
    public requiresGrad: boolean,
  ) {}
}

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) {
    throw new TypeError(`${what} is not a tuple of integers`);
  }
  return [...(v as number[])];
}

function intArg(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`${what} ${String(v)} is not a non-negative integer`);
  return v;
}

function rebuild(
  storage: unknown,
  offset: unknown,
  size: unknown,
  stride: unknown,
  requiresGrad: unknown,
  dtype?: RawDType,
): PendingTensor {
  if (!(storage instanceof StorageRef)) throw new TypeError('first argument is not a storage');
  const shape = intList(size, 'size');
  const strides = intList(stride, 'stride');
  if (shape.length !== strides.length)
    throw new TypeError(`size [${shape.join(', ')}] and stride [${strides.join(', ')}] differ in length`);
  const t = new PendingTensor(storage, dtype ?? storage.dtype, intArg(offset, 'storage offset'), shape, strides, requiresGrad === true);
  storage.views++;
  return t;
}

function markParameter(data: unknown, requiresGrad: unknown): unknown {
  if (data instanceof PendingTensor) data.requiresGrad = requiresGrad !== false;
  return data;
}

/** Handlers for the torch names that appear in `torch.save` pickles. */
const TORCH_GLOBALS: ReadonlyMap<string, GlobalHandler> = new Map<string, GlobalHandler>([
  ['torch._utils._rebuild_tensor', (a) => rebuild(a[0], a[1], a[2], a[3], false)],
  ['torch._utils._rebuild_tensor_v2', (a) => rebuild(a[0], a[1], a[2], a[3], a[4])],
  [
    'torch._utils._rebuild_tensor_v3',
    (a) => {
      const d = a[6];
      const dtype = d instanceof PyGlobal && d.module === 'torch' ? TORCH_DTYPES.get(d.name) : undefined;
      if (dtype === undefined) throw new TypeError(`unsupported tensor dtype ${String(d)}`);
      return rebuild(a[0], a[1], a[2], a[3], a[4], dtype);
    },
  ],
  ['torch._utils._rebuild_parameter', (a) => markParameter(a[0], a[1])],
  ['torch._utils._rebuild_parameter_with_state', (a) => markParameter(a[0], a[1])],
  ['torch._tensor._rebuild_from_type_v2', (a, ctx) => ctx.call(a[0], Array.isArray(a[2]) ? a[2] : [])],
  ['torch._utils._rebuild_from_type_v2', (a, ctx) => ctx.call(a[0], Array.isArray(a[2]) ? a[2] : [])],
  ['torch.Size', (a) => (Array.isArray(a[0]) ? [...(a[0] as unknown[])] : [])],
  [
    'torch.device',
    (a) => {
      const [type, index] = a;
      if (typeof type !== 'string') throw new TypeError('torch.device expects a string');
      return typeof index === 'number' && !type.includes(':') ? `${type}:${index}` : type;
    },
  ],
]);

/** Options for {@link readPtRaw}. */
export interface ReadPtOptions {
  /** Check every record's CRC-32 (default true; costs one pass over the data). */
  verifyCrc?: boolean;
  /**
   * Also read the legacy (pre-1.6, non-zip) format, as pytorch-fid's Inception weights are stored
   * (default false: such a file is an error that says how to re-save it). See pt-legacy.ts.
   */
  legacy?: boolean;
}

/** Find `<root>/data.pkl`; explain what the file is if it is not a torch.save zip. */
function findRoot(src: ByteSource, zip: ZipReader): string {
  const pkl = zip.names().filter((n) => /^([^/]*\/)?data\.pkl$/.test(n));
  if (pkl.length === 0) {
    if (zip.names().some((n) => /^([^/]*\/)?constants\.pkl$/.test(n))) {
      throw new SerializationError(src.name, 'this is a TorchScript archive (torch.jit.save), not a torch.save file');
    }
    throw new SerializationError(src.name, 'archive has no data.pkl record (not a torch.save file, or corrupt)');
  }
  return (pkl[0] as string).slice(0, -'data.pkl'.length);
}

function isLegacyPt(src: ByteSource): boolean {
  // legacy torch.save: a bare pickle starting with PROTO 2 and LONG1 of the magic number 0x1950a86a20f9469cfc6c
  if (src.size < 4) return false;
  const head = src.read(0, 4);
  return head[0] === 0x80 && head[1] === 0x02 && head[2] === 0x8a && head[3] === 0x0a;
}

/** Swap each element's bytes (big-endian archive → little-endian). */
export function byteSwap(b: Uint8Array, itemSize: number): Uint8Array {
  if (itemSize === 1) return b;
  const out = new Uint8Array(b.byteLength);
  for (let i = 0; i < b.byteLength; i += itemSize) for (let k = 0; k < itemSize; k++) out[i + k] = b[i + itemSize - 1 - k] as number;
  return out;
}

/**
 * Read a `torch.save` file (path or bytes) into a value tree whose tensors are {@link RawTensor}s
 * (contiguous copies; strides and storage offsets are honoured). Dicts are Maps, unknown classes such as
 * `argparse.Namespace` are `{__class__, ...attrs}` objects; nothing is executed.
 * Throws {@link SerializationError} on a malformed, truncated or unsupported file.
 */
export function readPtRaw(input: string | Uint8Array, options: ReadPtOptions = {}): PyValue<RawTensor> {
  return readPtWith(input, (t) => t, options);
}

/**
 * Like {@link readPtRaw}, but each tensor is passed through `convert` as soon as it is materialised, so
 * its bytes can be dropped before the next one is built (how `loadPt` makes libtorch tensors).
 */
export function readPtWith<T>(input: string | Uint8Array, convert: (t: RawTensor) => T, options: ReadPtOptions = {}): PyValue<T> {
  const src = openSource(input);
  try {
    return readFromSource(src, convert, options);
  } finally {
    src.close();
  }
}

/**
 * The bytes of storage `key` holding `n` elements of `dtype`, little-endian (where a container keeps
 * its storages: zip records, or the data section of a legacy file).
 */
export type StorageBytes = (key: string, dtype: RawDType, n: number) => Uint8Array;

/** A `torch.save` pickle decoded, with its tensors still pending on their storages. */
export interface TorchPickle {
  readonly tree: unknown;
  /** Offset just past the pickle's STOP. */
  readonly end: number;
  /** The storages the pickle names, in order of first appearance. */
  readonly storages: readonly StorageRef[];
}

/**
 * Unpickles the `torch.save` pickle at `start` of `bytes`: persistent ids `('storage', torch.XStorage,
 * key, location, numel[, view_metadata])` become storages whose bytes come from `storageBytes` when the
 * tensors are built ({@link buildTensors}).
 */
export function unpickleTorch(bytes: Uint8Array, start: number, name: string, storageBytes: StorageBytes): TorchPickle {
  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown): unknown => {
    if (!Array.isArray(pid) || pid.length === 0) throw new TypeError('persistent id is not a tuple');
    if (pid[0] !== 'storage') throw new TypeError(`unsupported persistent id type ${JSON.stringify(pid[0])}`);
    const [, type, key, location, n, view] = pid as unknown[];
    if (!(type instanceof PyGlobal) || type.module !== 'torch' || !STORAGE_DTYPES.has(type.name)) {
      throw new TypeError(`unsupported storage type ${String(type)}`);
    }
    if (typeof key !== 'string' || !/^[\w.-]+$/.test(key)) throw new TypeError(`bad storage key ${JSON.stringify(key)}`);
    if (typeof location !== 'string') throw new TypeError(`bad storage location for storage ${key}`);
    if (view !== undefined && view !== null)
      throw new TypeError(`storage ${key} is a view of another storage (pre-0.4 format), not supported`);
    const count = intArg(n, `storage ${key} size`);
    const dtype = STORAGE_DTYPES.get(type.name) as RawDType;
    const id = `${key}\u0000${dtype}`;
    let s = storages.get(id);
    if (s === undefined) {
      s = new StorageRef(key, dtype, count, location, () => storageBytes(key, dtype, count));
      storages.set(id, s);
    } else if (s.numel !== count) throw new TypeError(`storage ${key} is declared with sizes ${s.numel} and ${count}`);
    return s;
  };
  const { value, end } = unpickleAt(bytes, start, { name, persistentLoad, globals: TORCH_GLOBALS });
  return { tree: value, end, storages: [...storages.values()] };
}

/**
 * How many times its storage's elements the views of one storage may copy out in all. Views that tile a
 * storage copy it once; a tensor saved with its transpose, twice. More is the signature of stride-0 or
 * overlapping views (a 494-byte file expanding to 512 MiB), refused before the copy is made.
 */
export const MAX_VIEW_COPIES = 4;

/**
 * Refuses a view that holds more elements than its storage (stride 0 or overlapping: an expanded tensor,
 * whose contiguous copy would be larger than the file), or one that takes the views of its storage past
 * {@link MAX_VIEW_COPIES} copies of it.
 */
function checkViewBudget(t: PendingTensor, n: number, capacity: number, copiedSoFar: number): void {
  const layout = `(offset ${t.offset}, size [${t.shape.join(', ')}], stride [${t.stride.join(', ')}])`;
  if (n > Math.max(capacity, 1))
    throw new RangeError(
      `view ${layout} has ${n} elements, more than its ${capacity}-element storage holds (a stride-0 or overlapping view; re-save it with .contiguous())`,
    );
  if (copiedSoFar > MAX_VIEW_COPIES * Math.max(capacity, 1))
    throw new RangeError(
      `the views of this ${capacity}-element storage copy ${copiedSoFar} elements, more than ${MAX_VIEW_COPIES} times the storage (overlapping views)`,
    );
}

/** `make()`, an allocation of `bytes` bytes; an allocation failure becomes an error that says how much was asked. */
function allocating<R>(bytes: number, make: () => R): R {
  try {
    return make();
  } catch (e) {
    if (e instanceof RangeError) throw new RangeError(`cannot allocate ${bytes} bytes (${e.message})`, { cause: e });
    throw e;
  }
}

/**
 * Replaces every pending tensor of a decoded pickle by `convert` of its contiguous copy, dropping each
 * storage's bytes (through `release`) once its last view is built.
 */
export function buildTensors<T>(
  src: ByteSource,
  pickle: TorchPickle,
  convert: (t: RawTensor) => T,
  release: (key: string) => void,
): PyValue<T> {
  const total = new Map<string, number>();
  for (const s of pickle.storages) total.set(s.key, (total.get(s.key) ?? 0) + s.views);
  const remaining = new Map(total);
  const copied = new Map<string, number>();
  const materialise = (t: PendingTensor): RawTensor => {
    const s = t.storage;
    const item = ITEM_SIZE[t.dtype];
    const bytes = s.bytes();
    const capacity = Math.floor(bytes.byteLength / item);
    const ext = viewExtent(t.offset, t.shape, t.stride);
    const n = numel(t.shape);
    if (ext !== null && ext.end > capacity) {
      throw new RangeError(
        `view (offset ${t.offset}, size [${t.shape.join(', ')}], stride [${t.stride.join(', ')}]) reaches element ${ext.end - 1} of a ${capacity}-element storage`,
      );
    }
    checkViewBudget(t, n, capacity, (copied.get(s.key) ?? 0) + n);
    copied.set(s.key, (copied.get(s.key) ?? 0) + n);
    const left = (remaining.get(s.key) ?? 1) - 1;
    remaining.set(s.key, left);
    if (left === 0) release(s.key);
    let data: Uint8Array;
    if (ext === null) data = new Uint8Array(0);
    else if (isContiguous(t.shape, t.stride)) {
      const view = bytes.subarray(t.offset * item, (t.offset + n) * item);
      // hand the buffer over when nothing else uses it and little of it is wasted; copy otherwise
      const sole = total.get(s.key) === 1 && view.byteLength * 2 >= bytes.byteLength;
      data = sole ? view : allocating(view.byteLength, () => view.slice());
    } else data = allocating(n * item, () => gatherStrided(bytes, item, t.offset, t.shape, t.stride));
    return rawTensor(t.dtype, t.shape, data, t.requiresGrad ? true : undefined);
  };
  const build = (t: PendingTensor): T => {
    const what = `tensor ${t.dtype}[${t.shape.join(', ')}] on storage ${t.storage.key}`;
    let raw: RawTensor;
    try {
      raw = materialise(t);
    } catch (e) {
      if (e instanceof SerializationError) throw e;
      throw new SerializationError(src.name, `${what}: ${(e as Error).message}`, { cause: e });
    }
    try {
      return convert(raw);
    } catch (e) {
      throw new SerializationError(src.name, `${what}: cannot make it (${raw.data.byteLength} bytes): ${(e as Error).message}`, {
        cause: e,
      });
    }
  };
  return replaceLeaves(pickle.tree, (v): v is PendingTensor => v instanceof PendingTensor, build) as PyValue<T>;
}

function readFromSource<T>(src: ByteSource, convert: (t: RawTensor) => T, options: ReadPtOptions): PyValue<T> {
  const verify = options.verifyCrc ?? true;
  let zip: ZipReader;
  try {
    zip = new ZipReader(src);
  } catch (e) {
    if (isLegacyPt(src)) {
      if (options.legacy) return readLegacyPt(src, convert);
      throw new SerializationError(
        src.name,
        'legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a recent PyTorch (torch.save uses the zip format by default since 1.6)',
        { cause: e },
      );
    }
    throw e;
  }
  const root = findRoot(src, zip);
  const text = (name: string): string | undefined => {
    const e = zip.get(root + name);
    return e === undefined ? undefined : new TextDecoder().decode(zip.read(e, verify)).trim();
  };
  const byteorder = text('byteorder') ?? 'little';
  if (byteorder !== 'little' && byteorder !== 'big')
    throw new SerializationError(src.name, `unknown byteorder record ${JSON.stringify(byteorder)}`);

  // storage bytes cached per key until every view is materialised
  const cache = new Map<string, Uint8Array>();
  const recordBytes = (key: string, dtype: RawDType, n: number): Uint8Array => {
    const rec = `${root}data/${key}`;
    let b = cache.get(key);
    if (b === undefined) {
      const entry = zip.get(rec);
      if (entry === undefined)
        throw new SerializationError(src.name, `archive has no record ${JSON.stringify(rec)} for storage ${key} (truncated or corrupt)`);
      // the declared size is checked before anything is read or inflated
      if (entry.size !== n * ITEM_SIZE[dtype])
        throw new SerializationError(
          src.name,
          `record ${JSON.stringify(rec)} has ${entry.size} bytes, storage ${key} needs ${n} × ${ITEM_SIZE[dtype]} = ${n * ITEM_SIZE[dtype]}`,
        );
      b = zip.read(entry, verify);
      // stored records of an in-memory archive are views of the caller's buffer: never hand those out
      if (src instanceof MemorySource && entry.method === 0) b = b.slice();
      if (byteorder === 'big') b = byteSwap(b, ITEM_SIZE[dtype]);
      cache.set(key, b);
    }
    const want = n * ITEM_SIZE[dtype];
    if (b.byteLength !== want) {
      throw new SerializationError(
        src.name,
        `record ${JSON.stringify(rec)} has ${b.byteLength} bytes, storage ${key} needs ${n} × ${ITEM_SIZE[dtype]} = ${want}`,
      );
    }
    return b;
  };
  const pklName = `${root}data.pkl`;
  const pickle = unpickleTorch(zip.read(pklName, verify), 0, `${src.name}: ${pklName}`, recordBytes);
  return buildTensors(src, pickle, convert, (key) => cache.delete(key));
}

/** The magic number the legacy format's first pickle holds. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** The only legacy protocol version torch.save ever wrote. */
const LEGACY_PROTOCOL = 1001;

/**
 * The legacy (pre-1.6) `torch.save` format, as torch/serialization.py `_legacy_save` writes it: five
 * pickles back to back (magic number, protocol version 1001, `sys_info` {little_endian, type_sizes},
 * the object with storage persistent ids, the list of storage keys), then for each listed key an
 * int64 element count followed by that many elements of the storage, in the byte order `sys_info` gives.
 */
function readLegacyPt<T>(src: ByteSource, convert: (t: RawTensor) => T): PyValue<T> {
  const bytes = src.read(0, src.size);
  const fail = (msg: string): never => {
    throw new SerializationError(src.name, `legacy torch.save file: ${msg}`);
  };
  const next = (at: number, what: string) => unpickleAt(bytes, at, { name: `${src.name}: ${what} pickle` });
  const magic = next(0, 'magic number');
  if (magic.value !== LEGACY_MAGIC) fail(`first pickle is ${String(magic.value)}, not the magic number`);
  const protocol = next(magic.end, 'protocol version');
  if (protocol.value !== LEGACY_PROTOCOL) fail(`protocol version ${String(protocol.value)}, expected ${LEGACY_PROTOCOL}`);
  const sysInfo = next(protocol.end, 'sys_info');
  const info = sysInfo.value instanceof Map ? sysInfo.value : fail('sys_info is not a dict');
  const little = info.get('little_endian');
  if (typeof little !== 'boolean') fail('sys_info has no little_endian flag');
  const offsets = new Map<string, { at: number; numel: number }>();
  const storageBytes: StorageBytes = (key, dtype, n) => {
    const found = offsets.get(key) ?? fail(`no data for storage ${key} (truncated or corrupt)`);
    if (found.numel !== n) fail(`storage ${key} holds ${found.numel} elements, its tensors declare ${n}`);
    const b = bytes.slice(found.at, found.at + n * ITEM_SIZE[dtype]);
    return little ? b : byteSwap(b, ITEM_SIZE[dtype]);
  };
  const pickle = unpickleTorch(bytes, sysInfo.end, `${src.name}: data pickle`, storageBytes);
  const keys = next(pickle.end, 'storage keys');
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) fail('storage key list is not a list of strings');
  const dtypes = new Map(pickle.storages.map((s) => [s.key, s.dtype]));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = keys.end;
  for (const key of keys.value as string[]) {
    const dtype = dtypes.get(key) ?? fail(`storage key ${key} is listed but no tensor uses it`);
    if (at + 8 > bytes.byteLength) fail(`truncated before the size of storage ${key}`);
    const count = view.getBigInt64(at, little);
    if (count < 0n || count > BigInt(bytes.byteLength)) fail(`storage ${key} has a bad element count ${count}`);
    const numelOf = Number(count);
    at += 8;
    if (at + numelOf * ITEM_SIZE[dtype] > bytes.byteLength) fail(`truncated inside storage ${key}`);
    offsets.set(key, { at, numel: numelOf });
    at += numelOf * ITEM_SIZE[dtype];
  }
  if (at !== bytes.byteLength) fail(`${bytes.byteLength - at} trailing bytes after the last storage`);
  return buildTensors(src, pickle, convert, (key) => offsets.delete(key));
}
