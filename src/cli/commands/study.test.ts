/** `reg study` refuses extra arguments and a bad spec with a usage error that names the file and the field; without a spec it takes the committed default. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { UsageError } from '../args.js';
import { readStudySpec } from '../../pipelines/study-spec.js';
import { TRAIN_SETTINGS } from '../../train/config.js';
import { DEFAULT_STUDY_SPEC, studyCommand } from './study.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-study-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('reg study: usage errors for two arguments, an unreadable spec and a bad field', async () => {
  const run = (positionals: string[]) => studyCommand.run({ options: { threads: 0 }, positionals });
  const usage = (p: Promise<unknown>, message: RegExp) =>
    assert.rejects(p, (e: unknown) => e instanceof UsageError && message.test(e.message));
  await usage(run(['a.json', 'b.json']), /expected at most one argument: \[spec\.json\]/);
  const missing = path.join(tmp, 'none.json');
  await usage(run([missing]), new RegExp(`^${missing}: \\(file\\): cannot read it as JSON`));
  const bad = path.join(tmp, 'bad.json');
  writeFileSync(bad, JSON.stringify({ steps: 0, configs: [{ name: 'a' }] }));
  await usage(run([bad]), new RegExp(`^${bad}: steps: must be an integer ≥ 1 \\(got 0\\)`));
});

test('reg study without a spec runs the committed default spec: variants and the four ablation groups, every configuration × 3 seeds', () => {
  const spec = readStudySpec(DEFAULT_STUDY_SPEC);
  assert.equal(path.basename(DEFAULT_STUDY_SPEC), 'default.json');
  assert.deepEqual(spec.seeds, [0, 1, 2]);
  assert.deepEqual([...new Set(spec.configs.map((c) => c.group))], ['variants', 'beta', 'depth', 'signal', 'token-guidance']);
  assert.deepEqual(
    spec.configs.filter((c) => c.group === 'variants').map((c) => c.train.variant),
    ['sit', 'repa', 'reg', 'entangle'],
  );
  // Every ablation group holds REG itself (runsOf) as its baseline; 11 configurations train.
  for (const g of ['beta', 'depth', 'signal', 'token-guidance'])
    assert.ok(
      spec.configs.some((c) => c.group === g && c.runsOf === 'reg'),
      g,
    );
  assert.equal(spec.configs.filter((c) => c.runsOf === null).length, 11);
  for (const c of spec.configs) assert.deepEqual(c.seeds, [0, 1, 2], c.name);
  assert.deepEqual(
    spec.configs.filter((c) => c.group === 'beta').map((c) => c.train.clsCoeff ?? (c.runsOf ? TRAIN_SETTINGS.clsCoeff.default : null)),
    [0, 0.03, 0.1, 0.3],
  );
});
