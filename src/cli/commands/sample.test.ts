/**
 * `reg sample`: argument checks before any work, an end-to-end run on a tiny pixel-space REG checkpoint,
 * resumption after the process is killed (SIGKILL) — the final .npz equals an uninterrupted run's — and
 * a tiny official-format latent checkpoint decoded by a tiny diffusers-layout VAE, compared with the
 * PyTorch reference pipeline's uint8 images (test/reference/pipeline/make_pipeline_fixtures.py).
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
import { readCheckpoint } from '../../models/pretrained.js';
import type { SiTConfig } from '../../models/configs.js';
import { readNpz } from '../../eval/npz.js';
import { readRgb } from '../../eval/images.js';
import { configFromDiffusers, createAutoencoderKL, saveAutoencoder, type AutoencoderKLConfig } from '../../models/autoencoders/index.js';
import { fixturePath } from '../../../test/fixture-path.js';
import { loadFixture } from '../../../test/diffusion-testing.js';
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

  test('--device cuda says whether this machine has a CUDA device, not that the name is malformed', async () => {
    const out = path.join(tmp, 'bad-cuda');
    if (torch.cudaDeviceCount() === 0)
      await assert.rejects(
        runIn(['--ckpt', reg, '--out', out, '--device', 'cuda']),
        (e: Error) =>
          e instanceof UsageError &&
          /^--device cuda: device 'cuda': CUDA is not available \(libtorch .* sees no CUDA device\)$/.test(e.message),
      );
    await assert.rejects(
      runIn(['--ckpt', reg, '--out', out, '--device', `cuda:${torch.cudaDeviceCount()}`]),
      (e: Error) =>
        e instanceof UsageError && /^--device cuda:\d+: device 'cuda:\d+': (CUDA is not available|only \d+ CUDA device)/.test(e.message),
    );
    assert.equal(existsSync(out), false, 'nothing was written');
  });

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

describe('reg sample --vae: an official-format latent checkpoint to images', () => {
  const PT = fixturePath('pipeline', 'official_tiny.pt');
  const VAE = fixturePath('pipeline', 'tiny-vae');
  const fx = loadFixture('pipeline', 'expected.safetensors');
  after(() => fx.dispose());
  const s = JSON.parse(fx.meta.settings!) as {
    seed: number;
    labels: number[];
    steps: number;
    cfg: number;
    cls_cfg: number;
    guidance_high: number;
  };
  const run = [
    '--ckpt',
    PT,
    '--num-heads',
    '2',
    '--num',
    String(s.labels.length),
    '--labels',
    s.labels.join(','),
    '--seed',
    String(s.seed),
    '--steps',
    String(s.steps),
    '--cfg',
    String(s.cfg),
    '--cls-cfg',
    String(s.cls_cfg),
    '--guidance-high',
    String(s.guidance_high),
    '--device',
    'cpu',
  ];

  /** A VAE directory in the diffusers layout with `config` and random weights. */
  function writeVae(name: string, config: AutoencoderKLConfig): string {
    const dir = path.join(tmp, name);
    const vae = createAutoencoderKL(config, { generator: new torch.Generator(4) });
    saveAutoencoder(vae, dir);
    vae.dispose();
    return dir;
  }
  const tinyConfig = (): AutoencoderKLConfig => configFromDiffusers(JSON.parse(fx.meta.vae_config!) as Record<string, unknown>);

  test('PNGs and samples.npz equal the PyTorch reference pipeline (SDE, CFG 2.3 on t ≤ 0.85, decode(z / 0.18215), truncation)', async () => {
    const out = path.join(tmp, 'vae-e2e');
    const r = cli([...run, '--vae', VAE, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const want = fx.get('images');
    const arr = readNpz(path.join(out, 'samples.npz')).get('arr_0')!;
    assert.deepEqual([arr.dtype, arr.shape], ['uint8', want.shape]);
    const ref = want.toTypedArray() as Uint8Array;
    // the reference's unclamped 255·(x + 1)/2 in the same NHWC order, to see where a difference sits
    const level = torch.scope(
      () => fx.get('decoded').add(1).div(2).mul(255).permute(0, 2, 3, 1).contiguous().toTypedArray() as Float32Array,
    );
    let differ = 0;
    let maxDiff = 0;
    let worstMargin = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(arr.data[i]! - ref[i]!);
      if (d === 0) continue;
      differ++;
      maxDiff = Math.max(maxDiff, d);
      worstMargin = Math.max(worstMargin, Math.abs(level[i]! - Math.round(level[i]!)));
    }
    console.log(
      `reg sample vs PyTorch reference: ${differ} of ${ref.length} uint8 values differ (max ${maxDiff}), each within ${worstMargin.toExponential(2)} of a level of a truncation boundary in the reference (its closest pixel: ${fx.meta.margin})`,
    );
    // Both sides decode in float32 (≤ 1e-5 apart, latent-decoding.test.ts), ≈ 2e-4 of a level here: a value
    // can only flip by one level, and only where the reference's 255·(x + 1)/2 lies that close to an integer.
    assert.ok(maxDiff <= 1, `max difference ${maxDiff}`);
    assert.ok(differ <= 2, `${differ} values differ`);
    assert.ok(worstMargin < 1e-3, `a differing value lies ${worstMargin} of a level from a boundary`);
    const [, H, W] = want.shape as number[];
    const size = H! * W! * 3;
    for (let i = 0; i < s.labels.length; i++) {
      const png = await readRgb(path.join(out, 'images', `${String(i).padStart(6, '0')}.png`));
      assert.deepEqual([png.width, png.height], [W, H]);
      assert.ok(Buffer.from(png.data).equals(Buffer.from(arr.data.subarray(i * size, (i + 1) * size))), `PNG ${i} = npz row ${i}`);
    }
    const rec = JSON.parse(readFileSync(path.join(out, 'samples.json'), 'utf8')) as { settings: Record<string, unknown>; status: string };
    assert.equal(rec.status, 'complete');
    assert.deepEqual(rec.settings.decoder, {
      kind: 'vae',
      path: path.resolve(VAE),
      scalingFactor: 0.18215,
      shiftFactor: 0,
      dtype: 'float32',
    });
  });

  test('--mixed-precision bf16 decodes in bfloat16 too: images close to the fp32 run, not equal', () => {
    const out = path.join(tmp, 'vae-bf16');
    const r = cli([...run, '--vae', VAE, '--out', out, '--mixed-precision', 'bf16']);
    assert.equal(r.status, 0, r.stderr);
    const rec = JSON.parse(readFileSync(path.join(out, 'samples.json'), 'utf8')) as { settings: { decoder: { dtype: string } } };
    assert.equal(rec.settings.decoder.dtype, 'bfloat16');
    const a = readNpz(path.join(out, 'samples.npz')).get('arr_0')!.data;
    const b = fx.get('images').toTypedArray() as Uint8Array;
    let sum = 0;
    for (let i = 0; i < b.length; i++) sum += Math.abs(a[i]! - b[i]!);
    const mean = sum / b.length;
    console.log(`bf16 run vs fp32 reference: mean |difference| ${mean.toFixed(3)} levels`);
    assert.ok(mean > 0 && mean < 8, `mean difference ${mean}`);
  });

  test("a run that recorded its autoencoder needs no --vae; the run's latent scale wins over the VAE's config", () => {
    /** The official checkpoint as a native run checkpoint whose training config records `train`. */
    const asRun = (name: string, train: Record<string, unknown>): string => {
      const dir = path.join(tmp, name);
      const ck = readCheckpoint(PT, { overrides: { numHeads: 2 } });
      writeCheckpoint(dir, { config: ck.config, model: ck.model!, ema: ck.ema, step: ck.step, extra: { train } });
      for (const sd of [ck.model, ck.ema]) for (const t of sd!.values()) t.dispose();
      return dir;
    };
    const recorded = asRun('run-with-vae', { vae: VAE, vaeScalingFactor: 0.18215, vaeShiftFactor: 0 });
    const out = path.join(tmp, 'vae-recorded');
    const r = cli([...run.slice(4), '--ckpt', recorded, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const arr = readNpz(path.join(out, 'samples.npz')).get('arr_0')!;
    assert.ok(
      Buffer.from(arr.data).equals(Buffer.from(readNpz(path.join(tmp, 'vae-e2e', 'samples.npz')).get('arr_0')!.data)),
      'same images as with --vae',
    );

    const rescaled = asRun('run-rescaled', { vae: VAE, vaeScalingFactor: 0.5, vaeShiftFactor: 0.25 });
    const out2 = path.join(tmp, 'vae-rescaled');
    assert.equal(cli([...run.slice(4), '--ckpt', rescaled, '--out', out2, '--steps', '1']).status, 0);
    const rec = JSON.parse(readFileSync(path.join(out2, 'samples.json'), 'utf8')) as { settings: { decoder: Record<string, unknown> } };
    assert.deepEqual([rec.settings.decoder.scalingFactor, rec.settings.decoder.shiftFactor], [0.5, 0.25]);

    const lost = asRun('run-vae-moved', { vae: path.join(tmp, 'moved-vae'), vaeScalingFactor: 0.18215, vaeShiftFactor: 0 });
    const r3 = cli([...run.slice(4), '--ckpt', lost, '--out', path.join(tmp, 'vae-lost')]);
    assert.equal(r3.status, 2);
    assert.match(r3.stderr, /the run's recorded autoencoder .*moved-vae is not found; pass --vae/);
  });

  test('no autoencoder, or one that does not fit the model: refused before sampling, naming the flag or both numbers', async () => {
    const cases: [string, string[], RegExp][] = [
      ['no --vae', [], /4-channel latents and no autoencoder is known to decode them: pass --vae/],
      ['missing', ['--vae', path.join(tmp, 'no-such-vae')], /--vae: autoencoder not found/],
      [
        'channels',
        ['--vae', writeVae('vae-3ch', { ...tinyConfig(), latentChannels: 3 })],
        /has 3 latent channels but the model generates 4-channel latents/,
      ],
      [
        'image size',
        ['--vae', writeVae('vae-64px', { ...tinyConfig(), sampleSize: 64 })],
        /works on 64×64 images but the model's 6×6 latents decode to 48×48 \(×8\)/,
      ],
      ['pixel scale', ['--vae', VAE, '--pixel-scale', '2'], /--pixel-scale and --pixel-shift apply to pixel-space runs/],
    ];
    for (const [what, extra, re] of cases) {
      const out = path.join(tmp, `vae-bad-${what.replace(/\W+/g, '-')}`);
      await assert.rejects(runIn([...run, '--out', out, ...extra]), (e: Error) => e instanceof UsageError && re.test(e.message), what);
      assert.equal(existsSync(out), false, `${what}: nothing was written`);
    }
    await assert.rejects(runIn(['--ckpt', latent, '--out', path.join(tmp, 'x-latent')]), /pass --vae/);
  });
});
