/**
 * PNG chunk checksums. Every PNG chunk ends with the CRC-32 of its type and data (PNG spec §5.3), but
 * decoders differ in what they do with a wrong one (libvips decodes a damaged image data chunk as far as
 * it can); checking them first makes a damaged PNG an error instead of an image with wrong pixels.
 */
import { crc32 } from '../torch/io/crc32.js';

/** The 8-byte signature every PNG file starts with. */
export const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** True when `bytes` starts with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * Checks the chunk structure of a PNG: every chunk inside the file, its CRC-32 right, IEND last.
 * Throws an Error naming the chunk type and its offset (the caller names the file).
 */
export function checkPngChunks(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = PNG_SIGNATURE.byteLength;
  for (;;) {
    if (at + 12 > bytes.byteLength) throw new Error(`PNG is truncated at byte ${at} (no IEND chunk)`);
    const length = view.getUint32(at, false);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (length > bytes.byteLength - at - 12)
      throw new Error(`PNG chunk ${JSON.stringify(type)} at byte ${at} runs past the end of the file`);
    const stored = view.getUint32(at + 8 + length, false);
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== stored)
      throw new Error(`PNG chunk ${JSON.stringify(type)} at byte ${at} has a wrong CRC-32 (the file is damaged)`);
    at += 12 + length;
    if (type === 'IEND') return;
  }
}
