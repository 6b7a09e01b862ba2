import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJsLiteral } from './js-literal.js';

test('minified literals: bare keys, !0/!1, short numbers, escapes, nesting', () => {
  const src = `x={a:1,"b c":[.5,-.25,1e-3,-2E+2,0x1f],t:!0,f:!1,n:null,u:void 0,s:'it\\'s',e:"\\u00e9\\n\\x41",o:{z:NaN,i:-Infinity},3:[]}`;
  const { value, end } = parseJsLiteral(src, 2);
  assert.equal(end, src.length);
  assert.deepEqual(value, {
    a: 1,
    'b c': [0.5, -0.25, 0.001, -200, 31],
    t: true,
    f: false,
    n: null,
    u: undefined,
    s: "it's",
    e: 'é\nA',
    o: { z: NaN, i: -Infinity },
    '3': [],
  });
});

test('a __proto__ key is plain data, not a prototype change', () => {
  const { value } = parseJsLiteral('{__proto__:{polluted:1}}');
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.keys(value as object), ['__proto__']);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('code is refused, not run', () => {
  assert.throws(() => parseJsLiteral('{a:require("fs")}'), /unsupported token 'require'/);
  assert.throws(() => parseJsLiteral('{a:1+1}'), /expected '}'/);
  assert.throws(() => parseJsLiteral('"open'), /unterminated string/);
});

test('syntax that is not data is refused, naming where', () => {
  const refused: [string, RegExp][] = [
    ['[1,,2]', /array hole at index 1/],
    ['{get a(){return 1}}', /unsupported token 'get' at offset 1/],
    ['{...x}', /unsupported token '\.' at offset 1/],
    ['{[k]:1}', /unsupported token '\[' at offset 1/],
    ['{a}', /unsupported token 'a' at offset 1/],
    ['[10n]', /unsupported token '10n' at offset 1/],
    ['[/re/]', /unsupported token '\/re\/' at offset 1/],
    ['[`t`]', /unsupported token '`' at offset 1/],
    ['[undefined]', /unsupported token 'undefined'/],
    ['{a:new Date()}', /unsupported token 'new' at offset 3/],
    ['[1]+1', /expected the end of the literal at offset 3/],
    ['[1-1]', /expected '\]' at offset 2/],
    ['[1 2]', /unexpected token at offset 3/],
  ];
  for (const [src, message] of refused) assert.throws(() => parseJsLiteral(src), message, src);
  assert.deepEqual(parseJsLiteral('{a:(1),b:[2,],}'), { value: { a: 1, b: [2] }, end: 15 });
});
