/**
 * `reg sample` on several processes (Gloo on 127.0.0.1): the ranks share the images of one run
 * directory and rank 0 packs them; every file equals a single process's byte for byte, also when a
 * 2-process run resumes a directory that one process started.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as torch from '../../torch/index.js';
import { createSiT, type SiTConfig } from '../../models/configs.js';
import { writeCheckpoint } from '../../models/checkpoint.js';
import { runRanks } from '../../../test/ranks.js';

const REG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../main.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'reg-sample-ddp-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A tiny pixel-space REG model with perturbed weights (so that images are not flat). */
function tinyCheckpoint(): string {
  const dir = path.join(tmp, 'ckpt');
  torch.scope(() => {
    const g = new torch.Generator(3);
    const config = {
      depth: 1,
      hiddenSize: 32,
      numHeads: 2,
      patchSize: 2,
      inputSize: 8,
      inChannels: 3,
      numClasses: 4,
      encoderDepth: 1,
      projectorDim: 16,
      zDims: [8],
    };
    const model = createSiT(config, {}, { generator: g });
    torch.noGrad(() => {
      for (const [n, p] of model.namedParameters()) if (n !== 'pos_embed') p.add_(torch.randn(p.shape, { generator: g }).mul(0.2));
    });
    const sd = model.stateDict();
    writeCheckpoint(dir, { config: model.config as SiTConfig, model: sd, ema: sd, step: 1 });
  });
  return dir;
}

const ckpt = tinyCheckpoint();
const common = ['sample', '--ckpt', ckpt, '--num', '11', '--steps', '4', '--batch', '3', '--device', 'cpu', '--seed', '7'];

async function sampleOn(world: number, out: string, extra: string[] = []): Promise<string> {
  const results = await runRanks(REG, world, { args: [...common, '--out', out, ...extra], timeoutMs: 120_000 });
  for (const r of results) assert.equal(r.code, 0, `rank ${r.rank} of ${world}: ${r.stderr}`);
  for (const r of results.slice(1)) assert.equal(r.stdout, '', `rank ${r.rank} prints nothing`);
  return results[0]!.stdout;
}

const bytes = (dir: string, f: string): Buffer => readFileSync(path.join(dir, f));

describe('reg sample on 1 and 2 processes', () => {
  it('writes the same PNGs, npz and grid byte for byte', async () => {
    const one = path.join(tmp, 'one');
    const two = path.join(tmp, 'two');
    await sampleOn(1, one);
    const out = await sampleOn(2, two);
    assert.match(out, /11 images generated/);
    const pngs = readdirSync(path.join(one, 'images')).sort();
    assert.equal(pngs.length, 11);
    assert.deepEqual(readdirSync(path.join(two, 'images')).sort(), pngs);
    for (const f of pngs) assert.ok(bytes(one, `images/${f}`).equals(bytes(two, `images/${f}`)), f);
    for (const f of ['samples.npz', 'grid.png']) assert.ok(bytes(one, f).equals(bytes(two, f)), f);
    const record = JSON.parse(readFileSync(path.join(two, 'samples.json'), 'utf8')) as { status: string; processes: number };
    assert.deepEqual([record.status, record.processes], ['complete', 2]);
  });

  it('2 processes complete a run that 1 process left half done, with the same files', async () => {
    const one = path.join(tmp, 'one');
    const half = path.join(tmp, 'half');
    await sampleOn(1, half, []);
    // drop every other image, as a killed run would leave it
    for (const f of readdirSync(path.join(half, 'images')).filter((_, i) => i % 2 === 0)) rmSync(path.join(half, 'images', f));
    rmSync(path.join(half, 'samples.npz'));
    const out = await sampleOn(2, half);
    assert.match(out, /6 images generated, 5 reused/);
    assert.ok(bytes(one, 'samples.npz').equals(bytes(half, 'samples.npz')));
  });
});
