/**
 * `reg eval` on several processes (Gloo on 127.0.0.1): the ranks share the sample and reference passes
 * (whole batches each), rank 0 alone prints and writes the record and the reference cache, and the
 * metrics equal one process's: the features are per image and every image goes through the network
 * in the same batch as in one process.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeHashInception } from '../../../test/inception-weights.js';
import { patternImages } from '../../../test/pattern-images.js';
import { runRanks } from '../../../test/ranks.js';
import type { EvaluationResult, MetricResult } from '../../eval/evaluate.js';
import { writeNpz } from '../../eval/npz.js';

const REG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'reg-eval-ddp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const weights = path.join(dir, 'inception_w16.pth');
writeHashInception(weights, 16);
function npz(name: string, n: number, s: number, seed: number): string {
  const file = path.join(dir, name);
  writeNpz(file, { arr_0: { dtype: 'uint8', shape: [n, s, s, 3], data: patternImages(n, s, seed) } });
  return file;
}
const samples = npz('samples.npz', 12, 32, 1);
const ref = npz('ref.npz', 10, 40, 2);

/** `reg eval` on `world` processes; the record rank 0 wrote. */
async function evalOn(world: number, out: string, extra: string[]): Promise<{ record: EvaluationResult; stdout: string; stderr: string }> {
  const args = ['eval', '--samples', samples, '--ref', ref, '--inception', weights, '--device', 'cpu', '--out', out, ...extra];
  const results = await runRanks(REG, world, { args, env: { OMP_NUM_THREADS: '1' }, timeoutMs: 120_000 });
  for (const r of results) assert.equal(r.code, 0, `rank ${r.rank} of ${world}: ${r.stderr}`);
  for (const r of results.slice(1)) assert.deepEqual([r.stdout, r.stderr], ['', ''], `rank ${r.rank} prints nothing`);
  return { record: JSON.parse(readFileSync(out, 'utf8')) as EvaluationResult, stdout: results[0]!.stdout, stderr: results[0]!.stderr };
}

/**
 * A metric equals one process's: FID, sFID and IS within 1e-6 relative (measured: 0, the features are
 * bit for bit the same), precision and recall (counts of images) exactly.
 */
function assertSameAs(one: EvaluationResult, m: MetricResult): void {
  const want = one.metrics.find((w) => w.metric === m.metric)!;
  if (m.metric === 'pr' || want.metric === 'pr') return assert.deepEqual(m, want);
  assert.ok(
    'value' in want && Math.abs(m.value - want.value) <= 1e-6 * Math.abs(want.value),
    `${m.metric}: ${m.value} vs ${JSON.stringify(want)}`,
  );
}

describe('reg eval on 1 and 2 processes', () => {
  it('gives the metrics of one process; rank 0 writes the reference cache, a rerun reads it', async () => {
    const one = await evalOn(1, path.join(dir, 'one.json'), ['--batch', '4', '--no-ref-cache']);
    // 12 samples and 10 reference images in batches of 4: rank 0 takes 8 of each, rank 1 the rest (padded)
    const two = await evalOn(2, path.join(dir, 'two.json'), ['--batch', '4']);
    assert.equal(one.record.processes, 1);
    assert.equal(two.record.processes, 2);
    assert.match(two.stdout, /reg eval: 12 samples/);
    assert.match(two.stderr, /samples inception \(rank 0: 8 of 12 images\)/);
    assert.match(two.stderr, /reference inception \(rank 0: 8 of 10 images\)/);
    assert.equal(two.record.reference.statistics.inception, 'computed from 10 images');
    assert.ok(existsSync(two.record.reference.cache[0]!), 'rank 0 wrote the cache');
    assert.deepEqual(
      two.record.metrics.map((m) => m.metric),
      ['fid', 'sfid', 'is', 'pr'],
    );
    for (const m of two.record.metrics) assertSameAs(one.record, m);

    // at the default batch of 64 rank 1's slice is empty; the statistics come from rank 0's cache
    const again = await evalOn(2, path.join(dir, 'again.json'), ['--metrics', 'fid,is,pr']);
    assert.equal(again.record.reference.statistics.inception, 'cache from 10 images');
    for (const m of again.record.metrics) assertSameAs(one.record, m);
  });
});
