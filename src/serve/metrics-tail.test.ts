/** Reading a growing metrics.jsonl: complete lines only, a cut-back file restarts, the tail of a long file. */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { lastRecords, readMetricsFrom } from './metrics-tail.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-tail-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const line = (step: number) => `${JSON.stringify({ step, loss: 1 / step })}\n`;

test('readMetricsFrom: new complete lines after the offset; a partial line waits; a shorter file resets', () => {
  const file = path.join(tmp, 'metrics.jsonl');
  assert.deepEqual(readMetricsFrom(file, 0), { records: [], reset: false, offset: 0, more: false });
  writeFileSync(file, line(1) + line(2) + '{"step": 3, "lo');
  const a = readMetricsFrom(file, 0);
  assert.deepEqual(
    a.records.map((r) => r.step),
    [1, 2],
  );
  assert.equal(a.offset, Buffer.byteLength(line(1) + line(2)));
  appendFileSync(file, 'ss": 0.5}\nnot json\n' + line(4));
  const b = readMetricsFrom(file, a.offset);
  assert.deepEqual(
    b.records.map((r) => [r.step, r.loss]),
    [
      [3, 0.5],
      [4, 0.25],
    ],
  );
  assert.equal(b.reset, false);
  truncateSync(file, Buffer.byteLength(line(1)));
  appendFileSync(file, line(2));
  const c = readMetricsFrom(file, b.offset);
  assert.deepEqual([c.reset, c.records.map((r) => r.step)], [true, [1, 2]]);
});

test('readMetricsFrom with maxBytes: whole lines only, `more` until the end; an overlong line is stepped over', () => {
  const file = path.join(tmp, 'chunks.jsonl');
  const long = `{"step": 2, "pad": "${'x'.repeat(100)}"}\n`;
  writeFileSync(file, line(1) + long + line(3));
  const n = Buffer.byteLength(line(1));
  const a = readMetricsFrom(file, 0, 50);
  assert.deepEqual([a.records.map((r) => r.step), a.offset, a.more], [[1], n, true]);
  const b = readMetricsFrom(file, a.offset, 50); // inside the 120-byte line: no newline in 50 bytes
  assert.deepEqual([b.records, b.offset, b.more], [[], n + 50, true]);
  let c = readMetricsFrom(file, b.offset, 50);
  const steps = [...c.records.map((r) => r.step)];
  while (c.more) {
    c = readMetricsFrom(file, c.offset, 50);
    steps.push(...c.records.map((r) => r.step));
  }
  // the rest of the long line is not a record; the line after it is read whole
  assert.deepEqual(steps, [3]);
  assert.equal(c.offset, Buffer.byteLength(line(1) + long + line(3)));
});

test('lastRecords: the records of the last 64 KiB, none of them cut', () => {
  const file = path.join(tmp, 'long.jsonl');
  const lines = Array.from({ length: 3000 }, (_, i) => line(i + 1));
  writeFileSync(file, lines.join(''));
  const tail = lastRecords(file);
  assert.equal(tail.at(-1)!.step, 3000);
  // every record is whole and consecutive, and they fill (nearly) 64 KiB
  const bytes = tail.reduce((n, r) => n + Buffer.byteLength(line(r.step)), 0);
  assert.ok(bytes <= 64 * 1024 && bytes > 64 * 1024 - 40, `${bytes} bytes`);
  assert.deepEqual(
    tail.map((r) => r.step),
    Array.from({ length: tail.length }, (_, i) => 3001 - tail.length + i),
  );
  assert.deepEqual(lastRecords(path.join(tmp, 'missing.jsonl')), []);
});
