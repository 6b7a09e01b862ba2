/**
 * `reg prepare` on 2 processes (Gloo on 127.0.0.1): the ranks encode alternate shards into one cache and
 * rank 0 writes the manifest; every shard equals a single process's byte for byte.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FeatureCache, readManifest } from '../../data/feature-cache.js';
import { fixturePath } from '../../../test/fixture-path.js';
import { runRanks } from '../../../test/ranks.js';

const REG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../main.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'reg-prepare-ddp-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const args = (out: string): string[] => [
  'prepare',
  '--dataset',
  'fashion-mnist:test',
  '--data-dir',
  fixturePath('data/fashion-mnist'),
  '--encoder',
  'mobilenetv2',
  '--encoder-weights',
  fixturePath('encoders/mobilenetv2-block10'),
  '--input-size',
  '64',
  '--limit',
  '14',
  '--shard-size',
  '4',
  '--dtype',
  'float32',
  '--out',
  out,
];

describe('reg prepare on 1 and 2 processes', () => {
  it('writes the same shards and manifest entries', async () => {
    const dirs = [path.join(tmp, 'one'), path.join(tmp, 'two')];
    for (const [i, dir] of dirs.entries()) {
      const results = await runRanks(REG, i + 1, { args: args(dir), timeoutMs: 120_000 });
      for (const r of results) assert.equal(r.code, 0, `rank ${r.rank}: ${r.stderr}`);
      assert.match(results[0]!.stdout, /14 images .* 4 shards, .* 4 shards computed, 0 reused/);
      for (const r of results.slice(1)) assert.equal(r.stdout + r.stderr, '', `rank ${r.rank} prints nothing`);
    }
    const [a, b] = dirs.map((d) => readManifest(d));
    assert.equal(b!.complete, true);
    assert.deepEqual(
      b!.shards.map((s) => [s.file, s.count, s.sha256]),
      a!.shards.map((s) => [s.file, s.count, s.sha256]),
    );
    for (const s of a!.shards) assert.ok(readFileSync(path.join(dirs[0]!, s.file)).equals(readFileSync(path.join(dirs[1]!, s.file))));
    FeatureCache.open(dirs[1]!).close();
  });
});
