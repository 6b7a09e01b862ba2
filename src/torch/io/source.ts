/**
 * Random-access byte sources: a file read with positioned reads, or a buffer in memory. The zip and
 * safetensors readers only ever ask for byte ranges, so they work the same on both.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** A random-access, read-only byte source. */
export interface ByteSource {
  /** Name used in error messages: the file path or `<buffer>`. */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Read `length` bytes at `offset` (a fresh buffer, or a view into an in-memory source). Throws RangeError when out of bounds. */
  read(offset: number, length: number): Uint8Array;
  /** Release the underlying file descriptor (no-op for memory). */
  close(): void;
}

/** Largest single `readSync` request (Node rejects lengths ≥ 2 GiB). */
const MAX_READ = 1 << 30;

function checkRange(src: ByteSource, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > src.size) {
    throw new RangeError(`${src.name}: read of ${length} bytes at ${offset} is outside the ${src.size}-byte file`);
  }
}

/** A file opened read-only; reads are positioned (`pread`), so no state is shared between callers. */
export class FileSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  private fd: number | null;

  /** Open `path` for reading. */
  constructor(path: string) {
    this.name = path;
    this.fd = openSync(path, 'r');
    try {
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  /** Read `length` bytes at `offset` into a new buffer (in chunks of at most 1 GiB). */
  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    if (this.fd === null) throw new Error(`${this.name}: file is closed`);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, Math.min(MAX_READ, length - done), offset + done);
      if (n === 0) throw new RangeError(`${this.name}: file shrank while reading (at byte ${offset + done})`);
      done += n;
    }
    return out;
  }

  /** Close the file descriptor; later reads throw. */
  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

/** A buffer already in memory; reads return views (no copy). */
export class MemorySource implements ByteSource {
  readonly size: number;

  /** Wrap `bytes`; `name` appears in error messages. */
  constructor(
    private readonly bytes: Uint8Array,
    readonly name = '<buffer>',
  ) {
    this.size = bytes.byteLength;
  }

  /** A view of `length` bytes at `offset`. */
  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }

  /** Nothing to release. */
  close(): void {}
}

/** Open a path as a {@link FileSource} or wrap bytes as a {@link MemorySource}. */
export function openSource(input: string | Uint8Array): ByteSource {
  return typeof input === 'string' ? new FileSource(input) : new MemorySource(input);
}
