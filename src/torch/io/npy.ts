/**
 * NumPy `.npy` headers (format 1.0 written; 1.0, 2.0 and 3.0 read) and single-array `.npy` files:
 *
 *   magic "\x93NUMPY", version, uint16 LE header length (uint32 from 2.0), then an ASCII dict
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (8, 32, 32), } padded with spaces and ended by
 *   '\n' so that the data starts at a multiple of 64 bytes; then the little-endian data, in C order, or in
 *   Fortran (column-major) order when 'fortran_order' is True.
 *
 * Used by the `.npz` sample batches (src/eval/npz.ts) and by REPA/REG's preprocessed latents
 * (`img-mean-std-*.npy`, src/data/repa-layout.ts).
 */
import { readFileSync } from 'node:fs';
import { ITEM_SIZE } from './raw.js';

/** Element types written to .npy. */
export type NpyDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'int64' | 'float16' | 'float32' | 'float64' | 'bool';

/** NumPy `descr` of each dtype (little-endian). */
export const NPY_DESCR: Readonly<Record<NpyDType, string>> = Object.freeze({
  uint8: '|u1',
  int8: '|i1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  float16: '<f2',
  float32: '<f4',
  float64: '<f8',
  bool: '|b1',
});

/** An array as bytes: C order, little-endian. */
export interface NpyArray {
  dtype: NpyDType;
  shape: readonly number[];
  data: Uint8Array;
}

function checkShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`npy: invalid shape [${shape.join(', ')}]`);
    n *= d;
  }
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(n * 8)) throw new RangeError(`npy: shape [${shape.join(', ')}] is too large`);
  return n;
}

/** Bytes of data of an array of `dtype` and `shape`. */
export function npyDataBytes(dtype: NpyDType, shape: readonly number[]): number {
  return checkShape(shape) * ITEM_SIZE[dtype];
}

/** The .npy header (magic, version 1.0, length, dict padded to a 64-byte boundary). */
export function npyHeader(dtype: NpyDType, shape: readonly number[]): Uint8Array {
  checkShape(shape);
  const descr = NPY_DESCR[dtype];
  if (descr === undefined) throw new TypeError(`npy: unsupported dtype '${String(dtype)}'`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  if (dict.length > 0xffff) throw new RangeError('npy: header too long for format 1.0');
  const out = new Uint8Array(10 + dict.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY 1.0
  out[8] = dict.length & 0xff;
  out[9] = dict.length >>> 8;
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  return out;
}

/** One `'key': value` entry of the header dict: a quoted string, True/False, or a tuple. */
const DICT_ENTRY = /\s*'([^']*)'\s*:\s*(?:'([^']*)'|(True|False)|\(([^()]*)\))\s*(?:,|$)/y;

/** The keys a .npy header dict has, exactly. */
const HEADER_KEYS = ['descr', 'fortran_order', 'shape'] as const;

function parseDict(text: string): Map<string, string | boolean | string[]> {
  const body = /^\{(.*)\}$/s.exec(text.trim())?.[1];
  if (body === undefined) throw new Error(`header is not a dict: ${text.trim()}`);
  const entries = new Map<string, string | boolean | string[]>();
  DICT_ENTRY.lastIndex = 0;
  while (DICT_ENTRY.lastIndex < body.length && body.slice(DICT_ENTRY.lastIndex).trim().length > 0) {
    const at = DICT_ENTRY.lastIndex;
    const m = DICT_ENTRY.exec(body);
    if (!m) throw new Error(`cannot parse the header dict at '${body.slice(at).trim()}'`);
    const [, key, str, bool, tuple] = m;
    if (entries.has(key!)) throw new Error(`duplicate header key '${key}'`);
    entries.set(key!, str ?? (bool !== undefined ? bool === 'True' : tuple!.split(',').map((t) => t.trim())));
  }
  const keys = [...entries.keys()].sort();
  if (keys.join() !== HEADER_KEYS.join())
    throw new Error(`header keys are [${keys.join(', ')}], expected exactly [${HEADER_KEYS.join(', ')}]`);
  return entries;
}

function parseShape(items: string[]): number[] {
  // '(3,)' splits into ['3', ''] and '()' into ['']: only a final empty item is allowed.
  const dims = items.at(-1) === '' ? items.slice(0, -1) : items;
  return dims.map((t) => {
    const d = /^\d+$/.test(t) ? Number(t) : NaN;
    if (!Number.isSafeInteger(d)) throw new Error(`'shape' dimension '${t}' is not a non-negative integer`);
    return d;
  });
}

function parseDescr(descr: unknown): NpyDType {
  if (typeof descr !== 'string') throw new Error(`'descr' is ${String(descr)}, expected a dtype string`);
  const normal = descr.replace(/^=/, '<').replace(/^[<>]([uib]1)$/, '|$1');
  const dtype = (Object.keys(NPY_DESCR) as NpyDType[]).find((k) => NPY_DESCR[k] === normal);
  if (!dtype) throw new Error(`'descr' '${descr}' is not a supported dtype (${Object.values(NPY_DESCR).join(', ')})`);
  return dtype;
}

/**
 * Parses a .npy header: dtype, shape, memory order and where the data starts. Throws when the magic or
 * version is wrong, the header runs past the bytes, the dict has other keys than descr / fortran_order /
 * shape, the dtype is unknown, or a dimension is not a non-negative safe integer.
 */
export function parseNpyHeader(bytes: Uint8Array): { dtype: NpyDType; shape: number[]; fortranOrder: boolean; dataOffset: number } {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((m, i) => bytes[i] !== m)) throw new Error('npy: bad magic');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new Error(`npy: unknown format version ${major}.${bytes[7]}`);
  const lenBytes = major === 1 ? 2 : 4;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8 + lenBytes) throw new Error('npy: truncated header length');
  const hlen = lenBytes === 2 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = 8 + lenBytes;
  if (start + hlen > bytes.length) throw new Error(`npy: header of ${hlen} bytes runs past the end (${bytes.length} bytes)`);
  const text = Buffer.from(bytes.subarray(start, start + hlen)).toString(major === 3 ? 'utf8' : 'latin1');
  let dict: Map<string, string | boolean | string[]>;
  try {
    dict = parseDict(text);
  } catch (err) {
    throw new Error(`npy: ${(err as Error).message}`);
  }
  const fortran = dict.get('fortran_order');
  if (typeof fortran !== 'boolean') throw new Error(`npy: 'fortran_order' is '${String(fortran)}', expected True or False`);
  const shapeItems = dict.get('shape');
  if (!Array.isArray(shapeItems)) throw new Error(`npy: 'shape' is '${String(shapeItems)}', expected a tuple`);
  let dtype: NpyDType;
  let shape: number[];
  try {
    dtype = parseDescr(dict.get('descr'));
    shape = parseShape(shapeItems);
    npyDataBytes(dtype, shape);
  } catch (err) {
    throw new Error(`npy: ${(err as Error).message.replace(/^npy: /, '')}`);
  }
  return { dtype, shape, fortranOrder: fortran, dataOffset: start + hlen };
}

/**
 * Reorders Fortran-order (column-major) element bytes into C order: the element at multi-index
 * (i₀, …, iₙ₋₁) sits at Fortran offset Σₖ iₖ·∏ⱼ₍ⱼ₌₀…ₖ₋₁₎ dⱼ and goes to C offset Σₖ iₖ·∏ⱼ₍ⱼ₌ₖ₊₁…ₙ₋₁₎ dⱼ.
 */
export function fortranToC(data: Uint8Array, shape: readonly number[], itemSize: number): Uint8Array {
  const n = shape.length;
  const fStride: number[] = [];
  for (let k = 0, s = 1; k < n; s *= shape[k]!, k++) fStride.push(s);
  const index = new Array<number>(n).fill(0);
  const out = new Uint8Array(data.length);
  const numel = data.length / itemSize;
  let f = 0;
  for (let c = 0; c < numel; c++) {
    for (let b = 0; b < itemSize; b++) out[c * itemSize + b] = data[f * itemSize + b]!;
    for (let k = n - 1; k >= 0; k--) {
      index[k]!++;
      f += fStride[k]!;
      if (index[k]! < shape[k]!) break;
      f -= fStride[k]! * shape[k]!;
      index[k] = 0;
    }
  }
  return out;
}

/**
 * Decodes the bytes of a whole .npy (a file or an .npz member) into a C-order array. Fortran-order data
 * is transposed into C order. Throws, naming `source` and the field, when the header is invalid or the
 * data length is not numel·itemsize.
 */
export function decodeNpy(bytes: Uint8Array, source: string): NpyArray {
  let header: ReturnType<typeof parseNpyHeader>;
  try {
    header = parseNpyHeader(bytes);
  } catch (err) {
    throw new Error(`${source}: not a valid .npy (${(err as Error).message})`);
  }
  const size = npyDataBytes(header.dtype, header.shape);
  const found = bytes.length - header.dataOffset;
  if (found !== size)
    throw new Error(
      `${source}: ${found < size ? 'truncated' : 'too long'}: ${found} data bytes, the header's 'shape' [${header.shape.join(', ')}] of ${header.dtype} needs ${size}`,
    );
  const data = bytes.subarray(header.dataOffset);
  return {
    dtype: header.dtype,
    shape: header.shape,
    data: header.fortranOrder ? fortranToC(data, header.shape, ITEM_SIZE[header.dtype]) : data,
  };
}

/** Reads a whole `.npy` file into a C-order array; throws naming the file when it is not a valid one. */
export function readNpy(path: string): NpyArray {
  return decodeNpy(new Uint8Array(readFileSync(path)), path);
}
