/**
 * The regular files of a tar archive held in memory (npm package tarballs), read with the `tar`
 * package's parser (ustar, pax and GNU long names). Any damage is an error, never a silently skipped
 * entry: a bad header checksum names the byte offset of its header block.
 */
import { Parser } from 'tar';

/** One regular file of an archive. */
export interface TarEntry {
  readonly path: string;
  readonly data: Uint8Array;
}

const BLOCK = 512;

/** Lists the regular files of an uncompressed tar archive; throws on a damaged or truncated archive. */
export function readTar(archive: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let failure: Error | undefined;
  let block = 0; // offset of the block being parsed: archive blocks are fed one at a time
  let sawEnd = false;
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        if (entry.type === 'File' || entry.type === 'OldFile')
          entries.push({ path: entry.path, data: new Uint8Array(Buffer.concat(chunks)) });
      });
    },
  });
  parser.on('error', (err: Error & { code?: string }) => {
    if (failure) return;
    if (/checksum/.test(err.message)) failure = new Error(`tar: header checksum mismatch at byte ${block}`);
    else if (/truncated/i.test(err.message)) failure = new Error(`tar: archive is truncated (${err.message})`);
    else failure = new Error(`tar: ${err.message} (block at byte ${block})`);
  });
  parser.on('eof', () => (sawEnd = true));
  const bytes = Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength);
  for (; block < bytes.length && !failure && !sawEnd; block += BLOCK) parser.write(bytes.subarray(block, block + BLOCK));
  parser.end();
  if (failure) throw failure;
  if (!sawEnd) throw new Error('tar: archive ends without its end-of-archive blocks (truncated)');
  return entries;
}
