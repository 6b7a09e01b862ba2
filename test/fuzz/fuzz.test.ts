/**
 * The fast fuzz suite of issue 12, part of `npm test`: a fixed-seed campaign of 500 mutated files for
 * every reader (formats.ts), run in child processes with time and memory limits, must give no crash, no
 * hang, no over-memory case, no error that fails to name its file and no silent garbage where a checksum
 * covers the change. `npm run fuzz -- --cases N` runs longer campaigns (docs/fuzzing.md).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCampaign, summaryTable } from './campaign.js';
import { caseOf } from './cases.js';
import { DEFAULT_FORMATS, FORMATS } from './formats.js';

test('the harness sees and classifies every outcome (its self-test reader), and confirms failures alone', async () => {
  // 3 s per case: the over-memory case's fill took up to 1.3 s here, and a 1.5 s limit made its confirmation flaky
  const [s] = await runCampaign({ formats: ['selftest'], cases: 10, seed: 1, batch: 10, timeoutMs: 3000, memLimitMb: 256 });
  assert.deepEqual(s!.counts, { clean: 2, valid: 2, 'valid-changed': 0, unnamed: 1, garbage: 1, crash: 2, hang: 1, 'over-memory': 1 });
  assert.deepEqual(
    s!.failures.map((f) => [f.index, f.outcome, f.confirmed]).sort((a, b) => (a[0] as number) - (b[0] as number)),
    [
      [1, 'crash', true],
      [2, 'crash', true],
      [3, 'hang', true],
      [4, 'over-memory', true],
      [5, 'unnamed', true],
      [6, 'garbage', true],
    ],
  );
});

test('cases are a function of (seed, format, index) alone', () => {
  const pt = FORMATS.get('pt')!;
  const seeds = pt.seeds();
  for (const i of [0, 1, 77, 499]) {
    const a = caseOf(2026, pt, seeds, i);
    const b = caseOf(2026, pt, seeds, i);
    assert.deepEqual([a.kind, a.member, Buffer.from(a.bytes).toString('hex')], [b.kind, b.member, Buffer.from(b.bytes).toString('hex')]);
  }
  assert.notDeepEqual(caseOf(2026, pt, seeds, 3).bytes, caseOf(2027, pt, seeds, 3).bytes);
});

test('fixed-seed campaign: 500 mutated files for every reader, no crash, hang, over-memory, unnamed error or silent garbage', async (t) => {
  const t0 = performance.now();
  const summaries = await runCampaign({ cases: 500, seed: 2026 });
  t.diagnostic(`\n${summaryTable(summaries)}\n${((performance.now() - t0) / 1000).toFixed(1)} s`);
  assert.deepEqual(
    summaries.map((s) => s.format),
    DEFAULT_FORMATS,
  );
  for (const s of summaries) {
    assert.equal(s.cases, 500, s.format);
    assert.deepEqual(
      s.failures.map((f) => `${f.index} ${f.seed} ${f.kind}: ${f.outcome}: ${f.message ?? ''}`),
      [],
      s.format,
    );
    assert.ok(s.counts.clean > 0 && s.counts.valid > 0, `${s.format}: the mutations reach both the errors and the readers' success paths`);
  }
});
