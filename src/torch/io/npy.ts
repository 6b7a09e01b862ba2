/**
 * NumPy `.npy` headers (format 1.0 written; 1.0, 2.0 and 3.0 read) and single-array `.npy` files:
 *
 *   magic "\x93NUMPY", version, uint16 LE header length (uint32 from 2.0), then an ASCII dict
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (8, 32, 32), } padded with spaces and ended by
 *   '\n' so that the data starts at a multiple of 64 bytes; then the C-order little-endian data.
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
  if (!Number.isSafeInteger(n)) throw new RangeError(`npy: shape [${shape.join(', ')}] is too large`);
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

/** Parses a .npy header: dtype, shape and where the data starts. */
export function parseNpyHeader(bytes: Uint8Array): { dtype: NpyDType; shape: number[]; fortranOrder: boolean; dataOffset: number } {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((m, i) => bytes[i] !== m)) throw new Error('npy: bad magic');
  const major = bytes[6]!;
  const lenBytes = major === 1 ? 2 : 4;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = lenBytes === 2 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = 8 + lenBytes;
  const text = Buffer.from(bytes.subarray(start, start + hlen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(text)?.[1] === 'True';
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  const dtype = (Object.keys(NPY_DESCR) as NpyDType[]).find(
    (k) => NPY_DESCR[k] === descr || (descr !== undefined && NPY_DESCR[k] === descr.replace(/^=/, '<')),
  );
  if (!dtype || shapeText === undefined) throw new Error(`npy: unsupported header ${text.trim()}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  return { dtype, shape, fortranOrder: fortran, dataOffset: start + hlen };
}

/**
 * Reads a whole `.npy` file (C order, little-endian); throws naming the file when it is not one or its
 * data is shorter than its header says.
 */
export function readNpy(path: string): NpyArray {
  const bytes = new Uint8Array(readFileSync(path));
  let header: ReturnType<typeof parseNpyHeader>;
  try {
    header = parseNpyHeader(bytes);
  } catch (err) {
    throw new Error(`${path}: not a .npy file (${(err as Error).message})`);
  }
  if (header.fortranOrder) throw new Error(`${path}: Fortran-order arrays are not supported`);
  const size = npyDataBytes(header.dtype, header.shape);
  if (bytes.length - header.dataOffset < size)
    throw new Error(
      `${path}: truncated: ${bytes.length - header.dataOffset} data bytes, the header's shape [${header.shape.join(', ')}] needs ${size}`,
    );
  return { dtype: header.dtype, shape: header.shape, data: bytes.subarray(header.dataOffset, header.dataOffset + size) };
}
