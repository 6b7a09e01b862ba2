/**
 * CRC-32 (IEEE 802.3, polynomial 0xEDB88320, as used by zip): node:zlib's native `crc32` where this
 * Node has it (≥ 20.15), otherwise a table-driven implementation.
 */
import * as zlib from 'node:zlib';

let table: Uint32Array | null = null;

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** CRC-32 in pure TypeScript (exported for tests), continuing from `previous` (0 to start). */
export function crc32Js(bytes: Uint8Array, previous = 0): number {
  const t = (table ??= makeTable());
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `bytes` as an unsigned 32-bit number, continuing from `previous` (0 to start; chunks chain). */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return native !== undefined ? native(bytes, previous) >>> 0 : crc32Js(bytes, previous);
}
