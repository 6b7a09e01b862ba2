import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { samplingRunFolder, splitFashionMnist } from '../../../test/embedded-fixtures.js';
import { fixturePath } from '../../../test/fixture-path.js';
import { printedBy } from '../../../test/console-capture.js';
import { parseArgs, UsageError } from '../args.js';
import { evalCommand } from './eval.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-eval-embedded-'));
const cache = process.env['REG_CACHE'];
process.env['REG_CACHE'] = path.join(tmp, 'cache');
after(() => {
  if (cache === undefined) delete process.env['REG_CACHE'];
  else process.env['REG_CACHE'] = cache;
  rmSync(tmp, { recursive: true, force: true });
});

const run = (argv: string[]) => evalCommand.run(parseArgs(argv, evalCommand.options));
const usage = (pattern: RegExp) => (e: Error) => e instanceof UsageError && pattern.test(e.message);

test('reg eval --embedded: FD-MobileNetV2 with its floor and class consistency of a Fashion-MNIST run, the record beside the samples', async () => {
  const dataDir = await splitFashionMnist(path.join(tmp, 'fashion-mnist'));
  const samples = await samplingRunFolder(tmp, 'fashion', 'fashion-mnist', dataDir);
  const out = await printedBy(() =>
    run(['--samples', path.join(samples, 'samples.npz'), '--embedded', '--mobilenet-weights', fixturePath('encoders/mobilenetv2-block10')]),
  );
  const file = `${samples}.eval.json`;
  assert.ok(existsSync(file));
  const record = JSON.parse(readFileSync(file, 'utf8')) as {
    dataset: string;
    frechet: { value: number; realVsReal: number };
    classConsistency: { score: number; samples: number; classifier: { record: { trainImages: number } } };
  };
  assert.equal(record.dataset, 'fashion-mnist');
  assert.ok(Math.abs(record.frechet.value) < 1e-3, 'the samples are the reference images');
  assert.equal(record.classConsistency.samples, 20);
  assert.equal(record.classConsistency.classifier.record.trainImages, 200);
  assert.match(out, /FD-MobileNetV2 +-?[0-9.]+ +vs fashion-mnist\/test \(first 20\)/);
  assert.match(out, /class consistency +[0-9.]+ % +the classifier's test accuracy [0-9.]+ %/);
});

test('reg eval --embedded refuses samples without a folder, and samples of a run on other data', async () => {
  await assert.rejects(() => run(['--embedded']), usage(/--embedded needs --samples/));
  await assert.rejects(() => run(['--embedded', '--samples', path.join(tmp, 'nowhere')]), usage(/no such file or folder/));
  const synthetic = await samplingRunFolder(tmp, 'synthetic', 'synthetic', path.join(tmp, 'fashion-mnist'));
  await assert.rejects(
    () => run(['--embedded', '--samples', synthetic]),
    usage(/not trained on Fashion-MNIST or emoji; score them with --ref/),
  );
  await assert.rejects(() => run(['--embedded', '--samples', tmp]), usage(/samples\.json not found/));
  // a reg demo record names its checkpoint beside the settings: found, and refused for its data
  const demo = await samplingRunFolder(tmp, 'synthetic-demo', 'synthetic', path.join(tmp, 'fashion-mnist'), 'reg demo');
  await assert.rejects(() => run(['--embedded', '--samples', demo]), usage(/not trained on Fashion-MNIST or emoji; score them with --ref/));
});
