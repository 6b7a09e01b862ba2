/**
 * safetensors, read and written at the RawTensor level (no native code).
 *
 * Layout: `u64 LE n` · `n` bytes of UTF-8 JSON header · data. The header maps each tensor name to
 * `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the start of the data) and may hold a
 * `"__metadata__"` string→string map. Data is little-endian and C-contiguous.
 * Spec: https://github.com/huggingface/safetensors#format
 */
import { writeFileAtomic } from '../../util/atomic.js';
import { SerializationError } from './errors.js';
import { byteLengthOf, isRawTensor, ITEM_SIZE, rawTensor, type RawDType, type RawTensor } from './raw.js';
import { openSource, type ByteSource } from './source.js';

/** safetensors dtype code for each {@link RawDType}. */
export const SAFETENSORS_DTYPE: Readonly<Record<RawDType, string>> = Object.freeze({
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
});

const FROM_CODE: ReadonlyMap<string, RawDType> = new Map(
  (Object.entries(SAFETENSORS_DTYPE) as [RawDType, string][]).map(([d, c]) => [c, d]),
);

/** Largest header accepted (the reference implementation's limit): 100 MB. */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in a safetensors header, with absolute file offsets. */
export interface SafetensorsEntry {
  /** Tensor name. */
  readonly name: string;
  /** Element type. */
  readonly dtype: RawDType;
  /** Sizes. */
  readonly shape: readonly number[];
  /** Absolute byte offset of the first element in the file. */
  readonly byteOffset: number;
  /** Number of data bytes. */
  readonly byteLength: number;
}

/** Parsed header of a safetensors file. */
export interface SafetensorsHeader {
  /** The `__metadata__` map (empty when absent). */
  readonly metadata: Record<string, string>;
  /** Entries in data-offset order (the order they were written). */
  readonly entries: readonly SafetensorsEntry[];
  /** Absolute offset where the data section starts (8 + header length). */
  readonly dataStart: number;
}

/** Metadata accepted by the writers: string values only, as the format requires. */
export type SafetensorsMetadata = Record<string, string> | ReadonlyMap<string, string>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * The reference implementation's layout rule: in offset order, the tensors tile the data section exactly
 * (the first begins at 0, each begins where the previous ends, the last ends at the end of the file), so
 * a shifted header length, a gap, an overlap or trailing bytes is an error.
 */
function checkContiguous(sorted: readonly SafetensorsEntry[], dataStart: number, dataLength: number, fail: (msg: string) => never): void {
  let expected = 0;
  let previous: string | undefined;
  for (const e of sorted) {
    const begin = e.byteOffset - dataStart;
    if (begin !== expected) {
      const where = `tensor ${JSON.stringify(e.name)}: data_offsets [${begin}, ${begin + e.byteLength}]`;
      if (begin < expected) fail(`tensors ${JSON.stringify(previous)} and ${JSON.stringify(e.name)} have overlapping data_offsets`);
      fail(
        `${where} leave a ${begin - expected}-byte gap after ${previous === undefined ? 'the start of the data' : `tensor ${JSON.stringify(previous)}`}`,
      );
    }
    expected = begin + e.byteLength;
    previous = e.name;
  }
  if (expected !== dataLength) {
    fail(
      `data section holds ${dataLength} bytes but the tensors cover ${expected}: ${dataLength - expected} trailing bytes (wrong header length?)`,
    );
  }
}

/**
 * Read and validate the header of a safetensors source: the header length fits in the file, the JSON is
 * a UTF-8 object right-padded with spaces only, every dtype is known, every shape matches its byte range,
 * and the ranges tile the data section exactly (see {@link checkContiguous}). Throws {@link SerializationError} naming the file and tensor.
 */
export function readSafetensorsHeader(src: ByteSource): SafetensorsHeader {
  const fail = (msg: string): never => {
    throw new SerializationError(src.name, msg);
  };
  if (src.size < 8) fail(`not a safetensors file: ${src.size} bytes, the 8-byte header length is missing`);
  const n64 = new DataView(src.read(0, 8).slice().buffer).getBigUint64(0, true);
  if (n64 > BigInt(src.size - 8)) fail(`header length ${n64} exceeds the file size ${src.size} (truncated or not a safetensors file)`);
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2) fail(`header length ${n} is too small for a JSON object`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(src.read(8, n));
  } catch (e) {
    return fail(`header is not valid UTF-8 (${(e as Error).message})`);
  }
  if (!text.startsWith('{')) fail('header is not a JSON object (does not start with "{")');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(json)) return fail('header is not a JSON object');
  if (!text.replace(/ +$/, '').endsWith('}')) fail('header padding after the JSON object is not spaces (0x20)');
  const dataStart = 8 + n;
  const dataLength = src.size - dataStart;
  const metadata: Record<string, string> = {};
  const entries: (SafetensorsEntry & { order: number })[] = [];
  let order = 0;
  for (const [name, info] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (info === null) continue;
      if (!isPlainObject(info)) fail('"__metadata__" is not an object of strings');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`"__metadata__" value for ${JSON.stringify(k)} is not a string`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const where = `tensor ${JSON.stringify(name)}`;
    if (!isPlainObject(info)) fail(`${where}: header entry is not an object`);
    const { dtype: code, shape, data_offsets: offsets } = info as Record<string, unknown>;
    const dtype = typeof code === 'string' ? FROM_CODE.get(code) : undefined;
    if (dtype === undefined) fail(`${where}: unsupported dtype ${JSON.stringify(code)} (supported: ${[...FROM_CODE.keys()].join(' ')})`);
    if (!Array.isArray(shape) || !shape.every(isIndex))
      fail(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
      fail(`${where}: data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] are reversed`);
    if (end > dataLength)
      fail(`${where}: data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes; file truncated?)`);
    let want: number;
    try {
      want = byteLengthOf(dtype as RawDType, shape as number[]);
    } catch (e) {
      return fail(`${where}: ${(e as Error).message}`);
    }
    if (want !== end - begin) {
      fail(
        `${where}: ${String(code)}[${(shape as number[]).join(', ')}] needs ${want} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
      );
    }
    entries.push({
      name,
      dtype: dtype as RawDType,
      shape: Object.freeze([...(shape as number[])]),
      byteOffset: dataStart + begin,
      byteLength: end - begin,
      order: order++,
    });
  }
  entries.sort((a, b) => a.byteOffset - b.byteOffset || a.byteLength - b.byteLength || a.order - b.order);
  checkContiguous(entries, dataStart, dataLength, fail);
  return { metadata, entries: entries.map(({ order: _o, ...e }) => e), dataStart };
}

/**
 * An open safetensors file (or buffer) whose header has been validated; tensors are read one at a time
 * with positioned reads, so only what is asked for is loaded. Close it (or use `using`) when done.
 */
export class SafetensorsFile implements Disposable {
  /** The validated header. */
  readonly header: SafetensorsHeader;
  private readonly byName: Map<string, SafetensorsEntry>;

  private constructor(
    private readonly src: ByteSource,
    header: SafetensorsHeader,
  ) {
    this.header = header;
    this.byName = new Map(header.entries.map((e) => [e.name, e]));
  }

  /** Open and validate a file path, or wrap bytes already in memory. */
  static open(input: string | Uint8Array): SafetensorsFile {
    const src = openSource(input);
    try {
      return new SafetensorsFile(src, readSafetensorsHeader(src));
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** File path, or `<buffer>`. */
  get path(): string {
    return this.src.name;
  }

  /** The `__metadata__` map. */
  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  /** Tensor names in data order. */
  names(): string[] {
    return this.header.entries.map((e) => e.name);
  }

  /** The header entry of `name`; throws when there is no such tensor. */
  entry(name: string): SafetensorsEntry {
    const e = this.byName.get(name);
    if (e === undefined) throw new SerializationError(this.src.name, `no tensor named ${JSON.stringify(name)}`);
    return e;
  }

  /** Read one tensor's bytes into a new RawTensor (a view when the source is in memory). */
  readRaw(name: string): RawTensor {
    const e = this.entry(name);
    return rawTensor(e.dtype, e.shape, this.src.read(e.byteOffset, e.byteLength));
  }

  /** Read every tensor, in data order. */
  readAllRaw(): Map<string, RawTensor> {
    return new Map(this.header.entries.map((e) => [e.name, this.readRaw(e.name)]));
  }

  /** Release the file descriptor. */
  close(): void {
    this.src.close();
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Read a whole safetensors file (or buffer) into RawTensors.
 * @returns the tensors in data order, and the `__metadata__` map
 */
export function readSafetensorsRaw(input: string | Uint8Array): { tensors: Map<string, RawTensor>; metadata: Record<string, string> } {
  const f = SafetensorsFile.open(input);
  try {
    return { tensors: f.readAllRaw(), metadata: f.metadata };
  } finally {
    f.close();
  }
}

/** One tensor to write: its bytes are produced on demand, so huge files are never fully in memory. */
export interface SafetensorsWriteItem {
  /** Tensor name (any string but `__metadata__`). */
  readonly name: string;
  /** Element type. */
  readonly dtype: RawDType;
  /** Sizes. */
  readonly shape: readonly number[];
  /** Returns the contiguous little-endian bytes; called once, while writing. */
  readonly bytes: () => Uint8Array;
}

function metadataEntries(file: string, metadata: SafetensorsMetadata | undefined): [string, string][] {
  if (metadata === undefined) return [];
  const list = metadata instanceof Map ? [...metadata.entries()] : Object.entries(metadata as Record<string, unknown>);
  for (const [k, v] of list) {
    if (typeof v !== 'string') throw new SerializationError(file, `metadata value for ${JSON.stringify(k)} is not a string`);
  }
  return list as [string, string][];
}

/**
 * Lay out a safetensors file: the 8-byte length + JSON header (padded with spaces to a multiple of 8),
 * and the items in the order their data will follow. Items are ordered by element size, largest first
 * (stable), so with the 8-aligned header every tensor starts at a multiple of its element size.
 */
export function layoutSafetensors(
  items: readonly SafetensorsWriteItem[],
  metadata?: SafetensorsMetadata,
  file = '<buffer>',
): { head: Uint8Array; ordered: SafetensorsWriteItem[] } {
  const seen = new Set<string>();
  for (const it of items) {
    if (it.name === '__metadata__') throw new SerializationError(file, 'a tensor cannot be named "__metadata__"');
    if (seen.has(it.name)) throw new SerializationError(file, `duplicate tensor name ${JSON.stringify(it.name)}`);
    if (!Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPE, it.dtype)) {
      throw new SerializationError(file, `tensor ${JSON.stringify(it.name)}: unsupported dtype ${String(it.dtype)}`);
    }
    seen.add(it.name);
  }
  const ordered = items
    .map((it, i) => ({ it, i }))
    .sort((a, b) => ITEM_SIZE[b.it.dtype] - ITEM_SIZE[a.it.dtype] || a.i - b.i)
    .map((x) => x.it);
  // JSON written by hand so that key order is exactly the data order (an object would move
  // integer-like names such as "0" to the front).
  const parts: string[] = [];
  const meta = metadataEntries(file, metadata);
  if (meta.length > 0) {
    parts.push(`"__metadata__":{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  let offset = 0;
  for (const it of ordered) {
    let len: number;
    try {
      len = byteLengthOf(it.dtype, it.shape);
    } catch (e) {
      throw new SerializationError(file, `tensor ${JSON.stringify(it.name)}: ${(e as Error).message}`);
    }
    parts.push(
      `${JSON.stringify(it.name)}:{"dtype":"${SAFETENSORS_DTYPE[it.dtype]}","shape":[${it.shape.join(',')}],"data_offsets":[${offset},${offset + len}]}`,
    );
    offset += len;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return { head, ordered };
}

/** Checks an item's produced bytes against its dtype/shape before they reach the file. */
function checkedBytes(file: string, it: SafetensorsWriteItem): Uint8Array {
  const b = it.bytes();
  const want = byteLengthOf(it.dtype, it.shape);
  if (!(b instanceof Uint8Array) || b.byteLength !== want) {
    throw new SerializationError(
      file,
      `tensor ${JSON.stringify(it.name)}: ${it.dtype}[${it.shape.join(', ')}] needs ${want} bytes, got ${b instanceof Uint8Array ? b.byteLength : typeof b}`,
    );
  }
  return b;
}

/**
 * Write items to `path` atomically (temporary file in the same directory, fsync, rename). Each item's
 * bytes are requested only when it is written.
 */
export function writeSafetensorsItems(path: string, items: readonly SafetensorsWriteItem[], metadata?: SafetensorsMetadata): void {
  const { head, ordered } = layoutSafetensors(items, metadata, path);
  writeFileAtomic(path, [head, ...ordered.map((it) => () => checkedBytes(path, it))]);
}

/** Named RawTensors as accepted by the writers. */
export type RawTensorDict = ReadonlyMap<string, RawTensor> | Record<string, RawTensor>;

function rawItems(file: string, tensors: RawTensorDict): SafetensorsWriteItem[] {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, RawTensor>);
  return list.map(([name, t]) => {
    if (!isRawTensor(t)) throw new SerializationError(file, `value for ${JSON.stringify(name)} is not a RawTensor`);
    return { name, dtype: t.dtype, shape: t.shape, bytes: () => t.data };
  });
}

/** Write RawTensors to a safetensors file, atomically. */
export function writeSafetensorsRaw(path: string, tensors: RawTensorDict, metadata?: SafetensorsMetadata): void {
  writeSafetensorsItems(path, rawItems(path, tensors), metadata);
}

/** Serialize RawTensors to safetensors bytes in memory. */
export function serializeSafetensorsRaw(tensors: RawTensorDict, metadata?: SafetensorsMetadata): Uint8Array {
  const items = rawItems('<buffer>', tensors);
  const { head, ordered } = layoutSafetensors(items, metadata);
  const datas = ordered.map((it) => checkedBytes('<buffer>', it));
  const out = new Uint8Array(head.byteLength + datas.reduce((s, d) => s + d.byteLength, 0));
  out.set(head, 0);
  let o = head.byteLength;
  for (const d of datas) {
    out.set(d, o);
    o += d.byteLength;
  }
  return out;
}
