/**
 * A fuzz campaign: the cases of each format run in batches in child processes (worker.ts) under a time
 * limit per case and a memory limit (peak growth per case, and an address-space cap on the process);
 * a case during which the child died or stopped answering is classified (crash, hang, over-memory) and
 * run again alone in a fresh child to confirm it; the run goes on with the next case.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { DEFAULT_FORMATS, FORMATS } from './formats.js';
import { BAD_OUTCOMES, OUTCOMES, type CaseResult, type Outcome, type WorkerJob } from './cases.js';

/** Options of {@link runCampaign}. */
export interface CampaignOptions {
  /** Formats to fuzz (default: every reader, DEFAULT_FORMATS). */
  formats?: readonly string[];
  /** Cases per format. */
  cases: number;
  /** Campaign seed: the same seed gives the same cases. */
  seed: number;
  /** Cases per child process (default 250). */
  batch?: number;
  /** A case that runs longer is a hang (default 10 s). */
  timeoutMs?: number;
  /** A case whose peak memory grows by more is over-memory (default 1024 MB). */
  memLimitMb?: number;
  /** Address-space cap of each child, in MB (default 8192): an allocation beyond fails inside the child. */
  addressSpaceMb?: number;
  /** Child processes at a time (default 2). */
  jobs?: number;
  /** Called after each finished batch. */
  progress?: (format: string, done: number, total: number) => void;
}

/** Per-format totals. */
export interface FormatSummary {
  format: string;
  cases: number;
  counts: Record<Outcome, number>;
  /** Slowest case, in ms. */
  maxMs: number;
  /** Largest growth of peak memory during one case, in MB. */
  maxGrowthMb: number;
  /** Wall time of the format's batches, in ms. */
  wallMs: number;
  /** Every case whose outcome is in BAD_OUTCOMES. */
  failures: CaseResult[];
}

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.js');

/** How one child run ended: its results, and the case it was in when it died or was stopped (if so). */
interface ChildRun {
  results: CaseResult[];
  /** The case the child was in when it died or was stopped, classified. */
  stuck: CaseResult | null;
}

function runChild(job: WorkerJob, timeoutMs: number, addressSpaceMb: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const node = [process.execPath, '--max-old-space-size=2048', WORKER, JSON.stringify(job)].map((a) => `'${a.replace(/'/g, "'\\''")}'`);
    const child = spawn('/bin/sh', ['-c', `ulimit -v ${addressSpaceMb * 1024} && exec ${node.join(' ')}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const results: CaseResult[] = [];
    let current: Omit<CaseResult, 'outcome' | 'ms'> | null = null;
    let killedForTime = false;
    let stderr = '';
    let pending = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(
        () => {
          killedForTime = true;
          child.kill('SIGKILL');
        },
        timeoutMs + 15_000 * (current === null ? 1 : 0),
      ); // the first case also waits for startup (seeds, libtorch)
    };
    arm();
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.startsWith('S ')) {
          current = JSON.parse(line.slice(2)) as Omit<CaseResult, 'outcome' | 'ms'>;
          arm();
        } else if (line.startsWith('R ')) {
          results.push(JSON.parse(line.slice(2)) as CaseResult);
          current = null;
          arm();
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const memory = /heap out of memory|Allocation failed|std::bad_alloc|Cannot allocate memory/i.test(stderr);
      const detail = killedForTime
        ? `no answer within ${timeoutMs} ms`
        : `exit ${code ?? signal}: ${stderr.trim().split('\n').slice(-8).join(' | ')}`;
      if (current === null) {
        if (code !== 0 || killedForTime) reject(new Error(`fuzz worker for ${job.format} failed outside a case: ${detail}`));
        else resolve({ results, stuck: null });
        return;
      }
      const outcome: Outcome = killedForTime ? 'hang' : memory || signal === 'SIGKILL' ? 'over-memory' : 'crash';
      resolve({ results, stuck: { ...current, outcome, ms: killedForTime ? timeoutMs : 0, message: detail } });
    });
  });
}

/**
 * {@link runChild}, started again (up to twice, a second apart) when the child fails outside any case:
 * that is the harness, not a reader (e.g. dist/ rewritten by a build while the child loads it).
 */
async function runChildRetrying(job: WorkerJob, timeoutMs: number, addressSpaceMb: number): Promise<ChildRun> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await runChild(job, timeoutMs, addressSpaceMb);
    } catch (e) {
      if (attempt >= 2) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Runs cases [from, to) of a format, restarting after every case that ends its child; confirms failures alone. */
async function runRange(job: WorkerJob, timeoutMs: number, addressSpaceMb: number): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  let from = job.from;
  while (from < job.to) {
    const run = await runChildRetrying({ ...job, from }, timeoutMs, addressSpaceMb);
    out.push(...run.results);
    if (run.stuck !== null) out.push(run.stuck);
    from = (run.stuck?.index ?? run.results.at(-1)?.index ?? from - 1) + 1;
  }
  // every failing case once more, alone in a fresh child: the same outcome confirms it
  for (const r of out) {
    if (!BAD_OUTCOMES.includes(r.outcome)) continue;
    const alone = await runChildRetrying({ ...job, from: r.index, to: r.index + 1 }, timeoutMs, addressSpaceMb);
    r.confirmed = (alone.results[0]?.outcome ?? alone.stuck?.outcome) === r.outcome;
  }
  return out;
}

/** Runs a campaign and returns one summary per format. */
export async function runCampaign(options: CampaignOptions): Promise<FormatSummary[]> {
  const formats = options.formats ?? DEFAULT_FORMATS;
  for (const f of formats) if (!FORMATS.has(f)) throw new Error(`unknown fuzz format '${f}' (known: ${[...FORMATS.keys()].join(', ')})`);
  const batch = options.batch ?? 250;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const addressSpaceMb = options.addressSpaceMb ?? 8192;
  const jobs: { format: string; from: number; to: number }[] = [];
  for (const format of formats)
    for (let from = 0; from < options.cases; from += batch) jobs.push({ format, from, to: Math.min(options.cases, from + batch) });
  const results = new Map<string, CaseResult[]>(formats.map((f) => [f, []]));
  const wall = new Map<string, number>(formats.map((f) => [f, 0]));
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const j = jobs[next++]!;
      const t0 = performance.now();
      const got = await runRange({ ...j, seed: options.seed, memLimitMb: options.memLimitMb ?? 1024 }, timeoutMs, addressSpaceMb);
      wall.set(j.format, wall.get(j.format)! + performance.now() - t0);
      results.get(j.format)!.push(...got);
      options.progress?.(j.format, results.get(j.format)!.length, options.cases);
    }
  };
  await Promise.all(Array.from({ length: options.jobs ?? 2 }, lane));
  return formats.map((format) => {
    const rs = results.get(format)!;
    const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
    for (const r of rs) counts[r.outcome]++;
    return {
      format,
      cases: rs.length,
      counts,
      maxMs: Math.max(0, ...rs.map((r) => r.ms)),
      maxGrowthMb: Math.max(0, ...rs.map((r) => r.peakGrowthMb ?? 0)),
      wallMs: wall.get(format)!,
      failures: rs.filter((r) => BAD_OUTCOMES.includes(r.outcome)),
    };
  });
}

/** The summaries as a Markdown table (one row per format, one column per outcome). */
export function summaryTable(summaries: readonly FormatSummary[]): string {
  const head = ['format', 'cases', ...OUTCOMES, 'slowest case (ms)', 'most memory growth in a case (MB)', 'wall (s)'];
  const rows = summaries.map((s) => [
    s.format,
    String(s.cases),
    ...OUTCOMES.map((o) => String(s.counts[o])),
    s.maxMs.toFixed(0),
    s.maxGrowthMb.toFixed(0),
    (s.wallMs / 1000).toFixed(1),
  ]);
  const total = [
    '**all**',
    String(summaries.reduce((n, s) => n + s.cases, 0)),
    ...OUTCOMES.map((o) => String(summaries.reduce((n, s) => n + s.counts[o], 0))),
    '',
    '',
    '',
  ];
  return [head, head.map(() => '---'), ...rows, total].map((r) => `| ${r.join(' | ')} |`).join('\n');
}
