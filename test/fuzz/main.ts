/**
 * `npm run fuzz -- --cases N [--seed S] [--formats pt,npz] [--jobs J] [--batch B] [--timeout-ms T]
 * [--mem-limit-mb M] [--report file.md]`: a fuzz campaign
 * of N cases per format (campaign.ts); prints the summary table and every failing case, writes the
 * table (and the failures) to --report when given, and exits non-zero when any case failed.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runCampaign, summaryTable } from './campaign.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    formats: { type: 'string' },
    jobs: { type: 'string', default: '2' },
    batch: { type: 'string', default: '250' },
    report: { type: 'string' },
    'timeout-ms': { type: 'string', default: '10000' },
    'mem-limit-mb': { type: 'string', default: '1024' },
  },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
if (!Number.isSafeInteger(cases) || cases < 1) throw new Error(`--cases must be a positive integer, got '${values.cases}'`);
if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got '${values.seed}'`);

const t0 = performance.now();
const summaries = await runCampaign({
  cases,
  seed,
  formats: values.formats?.split(','),
  jobs: Number(values.jobs),
  batch: Number(values.batch),
  timeoutMs: Number(values['timeout-ms']),
  memLimitMb: Number(values['mem-limit-mb']),
  progress: (format, done, total) => process.stderr.write(`${format}: ${done}/${total}\n`),
});
const seconds = (performance.now() - t0) / 1000;
const table = summaryTable(summaries);
const failures = summaries.flatMap((s) =>
  s.failures.map(
    (f) =>
      `- ${s.format} case ${f.index} (${f.seed}, ${f.kind}${f.member ? ` of ${f.member}` : ''}): ${f.outcome}${f.confirmed ? ' (confirmed alone)' : ''}: ${f.message ?? ''}`,
  ),
);
const text = `${table}\n\nseed ${seed}, ${cases} cases per format, ${seconds.toFixed(0)} s\n${failures.length ? `\nfailing cases:\n${failures.join('\n')}\n` : '\nno failing case\n'}`;
console.log(text);
if (values.report) writeFileSync(values.report, text);
process.exitCode = failures.length ? 1 : 0;
