/** `reg eval` end to end on a width-1/16 FID Inception (hash weights written as a .pth) and tiny image sets. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fixturePath } from '../../../test/fixture-path.js';
import { writeHashInception } from '../../../test/inception-weights.js';
import { patternImages } from '../../../test/pattern-images.js';
import { encodePng } from '../../eval/images.js';
import { readNpzArrays, writeNpz } from '../../eval/npz.js';
import type { EvaluationResult } from '../../eval/evaluate.js';
import { helpText, parseArgs, UsageError } from '../args.js';
import { evalCommand, runEval } from './eval.js';

const dir = mkdtempSync(path.join(tmpdir(), 'reg-eval-'));
const weights = path.join(dir, 'inception_w16.pth');
writeHashInception(weights, 16);

const images = patternImages;
function npz(
  name: string,
  n: number,
  s: number,
  seed: number,
  extra: Record<string, { dtype: 'float64'; shape: number[]; data: Uint8Array }> = {},
): string {
  const file = path.join(dir, name);
  writeNpz(file, { arr_0: { dtype: 'uint8', shape: [n, s, s, 3], data: images(n, s, seed) }, ...extra });
  return file;
}
const run = (args: string[]) => runEval(parseArgs(['--inception', weights, '--device', 'cpu', ...args], evalCommand.options));

const samples = npz('samples.npz', 12, 32, 1);
const ref = npz('ref.npz', 10, 40, 2);

test('reg eval --help lists every option with its default', () => {
  const help = helpText(evalCommand);
  for (const s of [
    '--samples',
    '--ref',
    '--metrics <string>',
    'default: fid,sfid,is,pr',
    '--resize <tf1-legacy|pytorch>',
    'default: tf1-legacy',
    '--no-ref-cache',
    '--pr-k',
  ]) {
    assert.ok(help.includes(s), s);
  }
});

test('reg eval: FID, sFID, IS, P/R against an image reference; the JSON record; the reference cache reused on a rerun', async () => {
  const first = await run(['--samples', samples, '--ref', ref]);
  const record = JSON.parse(readFileSync(path.join(dir, 'samples.eval.json'), 'utf8')) as EvaluationResult;
  assert.deepEqual(
    record.metrics.map((m) => m.metric),
    ['fid', 'sfid', 'is', 'pr'],
  );
  for (const m of record.metrics) {
    if (m.metric === 'pr') assert.ok(m.precision >= 0 && m.precision <= 1 && m.recall >= 0 && m.recall <= 1);
    else assert.ok(Number.isFinite(m.value) && m.value > 0, m.metric);
  }
  const sfid = record.metrics.find((m) => m.metric === 'sfid')!;
  assert.ok('singular' in sfid && sfid.singular, 'sFID with 12 samples in 2023 dimensions is flagged singular');
  assert.ok(record.warnings.some((w) => /sfid: 12 samples for 2023 feature dimensions/.test(w)));
  assert.equal(record.samples.count, 12);
  assert.match(record.samples.sha256, /^[0-9a-f]{64}$/);
  assert.match(record.reference.sha256, /^[0-9a-f]{64}$/);
  assert.equal(record.settings.resize, 'tf1-legacy');
  assert.equal(record.reference.statistics.inception, 'computed from 10 images');
  assert.equal(record.reference.cache.length, 1);
  assert.ok(existsSync(record.reference.cache[0]!) && existsSync(record.reference.cache[0]!.replace(/\.npz$/, '.json')));

  // (sFID's 2023² eigendecompositions take seconds: the rerun leaves it out)
  const again = await run(['--samples', samples, '--ref', ref, '--metrics', 'fid,is,pr', '--out', path.join(dir, 'again.json')]);
  assert.equal(again.reference.statistics.inception, 'cache from 10 images');
  assert.deepEqual(
    again.metrics.map((m) => JSON.stringify(m)),
    first.metrics.filter((m) => m.metric !== 'sfid').map((m) => JSON.stringify(m)),
  );
  // the other resize is another setting: another cache entry and other values
  const pytorch = await run([
    '--samples',
    samples,
    '--ref',
    ref,
    '--resize',
    'pytorch',
    '--metrics',
    'fid',
    '--out',
    path.join(dir, 'p.json'),
  ]);
  assert.equal(pytorch.reference.statistics.inception, 'computed from 10 images');
  assert.notEqual(
    pytorch.metrics[0]!.metric === 'fid' && pytorch.metrics[0]!.value,
    first.metrics[0]!.metric === 'fid' && first.metrics[0]!.value,
  );
});

test('reg eval: a reference batch is used with its stored mu/sigma; without mu_s it cannot give sFID', async () => {
  // a reference batch made from the cached statistics of the previous test: mu, sigma, arr_0 (no mu_s / sigma_s)
  const viaImages = JSON.parse(readFileSync(path.join(dir, 'samples.eval.json'), 'utf8')) as EvaluationResult;
  const stats = readNpzArrays(viaImages.reference.cache[0]!, ['pool3.mu', 'pool3.sigma']);
  const batch = npz('batch.npz', 10, 40, 2, {
    mu: stats.get('pool3.mu')! as { dtype: 'float64'; shape: number[]; data: Uint8Array },
    sigma: stats.get('pool3.sigma')! as { dtype: 'float64'; shape: number[]; data: Uint8Array },
  });
  const out = path.join(dir, 'batch.json');
  const r = await run(['--samples', samples, '--ref', batch, '--metrics', 'fid,is', '--out', out]);
  assert.equal(r.reference.statistics.pool3, 'stored in the reference batch');
  assert.match(r.reference.sha256, /^[0-9a-f]{64}$/);
  // IS alone needs nothing of the reference, whose hash is recorded all the same
  const isOnly = await run(['--samples', samples, '--ref', batch, '--metrics', 'is', '--out', path.join(dir, 'is.json')]);
  assert.equal(isOnly.reference.sha256, r.reference.sha256);
  const fid = (x: EvaluationResult) => x.metrics.find((m) => m.metric === 'fid')!;
  assert.equal((fid(r) as { value: number }).value, (fid(viaImages) as { value: number }).value);
  rmSync(out);
  await assert.rejects(
    run(['--samples', samples, '--ref', batch, '--metrics', 'sfid', '--out', out]),
    /batch\.npz: reference batch has no 'mu_s'\/'sigma_s' \(needed for sfid\)/,
  );
  assert.ok(!existsSync(out), 'nothing written');
});

test('reg eval: FD-DINOv2 and FD-MobileNetV2 (cls features of the encoders, statistics of the reference cached per network)', async () => {
  const r = await run([
    '--samples',
    samples,
    '--ref',
    ref,
    '--metrics',
    'fd-dinov2,fd-mobilenetv2',
    '--dinov2',
    fixturePath('encoders/dinov2-tiny/model.safetensors'),
    '--dinov2-input-size',
    '28',
    '--mobilenet-weights',
    fixturePath('encoders/mobilenetv2-block10'),
    '--out',
    path.join(dir, 'fd.json'),
  ]);
  assert.deepEqual(
    r.metrics.map((m) => [m.metric, 'features' in m ? m.features : '']),
    [
      ['fd-dinov2', 'dinov2 cls'],
      ['fd-mobilenetv2', 'mobilenetv2 cls'],
    ],
  );
  for (const m of r.metrics) assert.ok('value' in m && Number.isFinite(m.value) && m.value > 0);
  assert.deepEqual(Object.keys(r.networks), ['dinov2', 'mobilenetv2']);
  assert.equal(r.reference.cache.length, 2);
});

test('reg eval: a folder of images as the reference (statistics cached next to the folder)', async () => {
  const folder = path.join(dir, 'real');
  mkdirSync(folder);
  const px = images(6, 24, 5);
  for (let i = 0; i < 6; i++) {
    writeFileSync(
      path.join(folder, `${i}.png`),
      await encodePng({ data: px.subarray(i * 24 * 24 * 3, (i + 1) * 24 * 24 * 3), width: 24, height: 24, channels: 3 }),
    );
  }
  const r = await run(['--samples', samples, '--ref', folder, '--metrics', 'fid', '--out', path.join(dir, 'folder.json')]);
  assert.equal(r.reference.statistics.inception, 'computed from 6 images');
  assert.match(r.reference.cache[0]!, /real\.reg-eval-inception-[0-9a-f]{16}\.npz$/);
  assert.ok(r.metrics[0]!.metric === 'fid' && Number.isFinite(r.metrics[0]!.value));
});

test('reg eval: bad input is a clear error and writes nothing', async () => {
  const out = path.join(dir, 'bad.json');
  const one = npz('one.npz', 1, 32, 3);
  await assert.rejects(run(['--samples', one, '--ref', ref, '--out', out]), /one\.npz: 1 sample\(s\); the statistics need at least 2/);
  const mixed = path.join(dir, 'mixed');
  mkdirSync(mixed);
  writeFileSync(path.join(mixed, 'a.png'), await encodePng({ data: images(1, 8, 1), width: 8, height: 8, channels: 3 }));
  writeFileSync(
    path.join(mixed, 'b.png'),
    await encodePng({ data: images(1, 6, 1).subarray(0, 6 * 6 * 3), width: 6, height: 6, channels: 3 }),
  );
  await assert.rejects(run(['--samples', mixed, '--ref', ref, '--out', out]), /images of mixed sizes: b\.png is 6×6, a\.png is 8×8/);
  await assert.rejects(
    runEval(parseArgs(['--samples', samples, '--ref', ref, '--inception', ref, '--out', out], evalCommand.options)),
    /ref\.npz: (not a readable torch\.save file|.*key)/,
  );
  await assert.rejects(
    run(['--samples', samples, '--ref', ref, '--metrics', 'fid,kid', '--out', out]),
    (e: Error) => e instanceof UsageError && /unknown metric 'kid'/.test(e.message),
  );
  await assert.rejects(run(['--samples', path.join(dir, 'none.npz'), '--ref', ref, '--out', out]), UsageError);
  assert.ok(!existsSync(out));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
