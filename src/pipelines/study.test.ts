/**
 * `reg study` end to end on the committed quick spec (configs/studies/quick.json: sit and reg × 2 seeds,
 * 4 steps, evaluated at steps 2 and 4) with the committed Fashion-MNIST slice (200 train, 100 test images) and MobileNetV2 weights:
 * the layout of study.json, a run interrupted mid-training that resumes to the same numbers as an
 * uninterrupted study, and the report's plots (valid SVG with the expected series, PNG of the SVG's size).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { splitFashionMnist } from '../../test/embedded-fixtures.js';
import { fixturePath } from '../../test/fixture-path.js';
import { runStudy, type StudyOptions, type StudyResult } from './study.js';
import { writeStudyReport } from './study-report.js';
import { evaluationSteps, parseStudySpec, readStudySpec, StudySpecError } from './study-spec.js';
import { VIT_ENCODER_DEFAULTS } from './vit-encoder.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-study-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const dataDir = splitFashionMnist(path.join(tmp, 'fashion-mnist'));

const specFile = path.join(import.meta.dirname, '../../../configs/studies/quick.json');

async function options(out: string, extra: Partial<StudyOptions> = {}): Promise<StudyOptions> {
  return {
    spec: readStudySpec(specFile),
    specFile,
    out,
    dataDir: await dataDir,
    encoderWeights: fixturePath('encoders/mobilenetv2-block10'),
    log: () => undefined,
    ...extra,
  };
}

let uninterrupted: StudyResult | undefined;

test(
  'reg study runs the quick spec end to end: every run evaluated at steps 2 and 4 with the three metrics',
  { timeout: 120_000 },
  async () => {
    const out = path.join(tmp, 'whole');
    const progress: string[] = [];
    const study = await runStudy(
      await options(out, { progressEvery: 2, onProgress: (p) => progress.push(`${p.run}/${p.runs} ${p.name} ${p.step}/${p.steps}`) }),
    );
    uninterrupted = study;
    assert.equal(study.status, 'complete');
    assert.deepEqual(
      study.runs.map((r) => `${r.config}-s${r.seed} ${r.variant}`),
      [
        'sit-s0 sit',
        'reg-s0 reg',
        'reg-token-unguided-s0 reg',
        'reg-token-guided-s0 reg',
        'sit-s1 sit',
        'reg-s1 reg',
        'reg-token-unguided-s1 reg',
        'reg-token-guided-s1 reg',
      ],
    );
    // reg-token-unguided trains nothing: it samples reg's checkpoints with class-token guidance 1;
    // reg-token-guided samples them as reg does, so its evaluations are reg's, copied.
    assert.deepEqual(study.session, { ...study.session, trained: 4, resumed: 0, reusedRuns: 0, evaluated: 12, reusedEvaluations: 4 });
    for (const seed of [0, 1]) {
      const [guided, unguided, copy] = ['reg', 'reg-token-unguided', 'reg-token-guided'].map((c) =>
        study.runs.find((r) => r.config === c && r.seed === seed)!,
      );
      assert.equal(unguided!.dir, guided!.dir);
      assert.deepEqual(copy!.evaluations, guided!.evaluations);
      for (const [g, u] of guided!.evaluations.map((e, k) => [e, unguided!.evaluations[k]!] as const)) {
        assert.deepEqual([u.step, u.denoiseLoss, u.cknna], [g.step, g.denoiseLoss, g.cknna]);
        // Its own samples, drawn with class-token guidance 1 (4 steps from adaLN-zero leave the outputs too small to show in the scores).
        const record = (config: string) =>
          JSON.parse(readFileSync(path.join(out, 'evals', `${config}-s${seed}`, `step-${u.step}`, 'samples', 'samples.json'), 'utf8')) as {
            settings: { cfgScale: number; clsCfgScale: number; checkpoint: string };
          };
        assert.deepEqual(record('reg-token-unguided').settings, { ...record('reg').settings, clsCfgScale: 1 });
        assert.equal(record('reg').settings.clsCfgScale, 4);
      }
    }
    for (const r of study.runs) {
      assert.deepEqual(
        r.evaluations.map((e) => e.step),
        [2, 4],
      );
      for (const e of r.evaluations) {
        assert.ok(Number.isFinite(e.fd) && e.fd > e.fdFloor, JSON.stringify(e));
        assert.ok(e.classConsistency >= 0 && e.classConsistency <= 1);
        for (const x of [e.precision, e.recall]) assert.ok(x >= 0 && x <= 1, JSON.stringify(e));
        assert.ok(e.denoiseLoss > 0);
        // CKNNA only where the variant aligns (reg), a number in [−1, 1].
        if (r.variant === 'sit') assert.equal(e.cknna, null);
        else assert.ok(e.cknna !== null && Math.abs(e.cknna) <= 1, String(e.cknna));
      }
    }
    // Progress: each run's training steps 2 and 4, then its two evaluations.
    assert.deepEqual(progress.slice(0, 4), ['1/8 sit-s0 2/4', '1/8 sit-s0 4/4', '1/8 sit-s0 2/4', '1/8 sit-s0 4/4']);
    assert.deepEqual(progress.slice(8, 10), ['3/8 reg-token-unguided-s0 2/4', '3/8 reg-token-unguided-s0 4/4']);
    assert.equal(progress.length, 20);
    assert.equal(study.classifier !== null, true);
    const written = JSON.parse(readFileSync(path.join(out, 'study.json'), 'utf8')) as StudyResult;
    assert.deepEqual(written.runs, JSON.parse(JSON.stringify(study.runs)));

    // A rerun redoes nothing.
    const again = await runStudy(await options(out));
    assert.deepEqual(again.session, { ...again.session, trained: 0, resumed: 0, reusedRuns: 4, evaluated: 0, reusedEvaluations: 16 });
    assert.deepEqual(again.runs, study.runs);
  },
);

test(
  'reg study resumes after an interrupt: finished runs and evaluations are kept, the cut run continues to the same numbers',
  { timeout: 120_000 },
  async () => {
    assert.ok(uninterrupted, 'the end-to-end test runs first');
    const out = path.join(tmp, 'cut');
    const controller = new AbortController();
    const first = await runStudy(
      await options(out, {
        progressEvery: 1,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.name === 'reg-s0' && p.step === 3) controller.abort();
        },
      }),
    );
    assert.equal(first.status, 'interrupted');
    assert.deepEqual(
      first.runs.map((r) => r.evaluations.length),
      [2, 0],
    );
    const resumed = await runStudy(await options(out));
    assert.equal(resumed.status, 'complete');
    assert.deepEqual(resumed.session, { ...resumed.session, trained: 2, resumed: 1, reusedRuns: 1, evaluated: 10, reusedEvaluations: 6 });
    const steps = readFileSync(path.join(out, 'runs', 'reg-s0', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { step: number }).step);
    assert.deepEqual(steps, [1, 2, 3, 4]);
    // Bit-exact resume and seeded evaluation: the same scores as the uninterrupted study.
    const scores = (s: StudyResult) => s.runs.map((r) => r.evaluations.map(({ seconds: _, ...e }) => e));
    assert.deepEqual(scores(resumed), scores(uninterrupted));
  },
);

test('the study report writes tables and valid SVG + PNG plots with one series per configuration', { timeout: 60_000 }, async () => {
  assert.ok(uninterrupted, 'the end-to-end test runs first');
  const file = path.join(tmp, 'report', 'study.md');
  const plots = await writeStudyReport(uninterrupted, { file, command: 'reg study configs/studies/quick.json' });
  const md = readFileSync(file, 'utf8');
  assert.match(md, /^# Study: quick/);
  assert.match(md, /`reg study configs\/studies\/quick\.json`/);
  assert.match(
    md,
    /This invocation trained 4 runs, found 0 finished on disk, made 12 evaluations and reused 4 \(.*\), in (\d+h\d+m|\d+m\d+s|\d+s) on \d+ CPUs, /,
  );
  assert.match(md, /\| sit \| 4 \| 2 \| /);
  assert.match(md, /\| reg \| 4 \| 2 \| /);
  assert.match(md, /within the seed spread|exceeds the seed spread/);
  const svgFiles = plots.filter((p) => p.endsWith('.svg'));
  // FD, class consistency, CKNNA (reg only: no bar chart of one bar) and loss lines; bars for three.
  assert.deepEqual(
    svgFiles.map((p) => path.basename(p)),
    [
      'quick-variants-fd.svg',
      'quick-variants-fd-last.svg',
      'quick-variants-classConsistency.svg',
      'quick-variants-classConsistency-last.svg',
      'quick-variants-cknna.svg',
      'quick-variants-denoiseLoss.svg',
      'quick-variants-denoiseLoss-last.svg',
      'quick-variants-precision.svg',
      'quick-variants-precision-last.svg',
      'quick-variants-recall.svg',
      'quick-variants-recall-last.svg',
      'quick-guidance-fd.svg',
      'quick-guidance-fd-last.svg',
      'quick-guidance-classConsistency.svg',
      'quick-guidance-classConsistency-last.svg',
      'quick-guidance-cknna.svg',
      'quick-guidance-cknna-last.svg',
      'quick-guidance-denoiseLoss.svg',
      'quick-guidance-denoiseLoss-last.svg',
      'quick-guidance-precision.svg',
      'quick-guidance-precision-last.svg',
      'quick-guidance-recall.svg',
      'quick-guidance-recall-last.svg',
    ],
  );
  for (const svgFile of svgFiles) {
    const svg = readFileSync(svgFile, 'utf8');
    assert.match(svg, /^<svg [^>]*width="640" height="400"/);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    assert.ok(md.includes(`study-plots/${path.basename(svgFile)}`));
    const png = await sharp(svgFile.replace(/\.svg$/, '.png')).metadata();
    assert.deepEqual([png.format, png.width, png.height], ['png', 640, 400]);
  }
  const fdLines = readFileSync(svgFiles[0]!, 'utf8');
  // The legend names each configuration; the band and the mean are three line series per configuration.
  for (const name of ['sit', 'reg']) assert.match(fdLines, new RegExp(`>${name}</text>`));
  const cknnaLines = readFileSync(svgFiles[4]!, 'utf8');
  assert.match(cknnaLines, />reg<\/text>/);
  assert.doesNotMatch(cknnaLines, />sit<\/text>/, 'sit has no CKNNA');
});

test(
  'a study with its own vit encoder: targets, class tokens and CKNNA come from the ViT, FD stays FD-MobileNetV2',
  { timeout: 120_000 },
  async () => {
    const quick = JSON.parse(readFileSync(specFile, 'utf8')) as Record<string, unknown>;
    const spec = parseStudySpec(
      {
        ...quick,
        seeds: [0],
        encoderInputSize: 32,
        vitEncoder: { width: 64, depth: 1, patchSize: 8, epochs: 1, batchSize: 32 },
        configs: [{ name: 'reg', train: { variant: 'reg' } }],
      },
      'vit.json',
    );
    const study = await runStudy({ ...(await options(path.join(tmp, 'vit'))), spec });
    assert.equal(study.status, 'complete');
    assert.deepEqual([study.encoder.name, study.encoder.dim, study.encoder.grid], ['dinov2', 64, [4, 4]]);
    assert.ok(study.vitEncoder && study.vitEncoder.testAccuracy > 0 && !study.vitEncoder.reused);
    assert.match(study.metric, /^FD-MobileNetV2/);
    const evals = study.runs[0]!.evaluations;
    assert.deepEqual(
      evals.map((e) => e.step),
      [2, 4],
    );
    for (const e of evals) assert.ok(Number.isFinite(e.fd) && Number.isFinite(e.cknna ?? NaN), JSON.stringify(e));
    const report = path.join(tmp, 'vit', 'report.md');
    await writeStudyReport(study, { file: report, command: 'reg study vit.json' });
    assert.match(
      readFileSync(report, 'utf8'),
      /targets from a ViT trained here \(DINOv2 architecture: width 64, 1 blocks, patch 8 at 32 px/,
    );
  },
);

test('study specs: defaults, evaluation steps, and errors that name the file and the field', () => {
  const spec = parseStudySpec({ steps: 10, evalEvery: 4, configs: [{ name: 'a' }] }, 's.json');
  assert.deepEqual(evaluationSteps(spec), [4, 8, 10]);
  assert.deepEqual([spec.dataset, spec.seeds, spec.trainImages, spec.configs[0]!.group], ['fashion-mnist', [0], 4096, 'variants']);
  const bad = (raw: unknown, message: RegExp) =>
    assert.throws(
      () => parseStudySpec(raw, 's.json'),
      (e: unknown) => e instanceof StudySpecError && message.test(e.message),
    );
  bad({ configs: [{ name: 'a' }] }, /^s\.json: steps: must be an integer ≥ 1/);
  bad({ steps: 2, configs: [] }, /^s\.json: configs: must be a non-empty list/);
  bad({ steps: 2, configs: [{ name: 'a' }, { name: 'a' }] }, /^s\.json: configs\[1\]\.name: "a" appears twice/);
  bad({ steps: 2, configs: [{ name: 'a', train: { seed: 3 } }] }, /^s\.json: configs\[0\]\.train\.seed: is set by the study itself/);
  bad({ steps: 2, seeds: [1, 1], configs: [{ name: 'a' }] }, /^s\.json: seeds: /);
  bad({ steps: 2, eval: { sampler: 'x' }, configs: [{ name: 'a' }] }, /^s\.json: eval\.sampler: must be one of sde, euler, heun/);
  bad({ steps: 2, typo: 1, configs: [{ name: 'a' }] }, /^s\.json: typo: unknown field/);
  bad({ steps: 2, vitEncoder: { width: 100 }, configs: [{ name: 'a' }] }, /^s\.json: vitEncoder\.width: must be a multiple of 64/);
  bad({ steps: 2, vitEncoder: { inputSize: 32 }, configs: [{ name: 'a' }] }, /^s\.json: vitEncoder\.inputSize: is encoderInputSize/);
  bad(
    { steps: 2, vitEncoder: { patchSize: 5 }, configs: [{ name: 'a' }] },
    /^s\.json: vitEncoder\.patchSize: must divide encoderInputSize 64/,
  );
  bad({ steps: 2, vitEncoder: { epochs: 0 }, configs: [{ name: 'a' }] }, /^s\.json: vitEncoder\.epochs: must be an integer ≥ 1/);
  assert.equal(spec.vitEncoder, null);
  assert.deepEqual(parseStudySpec({ steps: 2, encoderInputSize: 32, vitEncoder: {}, configs: [{ name: 'a' }] }, 's.json').vitEncoder, {
    ...VIT_ENCODER_DEFAULTS,
    inputSize: 32,
  });
  bad(
    { steps: 2, configs: [{ name: 'a', eval: { samples: 9 } }] },
    /^s\.json: configs\[0\]\.eval\.samples: not a per-configuration setting/,
  );
  bad({ steps: 2, configs: [{ name: 'a', eval: { clsCfg: -1 } }] }, /^s\.json: configs\[0\]\.eval\.clsCfg: must be a number ≥ 0/);
  bad(
    { steps: 2, configs: [{ name: 'a', runsOf: 'b' }, { name: 'b' }] },
    /^s\.json: configs\[0\]\.runsOf: must name an earlier configuration/,
  );
  bad(
    { steps: 2, configs: [{ name: 'a' }, { name: 'b', runsOf: 'a', train: { clsCoeff: 1 } }] },
    /^s\.json: configs\[1\]\.train: must be empty: the configuration trains nothing/,
  );
  bad(
    { steps: 2, configs: [{ name: 'a' }, { name: 'b', runsOf: 'a' }, { name: 'c', runsOf: 'b' }] },
    /^s\.json: configs\[2\]\.runsOf: "b" itself evaluates the runs of "a"/,
  );
  bad(
    { steps: 2, seeds: [0, 1], configs: [{ name: 'a', seeds: [2] }] },
    /^s\.json: configs\[0\]\.seeds: must be a non-empty subset of the study's seeds \[0,1\]/,
  );
  bad(
    {
      steps: 2,
      seeds: [0, 1],
      configs: [
        { name: 'a', seeds: [0] },
        { name: 'b', runsOf: 'a' },
      ],
    },
    /^s\.json: configs\[1\]\.seeds: "a" has no runs at some of these seeds/,
  );
  const ablation = parseStudySpec(
    { steps: 2, eval: { cfg: 2 }, configs: [{ name: 'a' }, { name: 'b', runsOf: 'a', eval: { clsCfg: 1 } }] },
    's.json',
  );
  assert.deepEqual(
    ablation.configs.map((c) => [c.name, c.runsOf, c.eval]),
    [
      ['a', null, {}],
      ['b', 'a', { clsCfg: 1 }],
    ],
  );
});
