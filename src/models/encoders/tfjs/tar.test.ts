import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readTar } from './tar.js';

/** One 512-byte ustar header with a valid checksum. */
function header(name: string, size: number, type: string): Uint8Array {
  const h = new Uint8Array(512);
  const put = (s: string, at: number): void => h.set(new TextEncoder().encode(s), at);
  put(name, 0);
  put('0000644\0', 100);
  put(`${size.toString(8).padStart(11, '0')}\0`, 124);
  put(type, 156);
  put('ustar\0', 257);
  h.fill(32, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

function entry(name: string, body: string, type = '0'): Uint8Array[] {
  const data = new TextEncoder().encode(body);
  const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
  padded.set(data);
  return [header(name, data.length, type), padded];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const longName = `package/${'d'.repeat(120)}/model.min.js`;
const paxRecord = ` path=${longName}\n`;
const pax = `${paxRecord.length + 3}${paxRecord}`; // "<length> path=<name>\n", the length (3 digits) counting itself

test('readTar lists regular files, with pax long names, skipping directories', () => {
  const archive = concat([
    ...entry('package/', '', '5'),
    ...entry('package/a.txt', 'hello'),
    ...entry('PaxHeader', pax, 'x'),
    ...entry('truncated-name', 'x'.repeat(600)),
    new Uint8Array(1024),
  ]);
  const files = readTar(archive);
  assert.deepEqual(
    files.map((f) => f.path),
    ['package/a.txt', longName],
  );
  assert.equal(new TextDecoder().decode(files[0]!.data), 'hello');
  assert.equal(files[1]!.data.length, 600);
});

test('readTar rejects a bad checksum and a truncated archive', () => {
  const good = concat([...entry('a', 'abc'), new Uint8Array(1024)]);
  const bad = good.slice();
  bad[0] = 0x62;
  assert.throws(() => readTar(bad), /checksum mismatch at byte 0/);
  assert.throws(() => readTar(good.subarray(0, 512 + 512)), /end-of-archive|truncated/);
  assert.throws(() => readTar(concat([header('big', 5000, '0'), new Uint8Array(512)])), /truncated/);
});
