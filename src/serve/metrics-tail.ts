/**
 * Reading a growing metrics.jsonl: the complete lines after a byte offset. A line still being written
 * (no newline yet) waits for the next read; a file shorter than the offset (a resumed run cuts it back)
 * starts again from the beginning, and the reader says so.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** A metrics record as the dashboard sees it: numbers by name (see train/metrics.ts StepMetrics). */
export type MetricsRecord = Record<string, number | boolean> & { step: number };

/** What one read found. */
export interface MetricsChunk {
  /** The records of the complete new lines (lines that are not JSON objects with a numeric step are skipped). */
  records: MetricsRecord[];
  /** True when the file was cut back and `records` start from its first line. */
  reset: boolean;
  /** Offset for the next read. */
  offset: number;
  /** True when the read stopped at `maxBytes` and complete lines may follow. */
  more: boolean;
}

/** Parses one line; null unless it is a JSON object with a numeric `step`. */
function parseRecord(line: string): MetricsRecord | null {
  try {
    const v = JSON.parse(line) as unknown;
    return v !== null && typeof v === 'object' && typeof (v as { step?: unknown }).step === 'number' ? (v as MetricsRecord) : null;
  } catch {
    return null;
  }
}

/**
 * The records of the complete lines in bytes [from, size) of an open file (without the first line when
 * `from` may be inside one), and the offset after the last newline.
 */
function readLines(fd: number, from: number, size: number, skipFirst = false): { records: MetricsRecord[]; end: number } {
  const buf = Buffer.alloc(size - from);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, from + got);
    if (n === 0) break;
    got += n;
  }
  const end = buf.lastIndexOf(0x0a, got - 1) + 1;
  const begin = skipFirst ? buf.indexOf(0x0a) + 1 : 0;
  const records = buf
    .subarray(Math.min(begin, end), end)
    .toString('utf8')
    .split('\n')
    .map(parseRecord)
    .filter((r): r is MetricsRecord => r !== null);
  return { records, end: from + end };
}

/** Runs `read` on the open file and its size; `missing` when it cannot be opened. */
function withFile<T>(file: string, missing: T, read: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return missing;
  }
  try {
    return read(fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

/** Bytes one {@link readMetricsFrom} reads at most by default (about 10,000 lines). */
export const METRICS_READ_BYTES = 4 << 20;

/**
 * The complete lines of `file` after byte `offset`, from at most `maxBytes` bytes (a missing file reads
 * as empty, and as a reset when offset > 0). A line longer than `maxBytes` is skipped.
 */
export function readMetricsFrom(file: string, offset: number, maxBytes = METRICS_READ_BYTES): MetricsChunk {
  return withFile(file, { records: [], reset: offset > 0, offset: 0, more: false }, (fd, size) => {
    const reset = size < offset;
    const from = reset ? 0 : offset;
    const to = Math.min(size, from + maxBytes);
    const { records, end } = readLines(fd, from, to);
    const more = to < size;
    // a full read without a newline is one overlong line: step over it
    return { records, reset, offset: more && end === from ? to : end, more };
  });
}

/** Bytes from the end of the file that {@link lastRecords} reads. */
const TAIL_BYTES = 64 * 1024;

/** The last complete records of `file` (those in its last 64 KiB), oldest first; empty when missing. */
export function lastRecords(file: string): MetricsRecord[] {
  return withFile(file, [], (fd, size) => {
    const start = Math.max(0, size - TAIL_BYTES - 1); // one byte more: a line starting at the cut is kept
    return readLines(fd, start, size, start > 0).records;
  });
}
