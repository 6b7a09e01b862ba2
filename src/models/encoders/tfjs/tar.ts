/**
 * A minimal reader for (ustar / pax / GNU) tar archives held in memory, enough for npm package tarballs:
 * regular files only, long names from pax `path` records and GNU `L` entries.
 */

/** One regular file of an archive. */
export interface TarEntry {
  readonly path: string;
  readonly data: Uint8Array;
}

const BLOCK = 512;
const decoder = new TextDecoder();

function text(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return decoder.decode(nul < 0 ? field : field.subarray(0, nul));
}

function octal(block: Uint8Array, offset: number, length: number, what: string): number {
  const s = text(block, offset, length).trim();
  if (!/^[0-7]*$/.test(s)) throw new Error(`tar: bad ${what} field '${s}'`);
  return s === '' ? 0 : parseInt(s, 8);
}

function checkHeader(block: Uint8Array, at: number): void {
  let sum = 8 * 32; // the checksum field counts as spaces
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i]!;
  if (sum !== octal(block, 148, 8, 'checksum')) throw new Error(`tar: header checksum mismatch at byte ${at}`);
}

function paxPath(data: Uint8Array): string | undefined {
  // Records: "<len> <key>=<value>\n".
  let path: string | undefined;
  for (const line of decoder.decode(data).split('\n')) {
    const m = /^\d+ ([^=]+)=(.*)$/s.exec(line);
    if (m?.[1] === 'path') path = m[2];
  }
  return path;
}

/** Lists the regular files of an uncompressed tar archive; throws on a damaged or truncated archive. */
export function readTar(archive: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let pos = 0;
  let longName: string | undefined;
  while (pos + BLOCK <= archive.length) {
    const header = archive.subarray(pos, pos + BLOCK);
    if (header.every((b) => b === 0)) return entries;
    checkHeader(header, pos);
    const size = octal(header, 124, 12, 'size');
    const type = String.fromCharCode(header[156]!);
    const start = pos + BLOCK;
    if (start + size > archive.length) throw new Error(`tar: entry at byte ${pos} is truncated`);
    const data = archive.subarray(start, start + size);
    pos = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'L') {
      longName = type === 'x' ? paxPath(data) : text(data, 0, data.length);
      continue;
    }
    if (type === '0' || type === '\0') {
      const prefix = text(header, 345, 155);
      const name = text(header, 0, 100);
      entries.push({ path: longName ?? (prefix ? `${prefix}/${name}` : name), data });
    }
    longName = undefined;
  }
  throw new Error('tar: archive ends without its end-of-archive blocks (truncated)');
}
