/**
 * Reader for the IDX format of (Fashion-)MNIST, optionally gzip-compressed.
 *
 * Layout (big-endian): two zero bytes, a type code, the number of dimensions `n`, then `n` uint32 sizes,
 * then the row-major data. Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
 * 0x0E float64.
 */
import { readFileSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';

/** Element types an IDX file can hold. */
export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** A decoded IDX array: shape and row-major data in native byte order. */
export interface IdxArray {
  readonly dtype: IdxDtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { dtype: IdxDtype; bytes: number }> = {
  0x08: { dtype: 'uint8', bytes: 1 },
  0x09: { dtype: 'int8', bytes: 1 },
  0x0b: { dtype: 'int16', bytes: 2 },
  0x0c: { dtype: 'int32', bytes: 4 },
  0x0d: { dtype: 'float32', bytes: 4 },
  0x0e: { dtype: 'float64', bytes: 8 },
};

/** Real IDX files have 1–3 dimensions; the format's byte allows 255. */
export const IDX_MAX_DIMS = 8;

/** The element type named by an IDX magic number; throws naming `source` when there is none. */
function idxType(bytes: Uint8Array, source: string): { dtype: IdxDtype; bytes: number } {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${source}: not an IDX file (bad magic number)`);
  }
  const type = TYPES[bytes[2]!];
  if (type === undefined) {
    throw new Error(`${source}: unknown IDX type code 0x${bytes[2]!.toString(16)}`);
  }
  return type;
}

/**
 * Shape, header size (4 + 4·ndim) and data size (∏ shape · itemSize) declared by an IDX header, in exact
 * integer arithmetic: throws naming `source` when ndim exceeds {@link IDX_MAX_DIMS}, the header is
 * truncated, or the data size is not a safe integer.
 */
function idxLayout(bytes: Uint8Array, itemSize: number, source: string): { shape: number[]; headerBytes: number; dataBytes: number } {
  const ndim = bytes[3]!;
  if (ndim > IDX_MAX_DIMS) throw new Error(`${source}: IDX header declares ${ndim} dimensions, at most ${IDX_MAX_DIMS} are supported`);
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new Error(`${source}: truncated IDX header (${bytes.length} of ${headerBytes} bytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const dataBytes = shape.reduce((a, b) => a * BigInt(b), BigInt(itemSize));
  if (dataBytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Error(`${source}: IDX shape [${shape.join(', ')}] declares ${dataBytes} bytes of data, too many to read`);
  }
  return { shape, headerBytes, dataBytes: Number(dataBytes) };
}

/**
 * Parses IDX bytes (already decompressed). `source` names the origin in error messages.
 * Throws on a bad magic number, more than {@link IDX_MAX_DIMS} dimensions, a truncated header or data,
 * or trailing bytes.
 */
export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  const type = idxType(bytes, source);
  const { shape, headerBytes, dataBytes } = idxLayout(bytes, type.bytes, source);
  const count = dataBytes / type.bytes;
  const found = bytes.length - headerBytes;
  if (found < dataBytes) {
    throw new Error(`${source}: truncated IDX data: shape [${shape.join(', ')}] needs ${dataBytes} bytes, found ${found}`);
  }
  if (found > dataBytes) {
    throw new Error(`${source}: ${found - dataBytes} unexpected trailing bytes after IDX data`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { dtype: type.dtype, shape, data: decodeData(view, headerBytes, count, type.dtype) };
}

function decodeData(view: DataView, offset: number, count: number, dtype: IdxDtype): IdxArray['data'] {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'int8':
      return new Int8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/** Deflate's largest possible expansion (zlib's documented maximum ratio, 1032:1). */
const MAX_DEFLATE_RATIO = 1032;

/**
 * Compressed bytes inflated to find the IDX header: far more than a gzip header and 4 + 4·8 bytes need,
 * and at most 16 KiB × 1032 ≈ 17 MB once inflated.
 */
const HEADER_PROBE_BYTES = 16 * 1024;

/**
 * Inflates a gzip IDX stream in two bounded steps: first a prefix, to read the header's magic and
 * dimensions; then the whole stream with an output limit of exactly the size the header declares
 * (4 + 4·ndim + ∏ shape · itemSize). A stream that would inflate past that size fails at once, as does
 * a header that declares more than a stream of this length could hold (1032× its size).
 */
function gunzipIdx(gz: Uint8Array, path: string): Uint8Array {
  let head: Uint8Array;
  try {
    head = gunzipSync(gz.subarray(0, HEADER_PROBE_BYTES), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch (err) {
    throw new Error(`${path}: corrupt or truncated gzip stream (${(err as Error).message})`);
  }
  if (gz.length > HEADER_PROBE_BYTES && head.length < 4 + 4 * Math.min(head[3] ?? IDX_MAX_DIMS, IDX_MAX_DIMS)) {
    throw new Error(`${path}: no IDX header in the first ${HEADER_PROBE_BYTES} bytes of the gzip stream`);
  }
  const { headerBytes, dataBytes } = idxLayout(head, idxType(head, path).bytes, path);
  const total = headerBytes + dataBytes;
  if (total > gz.length * MAX_DEFLATE_RATIO || total > bufferConstants.MAX_LENGTH) {
    throw new Error(`${path}: IDX header declares ${total} bytes, more than this ${gz.length}-byte gzip stream can inflate to`);
  }
  try {
    return gunzipSync(gz, { maxOutputLength: Math.max(total, 1) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Error(`${path}: gzip stream inflates to more than the ${total} bytes its IDX header declares`);
    }
    throw new Error(`${path}: corrupt or truncated gzip stream (${(err as Error).message})`);
  }
}

/**
 * Reads an IDX file from disk, gunzipping it first when it starts with the gzip magic bytes; the
 * inflated size is capped at what the IDX header declares (see {@link gunzipIdx}).
 * Errors name the file; a damaged or truncated gzip stream is reported as such.
 */
export function readIdxFile(path: string): IdxArray {
  let bytes: Uint8Array = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipIdx(bytes, path);
  return parseIdx(bytes, path);
}
