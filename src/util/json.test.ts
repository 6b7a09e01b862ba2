import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJsonObject } from './json.js';

test('parseJsonObject: an object, or an error of the given class naming where the text came from', () => {
  assert.deepEqual(parseJsonObject('{"a": [1]}', 'x.json'), { a: [1] });
  assert.throws(
    () => parseJsonObject('{"a": ', 'x.json'),
    (e: unknown) => e instanceof SyntaxError && /^x\.json: not valid JSON \(.+\)$/.test(e.message),
  );
  class FileError extends Error {}
  assert.throws(
    () => parseJsonObject('[1, 2]', 'm.safetensors: __metadata__.config', FileError),
    (e: unknown) => e instanceof FileError && e.message === 'm.safetensors: __metadata__.config: not a JSON object',
  );
  assert.throws(() => parseJsonObject('null', 'y.json'), /^SyntaxError: y\.json: not a JSON object$/);
});
