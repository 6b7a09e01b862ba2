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
  assert.deepEqual(readMetricsFrom(file, 0), { records: [], reset: false, offset: 0 });
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
