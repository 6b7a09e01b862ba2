/**
 * `reg study [spec.json]`: configurations × seeds at equal steps on an embedded dataset, each run
 * evaluated at several checkpoints (src/pipelines/study.ts), then study.json and a markdown report with
 * plots (src/pipelines/study-report.ts). Rerunning the same command resumes; Ctrl-C stops the current
 * run after its step with a checkpoint.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, type Command } from '../args.js';
import { runStudy } from '../../pipelines/study.js';
import { writeStudyReport } from '../../pipelines/study-report.js';
import { readStudySpec, StudySpecError, type StudySpec } from '../../pipelines/study-spec.js';
import * as torch from '../../torch/index.js';
import { TRAIN_SETTINGS } from '../../train/config.js';

/** The committed study's spec (docs/study.md), run when no spec is given. */
export const DEFAULT_STUDY_SPEC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../configs/studies/default.json');

export const studyCommand: Command = {
  name: 'study',
  compute: true,
  summary:
    'train configurations × seeds at equal steps (e.g. sit vs repa vs reg), evaluate each at checkpoints, write study.json and a report with plots; spec default configs/studies/default.json (the committed study, 30 minutes from scratch on 2 cores), configs/studies/quick.json runs in seconds',
  positionals: '[spec.json]',
  options: {
    out: { type: 'string', help: 'output directory (default: runs/study-<spec name>)' },
    report: { type: 'string', help: 'markdown report (default: <out>/study.md); its plots go to study-plots/ beside it' },
    dataDir: { type: 'string', help: 'dataset directory (default: the installed Debian/npm package)' },
    encoderWeights: {
      type: 'string',
      help: 'MobileNetV2 weights folder in the TF.js format (default: npm nsfwjs 4.4.0, fetched once and cached)',
    },
    threads: TRAIN_SETTINGS.threads,
  },
  async run({ options, positionals }) {
    const [file = DEFAULT_STUDY_SPEC, ...rest] = positionals;
    if (rest.length > 0) throw new UsageError('expected at most one argument: [spec.json]');
    let spec: StudySpec;
    try {
      spec = readStudySpec(file);
    } catch (e) {
      if (e instanceof StudySpecError) throw new UsageError(e.message);
      throw e;
    }
    const threads = options.threads as number;
    if (threads > 0) torch.setNumThreads(threads);
    const out = (options.out as string | undefined) ?? path.join('runs', `study-${spec.name}`);
    const controller = new AbortController();
    let interrupts = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (++interrupts > 1) process.exit(130);
      process.stderr.write(`\n${sig}: stopping the current run after this step with a checkpoint (again to quit at once)\n`);
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const study = await runStudy({
        spec,
        specFile: file,
        out,
        signal: controller.signal,
        ...(options.dataDir ? { dataDir: options.dataDir as string } : {}),
        ...(options.encoderWeights ? { encoderWeights: options.encoderWeights as string } : {}),
      });
      const report = (options.report as string | undefined) ?? path.join(out, 'study.md');
      const command = [
        'reg study',
        ...(file === DEFAULT_STUDY_SPEC ? [] : [file]),
        ...(options.out ? ['--out', out] : []),
        ...(options.report ? ['--report', report] : []),
        ...(threads > 0 ? ['--threads', threads] : []),
      ].join(' ');
      const plots = await writeStudyReport(study, { file: report, command });
      console.log(
        `study ${spec.name} ${study.status}: ${study.runs.length} run(s); this session trained ${study.session.trained}, resumed ${study.session.resumed}, reused ${study.session.reusedRuns}; evaluated ${study.session.evaluated}, reused ${study.session.reusedEvaluations}
  results  ${path.join(out, 'study.json')}
  report   ${report} (${plots.length} plot files)`,
      );
      if (study.status !== 'complete') process.exitCode = 130;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
