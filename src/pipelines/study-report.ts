/**
 * The report of a study (study.json → markdown + plots): for every metric, its mean ± sample standard
 * deviation over the seeds
 *
 *   mean = Σ xᵢ / n,   std = √(Σ (xᵢ − mean)² / (n − 1))   (0 for one seed)
 *
 * per configuration and evaluation step; a line chart per metric over steps (one line per configuration
 * of the `variants` group, a band of ± std), a bar chart per other group at the last step, and a table
 * of which differences at the last step exceed the seed spread (|Δmean| > std₁ + std₂).
 */
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { formatDuration } from '../util/progress.js';
import { barChart, lineBandChart, writeChart, type BandSeries } from './plots.js';
import type { StudyEvaluation, StudyResult } from './study.js';
import type { StudyConfig } from './study-spec.js';

/** A metric of the report: its field, its name and which way is better. */
interface Metric {
  key: 'fd' | 'classConsistency' | 'cknna' | 'denoiseLoss' | 'precision' | 'recall';
  label: string;
  lowerIsBetter: boolean;
  digits: number;
}

const METRICS: readonly Metric[] = [
  { key: 'fd', label: 'FD-MobileNetV2', lowerIsBetter: true, digits: 2 },
  { key: 'classConsistency', label: 'class consistency', lowerIsBetter: false, digits: 3 },
  { key: 'cknna', label: 'CKNNA (aligned block vs encoder)', lowerIsBetter: false, digits: 3 },
  { key: 'denoiseLoss', label: 'denoising loss', lowerIsBetter: true, digits: 4 },
  { key: 'precision', label: 'precision', lowerIsBetter: false, digits: 3 },
  { key: 'recall', label: 'recall', lowerIsBetter: false, digits: 3 },
];

/** Mean and sample standard deviation (0 for fewer than two values). */
export function meanStd(xs: readonly number[]): { mean: number; std: number; n: number } {
  const n = xs.length;
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** Per configuration (spec order): its group and, per step, the metric's mean ± std over the seeds (null where a variant has none). */
export function aggregate(
  study: StudyResult,
  key: Metric['key'],
): { config: string; group: string; steps: number[]; stats: ({ mean: number; std: number; n: number } | null)[] }[] {
  return study.spec.configs
    .map((c) => {
      const runs = study.runs.filter((r) => r.config === c.name);
      const steps = [...new Set(runs.flatMap((r) => r.evaluations.map((e) => e.step)))].sort((a, b) => a - b);
      const stats = steps.map((s) => {
        const xs = runs
          .map((r) => r.evaluations.find((e) => e.step === s)?.[key] as number | null | undefined)
          .filter((x): x is number => typeof x === 'number');
        return xs.length ? meanStd(xs) : null;
      });
      return { config: c.name, group: c.group, steps, stats };
    })
    .filter((a) => a.steps.length > 0);
}

const fmt = (s: { mean: number; std: number } | null, digits: number) => (s ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}` : '–');

/** The markdown of the last-step table of `configs`: one row per configuration, one column per metric. */
function lastStepTable(study: StudyResult, configs: readonly string[]): string {
  const rows = configs.map((name) => {
    const cells = METRICS.map((m) => {
      const a = aggregate(study, m.key).find((x) => x.config === name);
      return a ? fmt(a.stats.at(-1) ?? null, m.digits) : '–';
    });
    const n = study.runs.filter((r) => r.config === name && r.evaluations.length).length;
    const step =
      aggregate(study, 'fd')
        .find((x) => x.config === name)
        ?.steps.at(-1) ?? '–';
    return `| ${name} | ${step} | ${n} | ${cells.join(' | ')} |`;
  });
  return [
    `| config | step | seeds | ${METRICS.map((m) => `${m.label} ${m.lowerIsBetter ? '↓' : '↑'}`).join(' | ')} |`,
    `|${' --- |'.repeat(3 + METRICS.length)}`,
    ...rows,
  ].join('\n');
}

/** Sentences on each pair of configurations of a group at the last step: which differences exceed the seed spread. */
function comparisons(study: StudyResult, configs: readonly string[]): string[] {
  const lines: string[] = [];
  for (const m of METRICS.slice(0, 3)) {
    const last = aggregate(study, m.key)
      .filter((a) => configs.includes(a.config))
      .map((a) => ({ config: a.config, s: a.stats.at(-1) ?? null }))
      .filter((a): a is { config: string; s: { mean: number; std: number; n: number } } => a.s !== null);
    for (let i = 0; i < last.length; i++)
      for (let j = i + 1; j < last.length; j++) {
        const [a, b] = [last[i]!, last[j]!];
        const better = m.lowerIsBetter === a.s.mean < b.s.mean ? a : b;
        const worse = better === a ? b : a;
        const delta = Math.abs(a.s.mean - b.s.mean);
        const spread = a.s.std + b.s.std;
        if (delta === 0) {
          lines.push(`- ${m.label}: ${a.config} and ${b.config} are equal (${a.s.mean.toFixed(m.digits)})`);
          continue;
        }
        lines.push(
          `- ${m.label}: **${better.config}** ${better.s.mean.toFixed(m.digits)} vs ${worse.config} ${worse.s.mean.toFixed(m.digits)} (|Δ| ${delta.toFixed(m.digits)}, spread std₁ + std₂ ${spread.toFixed(m.digits)}): ${delta > spread ? 'exceeds the seed spread' : 'within the seed spread — not a difference at this number of seeds'}`,
        );
      }
  }
  return lines;
}

/** How a configuration differs from the study's settings: its training overrides, sampling overrides and whose runs it evaluates. */
function describeConfig(c: StudyConfig): string {
  const parts = [c.runsOf === null ? `train ${JSON.stringify(c.train)}` : `the runs of \`${c.runsOf}\``];
  if (Object.keys(c.eval).length) parts.push(`sampling ${JSON.stringify(c.eval)}`);
  return parts.join(', ');
}

/** Options of {@link writeStudyReport}. */
export interface StudyReportOptions {
  /** The markdown file; the plots go to `<its dir>/<plotsDir>/`. */
  file: string;
  /** Folder of the plots, relative to the report (default `study-plots`). */
  plotsDir?: string;
  /** The command that produced the study (printed in the report). */
  command: string;
}

/** The encoder of the targets in words: MobileNetV2, or the study's own ViT with its architecture and accuracy. */
function targetsOf(study: StudyResult): string {
  const { spec } = study;
  const v = spec.vitEncoder ?? null;
  if (v === null) return `MobileNetV2 targets at ${spec.encoderInputSize} px`;
  const accuracy = study.vitEncoder ? `, test accuracy ${(100 * study.vitEncoder.testAccuracy).toFixed(1)} %` : '';
  return `targets from a ViT trained here (DINOv2 architecture: width ${v.width}, ${v.depth} blocks, patch ${v.patchSize} at ${spec.encoderInputSize} px, so its class token is its own; supervised on the training split's labels for ${v.epochs} epochs${accuracy})`;
}

/** What the invocation that wrote study.json did and how long it took (a study resumed over several invocations shows only its last). */
function sessionLine(study: StudyResult): string {
  const s = study.session;
  const resumed = s.resumed ? ` (${s.resumed} of them resumed from a checkpoint)` : '';
  return `This invocation trained ${s.trained} runs${resumed}, found ${s.reusedRuns} finished on disk, made ${s.evaluated} evaluations and reused ${s.reusedEvaluations} (a baseline's copied scores included), in ${formatDuration(s.seconds)}${s.machine ? ` on ${s.machine}` : ''}.`;
}

/** Writes the markdown report of `study` and its plots (SVG + PNG); returns the plot files written. */
export async function writeStudyReport(study: StudyResult, o: StudyReportOptions): Promise<string[]> {
  const plotsRel = o.plotsDir ?? 'study-plots';
  const plotsAbs = path.join(path.dirname(path.resolve(o.file)), plotsRel);
  const written: string[] = [];
  const spec = study.spec;
  const groups = [...new Set(spec.configs.map((c) => c.group))];
  const inGroup = (g: string) => spec.configs.filter((c) => c.group === g).map((c) => c.name);
  const md: string[] = [
    `# Study: ${spec.name}`,
    '',
    `Generated by \`${o.command}\` (reg-ts ${study.regTs}, ${study.createdAt}; status **${study.status}**). Every number and plot below comes from \`study.json\`; nothing is edited by hand.`,
    '',
    sessionLine(study),
    '',
    `Setup: ${spec.dataset}, ${spec.trainImages} training images at ${spec.imageSize}×${spec.imageSize}, ${targetsOf(study)}; ${spec.configs.length} configurations × seeds ${spec.seeds.join(', ')}, ${spec.steps} steps each, evaluated every ${spec.evalEvery} steps. Shared training settings: \`${JSON.stringify(spec.train)}\`.`,
    '',
    `Evaluation at each checkpoint (EMA weights): ${spec.eval.samples} samples (${spec.eval.sampler}, ${spec.eval.samplingSteps} steps, guidance ${spec.eval.cfg}${spec.eval.clsCfg === null ? '' : ` (class token ${spec.eval.clsCfg})`} for t ≤ ${spec.eval.guidanceHigh}, the same seed for every run) → ${study.metric}, against as many test images; class consistency by the dataset's classifier${study.classifier ? ` (test accuracy ${(study.classifier.testAccuracy * 100).toFixed(1)} % on ${study.classifier.testSplit})` : ''}; CKNNA (k = ${spec.eval.cknnaTopk}) of the aligned block's patch-mean hidden state at t = ${spec.eval.cknnaT} vs the encoder's feature on ${spec.eval.cknnaImages} training images (only variants that align). Values are mean ± sample std over the seeds.`,
    '',
    `FD at ${spec.eval.samples} samples is biased upwards (the real-vs-real floor at this size is in study.json, fdFloor, about ${meanStd(study.runs.flatMap((r) => r.evaluations.map((e: StudyEvaluation) => e.fdFloor))).mean.toFixed(2)}): compare configurations with each other, not with published FIDs. With ${spec.seeds.length} seed(s) the standard deviations are themselves rough: "exceeds the seed spread" is a screen, not a significance test.`,
    '',
  ];
  for (const g of groups) {
    const names = inGroup(g);
    md.push(
      `## ${g}`,
      '',
      `Configurations: ${spec.configs
        .filter((c) => c.group === g)
        .map((c) => `\`${c.name}\` ${describeConfig(c)}`)
        .join(', ')}.`,
      '',
      '### At the last step',
      '',
      lastStepTable(study, names),
      '',
    );
    const cmp = comparisons(study, names);
    if (cmp.length) md.push('### Differences against the seed spread', '', ...cmp, '');
    md.push('### Over training', '');
    for (const m of METRICS) {
      const series: BandSeries[] = aggregate(study, m.key)
        .filter((a) => names.includes(a.config))
        .map((a) => {
          const idx = a.stats.map((s, k) => (s ? k : -1)).filter((k) => k >= 0);
          return {
            name: a.config,
            x: idx.map((k) => a.steps[k]!),
            mean: idx.map((k) => a.stats[k]!.mean),
            std: idx.map((k) => a.stats[k]!.std),
          };
        })
        .filter((s) => s.x.length > 0);
      if (!series.length) continue;
      const base = path.join(plotsAbs, `${spec.name}-${g}-${m.key}`);
      const svg = lineBandChart(series, {
        title: `${m.label} over training (${g}; mean ± std over seeds)`,
        xName: 'training step',
        yName: m.label,
      });
      const files = await writeChart(base, svg);
      written.push(files.svg, files.png);
      md.push(`![${m.label} over training steps, ${g}](${plotsRel}/${path.basename(files.svg)})`, '');
      if (series.length > 1) {
        const bars = series.map((s) => ({ name: s.name, mean: s.mean.at(-1)!, std: s.std.at(-1)! }));
        const barFiles = await writeChart(
          `${base}-last`,
          barChart(bars, { title: `${m.label} at the last step (${g}; ± std)`, xName: g, yName: m.label }),
        );
        written.push(barFiles.svg, barFiles.png);
        md.push(`![${m.label} at the last step, ${g}](${plotsRel}/${path.basename(barFiles.svg)})`, '');
      }
    }
  }
  const notRun = study.spec.configs.filter((c) => !study.runs.some((r) => r.config === c.name && r.evaluations.length)).map((c) => c.name);
  if (notRun.length) md.push(`Not evaluated yet: ${notRun.join(', ')}.`, '');
  writeFileAtomic(o.file, `${md.join('\n')}\n`);
  return written;
}
