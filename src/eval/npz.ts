/**
 * NumPy `.npy` / `.npz` files without NumPy: the format the ADM evaluator reads (`np.load(f)['arr_0']`,
 * uint8 N×H×W×3 for samples).
 *
 * .npy (format 1.0, src/torch/io/npy.ts): magic "\x93NUMPY", version 1 0, uint16 LE header length, then an ASCII dict
 *   {'descr': '|u1', 'fortran_order': False, 'shape': (N, H, W, 3), } padded with spaces and ended by
 *   '\n' so that the data starts at a multiple of 64 bytes; then the C-order little-endian data.
 * .npz: a zip archive of `<name>.npy` members, stored (no compression) as `np.savez` writes them. The
 *   writer streams each member (sizes known up front from the shape, CRC-32 patched in afterwards), so
 *   a 50,000-image archive never sits in memory, and switches to ZIP64 records when a size or offset
 *   does not fit in 32 bits (numpy's zipfile reads both). Files appear atomically (temporary file +
 *   rename).
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { crc32 } from '../torch/io/crc32.js';
import { FileSource } from '../torch/io/source.js';
import { ZipReader } from '../torch/io/zip.js';

import { decodeNpy, npyDataBytes, npyHeader, type NpyArray, type NpyDType } from '../torch/io/npy.js';

export { NPY_DESCR, npyDataBytes, npyHeader, parseNpyHeader, type NpyArray, type NpyDType } from '../torch/io/npy.js';

// ---------------------------------------------------------------------------------------------
// Zip (STORE) writer
// ---------------------------------------------------------------------------------------------

const U32 = 0xffffffff;
const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01: fixed, so equal content gives equal files
const DOS_TIME = 0;

interface Member {
  name: Uint8Array;
  offset: number;
  size: number;
  crc: number;
  zip64: boolean;
}

/** Options of {@link NpzWriter}. */
export interface NpzWriterOptions {
  /** Always write ZIP64 records (as numpy does); default only when needed. */
  zip64?: boolean;
}

/**
 * Streams arrays into an .npz: `beginArray(name, dtype, shape)`, `write(bytes)` until the array's
 * data is complete, `endArray()`; then `close()`. Nothing is visible at `path` before close().
 */
export class NpzWriter {
  readonly #path: string;
  readonly #tmp: string;
  readonly #fd: number;
  readonly #force64: boolean;
  readonly #members: Member[] = [];
  #pos = 0;
  #cur: (Member & { headerPos: number; written: number }) | null = null;
  #closed = false;

  constructor(path: string, opts: NpzWriterOptions = {}) {
    this.#path = path;
    this.#tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
    this.#fd = openSync(this.#tmp, 'w');
    this.#force64 = Boolean(opts.zip64);
  }

  #put(bytes: Uint8Array, position?: number): void {
    let off = 0;
    const at = position ?? this.#pos;
    while (off < bytes.length) off += writeSync(this.#fd, bytes, off, bytes.length - off, at + off);
    if (position === undefined) this.#pos += bytes.length;
  }

  #localHeader(m: Member): Uint8Array {
    const extra = m.zip64 ? 20 : 0;
    const b = Buffer.alloc(30 + m.name.length + extra);
    b.writeUInt32LE(0x04034b50, 0);
    b.writeUInt16LE(m.zip64 ? 45 : 20, 4);
    b.writeUInt16LE(0, 6); // flags
    b.writeUInt16LE(0, 8); // stored
    b.writeUInt16LE(DOS_TIME, 10);
    b.writeUInt16LE(DOS_DATE, 12);
    b.writeUInt32LE(m.crc, 14);
    b.writeUInt32LE(m.zip64 ? U32 : m.size, 18);
    b.writeUInt32LE(m.zip64 ? U32 : m.size, 22);
    b.writeUInt16LE(m.name.length, 26);
    b.writeUInt16LE(extra, 28);
    b.set(m.name, 30);
    if (m.zip64) {
      const e = 30 + m.name.length;
      b.writeUInt16LE(0x0001, e);
      b.writeUInt16LE(16, e + 2);
      b.writeBigUInt64LE(BigInt(m.size), e + 4); // uncompressed
      b.writeBigUInt64LE(BigInt(m.size), e + 12); // compressed
    }
    return b;
  }

  /** Starts the member `<name>.npy` holding an array of `dtype` and `shape`; writes its header. */
  beginArray(name: string, dtype: NpyDType, shape: readonly number[]): void {
    if (this.#closed) throw new Error('NpzWriter: already closed');
    if (this.#cur) throw new Error('NpzWriter: the previous array is not finished');
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new RangeError(`npz: invalid array name '${name}'`);
    if (this.#members.some((m) => Buffer.from(m.name).toString() === `${name}.npy`)) throw new RangeError(`npz: duplicate array '${name}'`);
    const header = npyHeader(dtype, shape);
    const size = header.length + npyDataBytes(dtype, shape);
    const m = { name: Buffer.from(`${name}.npy`), offset: this.#pos, size, crc: 0, zip64: this.#force64 || size >= U32 };
    const lh = this.#localHeader(m);
    this.#cur = { ...m, headerPos: this.#pos, written: 0 };
    this.#put(lh);
    this.#writeData(header);
  }

  #writeData(bytes: Uint8Array): void {
    const cur = this.#cur!;
    if (cur.written + bytes.length > cur.size)
      throw new RangeError(`npz: more data than the declared shape of ${Buffer.from(cur.name).toString()} holds`);
    cur.crc = crc32(bytes, cur.crc);
    cur.written += bytes.length;
    this.#put(bytes);
  }

  /** Appends data bytes of the current array (C order, little-endian). */
  write(bytes: Uint8Array): void {
    if (!this.#cur) throw new Error('NpzWriter: write() outside beginArray()/endArray()');
    this.#writeData(bytes);
  }

  /** Finishes the current array (its data must be complete) and patches its CRC. */
  endArray(): void {
    const cur = this.#cur;
    if (!cur) throw new Error('NpzWriter: endArray() without beginArray()');
    if (cur.written !== cur.size)
      throw new RangeError(`npz: ${Buffer.from(cur.name).toString()} received ${cur.written} of its ${cur.size} bytes (header included)`);
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(cur.crc, 0);
    this.#put(crc, cur.headerPos + 14);
    this.#members.push({ name: cur.name, offset: cur.offset, size: cur.size, crc: cur.crc, zip64: cur.zip64 });
    this.#cur = null;
  }

  /** Writes one whole array. */
  addArray(name: string, arr: NpyArray): void {
    this.beginArray(name, arr.dtype, arr.shape);
    this.write(arr.data);
    this.endArray();
  }

  /** Writes the central directory, syncs and moves the file into place. */
  close(): void {
    if (this.#closed) return;
    if (this.#cur) throw new Error('NpzWriter: close() with an unfinished array');
    const cdStart = this.#pos;
    for (const m of this.#members) {
      const big = m.zip64 || m.offset >= U32;
      const extra = big ? 28 : 0;
      const b = Buffer.alloc(46 + m.name.length + extra);
      b.writeUInt32LE(0x02014b50, 0);
      b.writeUInt16LE(big ? 45 : 20, 4); // made by (MS-DOS / spec version)
      b.writeUInt16LE(big ? 45 : 20, 6);
      b.writeUInt16LE(0, 8);
      b.writeUInt16LE(0, 10);
      b.writeUInt16LE(DOS_TIME, 12);
      b.writeUInt16LE(DOS_DATE, 14);
      b.writeUInt32LE(m.crc, 16);
      b.writeUInt32LE(big ? U32 : m.size, 20);
      b.writeUInt32LE(big ? U32 : m.size, 24);
      b.writeUInt16LE(m.name.length, 28);
      b.writeUInt16LE(extra, 30);
      b.writeUInt16LE(0, 32); // comment
      b.writeUInt16LE(0, 34); // disk
      b.writeUInt16LE(0, 36); // internal attributes
      b.writeUInt32LE(0, 38); // external attributes
      b.writeUInt32LE(big ? U32 : m.offset, 42);
      b.set(m.name, 46);
      if (big) {
        const e = 46 + m.name.length;
        b.writeUInt16LE(0x0001, e);
        b.writeUInt16LE(24, e + 2);
        b.writeBigUInt64LE(BigInt(m.size), e + 4);
        b.writeBigUInt64LE(BigInt(m.size), e + 12);
        b.writeBigUInt64LE(BigInt(m.offset), e + 20);
      }
      this.#put(b);
    }
    const cdSize = this.#pos - cdStart;
    const n = this.#members.length;
    const need64 = this.#force64 || cdStart >= U32 || cdSize >= U32 || n >= 0xffff;
    if (need64) {
      const eocd64At = this.#pos;
      const r = Buffer.alloc(56 + 20);
      r.writeUInt32LE(0x06064b50, 0);
      r.writeBigUInt64LE(44n, 4);
      r.writeUInt16LE(45, 12);
      r.writeUInt16LE(45, 14);
      r.writeUInt32LE(0, 16);
      r.writeUInt32LE(0, 20);
      r.writeBigUInt64LE(BigInt(n), 24);
      r.writeBigUInt64LE(BigInt(n), 32);
      r.writeBigUInt64LE(BigInt(cdSize), 40);
      r.writeBigUInt64LE(BigInt(cdStart), 48);
      r.writeUInt32LE(0x07064b50, 56); // locator
      r.writeUInt32LE(0, 60);
      r.writeBigUInt64LE(BigInt(eocd64At), 64);
      r.writeUInt32LE(1, 72);
      this.#put(r);
    }
    const e = Buffer.alloc(22);
    e.writeUInt32LE(0x06054b50, 0);
    e.writeUInt16LE(0, 4);
    e.writeUInt16LE(0, 6);
    e.writeUInt16LE(Math.min(n, 0xffff), 8);
    e.writeUInt16LE(Math.min(n, 0xffff), 10);
    e.writeUInt32LE(need64 ? U32 : cdSize, 12);
    e.writeUInt32LE(need64 ? U32 : cdStart, 16);
    e.writeUInt16LE(0, 20);
    this.#put(e);
    fsyncSync(this.#fd);
    closeSync(this.#fd);
    renameSync(this.#tmp, this.#path);
    this.#closed = true;
  }

  /** Abandons the archive and removes the temporary file. */
  abort(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      closeSync(this.#fd);
    } finally {
      rmSync(this.#tmp, { force: true });
    }
  }
}

/** Writes arrays to an .npz (stored, like `np.savez`); keys become `<key>.npy`. */
export function writeNpz(path: string, arrays: Record<string, NpyArray>, opts: NpzWriterOptions = {}): void {
  const w = new NpzWriter(path, opts);
  try {
    for (const [name, arr] of Object.entries(arrays)) {
      if (arr.data.length !== npyDataBytes(arr.dtype, arr.shape)) {
        throw new RangeError(`npz: array '${name}' has ${arr.data.length} bytes for shape [${arr.shape.join(', ')}] of ${arr.dtype}`);
      }
      w.addArray(name, arr);
    }
    w.close();
  } catch (err) {
    w.abort();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Reader (through the zip reader of src/torch/io; for tests, evaluation and small files)
// ---------------------------------------------------------------------------------------------

/** One member of an .npz as found in the central directory. */
export interface NpzMember {
  /** Array name (member name without `.npy`). */
  name: string;
  /** Offset of the local header. */
  headerOffset: number;
  /** Offset of the member's data (the .npy bytes). */
  dataOffset: number;
  size: number;
  crc: number;
  compression: number;
  zip64: boolean;
}

/** Lists the members of an .npz (zip central directory, ZIP64 aware). */
export function listNpz(path: string): NpzMember[] {
  const src = new FileSource(path);
  try {
    const zip = new ZipReader(src);
    return zip.entries.map((e) => ({
      name: e.name.replace(/\.npy$/, ''),
      headerOffset: e.localHeaderOffset,
      dataOffset: zip.dataRange(e).offset,
      size: e.compressedSize,
      crc: e.crc32,
      compression: e.method,
      zip64: e.zip64,
    }));
  } finally {
    src.close();
  }
}

/** Reads the named arrays of an .npz that it has (others, such as a large `arr_0`, stay on disk). */
export function readNpzArrays(path: string, names: readonly string[]): Map<string, NpyArray> {
  const src = new FileSource(path);
  try {
    const zip = new ZipReader(src);
    const out = new Map<string, NpyArray>();
    for (const e of zip.entries) {
      const name = e.name.replace(/\.npy$/, '');
      if (names.includes(name)) out.set(name, decodeNpy(zip.read(e), `${path}: member '${e.name}'`));
    }
    return out;
  } finally {
    src.close();
  }
}

/** Reads every array of an .npz into memory (C order), verifying CRCs, headers and data lengths ({@link decodeNpy}). */
export function readNpz(path: string): Map<string, NpyArray> {
  const src = new FileSource(path);
  try {
    const zip = new ZipReader(src);
    const out = new Map<string, NpyArray>();
    for (const e of zip.entries) {
      out.set(e.name.replace(/\.npy$/, ''), decodeNpy(zip.read(e), `${path}: member '${e.name}'`));
    }
    return out;
  } finally {
    src.close();
  }
}
