/**
 * Streaming sampling runs: outputs (PNGs, npz, grid, record), resumption after an interruption with a
 * different batch size giving the same files as an uninterrupted run, and settings checks.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { readNpz } from '../eval/npz.js';
import { readRgb } from '../eval/images.js';
import type { Autoencoder } from '../diffusion/decode.js';
import { generateSamples, imageFileName, type RunSettings } from './generate.js';
import { sampleLabels } from '../diffusion/noise.js';
import { loadFixture, sitFromFixture } from '../../test/diffusion-testing.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-generate-'));
const fx = loadFixture('reference', 'sit_reg_f64.safetensors');
after(() => {
  fx.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** The fixture model has 4 latent channels: show the first three, squashed into [−1, 1]. */
const decoder: Autoencoder = { decode: (x: Tensor) => torch.scope(() => x.narrow(1, 0, 3).mul(0.5).tanh()) };

const settings = (num: number, extra: Partial<RunSettings> = {}): RunSettings => ({
  sampler: 'sde',
  steps: 5,
  cfgScale: 2,
  clsCfgScale: 1.5,
  guidanceLow: 0,
  guidanceHigh: 0.7,
  path: 'linear',
  seed: 3,
  num,
  labelMode: 'uniform',
  checkpoint: 'fixture',
  ...extra,
});

describe('generateSamples', () => {
  test('writes per-image PNGs, the npz (arr_0 uint8 N×H×W×3), the grid and the record', async () => {
    const model = sitFromFixture(fx).eval();
    const out = path.join(tmp, 'full');
    const num = 7;
    const r = await generateSamples({
      model,
      decoder,
      outDir: out,
      labels: sampleLabels('uniform', num, 10, 3),
      settings: settings(num),
      batchSize: 7,
      progress: false,
      info: { 'reg-ts': 'test' },
    });
    assert.equal(r.complete, true);
    assert.equal(r.generated, 7);
    assert.deepEqual(r.imageSize, [6, 6]);
    assert.deepEqual(
      readdirSync(path.join(out, 'images')).sort(),
      Array.from({ length: num }, (_, i) => imageFileName(i)),
    );
    const arr = readNpz(path.join(out, 'samples.npz')).get('arr_0')!;
    assert.deepEqual([arr.dtype, arr.shape], ['uint8', [7, 6, 6, 3]]);
    const img3 = await readRgb(path.join(out, 'images', '000003.png'));
    assert.deepEqual([...arr.data.subarray(3 * 108, 4 * 108)], [...img3.data]);
    const grid = await readRgb(path.join(out, 'grid.png'));
    assert.deepEqual([grid.width, grid.height], [3 * 8 + 2, 3 * 8 + 2]);
    const rec = JSON.parse(readFileSync(path.join(out, 'samples.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(rec.status, 'complete');
    assert.equal(rec['reg-ts'], 'test');
    assert.deepEqual(rec.labels, Array.from(sampleLabels('uniform', num, 10, 3)));
    assert.deepEqual((rec.settings as RunSettings).steps, 5);
    assert.ok(new Set(arr.data).size > 50, 'images are not constant');
  });

  test('an interrupted run resumes (other batch size) without redoing images, and ends with the same files', async () => {
    const model = sitFromFixture(fx).eval();
    const out = path.join(tmp, 'resumed');
    const num = 7;
    const labels = sampleLabels('uniform', num, 10, 3);
    // interrupted (as by Ctrl-C) after its first batch of 3
    const stop = new AbortController();
    const stopping: Autoencoder = { decode: (x: Tensor) => (stop.abort(), decoder.decode(x)) };
    const first = await generateSamples({
      model,
      decoder: stopping,
      outDir: out,
      labels,
      settings: settings(num),
      batchSize: 3,
      progress: false,
      signal: stop.signal,
    });
    assert.deepEqual([first.complete, first.generated], [false, 3]);
    assert.equal(existsSync(path.join(out, 'samples.npz')), false);
    assert.equal((JSON.parse(readFileSync(path.join(out, 'samples.json'), 'utf8')) as { status: string }).status, 'incomplete');
    // what a kill in the middle of a PNG write leaves behind
    writeFileSync(path.join(out, 'images', '000004.png.tmp-999'), 'partial');
    const before = readFileSync(path.join(out, 'images', '000001.png'));
    const second = await generateSamples({ model, decoder, outDir: out, labels, settings: settings(num), batchSize: 2, progress: false });
    assert.deepEqual([second.complete, second.generated, second.reused], [true, 4, 3]);
    assert.deepEqual(readFileSync(path.join(out, 'images', '000001.png')), before, 'finished images are not rewritten');
    assert.ok(!readdirSync(path.join(out, 'images')).some((f) => f.includes('.tmp-')));
    const a = readNpz(path.join(out, 'samples.npz')).get('arr_0')!;
    const b = readNpz(path.join(tmp, 'full', 'samples.npz')).get('arr_0')!;
    assert.deepEqual([...a.data], [...b.data], 'same images as the uninterrupted run with batch 7');
    // a third call has nothing to do
    const third = await generateSamples({ model, decoder, outDir: out, labels, settings: settings(num), batchSize: 5, progress: false });
    assert.deepEqual([third.generated, third.reused, third.complete], [0, 7, true]);
  });

  test('refuses to mix runs with different settings in one directory', async () => {
    const model = sitFromFixture(fx).eval();
    const out = path.join(tmp, 'full');
    await assert.rejects(
      generateSamples({
        model,
        decoder,
        outDir: out,
        labels: sampleLabels('uniform', 7, 10, 3),
        settings: settings(7, { cfgScale: 3 }),
        batchSize: 7,
        progress: false,
      }),
      /different settings/,
    );
  });

  test('plain SiT (no class token) and ODE samplers run through the same pipeline', async () => {
    const sitFx = loadFixture('reference', 'sit_sit_f32.safetensors');
    try {
      const model = sitFromFixture(sitFx).eval();
      for (const sampler of ['sde', 'euler', 'heun'] as const) {
        const out = path.join(tmp, `sit-${sampler}`);
        const r = await generateSamples({
          model,
          decoder,
          outDir: out,
          labels: sampleLabels('balanced', 4, 10, 0),
          settings: settings(4, { sampler, clsCfgScale: 0 }),
          batchSize: 3,
          progress: false,
        });
        assert.equal(r.complete, true);
        assert.deepEqual(readNpz(path.join(out, 'samples.npz')).get('arr_0')!.shape, [4, 6, 6, 3]);
      }
    } finally {
      sitFx.dispose();
    }
  });
});
