import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { trainTinyRun } from '../../../test/tiny-run.js';
import { parseArgs, UsageError } from '../args.js';
import { defaultRepresentationPath, evalRepresentationCommand, parseTimes } from './eval-representation.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-eval-repr-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('reg eval-representation: a table row per t and the JSON record beside the checkpoints', async () => {
  const run = path.join(tmp, 'run');
  await trainTinyRun(run);
  const args = parseArgs(
    [run, '--t', '0,0.5', '--probe-train', '64', '--probe-test', '32', '--probe-epochs', '5'],
    evalRepresentationCommand.options,
  );
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    await evalRepresentationCommand.run(args);
  } finally {
    console.log = log;
  }
  const file = path.join(run, 'representation-0000004.json');
  assert.equal(defaultRepresentationPath(path.join(run, 'checkpoints', '0000004')), file);
  assert.ok(existsSync(file));
  const record = JSON.parse(readFileSync(file, 'utf8')) as {
    reports: { t: number; block: number; images: number; cknna: { value: number } }[];
  };
  assert.deepEqual(
    record.reports.map((r) => [r.t, r.block, r.images]),
    [
      [0, 1, 96],
      [0.5, 1, 96],
    ],
  );
  assert.ok(record.reports.every((r) => Number.isFinite(r.cknna.value)));
  const out = lines.join('\n');
  assert.match(out, /t {2}block {3}CKNNA {2}probe \(hidden\) {2}probe \(encoder\) {2}chance/);
  assert.match(out, /\n +0\.5 +1 +[-0-9.]+ +[0-9.]+ % +[0-9.]+ % +[0-9.]+ %/);
});

test('reg eval-representation rejects bad times, a missing checkpoint and extra arguments', async () => {
  assert.deepEqual(parseTimes('0, 0.25,1'), [0, 0.25, 1]);
  assert.throws(() => parseTimes('0.5,2'), /--t: '2' is not a time in \[0, 1\]/);
  assert.throws(() => parseTimes('0.5,'), /--t: '' is not a time/);
  const run = (argv: string[]) => evalRepresentationCommand.run(parseArgs(argv, evalRepresentationCommand.options));
  await assert.rejects(
    () => run([path.join(tmp, 'nowhere')]),
    (e: Error) => e instanceof UsageError && /checkpoint not found/.test(e.message),
  );
  await assert.rejects(() => run(['a', 'b']), /expected one argument: <checkpoint>/);
  assert.equal(defaultRepresentationPath('/x/ck'), '/x/ck.representation.json');
});
