/**
 * Atomic file replacement: write a temporary file in the destination's directory, fsync it, rename it
 * over the destination, fsync the directory. Readers see the old file or the new one, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** Largest single `writeSync` request. */
const MAX_WRITE = 1 << 30;

/** Write all of `bytes` to `fd`, looping over short writes. */
function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) {
    done += writeSync(fd, bytes, done, Math.min(MAX_WRITE, bytes.byteLength - done));
  }
}

/** fsync a directory so the rename is durable; ignored where directories cannot be opened or synced. */
function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not supported on this platform/filesystem: the rename itself is still atomic
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** What writeFileAtomic accepts: text, bytes, or byte chunks (or functions producing them) in order. */
export type AtomicContent = string | Uint8Array | Iterable<Uint8Array | (() => Uint8Array)>;

/**
 * Atomically replace `path` with `content` (creating its directory). Chunks given as functions are
 * produced on demand, so a large file never has to be in memory at once. On any error the
 * temporary file is removed and the destination is left untouched.
 */
export function writeFileAtomic(path: string, content: AtomicContent): void {
  const parts = typeof content === 'string' ? [Buffer.from(content)] : content instanceof Uint8Array ? [content] : content;
  const full = resolve(path);
  mkdirSync(dirname(full), { recursive: true });
  const tmp = join(dirname(full), `.${basename(full)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o644);
  let ok = false;
  try {
    try {
      for (const p of parts) writeAll(fd, typeof p === 'function' ? p() : p);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, full);
    ok = true;
  } finally {
    if (!ok) {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
  }
  syncDir(dirname(full));
}
