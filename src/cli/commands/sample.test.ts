/**
 * `reg sample`: argument checks before any work, an end-to-end run on a tiny pixel-space REG checkpoint,
 * and resumption after the process is killed (SIGKILL) — the final .npz equals an uninterrupted run's.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import * as torch from '../../torch/index.js';
import { createSiT } from '../../models/configs.js';
import { writeCheckpoint } from '../../models/checkpoint.js';
import type { SiTConfig } from '../../models/configs.js';
import { readNpz } from '../../eval/npz.js';
import { parseArgs, UsageError } from '../args.js';
import { sampleCommand } from './sample.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-sample-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A small randomly perturbed model saved as a native checkpoint. */
function makeCheckpoint(name: string, overrides: Partial<SiTConfig>): string {
  const dir = path.join(tmp, name);
  torch.scope(() => {
    const g = new torch.Generator(5);
    const model = createSiT(
      {
        depth: 2,
        hiddenSize: 32,
        numHeads: 2,
        patchSize: 2,
        inputSize: 8,
        inChannels: 3,
        numClasses: 5,
        encoderDepth: 1,
        projectorDim: 16,
        zDims: [12],
        ...overrides,
      },
      {},
      { generator: g },
    );
    torch.noGrad(() => {
      for (const [n, p] of model.namedParameters()) if (n !== 'pos_embed') p.add_(torch.randn(p.shape, { generator: g }).mul(0.2));
    });
    const sd = model.stateDict();
    writeCheckpoint(dir, { config: model.config as SiTConfig, model: sd, ema: sd, step: 1 });
  });
  return dir;
}

let reg = '';
let plain = '';
let latent = '';
before(() => {
  reg = makeCheckpoint('reg', {});
  plain = makeCheckpoint('sit', { variant: 'sit' });
  latent = makeCheckpoint('latent', { inChannels: 4 });
});

async function runIn(args: string[]): Promise<void> {
  await sampleCommand.run(parseArgs(args, sampleCommand.options));
}

describe('reg sample: arguments are checked before any work', () => {
  const cases: [string, string[], RegExp][] = [
    ['negative steps', ['--steps', '-5'], /--steps must be a positive integer, got -5/],
    ['zero images', ['--num', '0'], /--num must be a positive integer/],
    ['interval outside [0, 1]', ['--guidance-high', '1.2'], /--guidance-high must lie in \[0, 1\]/],
    ['negative low', ['--guidance-low', '-0.1'], /--guidance-low must lie in \[0, 1\]/],
    ['low > high', ['--guidance-low', '0.9', '--guidance-high', '0.5'], /guidance interval is empty/],
    ['negative cfg', ['--cfg', '-1'], /--cfg must be ≥ 0/],
    ['bad label list', ['--labels', '1,x'], /--labels must be uniform, balanced or a comma-separated list/],
    ['class index out of range', ['--labels', '1,5'], /class index 5 is out of range: the model has 5 classes/],
    ['negative seed', ['--seed', '-1'], /--seed must be a non-negative integer/],
    ['bad device', ['--device', 'tpu'], /--device must be auto, cpu, cuda or cuda:N/],
  ];
  for (const [what, extra, re] of cases) {
    test(what, async () => {
      const out = path.join(tmp, `bad-${what.replace(/\W+/g, '-')}`);
      await assert.rejects(runIn(['--ckpt', reg, '--out', out, ...extra]), (e: Error) => e instanceof UsageError && re.test(e.message));
      assert.equal(existsSync(out), false, 'nothing was written');
    });
  }

  test('missing checkpoint, unknown sampler', async () => {
    await assert.rejects(runIn(['--ckpt', path.join(tmp, 'nope'), '--out', path.join(tmp, 'x')]), /checkpoint not found/);
    assert.throws(
      () => parseArgs(['--ckpt', reg, '--out', 'x', '--sampler', 'ddim'], sampleCommand.options),
      /--sampler must be one of sde, euler, heun/,
    );
  });

  test('--cls-cfg on a model without a class-token head; latent models need an autoencoder', async () => {
    const out = path.join(tmp, 'bad-clscfg');
    await assert.rejects(
      runIn(['--ckpt', plain, '--out', out, '--cfg', '2', '--cls-cfg', '2']),
      /--cls-cfg: this checkpoint's model \(variant 'sit'\) has no class-token head/,
    );
    await assert.rejects(runIn(['--ckpt', latent, '--out', out]), /4-channel latents/);
    assert.equal(existsSync(out), false);
  });
});

function cli(args: string[]) {
  return spawnSync(process.execPath, [MAIN, 'sample', ...args], { encoding: 'utf8' });
}

describe('reg sample: runs', () => {
  test('end to end: PNGs, npz, grid, record; plain SiT works too; exit code 2 for bad arguments', () => {
    const out = path.join(tmp, 'e2e');
    const r = cli([
      '--ckpt',
      reg,
      '--out',
      out,
      '--num',
      '5',
      '--batch',
      '2',
      '--steps',
      '4',
      '--cfg',
      '2',
      '--guidance-high',
      '0.8',
      '--labels',
      'balanced',
      '--device',
      'cpu',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /5 images generated/);
    assert.deepEqual(readdirSync(path.join(out, 'images')).length, 5);
    const arr = readNpz(path.join(out, 'samples.npz')).get('arr_0')!;
    assert.deepEqual([arr.dtype, arr.shape], ['uint8', [5, 8, 8, 3]]);
    assert.ok(existsSync(path.join(out, 'grid.png')));
    const rec = JSON.parse(readFileSync(path.join(out, 'samples.json'), 'utf8')) as {
      settings: Record<string, unknown>;
      status: string;
      'reg-ts': string;
      labels: number[];
    };
    assert.equal(rec.status, 'complete');
    assert.equal(rec.settings.clsCfgScale, 2, '--cls-cfg defaults to --cfg');
    assert.equal(rec.settings.checkpoint, path.resolve(reg));
    assert.equal(typeof rec['reg-ts'], 'string');
    assert.equal(rec.labels.length, 5);
    const p = cli([
      '--ckpt',
      plain,
      '--out',
      path.join(tmp, 'e2e-sit'),
      '--num',
      '3',
      '--steps',
      '3',
      '--sampler',
      'heun',
      '--cfg',
      '1.5',
      '--device',
      'cpu',
    ]);
    assert.equal(p.status, 0, p.stderr);
    const bad = cli(['--ckpt', reg, '--out', path.join(tmp, 'e2e-bad'), '--steps', '-1']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--steps must be a positive integer/);
  });

  test('killed mid-run (SIGKILL) and resumed with another batch size: same npz as an uninterrupted run', async () => {
    const common = [
      '--ckpt',
      reg,
      '--num',
      '24',
      '--steps',
      '30',
      '--cfg',
      '2.5',
      '--guidance-high',
      '0.85',
      '--seed',
      '9',
      '--device',
      'cpu',
    ];
    const full = path.join(tmp, 'uninterrupted');
    const u = cli([...common, '--out', full, '--batch', '24']);
    assert.equal(u.status, 0, u.stderr);

    const out = path.join(tmp, 'killed');
    const child = spawn(process.execPath, [MAIN, 'sample', ...common, '--out', out, '--batch', '2'], { stdio: 'ignore' });
    const images = path.join(out, 'images');
    const killedAt = await new Promise<number>((resolve) => {
      const poll = setInterval(() => {
        const n = existsSync(images) ? readdirSync(images).filter((f) => f.endsWith('.png')).length : 0;
        if (n >= 4) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve(n);
        }
      }, 5);
      child.on('exit', () => {
        clearInterval(poll);
        resolve(-1);
      });
    });
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('exit', r)));
    assert.ok(killedAt > 0 && killedAt < 24, `the run was killed part-way (${killedAt} images on disk)`);
    assert.equal(existsSync(path.join(out, 'samples.npz')), false);
    const done = readdirSync(images).filter((f) => f.endsWith('.png')).length;

    const r = cli([...common, '--out', out, '--batch', '5']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${24 - done} images generated, ${done} reused`));
    const a = readNpz(path.join(out, 'samples.npz')).get('arr_0')!;
    const b = readNpz(path.join(full, 'samples.npz')).get('arr_0')!;
    let diff = 0;
    for (let i = 0; i < a.data.length; i++) diff = Math.max(diff, Math.abs(a.data[i]! - b.data[i]!));
    console.log(`killed after ${done} images; resumed npz vs uninterrupted: max pixel difference ${diff}`);
    // same noise per image; float32 GEMMs may round differently with another batch size (≤ 1 level)
    assert.ok(diff <= 1, `max pixel difference ${diff}`);
  });
});
