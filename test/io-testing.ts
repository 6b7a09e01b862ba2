/**
 * Helpers for the io tests: the expected-value encoding shared with the Python fixture scripts
 * (test/reference/io/make_pt_fixtures.py), a small zip writer for hand-made archives, and a seeded PRNG.
 * Pure TypeScript; not part of the library.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../src/torch/io/crc32.js';
import { isPyObject, PyGlobal } from '../src/torch/io/pyvalue.js';
import { isRawTensor, type RawTensor } from '../src/torch/io/raw.js';
import { ZipReader } from '../src/torch/io/zip.js';
import { MemorySource } from '../src/torch/io/source.js';

/** JSON value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Lower-case hex of bytes. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * Encode an unpickled value like `encode` in make_pt_fixtures.py. `tensor` turns non-RawTensor tensors
 * (e.g. libtorch Tensors) into RawTensors; sets are sorted by their encoded JSON (see {@link normalize}).
 */
export function encode(v: unknown, tensor?: (v: unknown) => RawTensor | undefined): Json {
  const rec = (x: unknown): Json => encode(x, tensor);
  const t = isRawTensor(v) ? v : tensor?.(v);
  if (t !== undefined) return { tensor: { dtype: t.dtype, shape: [...t.shape], hex: hex(t.data) } };
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return { bigint: v.toString() };
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return { float: 'nan' };
    if (!Number.isFinite(v)) return { float: v > 0 ? 'inf' : '-inf' };
    return v;
  }
  if (v instanceof Uint8Array) return { bytes: hex(v) };
  if (Array.isArray(v)) return { list: v.map(rec) };
  if (v instanceof Map) return { dict: [...v].map(([k, x]) => [rec(k), rec(x)]) };
  if (v instanceof Set) return { set: sortJson([...v].map(rec)) };
  if (isPyObject(v)) {
    const attrs = Object.entries(v).filter(([k]) => k !== '__class__');
    return { object: v.__class__, attrs: { dict: attrs.map(([k, x]) => [k, rec(x)]) } };
  }
  if (v instanceof PyGlobal) return { global: v.qualname };
  throw new TypeError(`cannot encode ${String(v)}`);
}

function sortJson(items: Json[]): Json[] {
  return items
    .map((x) => [JSON.stringify(x), x] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map((p) => p[1]);
}

/** Re-sort every `{"set": [...]}` of an expected tree the way {@link encode} sorts sets. */
export function normalize(j: Json): Json {
  if (Array.isArray(j)) return j.map(normalize);
  if (j !== null && typeof j === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(j)) out[k] = normalize(v);
    if (Array.isArray(out.set) && Object.keys(out).length === 1) out.set = sortJson(out.set);
    return out;
  }
  return j;
}

/** A file for {@link makeZip}. */
export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** Compress with deflate (method 8) instead of storing. */
  deflate?: boolean;
  /** Override the CRC written (to make a corrupt archive). */
  crc?: number;
}

/**
 * Write a zip archive in memory: local headers, central directory, end record; with `zip64`, every size
 * and offset goes through ZIP64 extra fields and a ZIP64 end record.
 */
export function makeZip(files: readonly ZipInput[], opts: { zip64?: boolean; comment?: string; pad?: number } = {}): Uint8Array {
  const z64 = opts.zip64 === true;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const push = (b: Uint8Array): void => {
    chunks.push(b);
    offset += b.byteLength;
  };
  const le = (n: number, bytes: number): Uint8Array => {
    const b = new Uint8Array(bytes);
    const v = new DataView(b.buffer);
    if (bytes === 2) v.setUint16(0, n, true);
    else if (bytes === 4) v.setUint32(0, n >>> 0, true);
    else v.setBigUint64(0, BigInt(n), true);
    return b;
  };
  const cat = (...parts: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
    let o = 0;
    for (const p of parts) out.set(p, (o += p.byteLength) - p.byteLength);
    return out;
  };
  const enc = new TextEncoder();
  const central: Uint8Array[] = [];
  if (opts.pad) push(new Uint8Array(opts.pad)); // junk before the first entry (offsets stay absolute)
  for (const f of files) {
    const name = enc.encode(f.name);
    const body = f.deflate ? new Uint8Array(deflateRawSync(f.data)) : f.data;
    const crc = f.crc ?? crc32(f.data);
    const at = offset;
    const M = 0xffffffff;
    const localExtra = z64 ? cat(le(1, 2), le(16, 2), le(f.data.byteLength, 8), le(body.byteLength, 8)) : new Uint8Array(0);
    push(
      cat(
        le(0x04034b50, 4),
        le(z64 ? 45 : 20, 2),
        le(0x800, 2),
        le(f.deflate ? 8 : 0, 2),
        le(0, 2),
        le(0x21, 2),
        le(crc, 4),
        le(z64 ? M : body.byteLength, 4),
        le(z64 ? M : f.data.byteLength, 4),
        le(name.byteLength, 2),
        le(localExtra.byteLength, 2),
        name,
        localExtra,
      ),
    );
    push(body);
    const cdExtra = z64 ? cat(le(1, 2), le(24, 2), le(f.data.byteLength, 8), le(body.byteLength, 8), le(at, 8)) : new Uint8Array(0);
    central.push(
      cat(
        le(0x02014b50, 4),
        le(45, 2),
        le(z64 ? 45 : 20, 2),
        le(0x800, 2),
        le(f.deflate ? 8 : 0, 2),
        le(0, 2),
        le(0x21, 2),
        le(crc, 4),
        le(z64 ? M : body.byteLength, 4),
        le(z64 ? M : f.data.byteLength, 4),
        le(name.byteLength, 2),
        le(cdExtra.byteLength, 2),
        le(0, 2),
        le(0, 2),
        le(0, 2),
        le(0, 4),
        le(z64 ? M : at, 4),
        name,
        cdExtra,
      ),
    );
  }
  const cdStart = offset;
  for (const c of central) push(c);
  const cdSize = offset - cdStart;
  if (z64) {
    const z64At = offset;
    push(
      cat(
        le(0x06064b50, 4),
        le(44, 8),
        le(45, 2),
        le(45, 2),
        le(0, 4),
        le(0, 4),
        le(files.length, 8),
        le(files.length, 8),
        le(cdSize, 8),
        le(cdStart, 8),
      ),
    );
    push(cat(le(0x07064b50, 4), le(0, 4), le(z64At, 8), le(1, 4)));
  }
  const comment = enc.encode(opts.comment ?? '');
  push(
    cat(
      le(0x06054b50, 4),
      le(0, 2),
      le(0, 2),
      le(z64 ? 0xffff : files.length, 2),
      le(z64 ? 0xffff : files.length, 2),
      le(z64 ? 0xffffffff : cdSize, 4),
      le(z64 ? 0xffffffff : cdStart, 4),
      le(comment.byteLength, 2),
      comment,
    ),
  );
  return cat(...chunks);
}

/** The files of a zip archive (for repacking a fixture with changes). */
export function unzip(bytes: Uint8Array): ZipInput[] {
  const z = new ZipReader(new MemorySource(bytes));
  return z.entries.map((e) => ({ name: e.name, data: z.read(e).slice() }));
}

/** A seeded PRNG (mulberry32) returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A sparse file with a tensor 4.5 GB into the data section: exercises 64-bit offsets and positioned
 * reads past 4 GiB without using that much disk. Returns null where the filesystem cannot make it.
 */
export function sparseLargeFile(path: string): { far: Uint8Array } | null {
  const far = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const at = 4_500_000_000;
  const json = JSON.stringify({
    near: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    // the tensors must tile the data section, so a sparse (never written) tensor fills the hole
    hole: { dtype: 'U8', shape: [at - 4], data_offsets: [4, at] },
    far: { dtype: 'I32', shape: [2, 2], data_offsets: [at, at + 16] },
  });
  const header = new TextEncoder().encode(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
  const fd = openSync(path, 'w');
  try {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(header.byteLength), true);
    writeSync(fd, len, 0, 8, 0);
    writeSync(fd, header, 0, header.byteLength, 8);
    writeSync(fd, new Uint8Array(4), 0, 4, 8 + header.byteLength);
    writeSync(fd, far, 0, 16, 8 + header.byteLength + at);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
  return { far };
}

/** One tensor of a hand-made `.pt` ({@link makePt}): a view (offset, size, stride) of a float32 storage. */
export interface PtView {
  name: string;
  /** Storage key (its record is `archive/data/<key>`). */
  storage: string;
  /** Elements the persistent id declares for the storage. */
  numel: number;
  offset: number;
  size: number[];
  stride: number[];
}

/**
 * The `data.pkl` of a `torch.save` dict {name: tensor} with the views given (protocol 2, `_rebuild_tensor_v2`
 * on `('storage', torch.FloatStorage, key, 'cpu', numel)`). Hostile views are the point: nothing is checked.
 */
export function ptPickle(views: readonly PtView[]): Uint8Array {
  const out: number[] = [];
  const str = (s: string): void => {
    for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
  };
  const int = (v: number): void => {
    if (v >= 0 && v < 2 ** 31) {
      out.push(0x4a, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff); // BININT
      return;
    }
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt(v), true);
    out.push(0x8a, 8, ...b); // LONG1
  };
  const unicode = (s: string): void => {
    const b = new TextEncoder().encode(s);
    out.push(0x58, b.length & 0xff, (b.length >>> 8) & 0xff, 0, 0, ...b); // BINUNICODE
  };
  const tuple = (xs: readonly number[]): void => {
    out.push(0x28); // MARK
    xs.forEach(int);
    out.push(0x74); // TUPLE
  };
  str('\x80\x02}(');
  for (const v of views) {
    unicode(v.name);
    str('ctorch._utils\n_rebuild_tensor_v2\n(');
    str('(');
    unicode('storage');
    str('ctorch\nFloatStorage\n');
    unicode(v.storage);
    unicode('cpu');
    int(v.numel);
    str('tQ');
    int(v.offset);
    tuple(v.size);
    tuple(v.stride);
    str('\x89tR');
  }
  str('u.');
  return Uint8Array.from(out);
}

/**
 * A `torch.save`-style zip: `archive/data.pkl` from {@link ptPickle} and one record per storage holding
 * `records[key]` (default: `numel` float32 zeros).
 */
export function makePt(
  views: readonly PtView[],
  records: Readonly<Record<string, Uint8Array>> = {},
  opts: { deflate?: boolean } = {},
): Uint8Array {
  const numels = new Map(views.map((v) => [v.storage, v.numel]));
  const files: ZipInput[] = [{ name: 'archive/data.pkl', data: ptPickle(views) }];
  for (const [key, n] of numels)
    files.push({ name: `archive/data/${key}`, data: records[key] ?? new Uint8Array(4 * n), deflate: opts.deflate });
  return makeZip(files);
}
