import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { checkIntegrity, fetchPinnedTarball, tarballCachePath, tarballUrl } from './npm-tarball.js';

const sri = (b: Uint8Array): string => `sha512-${createHash('sha512').update(b).digest('base64')}`;

test('tarballUrl and checkIntegrity', () => {
  const pkg = { name: 'nsfwjs', version: '4.4.0', integrity: '' };
  assert.equal(tarballUrl(pkg, 'https://registry.npmjs.org/'), 'https://registry.npmjs.org/nsfwjs/-/nsfwjs-4.4.0.tgz');
  assert.equal(tarballUrl({ ...pkg, name: '@s/p' }, 'http://r'), 'http://r/@s/p/-/p-4.4.0.tgz');
  const bytes = new TextEncoder().encode('abc');
  assert.ok(checkIntegrity(bytes, sri(bytes)));
  assert.ok(checkIntegrity(bytes, `sha1-xyz ${sri(bytes)}`));
  assert.ok(!checkIntegrity(bytes, sri(new TextEncoder().encode('abd'))));
});

test('fetchPinnedTarball uses an intact cached file and refuses a corrupt one', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'reg-cache-'));
  const env = { REG_CACHE: process.env['REG_CACHE'], npm_config_registry: process.env['npm_config_registry'] };
  process.env['REG_CACHE'] = cache;
  process.env['npm_config_registry'] = 'http://127.0.0.1:9/'; // nothing listens: no network use
  t.after(() => {
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  const bytes = new TextEncoder().encode('pretend tarball');
  const pkg = { name: 'fake', version: '1.0.0', integrity: sri(bytes) };
  const path = tarballCachePath(pkg);
  assert.equal(path, join(cache, 'npm', 'fake-1.0.0.tgz'));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  assert.deepEqual(await fetchPinnedTarball(pkg), new Uint8Array(bytes));
  writeFileSync(path, 'tampered');
  await assert.rejects(fetchPinnedTarball(pkg), (e: Error) => e.message.includes('cannot download fake@1.0.0') && e.message.includes(path));
});
