import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { trainTinyRun } from '../../../test/tiny-run.js';
import { printedBy } from '../../../test/console-capture.js';
import { parseArgs, UsageError } from '../args.js';
import { evalCommand } from './eval.js';
import { defaultRepresentationPath, parseTimes } from './eval-representation.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-eval-repr-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const run = (argv: string[]) => evalCommand.run(parseArgs(argv, evalCommand.options));

test('reg eval --representation: a table row per t and the JSON record beside the checkpoints', async () => {
  const dir = path.join(tmp, 'run');
  await trainTinyRun(dir);
  const out = await printedBy(() =>
    run(['--representation', dir, '--t', '0,0.5', '--probe-train', '64', '--probe-test', '32', '--probe-epochs', '5', '--device', 'cpu']),
  );
  const file = path.join(dir, 'representation-0000004.json');
  assert.equal(defaultRepresentationPath(path.join(dir, 'checkpoints', '0000004')), file);
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
  assert.match(out, /t {2}block {3}CKNNA {2}probe \(hidden\) {2}probe \(encoder\) {2}chance/);
  assert.match(out, /\n +0\.5 +1 +[-0-9.]+ +[0-9.]+ % +[0-9.]+ % +[0-9.]+ %/);
});

test('reg eval --representation rejects bad times and a missing checkpoint; without it --samples and --ref are required', async () => {
  assert.deepEqual(parseTimes('0, 0.25,1'), [0, 0.25, 1]);
  assert.throws(() => parseTimes('0.5,2'), /--t: '2' is not a time in \[0, 1\]/);
  assert.throws(() => parseTimes('0.5,'), /--t: '' is not a time/);
  const usage = (pattern: RegExp) => (e: Error) => e instanceof UsageError && pattern.test(e.message);
  await assert.rejects(() => run(['--representation', path.join(tmp, 'nowhere')]), usage(/checkpoint not found/));
  await assert.rejects(() => run(['--representation', path.join(tmp, 'run'), '--t', '0.5,x']), usage(/--t: 'x' is not a time/));
  await assert.rejects(
    () => run(['--metrics', 'fid']),
    usage(/--samples and --ref are required \(or --representation <checkpoint>, or --samples <reg sample folder> --embedded\)/),
  );
  assert.equal(defaultRepresentationPath('/x/ck'), '/x/ck.representation.json');
});
