/**
 * Test helpers live under test/ and stay out of the library: no file of src/ other than a test
 * imports from test/, so nothing of it is part of the published dist/src.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fixturePath } from './fixture-path.js';

const SRC = path.resolve(fixturePath(), '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [full] : [];
  });
}

test('no library file of src/ imports from test/', () => {
  const files = sources(SRC);
  assert.ok(files.length > 100, `only ${files.length} source files found under ${SRC}`);
  const offenders = files.filter((f) => {
    const text = readFileSync(f, 'utf8');
    return [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].some((m) => {
      const spec = m[1]!;
      return spec.startsWith('.') && path.resolve(path.dirname(f), spec).startsWith(path.resolve(SRC, '..', 'test') + path.sep);
    });
  });
  assert.deepEqual(
    offenders.map((f) => path.relative(SRC, f)),
    [],
  );
});
