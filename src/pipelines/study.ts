/**
 * A study (`reg study`): every configuration of a spec (src/pipelines/study-spec.ts) × every seed is
 * trained for the same number of steps on an embedded dataset, in pixel space with MobileNetV2
 * targets from one feature cache (the one `reg demo` prepares), and each run is evaluated at every
 * `evalEvery` steps:
 *
 *   FD-MobileNetV2       samples vs as many test images, with the real-vs-real floor (src/eval/embedded-scores.ts)
 *   class consistency    share of samples the dataset's classifier assigns to their class
 *   CKNNA                aligned block vs the encoder, with a linear probe (src/eval/representation.ts);
 *                        only for variants that align (reg, repa)
 *
 * Layout of `<out>`:  features/ (cache) · runs/<config>-s<seed>/ (training runs, a checkpoint at every
 * evaluation step) · evals/<config>-s<seed>/step-<N>.json (one evaluation) and …/step-<N>/samples/ ·
 * study.json (everything, rewritten after each evaluation).
 *
 * Resumable after a kill: a run with its last checkpoint is not trained again, a run with an earlier
 * checkpoint continues from it (bit-exactly, the trainer's --resume), and an evaluation whose file
 * exists is not redone. Aborting `signal` stops the current run after its step, with a checkpoint.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ImageDataset } from '../data/dataset.js';
import { loadEmoji } from '../data/emoji.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { prepareFeatureCache } from '../data/feature-cache.js';
import { registerDatasetSources } from '../data/train-sources.js';
import { PixelDecoder } from '../diffusion/decode.js';
import { featureScores, frechetEncoder, frechetSplits, sampleClassConsistency } from '../eval/embedded-scores.js';
import { readNpz } from '../eval/npz.js';
import { evaluateRepresentation } from '../eval/representation.js';
import { listCheckpoints } from '../models/checkpoint.js';
import { createEncoder, type EncoderInfo, type RepresentationEncoder } from '../models/encoders/encoder.js';
import { loadModel } from '../models/pretrained.js';
import { hasAlign } from '../models/variant.js';
import { resolveTrainConfig, type TrainConfig } from '../train/config.js';
import { train } from '../train/trainer.js';
import { writeFileAtomic } from '../util/atomic.js';
import { cpuDescription } from '../util/machine.js';
import { formatDuration } from '../util/progress.js';
import { regTsVersion } from '../util/version.js';
import { generateSamples } from './generate.js';
import { evalSettingsOf, evaluationSteps, sameSampling, type StudyConfig, type StudySpec } from './study-spec.js';
import { ensureVitEncoder, vitEncoderOf } from './vit-encoder.js';

/** The scores of one run at one checkpoint. */
export interface StudyEvaluation {
  step: number;
  /** Mean denoising loss of the `evalEvery` training steps up to this one. */
  denoiseLoss: number;
  fd: number;
  fdFloor: number;
  /** Precision and recall (k = 3) in the FD's feature space against the same test images. */
  precision: number;
  recall: number;
  classConsistency: number;
  /** null for variants without alignment. */
  cknna: number | null;
  /** Linear-probe test accuracy of the aligned block's features (null without alignment). */
  probeAccuracy: number | null;
  seconds: number;
}

/** One run of the study (a configuration at a seed). */
export interface StudyRun {
  config: string;
  group: string;
  seed: number;
  variant: string;
  dir: string;
  evaluations: StudyEvaluation[];
}

/** study.json. */
export interface StudyResult {
  regTs: string;
  createdAt: string;
  specFile: string;
  spec: StudySpec;
  status: 'complete' | 'interrupted';
  metric: string;
  /** The encoder of the targets, the class token and CKNNA. */
  encoder: EncoderInfo;
  /** The study's own ViT encoder (spec `vitEncoder`): its test accuracy and training time; null for MobileNetV2. */
  vitEncoder: { testAccuracy: number; trainSeconds: number; reused: boolean } | null;
  classifier: { testAccuracy: number; testSplit: string } | null;
  runs: StudyRun[];
  /** What this invocation did (the rest it found on disk). */
  session: {
    trained: number;
    resumed: number;
    reusedRuns: number;
    evaluated: number;
    reusedEvaluations: number;
    seconds: number;
    /** The CPUs it ran on (absent in study.json files written before it was recorded). */
    machine?: string;
  };
}

/** Progress of the study, reported after training steps and evaluations. */
export interface StudyProgress {
  run: number;
  runs: number;
  name: string;
  step: number;
  steps: number;
  /** Seconds left for the whole study, from this session's measured step and evaluation times (null before any). */
  etaSeconds: number | null;
}

/** Options of {@link runStudy}. */
export interface StudyOptions {
  spec: StudySpec;
  /** The spec's file (recorded, and named in errors). */
  specFile: string;
  out: string;
  /** Dataset directory (default: the installed package). */
  dataDir?: string;
  /** MobileNetV2 weights folder (default: the cached nsfwjs conversion). */
  encoderWeights?: string;
  /** Directory of the cached classifiers (default `<cache>/classifiers`). */
  classifierCacheDir?: string;
  /** Report progress every this many training steps (default 25). */
  progressEvery?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  onProgress?: (p: StudyProgress) => void;
}

/** `<config>-s<seed>`: the name of a run's folders. */
export const runName = (config: string, seed: number): string => `${config}-s${seed}`;

function openSplit(spec: StudySpec, split: 'train' | 'test', dataDir: string | undefined): Promise<ImageDataset> | ImageDataset {
  const dir = dataDir ? { dir: dataDir } : {};
  if (spec.dataset === 'fashion-mnist') return loadFashionMnist({ split, resolution: spec.imageSize, fit: 'pad', channels: 1, ...dir });
  return loadEmoji({ labels: 'category', resolution: spec.imageSize, ...dir });
}

/** The training configuration of `config` at `seed`: the study's pixel-space defaults, the spec's `train`, the config's `train`. */
export function studyTrainConfig(
  o: Pick<StudyOptions, 'spec' | 'specFile' | 'dataDir'>,
  config: StudyConfig,
  seed: number,
  runDir: string,
  data: { channels: number; numClasses: number; featuresDir: string; encoderDim: number },
): TrainConfig {
  const { spec } = o;
  return resolveTrainConfig(
    {
      model: 'SiT-T/2',
      patchSize: 8,
      batchSize: 64,
      learningRate: 1e-3,
      warmupSteps: 100,
      emaDecay: 0.995,
      ...spec.train,
      ...config.train,
      data: spec.dataset,
      dataDir: o.dataDir ?? '',
      inputSize: spec.imageSize,
      inChannels: data.channels,
      numClasses: data.numClasses,
      encoder: data.featuresDir,
      encoderDim: data.encoderDim,
      outputDir: runDir,
      seed,
      maxTrainSteps: spec.steps,
      checkpointingSteps: spec.evalEvery,
      keepCheckpoints: 0,
      timeBudget: 0,
      progress: false,
    },
    `${o.specFile} configs "${config.name}"`,
  );
}

/** Mean denoising loss of the steps in (from, to] of a run's metrics.jsonl. */
function meanDenoiseLoss(runDir: string, from: number, to: number): number {
  const rows = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: number; denoise: number })
    .filter((m) => m.step > from && m.step <= to);
  return rows.reduce((a, m) => a + m.denoise, 0) / Math.max(1, rows.length);
}

/** Seconds per training step and per evaluation measured in this session, for the overall ETA. */
class StudyClock {
  private stepSeconds = 0;
  private steps = 0;
  private evalSeconds = 0;
  private evals = 0;
  step(seconds: number): void {
    this.stepSeconds += seconds;
    this.steps++;
  }
  evaluation(seconds: number): void {
    this.evalSeconds += seconds;
    this.evals++;
  }
  /** Remaining seconds for `steps` training steps and `evals` evaluations; null until a step was measured. */
  eta(steps: number, evals: number): number | null {
    if (this.steps === 0) return null;
    // Before the first evaluation, one is guessed to cost as much as evalEvery steps would not be honest: count it as 0.
    return (steps * this.stepSeconds) / this.steps + (this.evals ? (evals * this.evalSeconds) / this.evals : 0);
  }
}

/** Everything one evaluation needs that is shared by the whole study. */
interface EvalContext {
  o: StudyOptions;
  /** MobileNetV2 at the FD protocol's input size (FD_INPUT_SIZE). */
  fdEncoder: RepresentationEncoder;
  /** The FD reference and floor sets (frechetSplits). */
  fdSets: { test: ImageDataset; train: ImageDataset };
  labels: Int32Array;
  classifier: StudyResult['classifier'];
}

/** Evaluates the checkpoint of `run` at `step` (file comment's metrics). */
async function evaluateCheckpoint(
  ctx: EvalContext,
  config: StudyConfig,
  run: StudyRun,
  step: number,
  evalDir: string,
): Promise<StudyEvaluation> {
  const start = performance.now();
  const { spec } = ctx.o;
  const e = evalSettingsOf(spec, config);
  const ckpt = listCheckpoints(run.dir).find((c) => c.step === step);
  if (!ckpt) throw new Error(`${run.dir}: no checkpoint at step ${step} to evaluate`);
  const model = loadModel(ckpt.dir, { weights: 'ema' });
  let samplesFile: string;
  try {
    const generated = await generateSamples({
      model,
      decoder: new PixelDecoder(),
      outDir: path.join(evalDir, `step-${step}`, 'samples'),
      labels: ctx.labels,
      settings: {
        sampler: e.sampler,
        steps: e.samplingSteps,
        cfgScale: e.cfg,
        clsCfgScale: e.clsCfg ?? e.cfg,
        guidanceLow: 0,
        guidanceHigh: e.guidanceHigh,
        path: 'linear',
        seed: e.seed,
        num: e.samples,
        labelMode: 'balanced',
        checkpoint: ckpt.dir,
        weights: 'ema',
      },
      batchSize: 100,
      gridSize: 0,
      progress: false,
      info: { regTs: regTsVersion() },
      ...(ctx.o.signal ? { signal: ctx.o.signal } : {}),
    });
    if (!generated.complete || !generated.files.npz) throw new Error(`${run.dir}: sampling at step ${step} was interrupted`);
    samplesFile = generated.files.npz;
  } finally {
    model.dispose();
  }
  const samples = readNpz(samplesFile).get('arr_0')!;
  const fd = await featureScores(ctx.fdEncoder, samples, ctx.fdSets.test, ctx.fdSets.train);
  const consistency = await sampleClassConsistency(spec.dataset, samples, ctx.labels, {
    ...(ctx.o.dataDir ? { dataDir: ctx.o.dataDir } : {}),
    ...(ctx.o.classifierCacheDir ? { classifierCacheDir: ctx.o.classifierCacheDir } : {}),
  });
  ctx.classifier ??= { testAccuracy: consistency.classifier.record.testAccuracy, testSplit: consistency.classifier.record.testSplit };
  let representation: Awaited<ReturnType<typeof evaluateRepresentation>> | null = null;
  if (hasAlign({ variant: run.variant as TrainConfig['variant'] })) {
    const half = Math.floor(e.cknnaImages / 2);
    representation = await evaluateRepresentation(ckpt.dir, {
      t: e.cknnaT,
      topk: e.cknnaTopk,
      probeTrain: half,
      probeTest: e.cknnaImages - half,
      seed: e.seed,
    });
  }
  return {
    step,
    denoiseLoss: meanDenoiseLoss(run.dir, step - spec.evalEvery, step),
    fd: fd.value,
    fdFloor: fd.realVsReal,
    precision: fd.precision,
    recall: fd.recall,
    classConsistency: consistency.score,
    cknna: representation?.cknna.value ?? null,
    probeAccuracy: representation?.probe.hidden.testAccuracy ?? null,
    seconds: (performance.now() - start) / 1000,
  };
}

/** Runs (or resumes) the study of `o.spec` in `o.out`; returns what it also writes to `<out>/study.json`. */
export async function runStudy(o: StudyOptions): Promise<StudyResult> {
  const t0 = performance.now();
  const { spec } = o;
  const log = o.log ?? ((l: string) => console.log(l));
  const out = path.resolve(o.out);
  const featuresDir = path.join(out, 'features');
  const trainSet = await openSplit(spec, 'train', o.dataDir);
  const testSet = await openSplit(spec, 'test', o.dataDir);
  const vit = spec.vitEncoder
    ? await ensureVitEncoder({
        dir: path.join(out, 'encoder'),
        train: trainSet,
        test: testSet,
        settings: spec.vitEncoder,
        log: (l) => log(`   ${l}`),
        progress: 'train the vit encoder',
      })
    : null;
  const encoder = vit
    ? await vitEncoderOf(vit.weights, spec.encoderInputSize)
    : await createEncoder('mobilenetv2', {
        inputSize: spec.encoderInputSize,
        ...(o.encoderWeights ? { weights: o.encoderWeights } : {}),
        log: (l) => log(`   ${l}`),
      });
  const session = { trained: 0, resumed: 0, reusedRuns: 0, evaluated: 0, reusedEvaluations: 0, seconds: 0 };
  const runs: StudyRun[] = [];
  const evalSteps = evaluationSteps(spec);
  const fdNet = await frechetEncoder(encoder, o.encoderWeights ? { weights: o.encoderWeights } : {});
  const ctx: EvalContext = {
    o,
    fdEncoder: fdNet.encoder,
    fdSets: frechetSplits(spec.dataset, testSet, trainSet),
    labels: Int32Array.from({ length: spec.eval.samples }, (_, i) => i % trainSet.numClasses),
    classifier: null,
  };
  const result = (status: StudyResult['status']): StudyResult => ({
    regTs: regTsVersion(),
    createdAt: new Date().toISOString(),
    specFile: o.specFile,
    spec,
    status,
    metric: 'FD-MobileNetV2: Fréchet distance in MobileNetV2 block_10 mean-pooled feature space (not FID)',
    encoder: { ...encoder.info },
    vitEncoder: vit ? { testAccuracy: vit.record.testAccuracy, trainSeconds: vit.record.trainSeconds, reused: vit.reused } : null,
    classifier: ctx.classifier,
    runs,
    session: { ...session, seconds: (performance.now() - t0) / 1000, machine: cpuDescription() },
  });
  const save = (status: StudyResult['status']): StudyResult => {
    const r = result(status);
    writeFileAtomic(path.join(out, 'study.json'), `${JSON.stringify(r, null, 2)}\n`);
    return r;
  };
  try {
    const prep = await prepareFeatureCache({
      dataset: trainSet,
      datasetSpec: `${spec.dataset}:train`,
      encoder,
      out: featuresDir,
      limit: spec.trainImages,
      log: (l) => log(`   ${l}`),
    });
    log(`study ${spec.name}: features ${featuresDir} (${prep.reused} shard(s) reused, ${prep.computed} computed)`);
    registerDatasetSources();
    const plan = spec.seeds.flatMap((seed) => spec.configs.filter((c) => c.seeds.includes(seed)).map((config) => ({ config, seed })));
    const evalFile = (name: string, step: number) => path.join(out, 'evals', name, `step-${step}.json`);
    // Work left, for the ETA: training steps and evaluations not yet on disk.
    const trainedHere = plan.filter(({ config }) => config.runsOf === null);
    let stepsLeft = trainedHere.reduce(
      (a, { config, seed }) => a + spec.steps - (listCheckpoints(path.join(out, 'runs', runName(config.name, seed))).at(-1)?.step ?? 0),
      0,
    );
    let evalsLeft = plan.reduce(
      (a, { config, seed }) => a + evalSteps.filter((s) => !existsSync(evalFile(runName(config.name, seed), s))).length,
      0,
    );
    const clock = new StudyClock();
    const every = o.progressEvery ?? 25;
    for (const [i, { config, seed }] of plan.entries()) {
      const name = runName(config.name, seed);
      const dir = path.join(out, 'runs', runName(config.runsOf ?? config.name, seed));
      const cfg = studyTrainConfig(o, config, seed, dir, {
        channels: trainSet.channels,
        numClasses: trainSet.numClasses,
        featuresDir,
        encoderDim: encoder.dim,
      });
      const run: StudyRun = { config: config.name, group: config.group, seed, variant: cfg.variant, dir, evaluations: [] };
      runs.push(run);
      const report = (step: number) => {
        const p = { run: i + 1, runs: plan.length, name, step, steps: spec.steps, etaSeconds: clock.eta(stepsLeft, evalsLeft) };
        o.onProgress?.(p);
        return p;
      };
      const last = listCheckpoints(dir).at(-1)?.step ?? 0;
      if (config.runsOf !== null) {
        // The runs of an earlier configuration (the plan trains them first): evaluated here, not trained.
        if (last < spec.steps)
          throw new Error(`${dir}: the runs of "${config.runsOf}" are not finished, so "${config.name}" cannot evaluate them`);
      } else if (last >= spec.steps) {
        session.reusedRuns++;
      } else {
        if (last === 0) rmSync(dir, { recursive: true, force: true }); // a run killed before its first checkpoint starts over
        log(
          `study ${i + 1}/${plan.length} ${name}: ${last ? `resuming at step ${last}` : 'training'} (${cfg.variant}, ${spec.steps} steps)`,
        );
        let previousStep: number | null = null;
        const trained = await train(cfg, {
          ...(last ? { resume: true } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
          log: (l) => log(`   ${l}`),
          onStep: (m) => {
            // Wall time between steps (data, logging and checkpoints included); the step's own time for the first.
            const now = performance.now();
            clock.step(previousStep === null ? m.stepSeconds : (now - previousStep) / 1000);
            previousStep = now;
            stepsLeft--;
            if (m.step % every === 0 || m.step === spec.steps) {
              const p = report(m.step);
              log(
                `study ${p.run}/${p.runs} ${name}: step ${p.step}/${p.steps}; study ETA ${p.etaSeconds === null ? '?' : formatDuration(p.etaSeconds)}`,
              );
            }
          },
        });
        if (last) session.resumed++;
        else session.trained++;
        if (trained.reason !== 'done' || trained.step < spec.steps) {
          log(`study interrupted in ${name} at step ${trained.step}; rerun the same command to continue`);
          return save('interrupted');
        }
      }
      // The baseline of an ablation group (runsOf, same sampling) has the scores of its source's evaluations: they are copied.
      const source = config.runsOf === null ? undefined : spec.configs.find((c) => c.name === config.runsOf);
      const copiesSource = source !== undefined && sameSampling(spec, source, config);
      for (const step of evalSteps) {
        const file = evalFile(name, step);
        if (existsSync(file)) {
          run.evaluations.push(JSON.parse(readFileSync(file, 'utf8')) as StudyEvaluation);
          session.reusedEvaluations++;
          continue;
        }
        const sourceFile = copiesSource ? evalFile(runName(config.runsOf!, seed), step) : null;
        if (sourceFile && existsSync(sourceFile)) {
          const copy = readFileSync(sourceFile, 'utf8');
          writeFileAtomic(file, copy);
          run.evaluations.push(JSON.parse(copy) as StudyEvaluation);
          session.reusedEvaluations++;
          evalsLeft--;
          continue;
        }
        if (o.signal?.aborted) return save('interrupted');
        const ev = await evaluateCheckpoint(ctx, config, run, step, path.join(out, 'evals', name));
        writeFileAtomic(file, `${JSON.stringify(ev, null, 2)}\n`);
        run.evaluations.push(ev);
        session.evaluated++;
        evalsLeft--;
        clock.evaluation(ev.seconds);
        const p = report(step);
        log(
          `study ${p.run}/${p.runs} ${name}: step ${step}: FD ${ev.fd.toFixed(2)} (floor ${ev.fdFloor.toFixed(2)}), class consistency ${(ev.classConsistency * 100).toFixed(1)} %${ev.cknna === null ? '' : `, CKNNA ${ev.cknna.toFixed(3)}`} (${formatDuration(ev.seconds)}); study ETA ${p.etaSeconds === null ? '?' : formatDuration(p.etaSeconds)}`,
        );
        save('interrupted'); // partial results survive a kill
      }
    }
    // The classifier record of a study whose evaluations were all reused: read it from the cache once.
    if (!ctx.classifier && runs.length) {
      const probe = readNpz(
        path.join(out, 'evals', runName(runs[0]!.config, runs[0]!.seed), `step-${evalSteps[0]}`, 'samples', 'samples.npz'),
      ).get('arr_0')!;
      const c = await sampleClassConsistency(spec.dataset, probe, ctx.labels, {
        ...(o.dataDir ? { dataDir: o.dataDir } : {}),
        ...(o.classifierCacheDir ? { classifierCacheDir: o.classifierCacheDir } : {}),
      });
      ctx.classifier = { testAccuracy: c.classifier.record.testAccuracy, testSplit: c.classifier.record.testSplit };
    }
    return save('complete');
  } finally {
    fdNet.dispose();
    encoder.dispose();
  }
}
