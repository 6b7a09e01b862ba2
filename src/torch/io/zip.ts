/**
 * A small read-only zip reader: end-of-central-directory (with ZIP64), central directory, local
 * headers; stored and deflated entries; CRC-32 checked. Enough for `torch.save` archives, which are
 * written uncompressed with 64-byte-aligned data, and for zips repacked by other tools.
 * Format: PKWARE APPNOTE.TXT §4.3.
 */
import { inflateRawSync } from 'node:zlib';
import { crc32 } from './crc32.js';
import { SerializationError } from './errors.js';
import type { ByteSource } from './source.js';

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const EOCD_SIZE = 22;
/**
 * Most bytes deflate can produce per compressed byte: a stored run of 258-byte matches takes ≥ 2 bits
 * each (zlib's documented limit is 1032:1). An entry that declares more is corrupt or a zip bomb, and is
 * refused before anything is inflated.
 */
export const MAX_DEFLATE_RATIO = 1032;
const MAX_COMMENT = 0xffff;

/** One file in the archive, from its central-directory record. */
export interface ZipEntry {
  /** Path inside the archive (UTF-8 or CP437-as-Latin-1 decoded). */
  readonly name: string;
  /** 0 = stored, 8 = deflated. */
  readonly method: number;
  /** CRC-32 of the uncompressed data. */
  readonly crc32: number;
  /** Stored (compressed) size in bytes. */
  readonly compressedSize: number;
  /** Uncompressed size in bytes. */
  readonly size: number;
  /** Offset of the local file header. */
  readonly localHeaderOffset: number;
  /** General-purpose flags. */
  readonly flags: number;
  /** The central record carries ZIP64 extended information. */
  readonly zip64: boolean;
}

/** Little-endian field reader over a byte range that fails with a SerializationError when out of bounds. */
class Fields {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    private readonly file: string,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private check(at: number, n: number): void {
    if (at < 0 || at + n > this.bytes.byteLength) throw new SerializationError(this.file, `${this.what} is truncated`);
  }

  u16(at: number): number {
    this.check(at, 2);
    return this.view.getUint16(at, true);
  }

  u32(at: number): number {
    this.check(at, 4);
    return this.view.getUint32(at, true);
  }

  u64(at: number): number {
    this.check(at, 8);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new SerializationError(this.file, `${this.what} has an impossible 64-bit size/offset ${v}`);
    return Number(v);
  }

  slice(at: number, n: number): Uint8Array {
    this.check(at, n);
    return this.bytes.subarray(at, at + n);
  }
}

const UTF8 = new TextDecoder('utf-8');

function decodeName(raw: Uint8Array, utf8: boolean): string {
  if (utf8) return UTF8.decode(raw);
  // CP437 agrees with ASCII, which is all torch ever writes; decode the rest as Latin-1
  return String.fromCharCode(...raw);
}

/** Read the central directory of a zip archive held by `src`. Does not read any entry's data. */
export class ZipReader {
  /** Entries in central-directory order. */
  readonly entries: readonly ZipEntry[];
  private readonly byName: Map<string, ZipEntry>;

  /** Parse the end records and central directory; throws {@link SerializationError} if malformed. */
  constructor(private readonly src: ByteSource) {
    this.entries = this.readCentralDirectory();
    this.byName = new Map();
    for (const e of this.entries) if (!this.byName.has(e.name)) this.byName.set(e.name, e);
  }

  private fail(msg: string): never {
    throw new SerializationError(this.src.name, msg);
  }

  /** Locate the end-of-central-directory record, scanning back over a possible archive comment. */
  private findEocd(): { at: number; rec: Fields } {
    const size = this.src.size;
    if (size < EOCD_SIZE) this.fail(`not a zip archive (${size} bytes is too small)`);
    const tailLen = Math.min(size, EOCD_SIZE + MAX_COMMENT);
    const tailStart = size - tailLen;
    const tail = this.src.read(tailStart, tailLen);
    const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    let fallback = -1;
    for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
      if (view.getUint32(i, true) !== SIG_EOCD) continue;
      const commentLen = view.getUint16(i + 20, true);
      if (i + EOCD_SIZE + commentLen === tailLen)
        return { at: tailStart + i, rec: new Fields(tail.subarray(i, i + EOCD_SIZE), this.src.name, 'end of central directory') };
      if (fallback < 0) fallback = i;
    }
    if (fallback >= 0)
      return {
        at: tailStart + fallback,
        rec: new Fields(tail.subarray(fallback, fallback + EOCD_SIZE), this.src.name, 'end of central directory'),
      };
    return this.fail('not a zip archive (no end-of-central-directory record; truncated?)');
  }

  private readCentralDirectory(): ZipEntry[] {
    const { at: eocdAt, rec } = this.findEocd();
    if (rec.u16(4) !== 0 || rec.u16(6) !== 0) this.fail('multi-disk zip archives are not supported');
    let count = rec.u16(10);
    if (rec.u16(8) !== count)
      this.fail(`end of central directory counts ${rec.u16(8)} entries on this disk but ${count} in all (corrupt archive)`);
    let cdSize = rec.u32(12);
    let cdOffset = rec.u32(16);
    // where the central directory must end: at the ZIP64 end record when there is one, else at this one
    let cdEnd = eocdAt;
    // ZIP64: a locator sits just before the EOCD and points at the ZIP64 end record
    if (eocdAt >= 20) {
      const loc = new Fields(this.src.read(eocdAt - 20, 20), this.src.name, 'ZIP64 locator');
      if (loc.u32(0) === SIG_ZIP64_LOCATOR) {
        const z64At = loc.u64(8);
        if (z64At + 56 > eocdAt) this.fail('ZIP64 end-of-central-directory offset is out of bounds');
        const z = new Fields(this.src.read(z64At, 56), this.src.name, 'ZIP64 end of central directory');
        if (z.u32(0) !== SIG_ZIP64_EOCD) this.fail('ZIP64 end-of-central-directory record is missing or corrupt');
        count = z.u64(32);
        cdSize = z.u64(40);
        cdOffset = z.u64(48);
        cdEnd = z64At;
      }
    }
    if (cdOffset + cdSize > cdEnd)
      this.fail(`central directory [${cdOffset}, ${cdOffset + cdSize}) runs past its end record at ${cdEnd} (truncated or corrupt)`);
    if (cdOffset + cdSize !== cdEnd)
      this.fail(
        `central directory [${cdOffset}, ${cdOffset + cdSize}) does not end where its end record starts (${cdEnd}): corrupt archive`,
      );
    if (count * 46 > cdSize) this.fail(`central directory of ${cdSize} bytes cannot hold ${count} entries`);
    const cd = new Fields(this.src.read(cdOffset, cdSize), this.src.name, 'central directory');
    const out: ZipEntry[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (cd.u32(p) !== SIG_CENTRAL) this.fail(`central directory entry ${i} has a bad signature (corrupt archive)`);
      const flags = cd.u16(p + 8);
      const method = cd.u16(p + 10);
      const crc = cd.u32(p + 16);
      let compressedSize = cd.u32(p + 20);
      let size = cd.u32(p + 24);
      const nameLen = cd.u16(p + 28);
      const extraLen = cd.u16(p + 30);
      const commentLen = cd.u16(p + 32);
      let localHeaderOffset = cd.u32(p + 42);
      const name = decodeName(cd.slice(p + 46, nameLen), (flags & 0x800) !== 0);
      // ZIP64 extended information: only the fields saturated in the fixed record, in this order
      const extra = new Fields(cd.slice(p + 46 + nameLen, extraLen), this.src.name, `zip extra field of ${JSON.stringify(name)}`);
      let zip64 = false;
      for (let q = 0; q + 4 <= extraLen;) {
        const id = extra.u16(q);
        const len = extra.u16(q + 2);
        if (id === 0x0001) {
          zip64 = true;
          let r = q + 4;
          if (size === 0xffffffff) {
            size = extra.u64(r);
            r += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = extra.u64(r);
            r += 8;
          }
          if (localHeaderOffset === 0xffffffff) {
            localHeaderOffset = extra.u64(r);
            r += 8;
          }
          if (r > q + 4 + len) this.fail(`ZIP64 extra field of ${JSON.stringify(name)} is too short`);
        }
        q += 4 + len;
      }
      out.push({ name, method, crc32: crc, compressedSize, size, localHeaderOffset, flags, zip64 });
      p += 46 + nameLen + extraLen + commentLen;
    }
    // the entries tile the directory: a count edited down would otherwise hide the entries after it
    if (p !== cdSize) this.fail(`central directory holds ${cdSize} bytes but its ${count} entries take ${p} (corrupt archive)`);
    return out;
  }

  /** Entry names in central-directory order. */
  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /** The entry called `name`, or undefined. */
  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /** Offset and length of an entry's (possibly compressed) data, after its local header. */
  dataRange(e: ZipEntry): { offset: number; length: number } {
    const what = `zip entry ${JSON.stringify(e.name)}`;
    if (e.localHeaderOffset + 30 > this.src.size) this.fail(`${what}: local header offset ${e.localHeaderOffset} is out of bounds`);
    const h = new Fields(this.src.read(e.localHeaderOffset, 30), this.src.name, `${what} local header`);
    if (h.u32(0) !== SIG_LOCAL) this.fail(`${what}: bad local header signature (corrupt archive)`);
    const nameLen = h.u16(26);
    // the local header repeats the name: a central directory edited (or corrupted) apart from it shows here
    if (e.localHeaderOffset + 30 + nameLen > this.src.size) this.fail(`${what}: local header is truncated`);
    const localName = decodeName(this.src.read(e.localHeaderOffset + 30, nameLen), (h.u16(6) & 0x800) !== 0);
    if (localName !== e.name) this.fail(`${what}: its local header names it ${JSON.stringify(localName)} (corrupt archive)`);
    const offset = e.localHeaderOffset + 30 + nameLen + h.u16(28);
    if (offset + e.compressedSize > this.src.size)
      this.fail(`${what}: data [${offset}, ${offset + e.compressedSize}) runs past the end of the file (truncated?)`);
    return { offset, length: e.compressedSize };
  }

  /**
   * Read and (if needed) inflate an entry; checks the size and, unless `verify` is false, the CRC-32.
   * @param name entry path, or the entry itself
   */
  read(name: string | ZipEntry, verify = true): Uint8Array {
    const e = typeof name === 'string' ? this.get(name) : name;
    if (e === undefined) return this.fail(`archive has no record ${JSON.stringify(name)}`);
    const what = `zip entry ${JSON.stringify(e.name)}`;
    if (e.flags & 0x1) this.fail(`${what} is encrypted`);
    const { offset, length } = this.dataRange(e);
    const raw = this.src.read(offset, length);
    let data: Uint8Array;
    if (e.method === 0) {
      if (e.size !== e.compressedSize) this.fail(`${what}: stored entry has compressed size ${e.compressedSize} ≠ size ${e.size}`);
      data = raw;
    } else if (e.method === 8) {
      if (e.size > MAX_DEFLATE_RATIO * e.compressedSize + 64)
        this.fail(`${what}: declares ${e.size} bytes from ${e.compressedSize} compressed, more than deflate can produce (corrupt)`);
      try {
        const out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
        data = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      } catch (err) {
        return this.fail(`${what}: cannot inflate (${(err as Error).message})`);
      }
      if (data.byteLength !== e.size) this.fail(`${what}: inflated to ${data.byteLength} bytes, expected ${e.size}`);
    } else {
      return this.fail(`${what}: unsupported compression method ${e.method} (only stored and deflate)`);
    }
    if (verify && crc32(data) !== e.crc32) this.fail(`${what}: CRC-32 mismatch (corrupt data)`);
    return data;
  }
}
