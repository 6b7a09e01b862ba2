/**
 * The training loop end to end on a tiny SiT + REG with synthetic data: bit-exact resume after a
 * graceful stop, non-finite losses, time budget, keep-last-k, clear errors for bad configurations and
 * resumes, checkpoints of the previous version. (`reg train` killed and resumed, and a diverging
 * `reg train`: src/cli/commands/train-run.test.ts.)
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as torch from '../torch/index.js';
import { CHECKPOINT_VERSION, checkpointsDir, latestCheckpoint, listCheckpoints, readCheckpointConfig } from '../models/checkpoint.js';
import { readCheckpoint } from '../models/pretrained.js';
import { fixturePath } from '../../test/fixture-path.js';
import { sameTensor } from '../../test/same-tensor.js';
import { loadCheckpoint, readTrainingConfig } from './checkpoint.js';
import { ConfigError, resolveTrainConfig, type TrainConfig } from './config.js';
import { createSource, DataSourceError, registerSource, SyntheticSource } from './data.js';
import { createSiT } from '../models/configs.js';
import { regLoss } from '../diffusion/objective.js';
import { sampleKeys, stepNoise } from './step-noise.js';
import { readMetrics } from './metrics.js';
import { ResumeError } from './resume.js';
import { NonFiniteLossError } from './step.js';
import { train } from './trainer.js';
import { stepValues } from '../../test/step-values.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-train-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let runs = 0;
const quiet = (): void => undefined;

/** A tiny REG config (2 blocks × 32, 8×8×4 inputs, 17 tokens, encoder width 16) in a fresh run dir. */
function tiny(over: Partial<TrainConfig> = {}): TrainConfig {
  return resolveTrainConfig({
    model: 'SiT-T/2',
    depth: 2,
    hiddenSize: 32,
    numHeads: 2,
    encoderDepth: 1,
    encoderDim: 16,
    projectorDim: 32,
    inputSize: 8,
    inChannels: 4,
    numClasses: 10,
    batchSize: 8,
    gradientAccumulationSteps: 2,
    learningRate: 1e-3,
    emaDecay: 0.9,
    maxTrainSteps: 6,
    checkpointingSteps: 100,
    progress: false,
    outputDir: path.join(tmp, `run${runs++}`),
    ...over,
  });
}

describe('resume is bit-exact', () => {
  it('stop at step 3 (graceful) and resume: identical loss curve, weights, EMA and optimizer state', async () => {
    const a = tiny();
    const ra = await train(a, { log: quiet });
    assert.equal(ra.step, 6);
    const b = tiny();
    const controller = new AbortController();
    const rb = await train(b, { log: quiet, signal: controller.signal, onStep: (m) => m.step === 3 && controller.abort() });
    assert.deepEqual([rb.step, rb.reason, path.basename(rb.checkpoint!)], [3, 'interrupted', '0000003']);
    assert.equal(readMetrics(rb.metricsFile).length, 3);
    const rb2 = await train(b, { log: quiet, resume: true });
    assert.equal(rb2.step, 6);

    const ma = readMetrics(ra.metricsFile).map(stepValues);
    const mb = readMetrics(rb2.metricsFile).map(stepValues);
    assert.equal(mb.length, 6);
    assert.deepEqual(mb, ma);
    assert.ok(ma.every((m) => Number.isFinite(m.loss) && m.proj !== undefined && m.cls !== undefined));
    for (const f of ['model.safetensors', 'ema.safetensors', 'optimizer.safetensors']) {
      assert.ok(readFileSync(path.join(ra.checkpoint!, f)).equals(readFileSync(path.join(rb2.checkpoint!, f))), `${f} differs`);
    }
  });
});

describe('failures', () => {
  it('a NaN loss stops the run with a clear error; the last good checkpoint stays intact', async () => {
    registerSource('nan-at-5', (ctx) => {
      const inner = new SyntheticSource({ ...ctx, seed: 0 });
      let k = (ctx.start as { batch: number } | null)?.batch ?? 0;
      return {
        name: 'synthetic with a NaN in batch 5',
        async next() {
          const b = await inner.next();
          if (k++ === 5) b.x.fill_(Number.NaN);
          return b;
        },
        position: () => inner.position(),
        close: () => inner.close(),
      };
    });
    const cfg = tiny({ data: 'nan-at-5', gradientAccumulationSteps: 1, checkpointingSteps: 2, maxTrainSteps: 10 });
    await assert.rejects(train(cfg, { log: quiet }), (e: Error) => {
      assert.ok(e instanceof NonFiniteLossError);
      assert.match(e.message, /loss is NaN at step 6 \(denoise NaN/);
      assert.match(e.message, /last good checkpoint is .*0000004/);
      return true;
    });
    assert.deepEqual(
      listCheckpoints(cfg.outputDir).map((c) => c.step),
      [2, 4],
    );
    assert.equal(path.basename(latestCheckpoint(cfg.outputDir)!), '0000004');
    const ck = loadCheckpoint(latestCheckpoint(cfg.outputDir)!);
    assert.equal(ck.trainer.step, 4);
    for (const t of ck.model.values()) assert.ok(t.isfinite().all().item());
    assert.equal(readMetrics(path.join(cfg.outputDir, 'metrics.jsonl')).length, 5);
  });

  it('clear errors: unknown model, missing dataset, encoder width vs checkpoint, existing run, fp16 on CPU', async () => {
    assert.throws(
      () => tiny({ model: 'SiT-Q/2' }),
      (e: Error) => e instanceof ConfigError && /unknown model 'SiT-Q\/2'; known models: SiT-S\/2/.test(e.message),
    );
    await assert.rejects(
      train(tiny({ data: 'no-such-dataset' }), { log: quiet }),
      (e: Error) => e instanceof DataSourceError && /unknown data source 'no-such-dataset'; known: synthetic/.test(e.message),
    );
    const cfg = tiny({ maxTrainSteps: 1 });
    await train(cfg, { log: quiet });
    await assert.rejects(
      train({ ...cfg, maxTrainSteps: 2, encoderDim: 24 }, { log: quiet, resume: true }),
      (e: Error) => e instanceof ResumeError && /encoder dimension mismatch: .* width 16, this run has 24/.test(e.message),
    );
    await assert.rejects(train({ ...cfg, hiddenSize: 64 }, { log: quiet, resume: true }), /different model .*hiddenSize 32 → 64/);
    await assert.rejects(train(cfg, { log: quiet }), /already holds checkpoints .*pass --resume/);
    await assert.rejects(train(tiny({ mixedPrecision: 'fp16' }), { log: quiet }), /fp16 mixed precision needs a CUDA device/);
    await assert.rejects(train(tiny(), { log: quiet, resume: true }), /no checkpoint to resume/);
  });
});

describe('loop features', () => {
  it('an abort from a timer (as SIGINT/SIGTERM handlers do) stops the loop: it yields to the event loop', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const r = await train(tiny({ maxTrainSteps: 100_000, gradientAccumulationSteps: 1 }), { log: quiet, signal: controller.signal });
    assert.equal(r.reason, 'interrupted');
    assert.ok(r.step < 100_000 && path.basename(r.checkpoint!) === String(r.step).padStart(7, '0'));
  });

  it('time budget stops with a checkpoint; keep-last-k prunes; metrics carry every term', async () => {
    const cfg = tiny({ timeBudget: 1e-6, maxTrainSteps: 50 });
    const r = await train(cfg, { log: quiet });
    assert.deepEqual([r.step, r.reason], [1, 'time-budget']);
    assert.ok(existsSync(path.join(r.checkpoint!, 'model.safetensors')));

    const k = tiny({ checkpointingSteps: 1, maxTrainSteps: 5, keepCheckpoints: 2, gradientAccumulationSteps: 1 });
    const live: number[] = [];
    await train(k, { log: quiet, onStep: () => live.push(torch.liveTensors()) });
    // (garbage of earlier tests may be collected meanwhile, so the count may only go down)
    assert.ok(
      live.every((n, i) => i === 0 || n <= live[i - 1]!),
      `no tensor leaks per step or checkpoint: ${live.join(' ')}`,
    );
    assert.deepEqual(
      listCheckpoints(k.outputDir).map((c) => c.step),
      [4, 5],
    );
    assert.equal(readFileSync(path.join(checkpointsDir(k.outputDir), 'latest'), 'utf8'), '0000005\n');
    assert.ok(!readdirSync(checkpointsDir(k.outputDir)).some((n) => n.startsWith('.tmp')));
    const m = readMetrics(path.join(k.outputDir, 'metrics.jsonl'));
    for (const key of ['loss', 'denoise', 'proj', 'cls', 'gradNorm', 'lr', 'imagesPerSec', 'gflops', 'stepSeconds'])
      assert.ok(Number.isFinite((m[0] as unknown as Record<string, number>)[key]), key);
    assert.ok(Math.abs(m[0]!.loss - (m[0]!.denoise + 0.5 * m[0]!.proj! + 0.03 * m[0]!.cls!)) < 1e-5);
    const saved = JSON.parse(readFileSync(path.join(k.outputDir, 'checkpoints/0000005/config.json'), 'utf8')) as {
      model: { hiddenSize: number; zDims: number[] };
      train: TrainConfig;
      step: number;
      regTs: string;
    };
    assert.deepEqual([saved.step, saved.model.hiddenSize, saved.model.zDims, saved.train.batchSize], [5, 32, [16], 8]);
  });

  it('variants without token or alignment train; bf16 autocast on the CPU gives finite losses', async () => {
    for (const variant of ['sit', 'repa', 'entangle'] as const) {
      const r = await train(tiny({ variant, maxTrainSteps: 2 }), { log: quiet });
      const m = readMetrics(r.metricsFile);
      assert.equal(m.length, 2);
      assert.equal(m[0]!.proj !== undefined, variant === 'repa');
      assert.equal(m[0]!.cls !== undefined, variant === 'entangle');
    }
    // REG itself too: its class-token LayerNorm runs in float32 under autocast
    for (const variant of ['repa', 'reg'] as const) {
      const r = await train(tiny({ variant, mixedPrecision: 'bf16', maxTrainSteps: 2 }), { log: quiet });
      assert.ok(
        readMetrics(r.metricsFile).every((m) => Number.isFinite(m.loss)),
        variant,
      );
    }
  });

  it('a damaged checkpoint is reported by name, and resume falls back to the previous complete one', async () => {
    const cfg = tiny({ checkpointingSteps: 2, maxTrainSteps: 4, gradientAccumulationSteps: 1 });
    await train(cfg, { log: quiet });
    const dir = latestCheckpoint(cfg.outputDir)!;
    writeFileSync(path.join(dir, 'model.safetensors'), 'garbage');
    assert.throws(() => loadCheckpoint(dir), /cannot read .*0000004\/model.safetensors/);
    rmSync(path.join(dir, 'trainer.json'));
    assert.equal(path.basename(latestCheckpoint(cfg.outputDir)!), '0000002');
    const r = await train({ ...cfg, maxTrainSteps: 5 }, { log: quiet, resume: true });
    assert.equal(r.step, 5);
    assert.deepEqual(
      readMetrics(r.metricsFile).map((m) => m.step),
      [1, 2, 3, 4, 5],
    );
    torch.manualSeed(0);
  });
});

describe('checkpoints across versions', () => {
  it('a trainer checkpoint opened by path gives the weights its metadata names', async () => {
    const r = await train(tiny({ maxTrainSteps: 1 }), { log: quiet });
    const ck = loadCheckpoint(r.checkpoint!);
    for (const kind of ['model', 'ema'] as const) {
      const byPath = readCheckpoint(path.join(r.checkpoint!, `${kind}.safetensors`));
      assert.deepEqual(byPath.available, [kind]);
      assert.deepEqual(byPath.config, ck.config.model);
      const got = byPath[kind]!;
      assert.ok(
        [...ck[kind]].every(([k, v]) => sameTensor(got.get(k)!, v)),
        kind,
      );
    }
    assert.ok(![...ck.model].every(([k, v]) => sameTensor(ck.ema.get(k)!, v)), 'model and EMA weights differ after a step');
  });

  it('a run checkpointed by the previous version (test/fixtures/checkpoints/legacy-run) resumes from its weights and data position', async () => {
    const run = path.join(tmp, 'legacy-run');
    cpSync(fixturePath('checkpoints', 'legacy-run'), run, { recursive: true });
    const want = readMetrics(path.join(run, 'metrics.jsonl')).map(stepValues);
    const saved = readTrainingConfig(latestCheckpoint(run)!);
    const old = loadCheckpoint(latestCheckpoint(run)!);
    const cfg = resolveTrainConfig({ ...saved.train, outputDir: run });
    const r = await train(cfg, { log: quiet, resume: true });
    assert.deepEqual([r.step, path.basename(r.checkpoint!)], [2, '0000002']);
    const got = readMetrics(r.metricsFile).map(stepValues);
    assert.deepEqual(
      got.map((m) => m.step),
      [1, 2],
    );
    assert.deepEqual(got[0], want[0], 'the metrics line of the checkpointed step is kept');
    // The previous version drew the objective's noise from a trainer generator; the resumed step 2 draws
    // it per sample (step-noise.ts). Recomputed by hand from the old checkpoint's weights and data position:
    const model = createSiT(saved.model);
    model.loadStateDict(old.model);
    model.train();
    const source = await createSource(cfg.data, {
      config: cfg,
      model: saved.model,
      microBatch: cfg.batchSize,
      device: 'cpu',
      start: old.trainer.data,
    });
    const batch = await source.next();
    const loss = torch.scope(() => {
      const keys = sampleKeys({ step: 1, batchSize: cfg.batchSize, accumulation: 1, micro: 0, rank: 0, worldSize: 1 });
      const n = stepNoise(keys, {
        seed: cfg.seed,
        timeSampling: cfg.weighting,
        path: cfg.pathType,
        labelDropout: cfg.labelDropout,
        sampleShape: batch.x.shape.slice(1),
        clsDim: batch.clsTarget!.shape[1]!,
        device: 'cpu',
      });
      const { total } = regLoss(
        model,
        {
          x0: batch.x,
          y: batch.y,
          cls0: batch.clsTarget,
          target: batch.alignTarget,
          t: n.t,
          noise: n.noise,
          noiseCls: n.noiseCls!,
          dropMask: n.dropMask!,
        },
        { path: cfg.pathType, beta: cfg.clsCoeff, lambda: cfg.projCoeff },
      );
      return total.item();
    });
    await source.close();
    model.dispose();
    assert.ok(Math.abs(got[1]!.loss - loss) <= 1e-6 * Math.abs(loss), `loss ${got[1]!.loss} vs ${loss} by hand`);
    for (const t of [...old.model.values(), ...old.ema.values(), ...old.optimizer.values()]) t.dispose();
    assert.equal(readCheckpointConfig(r.checkpoint!).version, CHECKPOINT_VERSION);
  });
});
