/** `reg study` refuses a missing spec and a bad one with a usage error that names the file and the field. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { UsageError } from '../args.js';
import { studyCommand } from './study.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-study-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('reg study: usage errors for a missing argument, an unreadable spec and a bad field', async () => {
  const run = (positionals: string[]) => studyCommand.run({ options: { threads: 0 }, positionals });
  const usage = (p: Promise<unknown>, message: RegExp) =>
    assert.rejects(p, (e: unknown) => e instanceof UsageError && message.test(e.message));
  await usage(run([]), /expected one argument: <spec\.json>/);
  const missing = path.join(tmp, 'none.json');
  await usage(run([missing]), new RegExp(`^${missing}: \\(file\\): cannot read it as JSON`));
  const bad = path.join(tmp, 'bad.json');
  writeFileSync(bad, JSON.stringify({ steps: 0, configs: [{ name: 'a' }] }));
  await usage(run([bad]), new RegExp(`^${bad}: steps: must be an integer ≥ 1 \\(got 0\\)`));
});
